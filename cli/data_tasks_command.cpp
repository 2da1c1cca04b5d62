// `tensorzoo data fortunes-langtag | fortunes-who | fortunes-continue`: one data set per fine-tuning
// head (token classification, extractive QA, multiple choice) built from the Debian fortune files
// through data/fortune_corpus.h. The fortunes are split into train/dev/test FIRST (the langid
// split: a seeded shuffle per language), and every example of a split is made from that split's
// fortunes only, so no text is shared between splits. Each command also scores a trivial baseline
// on the test split (printed as baseline_<metric>=..., and in baseline.json).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "cli/args.h"
#include "core/error.h"
#include "data/fortune_corpus.h"
#include "train/seqeval.h"
#include "train/squad_metric.h"

namespace tz::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// splitmix64: the same numbers on every platform (std:: distributions are not portable).
struct Rng {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  size_t below(size_t n) { return static_cast<size_t>(next() % n); }
  template <class T>
  void shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[below(i)]);
  }
};

std::vector<std::string> words_of(const std::string& text) {
  std::vector<std::string> w;
  std::istringstream in(text);
  for (std::string s; in >> s;) w.push_back(s);
  return w;
}

std::string join(const std::vector<std::string>& w, size_t begin, size_t end) {
  std::string s;
  for (size_t i = begin; i < end; ++i) s += (i > begin ? " " : "") + w[i];
  return s;
}

size_t code_points(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::string lower_ascii(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

void add_fortune_options(ArgParser& p) {
  p.option("out", "DIR", "output folder (created when missing)", "", true);
  p.option("fortunes-dir", "DIR", "where the fortune files are", "/usr/share/games/fortunes");
  p.option("seed", "S", "seed of the fortune split and of the example construction", "42");
  p.option("train-examples", "N", "examples built from the training fortunes", "4000");
  p.option("eval-examples", "N", "examples built from each of the dev and test fortunes", "500");
}

struct Splits {
  data::FortuneCorpus corpus;
  size_t n_train, n_eval;
  uint64_t seed;
  fs::path out;
};

Splits load_splits(const ArgParser& p) {
  data::FortuneCorpusOptions o;
  o.fortunes_dir = p.get("fortunes-dir");
  o.seed = static_cast<uint64_t>(p.get_int("seed"));
  TZ_CHECK(p.get_int("train-examples") > 0 && p.get_int("eval-examples") > 0,
           "data: --train-examples and --eval-examples must be positive");
  Splits s{data::build_fortune_langid(o), static_cast<size_t>(p.get_int("train-examples")),
           static_cast<size_t>(p.get_int("eval-examples")), o.seed, p.get("out")};
  fs::create_directories(s.out);
  // The vocabulary corpus: the training fortunes only.
  std::ofstream corpus(s.out / "corpus.txt");
  for (const auto& r : s.corpus.train) corpus << r.text << "\n";
  return s;
}

// Each split's examples draw from their own stream, so that changing --train-examples leaves the
// dev and test sets (and the baselines) as they were.
Rng split_rng(uint64_t seed, uint64_t task, const std::string& split) {
  return Rng{seed * 1000003 + task + (split == "train" ? 0 : split == "dev" ? 7919 : 15838)};
}

void write_jsonl(const fs::path& path, const std::vector<json>& rows) {
  std::ofstream f(path);
  for (const auto& r : rows) f << r.dump() << "\n";
  TZ_CHECK(f.good(), "data: could not write '", path.string(), "'");
}

void write_baseline(const Splits& s, const json& baseline) {
  std::ofstream(s.out / "baseline.json") << baseline.dump(2) << "\n";
  for (const auto& [k, v] : baseline.items()) std::cout << k << "=" << v.get<double>() << "\n";
}

// ---- fortunes-langtag ---------------------------------------------------------------------------

// A sentence: fragments (3..8 consecutive words) of 2..4 fortunes, each in a different language;
// every word tagged with its fragment's language, B- on the fragment's first word (IOB2).
json langtag_example(const std::vector<data::LabelledText>& pool, Rng& rng) {
  const size_t parts = 2 + rng.below(3);
  std::vector<std::string> words, tags;
  std::set<std::string> used;
  while (used.size() < parts) {
    const auto& r = pool[rng.below(pool.size())];
    if (used.count(r.label)) continue;
    auto w = words_of(r.text);
    if (w.size() < 3) continue;
    used.insert(r.label);
    const size_t len = std::min(w.size(), 3 + rng.below(6)), start = rng.below(w.size() - len + 1);
    for (size_t i = start; i < start + len; ++i) {
      words.push_back(w[i]);
      tags.push_back((i == start ? "B-" : "I-") + r.label);
    }
  }
  return json{{"tokens", words}, {"ner_tags", tags}};
}

int run_fortunes_langtag(const std::vector<std::string>& args) {
  ArgParser p("tensorzoo data fortunes-langtag",
              "Token classification from the Debian fortunes: sentences joining fragments of 2-4 fortunes\n"
              "in different languages, each word tagged with its language (IOB2: B-en I-en B-de ...).\n"
              "Writes train/dev/test.jsonl (tokens, ner_tags), corpus.txt (training fortunes) and\n"
              "baseline.json: seqeval F1 on test of (a) the majority language for every word and (b) each\n"
              "word's most frequent language in the training sentences (unknown words: the majority).");
  add_fortune_options(p);
  if (!p.parse(args)) return p.exit_code();
  Splits s = load_splits(p);
  Rng rng{s.seed * 1000003 + 1};
  std::map<std::string, std::vector<json>> sets;
  sets["train"].reserve(s.n_train);
  for (size_t i = 0; i < s.n_train; ++i) sets["train"].push_back(langtag_example(s.corpus.train, rng));
  for (size_t i = 0; i < s.n_eval; ++i) sets["dev"].push_back(langtag_example(s.corpus.dev, rng));
  for (size_t i = 0; i < s.n_eval; ++i) sets["test"].push_back(langtag_example(s.corpus.test, rng));
  for (const auto& [name, rows] : sets) write_jsonl(s.out / (name + ".jsonl"), rows);

  // Baselines, from the training sentences' word counts.
  std::map<std::string, std::map<std::string, size_t>> word_langs;
  std::map<std::string, size_t> lang_count;
  for (const auto& r : sets["train"])
    for (size_t i = 0; i < r["tokens"].size(); ++i) {
      std::string lang = r["ner_tags"][i].get<std::string>().substr(2);
      ++word_langs[lower_ascii(r["tokens"][i].get<std::string>())][lang];
      ++lang_count[lang];
    }
  auto argmax = [](const std::map<std::string, size_t>& m) {
    return std::max_element(m.begin(), m.end(), [](auto& a, auto& b) { return a.second < b.second; })->first;
  };
  const std::string majority = argmax(lang_count);
  std::vector<std::vector<std::string>> truth, pred_majority, pred_lookup;
  for (const auto& r : sets["test"]) {
    truth.push_back(r["ner_tags"].get<std::vector<std::string>>());
    std::vector<std::string> langs;
    for (const auto& w : r["tokens"]) {
      auto it = word_langs.find(lower_ascii(w.get<std::string>()));
      langs.push_back(it == word_langs.end() ? majority : argmax(it->second));
    }
    std::vector<std::string> maj, look;
    for (size_t i = 0; i < langs.size(); ++i) {
      maj.push_back((i == 0 ? "B-" : "I-") + majority);
      look.push_back((i == 0 || langs[i] != langs[i - 1] ? "B-" : "I-") + langs[i]);
    }
    pred_majority.push_back(maj);
    pred_lookup.push_back(look);
  }
  train::SeqevalReport maj = train::seqeval(truth, pred_majority), look = train::seqeval(truth, pred_lookup);
  write_baseline(s, json{{"baseline_majority_f1", maj.overall.f1},
                         {"baseline_majority_accuracy", maj.accuracy},
                         {"baseline_word_lookup_f1", look.overall.f1},
                         {"baseline_word_lookup_accuracy", look.accuracy}});
  std::cout << "wrote " << s.n_train << " train, " << s.n_eval << " dev, " << s.n_eval << " test sentences to "
            << s.out.string() << "\n";
  return 0;
}

// ---- fortunes-who -------------------------------------------------------------------------------

struct Attributed {
  std::string quote, author;
};

// "text -- Author, Source" -> ("text", "Author"): the part after the last " -- ", cut at the first
// comma or parenthesis; kept when the author is 2..40 characters and the quote has 8+ words.
std::vector<Attributed> attributed(const std::vector<data::LabelledText>& records) {
  std::vector<Attributed> out;
  for (const auto& r : records) {
    size_t at = r.text.rfind(" -- ");
    if (at == std::string::npos) continue;
    std::string author = r.text.substr(at + 4);
    author = author.substr(0, author.find_first_of(",("));
    while (!author.empty() && (author.back() == ' ' || author.back() == '.')) author.pop_back();
    std::string quote = r.text.substr(0, at);
    if (author.size() < 2 || author.size() > 40 || words_of(quote).size() < 8) continue;
    out.push_back({quote, author});
  }
  return out;
}

// The baselines' answers to one question.
struct WhoGuesses {
  std::string first_author;  // trivial: the context's first author, whatever the question
  std::string lookup;        // heuristic: the author of the fortune sharing most (lower-cased) words with the quote
};

// A context of `k` attributed fortunes with different authors ("quote -- Author" each), and one
// question quoting 5 consecutive words of one of them; the answer is that fortune's author.
json who_example(const std::vector<Attributed>& pool, size_t k, bool quote_end, Rng& rng, size_t id,
                 WhoGuesses* guesses) {
  std::vector<const Attributed*> picked;
  std::set<std::string> authors;
  while (picked.size() < k) {
    const auto& a = pool[rng.below(pool.size())];
    if (authors.insert(a.author).second) picked.push_back(&a);
  }
  const size_t target = rng.below(k);
  std::string context;
  size_t answer_start = 0;
  for (size_t i = 0; i < k; ++i) {
    if (!context.empty()) context += " ";
    context += picked[i]->quote + " -- ";
    if (i == target) answer_start = code_points(context);
    context += picked[i]->author;
  }
  auto w = words_of(picked[target]->quote);
  const size_t start = quote_end ? w.size() - 5 : rng.below(w.size() - 5 + 1);
  guesses->first_author = picked[0]->author;
  std::set<std::string> quoted;
  for (size_t i = start; i < start + 5; ++i) quoted.insert(lower_ascii(w[i]));
  size_t best = 0, best_overlap = 0;
  for (size_t i = 0; i < k; ++i) {
    std::set<std::string> words;
    for (const auto& x : words_of(picked[i]->quote)) words.insert(lower_ascii(x));
    size_t overlap = 0;
    for (const auto& q : quoted) overlap += words.count(q);
    if (overlap > best_overlap) best = i, best_overlap = overlap;
  }
  guesses->lookup = picked[best]->author;
  return json{{"id", "who-" + std::to_string(id)},
              {"question", "Who said \"" + join(w, start, start + 5) + "\"?"},
              {"context", context},
              {"answers", {{"text", {picked[target]->author}}, {"answer_start", {answer_start}}}}};
}

int run_fortunes_who(const std::vector<std::string>& args) {
  ArgParser p("tensorzoo data fortunes-who",
              "Extractive QA from the Debian fortunes: \"who said it\". A context holds several attributed\n"
              "fortunes (\"... -- Author\"), usually longer than one 384-token window; the question quotes\n"
              "five consecutive words of one of them, the answer is its author. SQuAD-style JSONL\n"
              "(id, question, context, answers{text, answer_start in code points}) in train/dev/test.jsonl,\n"
              "corpus.txt, and baseline.json: exact match / F1 on test of (a) answering the context's first\n"
              "author and (b) the quote lookup heuristic: the author of the fortune sharing most lower-cased\n"
              "words with the quote (it knows where each fortune starts and ends; the model sees only text).");
  add_fortune_options(p);
  p.option("fortunes-per-context", "K", "attributed fortunes in each context", "6");
  p.option("quote", "WHERE", "which five words the question quotes: any (anywhere in the fortune) or end (its last five)",
           "any");
  if (!p.parse(args)) return p.exit_code();
  const long long k = p.get_int("fortunes-per-context");
  TZ_CHECK(k >= 2, "data fortunes-who: --fortunes-per-context must be at least 2, got ", k);
  const std::string quote = p.get("quote");
  TZ_CHECK(quote == "any" || quote == "end", "data fortunes-who: --quote must be any or end, got '", quote, "'");
  Splits s = load_splits(p);
  std::map<std::string, std::string> first_authors, lookups;  // of the split being built
  auto make = [&](const std::vector<data::LabelledText>& records, size_t n, const std::string& name) {
    Rng rng = split_rng(s.seed, 2, name);
    auto pool = attributed(records);
    std::set<std::string> authors;
    for (const auto& a : pool) authors.insert(a.author);
    TZ_CHECK(authors.size() >= static_cast<size_t>(k), "data fortunes-who: the ", name, " split has only ",
             authors.size(), " authors, fewer than --fortunes-per-context ", k);
    std::vector<json> rows;
    for (size_t i = 0; i < n; ++i) {
      WhoGuesses g;
      rows.push_back(who_example(pool, static_cast<size_t>(k), quote == "end", rng, i, &g));
      first_authors[rows.back()["id"]] = g.first_author;
      lookups[rows.back()["id"]] = g.lookup;
    }
    write_jsonl(s.out / (name + ".jsonl"), rows);
    std::cerr << name << ": " << pool.size() << " attributed fortunes, " << authors.size() << " authors, " << n
              << " questions\n";
    return rows;
  };
  make(s.corpus.train, s.n_train, "train");
  make(s.corpus.dev, s.n_eval, "dev");
  first_authors.clear();
  lookups.clear();
  auto test = make(s.corpus.test, s.n_eval, "test");
  // Baselines on test (ids are unique within a split): the trivial first author, and the quote
  // lookup heuristic, which reads the context as a list of fortunes (the model sees only text).
  std::map<std::string, std::vector<std::string>> gold;
  for (const auto& r : test) gold[r["id"]] = r["answers"]["text"].get<std::vector<std::string>>();
  train::SquadScores b = train::squad_scores(first_authors, gold), l = train::squad_scores(lookups, gold);
  write_baseline(s, json{{"baseline_first_author_exact_match", b.exact_match},
                         {"baseline_first_author_f1", b.f1},
                         {"baseline_quote_lookup_exact_match", l.exact_match},
                         {"baseline_quote_lookup_f1", l.f1}});
  return 0;
}

// ---- fortunes-continue --------------------------------------------------------------------------

// A fortune of 14+ words cut at a word boundary: the context is up to 21 words before the cut, the
// start (shared by the four choices, as SWAG's sent2) the 3 words just before it, the right ending
// the next 4..8 words; three wrong endings are the same-length pieces of other
// fortunes of the split (any language, as SWAG's negatives come from elsewhere).
struct Cut {
  std::string context, start, ending;  // start: the 3 words before the cut, shared by every choice (SWAG's sent2)
};

std::vector<Cut> cuts_of(const std::vector<data::LabelledText>& records, Rng& rng) {
  std::vector<Cut> cuts;
  for (const auto& r : records) {
    auto w = words_of(r.text);
    if (w.size() < 14) continue;
    const size_t len = 4 + rng.below(5);
    const size_t cut = 6 + rng.below(w.size() - len - 5);  // 6 .. size - len: 6+ words of context
    const size_t begin = cut > 24 ? cut - 24 : 0;
    cuts.push_back({join(w, begin, cut - 3), join(w, cut - 3, cut), join(w, cut, cut + len)});
  }
  return cuts;
}

int run_fortunes_continue(const std::vector<std::string>& args) {
  ArgParser p("tensorzoo data fortunes-continue",
              "Multiple choice from the Debian fortunes: the beginning of a fortune and four endings, the\n"
              "true continuation and three pieces of other fortunes of the same split. JSONL (context,\n"
              "start = the 3 words before the cut, endings, label) in train/dev/test.jsonl, corpus.txt,\n"
              "and baseline.json: accuracy on test of the word-overlap heuristic (the ending sharing most\n"
              "lower-cased words with the context and start; ties: the first).");
  add_fortune_options(p);
  if (!p.parse(args)) return p.exit_code();
  Splits s = load_splits(p);
  double baseline_right = 0;
  auto make = [&](const std::vector<data::LabelledText>& records, size_t n, const std::string& name) {
    Rng rng = split_rng(s.seed, 3, name);
    std::vector<Cut> cuts;
    std::vector<json> rows;
    baseline_right = 0;
    for (size_t i = 0; i < n; ++i) {
      // Each pass over the split's fortunes cuts them afresh (another cut point and ending length),
      // so asking for more examples than there are fortunes gives new examples, not repeats.
      if (i % std::max<size_t>(cuts.size(), 1) == 0) {
        cuts = cuts_of(records, rng);
        TZ_CHECK(cuts.size() >= 4, "data fortunes-continue: the ", name, " split has too few long fortunes");
        rng.shuffle(cuts);
      }
      const Cut& c = cuts[i % cuts.size()];
      const size_t label = rng.below(4);
      std::vector<std::string> endings;
      for (size_t j = 0; j < 4; ++j) {
        if (j == label) {
          endings.push_back(c.ending);
          continue;
        }
        size_t other;
        do other = rng.below(cuts.size());
        while (other == i % cuts.size());
        endings.push_back(cuts[other].ending);
      }
      std::set<std::string> ctx;
      for (const auto& w : words_of(c.context + " " + c.start)) ctx.insert(lower_ascii(w));
      size_t best = 0, best_overlap = 0;
      for (size_t j = 0; j < 4; ++j) {
        size_t overlap = 0;
        for (const auto& w : words_of(endings[j])) overlap += ctx.count(lower_ascii(w));
        if (overlap > best_overlap) best = j, best_overlap = overlap;
      }
      baseline_right += best == label;
      rows.push_back(json{{"context", c.context}, {"start", c.start}, {"endings", endings}, {"label", label}});
    }
    write_jsonl(s.out / (name + ".jsonl"), rows);
    std::cerr << name << ": " << cuts.size() << " fortunes, " << n << " examples\n";
  };
  make(s.corpus.train, s.n_train, "train");
  make(s.corpus.dev, s.n_eval, "dev");
  make(s.corpus.test, s.n_eval, "test");
  write_baseline(s, json{{"baseline_word_overlap_accuracy", baseline_right / static_cast<double>(s.n_eval)}});
  return 0;
}

}  // namespace

int run_data_task(const std::string& name, const std::vector<std::string>& args) {
  if (name == "fortunes-langtag") return run_fortunes_langtag(args);
  if (name == "fortunes-who") return run_fortunes_who(args);
  if (name == "fortunes-continue") return run_fortunes_continue(args);
  return -1;
}

}  // namespace tz::cli
