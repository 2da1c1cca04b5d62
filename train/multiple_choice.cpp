// Multiple-choice data, encoding, batching and scoring (see multiple_choice.h).
#include "train/multiple_choice.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>

#include "autograd/grad_mode.h"
#include "core/error.h"
#include "train/jsonl.h"
#include "tensor/ops.h"

namespace tz::train {
namespace {

// Splits RFC 4180 CSV text into rows of fields; `row_lines` gets each row's first line number.
std::vector<std::vector<std::string>> split_csv_rows(const std::string& text, const std::string& where,
                                                std::vector<std::size_t>& row_lines) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false, field_started = false;
  std::size_t line = 1, row_line = 1;
  auto end_field = [&] {
    row.push_back(std::move(field));
    field.clear();
    field_started = false;
  };
  auto end_row = [&] {
    end_field();
    if (!(row.size() == 1 && row[0].empty())) {  // skip blank lines
      rows.push_back(std::move(row));
      row_lines.push_back(row_line);
    }
    row.clear();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field.push_back('"');
          ++i;
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line;
        field.push_back(c);
      }
      continue;
    }
    if (c == '"' && !field_started) {
      quoted = field_started = true;
    } else if (c == ',') {
      end_field();
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      end_row();
      row_line = ++line;
    } else {
      field.push_back(c);
      field_started = true;
    }
  }
  TZ_CHECK(!quoted, where, ": a quoted field opened on line ", row_line, " is never closed");
  if (field_started || !field.empty() || !row.empty()) end_row();
  return rows;
}

int64_t parse_label(const std::string& s, std::size_t num_choices, const std::string& where) {
  std::size_t used = 0;
  long long v = -1;
  try {
    v = std::stoll(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  TZ_CHECK(used == s.size() && v >= 0 && static_cast<std::size_t>(v) < num_choices, where, ": label '", s,
           "' is not a choice index in [0, ", num_choices, ")");
  return v;
}

}  // namespace

std::vector<MultipleChoiceExample> read_multiple_choice_csv(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  TZ_CHECK(in, "read_multiple_choice_csv: cannot open '", path.string(), "'");
  std::stringstream ss;
  ss << in.rdbuf();
  std::vector<std::size_t> lines;
  auto rows = split_csv_rows(ss.str(), path.string(), lines);
  TZ_CHECK(!rows.empty(), "read_multiple_choice_csv: '", path.string(), "' is empty");
  std::map<std::string, std::size_t> col;
  for (std::size_t i = 0; i < rows[0].size(); ++i) col[rows[0][i]] = i;
  TZ_CHECK(col.count("sent1") && col.count("ending0"), "read_multiple_choice_csv: '", path.string(),
           "' needs the columns sent1 and ending0, ending1, ...");
  std::vector<std::size_t> ending_cols;
  for (std::size_t k = 0; col.count("ending" + std::to_string(k)); ++k) ending_cols.push_back(col["ending" + std::to_string(k)]);
  std::vector<MultipleChoiceExample> out;
  for (std::size_t r = 1; r < rows.size(); ++r) {
    std::string where = path.string() + ":" + std::to_string(lines[r]);
    const auto& row = rows[r];
    TZ_CHECK(row.size() == rows[0].size(), where, ": ", row.size(), " fields but the header has ", rows[0].size());
    MultipleChoiceExample ex;
    ex.context = row[col["sent1"]];
    if (col.count("sent2")) ex.start = row[col["sent2"]];
    for (std::size_t c : ending_cols) ex.endings.push_back(row[c]);
    if (col.count("label") && !row[col["label"]].empty()) ex.label = parse_label(row[col["label"]], ex.endings.size(), where);
    out.push_back(std::move(ex));
  }
  return out;
}

std::vector<MultipleChoiceExample> read_multiple_choice_jsonl(const std::filesystem::path& path) {
  std::vector<MultipleChoiceExample> out;
  for_each_jsonl_object(path, "read_multiple_choice_jsonl", [&](nlohmann::json j, const std::string& where) {  // a copy: j[key] may insert
    auto text = [&](const char* key) {
      TZ_CHECK(j[key].is_string(), where, ": \"", key, "\" must be a string");
      return j[key].get<std::string>();
    };
    MultipleChoiceExample ex;
    if (j.contains("sent1")) {
      ex.context = text("sent1");
      if (j.contains("sent2")) ex.start = text("sent2");
      for (std::size_t k = 0; j.contains("ending" + std::to_string(k)); ++k) ex.endings.push_back(text(("ending" + std::to_string(k)).c_str()));
    } else {
      TZ_CHECK(j.contains("context") && j.contains("endings") && j["endings"].is_array(), where,
               ": expected sent1 + ending0.. or context + endings [...]");
      ex.context = text("context");
      if (j.contains("start")) ex.start = text("start");
      for (const auto& e : j["endings"]) {
        TZ_CHECK(e.is_string(), where, ": endings must be strings");
        ex.endings.push_back(e.get<std::string>());
      }
    }
    TZ_CHECK(!ex.endings.empty(), where, ": no endings");
    if (j.contains("label") && !j["label"].is_null()) {
      const auto& l = j["label"];
      ex.label = parse_label(l.is_string() ? l.get<std::string>() : l.dump(), ex.endings.size(), where);
    }
    out.push_back(std::move(ex));
  });
  return out;
}

std::vector<MultipleChoiceExample> read_multiple_choice(const std::filesystem::path& path) {
  if (path.extension() == ".csv") return read_multiple_choice_csv(path);
  return read_multiple_choice_jsonl(path);
}

std::string choice_text(const MultipleChoiceExample& example, std::size_t choice) {
  TZ_CHECK(choice < example.endings.size(), "choice_text: choice ", choice, " of ", example.endings.size());
  return example.start.empty() ? example.endings[choice] : example.start + " " + example.endings[choice];
}

MultipleChoiceFeature make_multiple_choice_feature(const tokenizer::WordPiece& tok, const MultipleChoiceExample& example,
                                                   std::size_t max_length) {
  tokenizer::EncodeOptions opt;
  if (max_length > 0) opt.truncation = tokenizer::Truncation{max_length};  // longest_first, as truncation=True
  MultipleChoiceFeature f;
  f.label = example.label;
  for (std::size_t k = 0; k < example.endings.size(); ++k) {
    tokenizer::Encoding e = tok.encode_pair(example.context, choice_text(example, k), opt);
    f.input_ids.push_back(std::move(e.ids));
    f.token_type_ids.push_back(std::move(e.type_ids));
    f.attention_mask.push_back(std::move(e.attention_mask));
  }
  return f;
}

std::vector<MultipleChoiceFeature> make_multiple_choice_features(const tokenizer::WordPiece& tok,
                                                                 const std::vector<MultipleChoiceExample>& examples,
                                                                 std::size_t max_length) {
  std::vector<MultipleChoiceFeature> out;
  out.reserve(examples.size());
  for (const auto& ex : examples) out.push_back(make_multiple_choice_feature(tok, ex, max_length));
  return out;
}

models::Inputs collate_multiple_choice(const std::vector<MultipleChoiceFeature>& features,
                                         std::span<const std::size_t> indices, int64_t pad_id) {
  TZ_CHECK(!indices.empty(), "collate_multiple_choice: empty batch");
  std::size_t N = 0, S = 0;
  bool all_labelled = true;
  for (std::size_t i : indices) {
    TZ_CHECK(i < features.size(), "collate_multiple_choice: index ", i, " outside [0, ", features.size(), ")");
    const auto& f = features[i];
    if (N == 0) N = f.input_ids.size();
    TZ_CHECK(f.input_ids.size() == N, "collate_multiple_choice: example ", i, " has ", f.input_ids.size(),
             " choices, the batch has ", N);
    for (const auto& c : f.input_ids) S = std::max(S, c.size());
    all_labelled = all_labelled && f.label >= 0;
  }
  const std::size_t B = indices.size();
  std::vector<int64_t> ids(B * N * S, pad_id), types(B * N * S, 0), mask(B * N * S, 0), labels;
  for (std::size_t b = 0; b < B; ++b) {
    const auto& f = features[indices[b]];
    for (std::size_t n = 0; n < N; ++n) {
      std::size_t at = (b * N + n) * S;
      std::copy(f.input_ids[n].begin(), f.input_ids[n].end(), ids.begin() + at);
      std::copy(f.token_type_ids[n].begin(), f.token_type_ids[n].end(), types.begin() + at);
      std::copy(f.attention_mask[n].begin(), f.attention_mask[n].end(), mask.begin() + at);
    }
    labels.push_back(f.label);
  }
  Shape shape{static_cast<int64_t>(B), static_cast<int64_t>(N), static_cast<int64_t>(S)};
  models::Inputs in;
  in.input_ids = raw::from_vector(ids, shape);
  in.token_type_ids = raw::from_vector(types, shape);
  in.attention_mask = raw::from_vector(mask, shape);
  if (all_labelled) in.labels = raw::from_vector(labels, {static_cast<int64_t>(B)});
  return in;
}

std::vector<float> choice_probabilities(std::span<const float> logits) {
  TZ_CHECK(!logits.empty(), "choice_probabilities: no logits");
  float m = *std::max_element(logits.begin(), logits.end());
  std::vector<float> p(logits.size());
  double sum = 0;
  for (std::size_t i = 0; i < logits.size(); ++i) sum += p[i] = std::exp(logits[i] - m);
  for (auto& v : p) v = static_cast<float>(v / sum);
  return p;
}

double choice_accuracy(std::span<const float> logits, std::size_t num_choices, std::span<const int64_t> labels) {
  TZ_CHECK(num_choices > 0 && logits.size() == labels.size() * num_choices, "choice_accuracy: ", logits.size(),
           " logits for ", labels.size(), " labels x ", num_choices, " choices");
  if (labels.empty()) return 0.0;
  std::size_t right = 0;
  for (std::size_t b = 0; b < labels.size(); ++b) {
    auto row = logits.subspan(b * num_choices, num_choices);
    right += static_cast<int64_t>(std::max_element(row.begin(), row.end()) - row.begin()) == labels[b];
  }
  return static_cast<double>(right) / static_cast<double>(labels.size());
}

std::map<std::string, double> evaluate_multiple_choice(models::PreTrainedModel& model,
                                                       const std::vector<MultipleChoiceFeature>& features,
                                                       std::size_t batch_size, int64_t pad_id) {
  TZ_CHECK(batch_size > 0, "evaluate_multiple_choice: batch_size must be positive");
  NoGradGuard no_grad;
  double loss_sum = 0, right = 0;
  for (std::size_t first = 0; first < features.size(); first += batch_size) {
    std::vector<std::size_t> idx;
    for (std::size_t i = first; i < std::min(features.size(), first + batch_size); ++i) {
      TZ_CHECK(features[i].label >= 0, "evaluate_multiple_choice: example ", i, " has no label");
      idx.push_back(i);
    }
    models::Inputs in = collate_multiple_choice(features, idx, pad_id);
    models::Output out = model.forward(in);
    if (out.loss.defined()) loss_sum += out.loss.item() * static_cast<double>(idx.size());
    std::vector<float> logits = raw::contiguous(out.logits).to_vector<float>();
    std::vector<int64_t> labels = in.labels.to_vector<int64_t>();
    right += choice_accuracy(logits, features[idx[0]].input_ids.size(), labels) * static_cast<double>(idx.size());
  }
  double n = features.empty() ? 1.0 : static_cast<double>(features.size());
  return {{"eval_loss", loss_sum / n}, {"accuracy", right / n}};
}

std::vector<float> choose(models::PreTrainedModel& model, const tokenizer::WordPiece& tok, const std::string& context,
                          const std::vector<std::string>& endings, const std::string& start, std::size_t max_length) {
  TZ_CHECK(!endings.empty(), "choose: no endings");
  std::vector<MultipleChoiceFeature> f{make_multiple_choice_feature(tok, {context, start, endings, -1}, max_length)};
  std::size_t only = 0;
  models::Inputs in = collate_multiple_choice(f, std::span<const std::size_t>(&only, 1), tok.pad_id() < 0 ? 0 : tok.pad_id());
  NoGradGuard no_grad;
  models::Output out = model.forward(in);
  TZ_CHECK(out.logits.defined() && out.logits.numel() == static_cast<int64_t>(endings.size()), "choose: ",
           model.architecture(), " did not give one logit per ending (expected ConvBertForMultipleChoice)");
  std::vector<float> logits = raw::contiguous(out.logits).to_vector<float>();
  return choice_probabilities(logits);
}

}  // namespace tz::train
