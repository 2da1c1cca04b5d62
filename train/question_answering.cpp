// Extractive QA data, windows, positions and post-processing (see question_answering.h).
#include "train/question_answering.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <numeric>

#include "autograd/grad_mode.h"
#include "core/error.h"
#include "train/jsonl.h"
#include "tensor/ops.h"
#include "tokenizer/unicode.h"
#include "train/squad_metric.h"

namespace tz::train {
namespace {

std::size_t code_points(const std::string& s) { return tokenizer::unicode::count_code_points(s, 0, s.size()); }

void check_answers(const QAExample& ex, const std::string& where) {
  TZ_CHECK(ex.answer_texts.size() == ex.answer_starts.size(), where, ": question '", ex.id, "' has ",
           ex.answer_texts.size(), " answer texts but ", ex.answer_starts.size(), " answer_start values");
  std::size_t n = code_points(ex.context);
  for (std::size_t i = 0; i < ex.answer_texts.size(); ++i)
    TZ_CHECK(ex.answer_starts[i] + code_points(ex.answer_texts[i]) <= n, where, ": question '", ex.id,
             "': answer_start ", ex.answer_starts[i], " + answer length runs past the context (", n, " characters)");
}

std::string string_field(const nlohmann::json& j, const char* key, const std::string& where) {
  TZ_CHECK(j.contains(key) && j[key].is_string(), where, ": expected a string \"", key, "\"");
  return j[key].get<std::string>();
}

std::string id_field(const nlohmann::json& j, const std::string& fallback) {
  if (!j.contains("id")) return fallback;
  return j["id"].is_string() ? j["id"].get<std::string>() : j["id"].dump();
}

std::string lstrip(const std::string& s) {
  std::size_t i = s.find_first_not_of(" \t\n\r\f\v");
  return i == std::string::npos ? std::string() : s.substr(i);
}

// The n largest of x[0..n): numpy's argsort(x)[-1:-n-1:-1] (ties: the later index first).
std::vector<std::size_t> top_indices(const float* x, std::size_t size, std::size_t n) {
  std::vector<std::size_t> idx(size);
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return x[a] < x[b]; });
  std::reverse(idx.begin(), idx.end());
  if (idx.size() > n) idx.resize(n);
  return idx;
}

}  // namespace

std::size_t byte_offset_of_code_point(const std::string& text, std::size_t cp) {
  std::size_t i = 0;
  for (std::size_t n = 0; i < text.size() && n < cp; ++n) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    i += c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
  }
  return std::min(i, text.size());
}

std::vector<QAExample> read_squad_json(const std::filesystem::path& path) {
  std::ifstream in(path);
  TZ_CHECK(in, "read_squad_json: cannot open '", path.string(), "'");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    TZ_CHECK(false, "read_squad_json: '", path.string(), "' is not valid JSON (", e.what(), ")");
  }
  TZ_CHECK(j.is_object() && j.contains("data") && j["data"].is_array(), "read_squad_json: '", path.string(),
           "' has no \"data\" list");
  std::vector<QAExample> out;
  const std::string where = path.string();
  for (const auto& article : j["data"]) {
    if (!article.contains("paragraphs")) continue;
    for (const auto& para : article["paragraphs"]) {
      std::string context = string_field(para, "context", where);
      if (!para.contains("qas")) continue;
      for (const auto& qa : para["qas"]) {
        QAExample ex;
        ex.id = id_field(qa, std::to_string(out.size()));
        ex.question = string_field(qa, "question", where + " question '" + ex.id + "'");
        ex.context = context;
        bool impossible = qa.value("is_impossible", false);
        if (!impossible && qa.contains("answers")) {
          for (const auto& a : qa["answers"]) {
            ex.answer_texts.push_back(string_field(a, "text", where + " question '" + ex.id + "'"));
            TZ_CHECK(a.contains("answer_start") && a["answer_start"].is_number_integer() &&
                         a["answer_start"].get<int64_t>() >= 0,
                     where, ": question '", ex.id, "': answer_start must be a non-negative integer");
            ex.answer_starts.push_back(a["answer_start"].get<std::size_t>());
          }
        }
        check_answers(ex, where);
        out.push_back(std::move(ex));
      }
    }
  }
  return out;
}

std::vector<QAExample> read_qa_jsonl(const std::filesystem::path& path) {
  std::vector<QAExample> out;
  for_each_jsonl_object(path, "read_qa_jsonl", [&](nlohmann::json j, const std::string& where) {  // a copy: j[key] may insert
    QAExample ex;
    ex.id = id_field(j, std::to_string(out.size()));
    ex.question = string_field(j, "question", where);
    ex.context = string_field(j, "context", where);
    if (j.contains("answers")) {
      const auto& a = j["answers"];
      TZ_CHECK(a.is_object() && a.contains("text") && a.contains("answer_start"), where,
               ": \"answers\" must be {\"text\": [...], \"answer_start\": [...]}");
      for (const auto& t : a["text"]) {
        TZ_CHECK(t.is_string(), where, ": answer texts must be strings");
        ex.answer_texts.push_back(t.get<std::string>());
      }
      for (const auto& s : a["answer_start"]) {
        TZ_CHECK(s.is_number_integer() && s.get<int64_t>() >= 0, where, ": answer_start values must be non-negative integers");
        ex.answer_starts.push_back(s.get<std::size_t>());
      }
    }
    check_answers(ex, where);
    out.push_back(std::move(ex));
  });
  return out;
}

std::vector<QAExample> read_qa(const std::filesystem::path& path) {
  if (path.extension() == ".json") {
    std::ifstream in(path);
    TZ_CHECK(in, "read_qa: cannot open '", path.string(), "'");
    char c = 0;
    while (in.get(c) && std::isspace(static_cast<unsigned char>(c))) {
    }
    // A SQuAD file is one object with "data"; HF's to_json writes JSON lines even under .json.
    if (c == '{') {
      std::string first_line;
      std::getline(in, first_line);
      bool one_object_per_line = false;
      try {
        auto j = nlohmann::json::parse("{" + first_line);
        one_object_per_line = !j.contains("data");
      } catch (const nlohmann::json::exception&) {
      }
      if (!one_object_per_line) return read_squad_json(path);
    }
  }
  return read_qa_jsonl(path);
}

std::vector<QAFeature> prepare_qa_features(const tokenizer::WordPiece& tok, const std::vector<QAExample>& examples,
                                           const QAOptions& options) {
  tokenizer::EncodeOptions opt;
  opt.char_offsets = true;
  opt.truncation = tokenizer::Truncation{options.max_length, tokenizer::TruncationStrategy::OnlySecond,
                                         options.doc_stride};
  const int64_t cls_id = tok.token_to_id(tok.config().cls_token);
  std::vector<QAFeature> out;
  for (std::size_t i = 0; i < examples.size(); ++i) {
    const QAExample& ex = examples[i];
    check_answers(ex, "prepare_qa_features");
    tokenizer::Encoding enc;
    try {
      enc = tok.encode_pair(lstrip(ex.question), ex.context, opt);
    } catch (const Error& e) {
      TZ_CHECK(false, "prepare_qa_features: question '", ex.id, "': ", e.what());
    }
    std::vector<const tokenizer::Encoding*> windows{&enc};
    for (const auto& w : enc.overflowing) windows.push_back(&w);

    bool answered = !ex.answer_texts.empty();
    std::size_t start_char = answered ? ex.answer_starts[0] : 0;
    std::size_t end_char = answered ? start_char + code_points(ex.answer_texts[0]) : 0;
    for (const tokenizer::Encoding* w : windows) {
      QAFeature f;
      f.example_index = i;
      f.input_ids = w->ids;
      f.token_type_ids = w->type_ids;
      f.attention_mask = w->attention_mask;
      f.offsets = w->char_offsets;
      f.sequence_ids = w->sequence_ids;
      auto cls = std::find(f.input_ids.begin(), f.input_ids.end(), cls_id);
      f.cls_index = cls == f.input_ids.end() ? 0 : static_cast<std::size_t>(cls - f.input_ids.begin());
      f.start_position = f.end_position = static_cast<int64_t>(f.cls_index);

      // The window's context tokens are [context_start, context_end].
      auto first = std::find(f.sequence_ids.begin(), f.sequence_ids.end(), 1);
      if (answered && first != f.sequence_ids.end()) {
        std::size_t context_start = static_cast<std::size_t>(first - f.sequence_ids.begin());
        std::size_t context_end = f.sequence_ids.size() - 1;
        while (f.sequence_ids[context_end] != 1) --context_end;
        // run_qa: the answer must lie entirely inside the window's context, else [CLS].
        if (f.offsets[context_start].begin <= start_char && f.offsets[context_end].end >= end_char) {
          // The guide's loops, bounded by the window's context (signed: e may step below context_start).
          int64_t s = static_cast<int64_t>(context_start), e = static_cast<int64_t>(context_end);
          while (s <= e && f.offsets[static_cast<std::size_t>(s)].begin <= start_char) ++s;
          while (e >= static_cast<int64_t>(context_start) && f.offsets[static_cast<std::size_t>(e)].end >= end_char) --e;
          f.start_position = s - 1;
          f.end_position = e + 1;
        }
      }
      out.push_back(std::move(f));
    }
  }
  return out;
}

models::Inputs collate_qa(const std::vector<QAFeature>& features, std::span<const std::size_t> indices,
                            int64_t pad_id, bool with_positions) {
  TZ_CHECK(!indices.empty(), "collate_qa: empty batch");
  std::size_t T = 0;
  for (std::size_t i : indices) {
    TZ_CHECK(i < features.size(), "collate_qa: index ", i, " outside [0, ", features.size(), ")");
    T = std::max(T, features[i].size());
  }
  const std::size_t B = indices.size();
  std::vector<int64_t> ids(B * T, pad_id), types(B * T, 0), mask(B * T, 0), starts(B), ends(B);
  for (std::size_t b = 0; b < B; ++b) {
    const QAFeature& f = features[indices[b]];
    std::copy(f.input_ids.begin(), f.input_ids.end(), ids.begin() + b * T);
    std::copy(f.token_type_ids.begin(), f.token_type_ids.end(), types.begin() + b * T);
    std::copy(f.attention_mask.begin(), f.attention_mask.end(), mask.begin() + b * T);
    starts[b] = f.start_position;
    ends[b] = f.end_position;
  }
  Shape shape{static_cast<int64_t>(B), static_cast<int64_t>(T)};
  models::Inputs in;
  in.input_ids = raw::from_vector(ids, shape);
  in.token_type_ids = raw::from_vector(types, shape);
  in.attention_mask = raw::from_vector(mask, shape);
  if (with_positions) {
    in.start_positions = raw::from_vector(starts, {static_cast<int64_t>(B)});
    in.end_positions = raw::from_vector(ends, {static_cast<int64_t>(B)});
  }
  return in;
}

QAPrediction postprocess_qa_example(const QAExample& example, std::span<const QAFeature* const> features,
                                    std::span<const float* const> start_logits, std::span<const float* const> end_logits,
                                    const QAPostprocessOptions& options) {
  TZ_CHECK(features.size() == start_logits.size() && features.size() == end_logits.size(),
           "postprocess_qa_example: ", features.size(), " features but ", start_logits.size(), " start and ",
           end_logits.size(), " end logit rows");
  std::vector<QACandidate> prelim;
  bool have_null = false;
  QACandidate null;
  for (std::size_t k = 0; k < features.size(); ++k) {
    const QAFeature& f = *features[k];
    const float* s = start_logits[k];
    const float* e = end_logits[k];
    // HF scores the null answer at index 0 (where [CLS] sits) and keeps the smallest over windows.
    double feature_null = static_cast<double>(s[0]) + static_cast<double>(e[0]);
    if (!have_null || null.score > feature_null) {
      null = QACandidate{"", 0, 0, s[0], e[0], feature_null, 0};
      have_null = true;
    }
    for (std::size_t si : top_indices(s, f.size(), options.n_best_size)) {
      for (std::size_t ei : top_indices(e, f.size(), options.n_best_size)) {
        if (f.sequence_ids[si] != 1 || f.sequence_ids[ei] != 1) continue;  // outside the context
        if (ei < si || ei - si + 1 > options.max_answer_length) continue;
        QACandidate c;
        c.begin = f.offsets[si].begin;
        c.end = f.offsets[ei].end;
        c.start_logit = s[si];
        c.end_logit = e[ei];
        c.score = c.start_logit + c.end_logit;
        prelim.push_back(c);
      }
    }
  }
  if (options.version_2_with_negative && have_null) prelim.push_back(null);
  std::stable_sort(prelim.begin(), prelim.end(),
                   [](const QACandidate& a, const QACandidate& b) { return a.score > b.score; });
  if (prelim.size() > options.n_best_size) prelim.resize(options.n_best_size);
  auto is_null_span = [](const QACandidate& c) { return c.begin == 0 && c.end == 0; };
  if (options.version_2_with_negative && have_null && std::none_of(prelim.begin(), prelim.end(), is_null_span))
    prelim.push_back(null);
  for (auto& c : prelim) {
    std::size_t b = byte_offset_of_code_point(example.context, c.begin);
    std::size_t e = byte_offset_of_code_point(example.context, c.end);
    c.text = example.context.substr(b, e > b ? e - b : 0);
  }
  // HF's guard against an empty list (or only the null answer): a fake "empty" prediction.
  if (prelim.empty() || (prelim.size() == 1 && prelim[0].text.empty()))
    prelim.insert(prelim.begin(), QACandidate{"empty", 0, 0, 0, 0, 0, 0});
  double max_score = -std::numeric_limits<double>::infinity();
  for (const auto& c : prelim) max_score = std::max(max_score, c.score);
  double sum = 0;
  for (auto& c : prelim) sum += c.probability = std::exp(c.score - max_score);
  for (auto& c : prelim) c.probability /= sum;

  QAPrediction p;
  p.id = example.id;
  p.n_best = prelim;
  const QACandidate* best = &prelim[0];
  if (options.version_2_with_negative) {
    auto it = std::find_if(prelim.begin(), prelim.end(), [](const QACandidate& c) { return !c.text.empty(); });
    best = &*it;  // exists: the "empty" guard above makes sure one text is non-empty
    p.null_score = null.score;
    p.null_score_diff = null.score - best->start_logit - best->end_logit;
    if (p.null_score_diff > options.null_score_diff_threshold) {
      auto n = std::find_if(prelim.begin(), prelim.end(),
                            [&](const QACandidate& c) { return is_null_span(c) && c.text.empty(); });
      best = n == prelim.end() ? &null : &*n;
    }
  }
  p.text = best->text;
  p.begin = best->begin;
  p.end = best->end;
  p.score = best->score;
  p.probability = best->probability;
  return p;
}

std::vector<QAPrediction> postprocess_qa_predictions(const std::vector<QAExample>& examples,
                                                     const std::vector<QAFeature>& features,
                                                     const std::vector<std::vector<float>>& start_logits,
                                                     const std::vector<std::vector<float>>& end_logits,
                                                     const QAPostprocessOptions& options) {
  TZ_CHECK(features.size() == start_logits.size() && features.size() == end_logits.size(),
           "postprocess_qa_predictions: ", features.size(), " features but ", start_logits.size(), " start and ",
           end_logits.size(), " end logit rows");
  std::vector<std::vector<std::size_t>> by_example(examples.size());
  for (std::size_t k = 0; k < features.size(); ++k) {
    TZ_CHECK(features[k].example_index < examples.size(), "postprocess_qa_predictions: feature ", k,
             " belongs to example ", features[k].example_index, " of ", examples.size());
    TZ_CHECK(start_logits[k].size() >= features[k].size() && end_logits[k].size() >= features[k].size(),
             "postprocess_qa_predictions: feature ", k, " has ", features[k].size(), " tokens but ",
             start_logits[k].size(), " start / ", end_logits[k].size(), " end logits");
    by_example[features[k].example_index].push_back(k);
  }
  std::vector<QAPrediction> out;
  for (std::size_t i = 0; i < examples.size(); ++i) {
    std::vector<const QAFeature*> f;
    std::vector<const float*> s, e;
    for (std::size_t k : by_example[i]) {
      f.push_back(&features[k]);
      s.push_back(start_logits[k].data());
      e.push_back(end_logits[k].data());
    }
    out.push_back(postprocess_qa_example(examples[i], f, s, e, options));
  }
  return out;
}

std::map<std::string, std::vector<std::string>> squad_gold(const std::vector<QAExample>& examples) {
  std::map<std::string, std::vector<std::string>> gold;
  for (const auto& ex : examples) gold[ex.id] = ex.answer_texts;
  return gold;
}

std::map<std::string, double> evaluate_qa(models::PreTrainedModel& model, const std::vector<QAExample>& examples,
                                          const std::vector<QAFeature>& features, std::size_t batch_size,
                                          int64_t pad_id, const QAPostprocessOptions& post,
                                          std::vector<QAPrediction>* predictions) {
  TZ_CHECK(batch_size > 0, "evaluate_qa: batch_size must be positive");
  NoGradGuard no_grad;
  std::vector<std::vector<float>> starts, ends;
  double loss_sum = 0;
  for (std::size_t first = 0; first < features.size(); first += batch_size) {
    std::vector<std::size_t> idx;
    for (std::size_t i = first; i < std::min(features.size(), first + batch_size); ++i) idx.push_back(i);
    models::Output out = model.forward(collate_qa(features, idx, pad_id, true));
    TZ_CHECK(out.start_logits.defined() && out.end_logits.defined(), "evaluate_qa: ", model.architecture(),
             " gives no start/end logits");
    if (out.loss.defined()) loss_sum += out.loss.item() * static_cast<double>(idx.size());
    std::vector<float> s = raw::contiguous(out.start_logits).to_vector<float>();
    std::vector<float> e = raw::contiguous(out.end_logits).to_vector<float>();
    const std::size_t T = static_cast<std::size_t>(out.start_logits.size(1));
    for (std::size_t b = 0; b < idx.size(); ++b) {
      starts.emplace_back(s.begin() + b * T, s.begin() + (b + 1) * T);
      ends.emplace_back(e.begin() + b * T, e.begin() + (b + 1) * T);
    }
  }
  std::vector<QAPrediction> preds = postprocess_qa_predictions(examples, features, starts, ends, post);
  std::map<std::string, std::string> by_id;
  for (const auto& p : preds) by_id[p.id] = p.text;
  SquadScores sc = squad_scores(by_id, squad_gold(examples));
  std::map<std::string, double> m{{"eval_loss", features.empty() ? 0.0 : loss_sum / static_cast<double>(features.size())},
                                  {"exact_match", sc.exact_match},
                                  {"f1", sc.f1}};
  if (post.version_2_with_negative) {
    m["HasAns_exact"] = sc.has_answer_exact;
    m["HasAns_f1"] = sc.has_answer_f1;
    m["NoAns_exact"] = sc.no_answer_exact;
    m["NoAns_f1"] = sc.no_answer_f1;
  }
  if (predictions) *predictions = std::move(preds);
  return m;
}

QAPrediction answer_question(models::PreTrainedModel& model, const tokenizer::WordPiece& tok,
                             const std::string& question, const std::string& context, const QAOptions& options,
                             const QAPostprocessOptions& post) {
  std::vector<QAExample> examples{QAExample{"0", question, context, {}, {}}};
  std::vector<QAFeature> features = prepare_qa_features(tok, examples, options);
  std::vector<std::size_t> all(features.size());
  std::iota(all.begin(), all.end(), 0);
  models::Inputs in = collate_qa(features, all, tok.pad_id() < 0 ? 0 : tok.pad_id(), false);
  NoGradGuard no_grad;
  models::Output out = model.forward(in);
  TZ_CHECK(out.start_logits.defined() && out.end_logits.defined(), "answer_question: ", model.architecture(),
           " gives no start/end logits (expected ConvBertForQuestionAnswering)");
  std::vector<float> s = raw::contiguous(out.start_logits).to_vector<float>();
  std::vector<float> e = raw::contiguous(out.end_logits).to_vector<float>();
  const std::size_t T = static_cast<std::size_t>(out.start_logits.size(1));
  std::vector<std::vector<float>> starts, ends;
  for (std::size_t k = 0; k < features.size(); ++k) {
    starts.emplace_back(s.begin() + k * T, s.begin() + (k + 1) * T);
    ends.emplace_back(e.begin() + k * T, e.begin() + (k + 1) * T);
  }
  return postprocess_qa_predictions(examples, features, starts, ends, post).at(0);
}

}  // namespace tz::train
