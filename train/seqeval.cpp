// seqeval's default-mode chunking and scores; see seqeval.h for the rules and their corner cases.
#include "train/seqeval.h"

#include <set>
#include <tuple>

#include "core/error.h"

namespace tz::train {
namespace {

struct Tag {
  char prefix;
  std::string type;
};

Tag split_tag(const std::string& tag) {
  static const std::string kNoType = "_";
  if (tag.empty()) return {'O', kNoType};  // seqeval would fail on an empty tag; treat it as outside
  // seqeval: chunk[1:].split('-', maxsplit=1)[-1] or '_'
  auto dash = tag.find('-', 1);
  std::size_t from = dash == std::string::npos ? 1 : dash + 1;
  return {tag[0], from < tag.size() ? tag.substr(from) : kNoType};
}

bool end_of_chunk(char prev, char tag, const std::string& prev_type, const std::string& type) {
  if (prev == 'E' || prev == 'S') return true;
  if ((prev == 'B' || prev == 'I') && (tag == 'B' || tag == 'S' || tag == 'O')) return true;
  return prev != 'O' && prev != '.' && prev_type != type;
}

bool start_of_chunk(char prev, char tag, const std::string& prev_type, const std::string& type) {
  if (tag == 'B' || tag == 'S') return true;
  if ((prev == 'E' || prev == 'S' || prev == 'O') && (tag == 'E' || tag == 'I')) return true;
  return tag != 'O' && tag != '.' && prev_type != type;
}

double ratio(std::size_t a, std::size_t b) { return b == 0 ? 0.0 : static_cast<double>(a) / static_cast<double>(b); }

void finish(EntityScores& s) {
  s.precision = ratio(s.correct, s.predicted);
  s.recall = ratio(s.correct, s.support);
  s.f1 = s.precision + s.recall == 0 ? 0.0 : 2 * s.precision * s.recall / (s.precision + s.recall);
}

}  // namespace

std::vector<Entity> get_entities(const std::vector<std::string>& tags) {
  std::vector<Entity> chunks;
  char prev = 'O';
  std::string prev_type;  // seqeval starts with '' (not '_'), which only matters for the first tag
  std::size_t begin = 0;
  // One extra "O" closes an entity that runs to the end of the sequence.
  for (std::size_t i = 0; i <= tags.size(); ++i) {
    Tag t = i < tags.size() ? split_tag(tags[i]) : Tag{'O', "_"};
    if (end_of_chunk(prev, t.prefix, prev_type, t.type)) chunks.push_back({prev_type, begin, i - 1});
    if (start_of_chunk(prev, t.prefix, prev_type, t.type)) begin = i;
    prev = t.prefix;
    prev_type = t.type;
  }
  return chunks;
}

SeqevalReport seqeval(const std::vector<std::vector<std::string>>& y_true,
                      const std::vector<std::vector<std::string>>& y_pred) {
  TZ_CHECK(y_true.size() == y_pred.size(), "seqeval: ", y_true.size(), " true sequences but ", y_pred.size(),
           " predicted ones");
  // Flatten with an "O" after each sequence, as seqeval does for nested lists.
  std::vector<std::string> flat_true, flat_pred;
  SeqevalReport r;
  std::size_t same = 0;
  for (std::size_t s = 0; s < y_true.size(); ++s) {
    TZ_CHECK(y_true[s].size() == y_pred[s].size(), "seqeval: sequence ", s, " has ", y_true[s].size(),
             " true tags but ", y_pred[s].size(), " predicted ones");
    for (std::size_t i = 0; i < y_true[s].size(); ++i) {
      flat_true.push_back(y_true[s][i]);
      flat_pred.push_back(y_pred[s][i]);
      same += y_true[s][i] == y_pred[s][i];
    }
    flat_true.push_back("O");
    flat_pred.push_back("O");
  }
  r.tokens = flat_true.size() - y_true.size();
  r.accuracy = ratio(same, r.tokens);

  using Key = std::tuple<std::string, std::size_t, std::size_t>;
  std::set<Key> truth, pred;
  for (const Entity& e : get_entities(flat_true)) truth.insert({e.type, e.first, e.last});
  for (const Entity& e : get_entities(flat_pred)) pred.insert({e.type, e.first, e.last});
  for (const Key& k : truth) {
    ++r.per_type[std::get<0>(k)].support;
    if (pred.count(k)) ++r.per_type[std::get<0>(k)].correct;
  }
  for (const Key& k : pred) ++r.per_type[std::get<0>(k)].predicted;
  for (auto& [type, s] : r.per_type) {
    finish(s);
    r.overall.support += s.support;
    r.overall.predicted += s.predicted;
    r.overall.correct += s.correct;
  }
  finish(r.overall);
  return r;
}

}  // namespace tz::train
