// Token classification data, alignment, post-processing and inference (see token_classification.h).
#include "train/token_classification.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "autograd/grad_mode.h"
#include "core/error.h"
#include "train/jsonl.h"
#include "tensor/ops.h"

namespace tz::train {
namespace {

bool is_integer(const std::string& s) {
  if (s.empty()) return false;
  std::size_t i = s[0] == '-' ? 1 : 0;
  if (i == s.size()) return false;
  for (; i < s.size(); ++i)
    if (s[i] < '0' || s[i] > '9') return false;
  return true;
}

std::vector<std::string> read_tags(const nlohmann::json& tags, const std::vector<std::string>& int_names,
                                   const std::string& where) {
  TZ_CHECK(tags.is_array(), where, ": the tags must be a list, got ", tags.dump());
  std::vector<std::string> out;
  for (const auto& t : tags) {
    if (t.is_string()) {
      out.push_back(t.get<std::string>());
    } else if (t.is_number_integer()) {
      int64_t v = t.get<int64_t>();
      if (int_names.empty()) {
        out.push_back(std::to_string(v));
      } else {
        TZ_CHECK(v >= 0 && v < static_cast<int64_t>(int_names.size()), where, ": tag id ", v, " is outside [0, ",
                 int_names.size(), ")");
        out.push_back(int_names[static_cast<std::size_t>(v)]);
      }
    } else {
      TZ_CHECK(false, where, ": a tag must be a string or an integer, got ", t.dump());
    }
  }
  return out;
}

void softmax_row(const float* x, std::size_t n, std::vector<float>& out) {
  out.resize(n);
  float m = *std::max_element(x, x + n);
  double sum = 0;
  for (std::size_t i = 0; i < n; ++i) sum += out[i] = std::exp(x[i] - m);
  for (auto& v : out) v = static_cast<float>(v / sum);
}

std::size_t argmax_row(const float* x, std::size_t n) {
  return static_cast<std::size_t>(std::max_element(x, x + n) - x);  // first maximum, as torch/numpy
}

// Byte offset of code point `cp` in `text` (text.size() past the end).
std::size_t byte_of_code_point(const std::string& text, std::size_t cp) {
  std::size_t i = 0, n = 0;
  while (i < text.size() && n < cp) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    i += c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    ++n;
  }
  return std::min(i, text.size());
}

}  // namespace

std::vector<Entity> group_entities(const std::vector<std::string>& tags) {
  // HF's pipeline: "B-X" begins X, "I-X" continues X, any other label L acts as "I-L"; "O" is no entity.
  auto split = [](const std::string& t) -> std::pair<char, std::string> {
    if (t.rfind("B-", 0) == 0) return {'B', t.substr(2)};
    if (t.rfind("I-", 0) == 0) return {'I', t.substr(2)};
    return {'I', t};
  };
  std::vector<Entity> out;
  std::string open_type;  // type of the group being built, "" when none
  for (std::size_t i = 0; i < tags.size(); ++i) {
    auto [bi, type] = split(tags[i]);
    bool continues = i > 0 && bi != 'B' && type == split(tags[i - 1]).second;
    if (!continues && type != "O") out.push_back({type, i, i});
    if (continues && type != "O") out.back().last = i;
  }
  return out;
}

TagSet::TagSet(std::vector<std::string> names) : names_(std::move(names)) {
  for (std::size_t i = 0; i < names_.size(); ++i) {
    TZ_CHECK(ids_.emplace(names_[i], static_cast<int64_t>(i)).second, "TagSet: tag '", names_[i],
             "' appears twice");
  }
}

const std::string& TagSet::name(int64_t id) const {
  TZ_CHECK(id >= 0 && id < static_cast<int64_t>(names_.size()), "TagSet: label id ", id, " is outside [0, ",
           names_.size(), ")");
  return names_[static_cast<std::size_t>(id)];
}

int64_t TagSet::id(const std::string& name) const {
  auto it = ids_.find(name);
  if (it == ids_.end()) {
    std::string known;
    for (const auto& n : names_) known += (known.empty() ? "" : ", ") + n;
    TZ_CHECK(false, "TagSet: unknown tag '", name, "' (known: ", known, ")");
  }
  return it->second;
}

std::vector<TokenClassificationExample> read_token_classification_jsonl(const std::filesystem::path& path,
                                                                        const std::vector<std::string>& int_names) {
  std::vector<TokenClassificationExample> out;
  for_each_jsonl_object(path, "read_token_classification_jsonl", [&](nlohmann::json j, const std::string& where) {  // a copy: j[key] may insert
    TZ_CHECK(j.contains("tokens"), where, ": expected an object with \"tokens\"");
    const char* tag_key = j.contains("ner_tags") ? "ner_tags" : "tags";
    TZ_CHECK(j.contains(tag_key), where, ": expected \"ner_tags\" or \"tags\"");
    TokenClassificationExample ex;
    for (const auto& w : j["tokens"]) {
      TZ_CHECK(w.is_string(), where, ": tokens must be strings, got ", w.dump());
      ex.words.push_back(w.get<std::string>());
    }
    ex.tags = read_tags(j[tag_key], int_names, where);
    TZ_CHECK(ex.words.size() == ex.tags.size(), where, ": ", ex.words.size(), " tokens but ", ex.tags.size(), " tags");
    out.push_back(std::move(ex));
  });
  return out;
}

std::vector<TokenClassificationExample> read_conll(const std::filesystem::path& path) {
  std::ifstream in(path);
  TZ_CHECK(in, "read_conll: cannot open '", path.string(), "'");
  std::vector<TokenClassificationExample> out;
  TokenClassificationExample current;
  auto flush = [&] {
    if (!current.words.empty()) out.push_back(std::move(current));
    current = {};
  };
  std::string line;
  for (std::size_t line_no = 1; std::getline(in, line); ++line_no) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::istringstream cols(line);
    std::vector<std::string> fields;
    for (std::string f; cols >> f;) fields.push_back(f);
    if (fields.empty() || fields[0] == "-DOCSTART-") {
      flush();
      continue;
    }
    TZ_CHECK(fields.size() >= 2, path.string(), ":", line_no, ": expected 'word tag', got '", line, "'");
    current.words.push_back(fields.front());
    current.tags.push_back(fields.back());
  }
  flush();
  return out;
}

std::vector<TokenClassificationExample> read_token_classification(const std::filesystem::path& path,
                                                                  const std::vector<std::string>& int_names) {
  std::string ext = path.extension().string();
  if (ext == ".jsonl" || ext == ".json") return read_token_classification_jsonl(path, int_names);
  return read_conll(path);
}

TagSet collect_labels(const std::vector<TokenClassificationExample>& examples) {
  std::vector<std::string> names;
  for (const auto& ex : examples) names.insert(names.end(), ex.tags.begin(), ex.tags.end());
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  if (!names.empty() && std::all_of(names.begin(), names.end(), is_integer)) {
    std::sort(names.begin(), names.end(),
              [](const std::string& a, const std::string& b) { return std::stoll(a) < std::stoll(b); });
  }
  return TagSet(std::move(names));
}

TagSet choose_labels(const std::vector<TokenClassificationExample>& examples,
                       const std::vector<std::string>& config_id2label) {
  TagSet collected = collect_labels(examples);
  bool is_default = true;
  for (std::size_t i = 0; i < config_id2label.size(); ++i)
    is_default = is_default && config_id2label[i] == "LABEL_" + std::to_string(i);
  if (is_default) return collected;
  std::vector<std::string> a = config_id2label, b = collected.names();
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  return a == b ? TagSet(config_id2label) : collected;
}

tokenizer::Encoding encode_words(const tokenizer::WordPiece& tok, const std::vector<std::string>& words,
                                 std::size_t max_length) {
  std::vector<int64_t> ids;
  std::vector<int32_t> word_of_piece;
  std::vector<std::string> pieces;
  for (std::size_t w = 0; w < words.size(); ++w) {
    for (std::string& piece : tok.tokenize(words[w])) {
      ids.push_back(tok.token_to_id(piece));
      pieces.push_back(std::move(piece));
      word_of_piece.push_back(static_cast<int32_t>(w));
    }
  }
  std::size_t n_special = tok.build_inputs_with_special_tokens(std::span<const int64_t>{}).size();
  if (max_length > 0 && ids.size() + n_special > max_length) {
    std::size_t keep = max_length > n_special ? max_length - n_special : 0;
    ids.resize(keep);
    pieces.resize(keep);
    word_of_piece.resize(keep);
  }
  tokenizer::Encoding e;
  e.ids = tok.build_inputs_with_special_tokens(ids);
  e.type_ids = tok.create_token_type_ids_from_sequences(ids);
  // Asked for the raw pieces (not already_has_special_tokens) so that a word spelled like a special
  // token still counts as a word.
  e.special_tokens_mask = tok.get_special_tokens_mask(ids);
  // Walk the template's output: non-special positions take the pieces in order.
  std::size_t k = 0;
  for (std::size_t i = 0; i < e.ids.size(); ++i) {
    if (e.special_tokens_mask[i] == 0 && k < ids.size()) {
      e.tokens.push_back(pieces[k]);
      e.word_ids.push_back(word_of_piece[k]);
      e.sequence_ids.push_back(0);
      ++k;
    } else {
      e.tokens.push_back(tok.id_to_token(e.ids[i]).value_or(""));
      e.word_ids.push_back(-1);
      e.sequence_ids.push_back(-1);
    }
  }
  TZ_CHECK(k == ids.size(), "encode_words: the template placed ", k, " of ", ids.size(), " pieces");
  e.attention_mask.assign(e.ids.size(), 1);
  e.offsets.assign(e.ids.size(), tokenizer::Offset{});
  return e;
}

TokenClassificationFeature make_token_classification_feature(const tokenizer::WordPiece& tok,
                                                              const TokenClassificationExample& example,
                                                              const TagSet& labels,
                                                              const TokenClassificationOptions& options) {
  TZ_CHECK(example.words.size() == example.tags.size(), "token classification: ", example.words.size(),
           " words but ", example.tags.size(), " tags");
  tokenizer::Encoding e = encode_words(tok, example.words, options.max_length);
  TokenClassificationFeature f;
  f.input_ids = e.ids;
  f.token_type_ids = e.type_ids;
  f.attention_mask = e.attention_mask;
  f.word_ids = e.word_ids;
  f.labels.reserve(e.size());
  int32_t previous = -1;
  for (int32_t w : e.word_ids) {
    if (w < 0) {
      f.labels.push_back(kTokenClassificationIgnore);
    } else if (w != previous) {
      f.labels.push_back(labels.id(example.tags[static_cast<std::size_t>(w)]));
    } else if (options.label_all_pieces) {
      // run_ner's b_to_i_label: a word's later pieces continue its entity.
      std::string tag = example.tags[static_cast<std::size_t>(w)];
      if (tag.rfind("B-", 0) == 0 && labels.contains("I-" + tag.substr(2))) tag = "I-" + tag.substr(2);
      f.labels.push_back(labels.id(tag));
    } else {
      f.labels.push_back(kTokenClassificationIgnore);
    }
    previous = w;
  }
  return f;
}

std::vector<TokenClassificationFeature> make_token_classification_features(
    const tokenizer::WordPiece& tok, const std::vector<TokenClassificationExample>& examples, const TagSet& labels,
    const TokenClassificationOptions& options) {
  std::vector<TokenClassificationFeature> out;
  out.reserve(examples.size());
  for (const auto& ex : examples) out.push_back(make_token_classification_feature(tok, ex, labels, options));
  return out;
}

models::Inputs collate_token_classification(const std::vector<TokenClassificationFeature>& features,
                                              std::span<const std::size_t> indices, int64_t pad_id) {
  TZ_CHECK(!indices.empty(), "collate_token_classification: empty batch");
  std::size_t T = 0;
  for (std::size_t i : indices) {
    TZ_CHECK(i < features.size(), "collate_token_classification: index ", i, " outside [0, ", features.size(), ")");
    T = std::max(T, features[i].input_ids.size());
  }
  std::size_t B = indices.size();
  std::vector<int64_t> ids(B * T, pad_id), types(B * T, 0), mask(B * T, 0), labels(B * T, kTokenClassificationIgnore);
  for (std::size_t b = 0; b < B; ++b) {
    const auto& f = features[indices[b]];
    std::copy(f.input_ids.begin(), f.input_ids.end(), ids.begin() + b * T);
    std::copy(f.token_type_ids.begin(), f.token_type_ids.end(), types.begin() + b * T);
    std::copy(f.attention_mask.begin(), f.attention_mask.end(), mask.begin() + b * T);
    std::copy(f.labels.begin(), f.labels.end(), labels.begin() + b * T);
  }
  Shape shape{static_cast<int64_t>(B), static_cast<int64_t>(T)};
  models::Inputs in;
  in.input_ids = raw::from_vector(ids, shape);
  in.token_type_ids = raw::from_vector(types, shape);
  in.attention_mask = raw::from_vector(mask, shape);
  in.labels = raw::from_vector(labels, shape);
  return in;
}

void tags_for_metric(const TokenClassificationFeature& feature, const float* logits, std::size_t num_labels,
                     const TagSet& labels, std::vector<std::string>& truth, std::vector<std::string>& predicted) {
  for (std::size_t t = 0; t < feature.labels.size(); ++t) {
    if (feature.labels[t] == kTokenClassificationIgnore) continue;
    truth.push_back(labels.name(feature.labels[t]));
    predicted.push_back(labels.name(static_cast<int64_t>(argmax_row(logits + t * num_labels, num_labels))));
  }
}

std::map<std::string, double> evaluate_token_classification(models::PreTrainedModel& model,
                                                            const std::vector<TokenClassificationFeature>& features,
                                                            const TagSet& tags, std::size_t batch_size, int64_t pad_id,
                                                            SeqevalReport* report) {
  TZ_CHECK(batch_size > 0, "evaluate_token_classification: batch_size must be positive");
  NoGradGuard no_grad;
  std::vector<std::vector<std::string>> truth, predicted;
  double loss_sum = 0;
  for (std::size_t first = 0; first < features.size(); first += batch_size) {
    std::vector<std::size_t> idx;
    for (std::size_t i = first; i < std::min(features.size(), first + batch_size); ++i) idx.push_back(i);
    models::Inputs in = collate_token_classification(features, idx, pad_id);
    models::Output out = model.forward(in);
    TZ_CHECK(out.logits.dim() == 3 && out.logits.size(2) == static_cast<int64_t>(tags.size()),
             "evaluate_token_classification: logits ", out.logits.to_string(0), " do not have ", tags.size(), " labels");
    if (out.loss.defined()) loss_sum += out.loss.item() * static_cast<double>(idx.size());
    std::vector<float> logits = raw::contiguous(out.logits).to_vector<float>();
    const std::size_t T = static_cast<std::size_t>(out.logits.size(1));
    for (std::size_t b = 0; b < idx.size(); ++b) {
      truth.emplace_back();
      predicted.emplace_back();
      tags_for_metric(features[idx[b]], logits.data() + b * T * tags.size(), tags.size(), tags, truth.back(),
                      predicted.back());
    }
  }
  SeqevalReport r = seqeval(truth, predicted);
  if (report) *report = r;
  return {{"eval_loss", features.empty() ? 0.0 : loss_sum / static_cast<double>(features.size())},
          {"precision", r.overall.precision},
          {"recall", r.overall.recall},
          {"f1", r.overall.f1},
          {"accuracy", r.accuracy}};
}

TagResult tags_from_logits(const std::string& text, const tokenizer::Encoding& encoding, const float* logits,
                           const TagSet& labels) {
  TZ_CHECK(encoding.char_offsets.size() == encoding.size(),
           "tags_from_logits: the encoding needs char_offsets (EncodeOptions::char_offsets)");
  const std::size_t L = labels.size();
  TagResult r;
  std::vector<float> probs;
  int32_t current = -1;
  for (std::size_t t = 0; t < encoding.size(); ++t) {
    int32_t w = encoding.word_ids[t];
    if (w < 0) continue;
    if (w != current) {
      softmax_row(logits + t * L, L, probs);
      std::size_t best = argmax_row(logits + t * L, L);
      TaggedWord word;
      word.label = labels.name(static_cast<int64_t>(best));
      word.score = probs[best];
      word.begin = encoding.char_offsets[t].begin;
      r.words.push_back(word);
      current = w;
    }
    r.words.back().end = encoding.char_offsets[t].end;
  }
  for (auto& w : r.words) {
    std::size_t b = byte_of_code_point(text, w.begin), e = byte_of_code_point(text, w.end);
    w.text = text.substr(b, e - b);
  }
  std::vector<std::string> tags;
  for (const auto& w : r.words) tags.push_back(w.label);
  for (const Entity& c : group_entities(tags)) {
    TaggedEntity e;
    e.type = c.type;
    e.first_word = c.first;
    e.last_word = c.last;
    e.begin = r.words[c.first].begin;
    e.end = r.words[c.last].end;
    std::size_t b = byte_of_code_point(text, e.begin), end = byte_of_code_point(text, e.end);
    e.text = text.substr(b, end - b);
    double sum = 0;
    for (std::size_t i = c.first; i <= c.last; ++i) sum += r.words[i].score;
    e.score = static_cast<float>(sum / static_cast<double>(c.last - c.first + 1));
    r.entities.push_back(e);
  }
  return r;
}

TagResult tag_text(models::PreTrainedModel& model, const tokenizer::WordPiece& tok, const std::string& text,
                   std::size_t max_length) {
  tokenizer::EncodeOptions opt;
  opt.char_offsets = true;
  opt.truncation = tokenizer::Truncation{max_length};
  tokenizer::Encoding e = tok.encode(text, opt);
  Shape shape{1, static_cast<int64_t>(e.size())};
  models::Inputs in;
  in.input_ids = raw::from_vector(e.ids, shape);
  in.token_type_ids = raw::from_vector(e.type_ids, shape);
  in.attention_mask = raw::from_vector(e.attention_mask, shape);
  NoGradGuard no_grad;
  models::Output out = model.forward(in);
  TagSet labels(model.config().id2label);
  TZ_CHECK(out.logits.defined() && out.logits.dim() == 3 && out.logits.size(2) == static_cast<int64_t>(labels.size()),
           "tag_text: expected token-classification logits [1, T, ", labels.size(), "] from ", model.architecture());
  std::vector<float> logits = raw::contiguous(out.logits).to_vector<float>();
  return tags_from_logits(text, e, logits.data(), labels);
}

}  // namespace tz::train
