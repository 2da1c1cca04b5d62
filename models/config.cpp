// The shared config fields: reading, writing and checking them; see config.h.
#include "models/config.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>

#include "core/error.h"
#include "nn/layers.h"

namespace tz::models {

using nlohmann::json;

void throw_wrong_type(const char* key, const json& value) {
  throw Error(detail::concat("config.json: field '", key, "' has the wrong type (", value.dump(), ")"));
}

int64_t integer_field(const char* key, const json& v) {
  if (v.is_number_integer() && !(v.is_number_unsigned() && v.get<uint64_t>() > uint64_t{INT64_MAX}))
    return v.get<int64_t>();
  if (v.is_number_float()) {
    const double d = v.get<double>();
    TZ_CHECK(std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e15, "config.json: field '", key,
             "' must be an integer, got ", v.dump());
    return static_cast<int64_t>(d);
  }
  if (v.is_number_unsigned())
    throw Error(detail::concat("config.json: field '", key, "' must be an integer, got ", v.dump()));
  throw_wrong_type(key, v);
}

void PretrainedConfig::set_num_labels(int64_t n) {
  TZ_CHECK(n >= 1, "config: num_labels must be >= 1, got ", n);
  TZ_CHECK(n <= kMaxLabels, "config: num_labels ", n, " is out of range (at most ", kMaxLabels, ")");
  id2label.clear();
  for (int64_t i = 0; i < n; ++i) id2label.push_back("LABEL_" + std::to_string(i));
}

int64_t PretrainedConfig::label_id(const std::string& label) const {
  for (size_t i = 0; i < id2label.size(); ++i)
    if (id2label[i] == label) return static_cast<int64_t>(i);
  return -1;
}

namespace {

// id2label as HF stores it: an object from "0".."n-1" to names.
std::vector<std::string> read_id2label(const json& m) {
  TZ_CHECK(m.is_object(), "config.json: id2label must be an object, got ", m.type_name());
  std::vector<std::string> labels(m.size());
  std::vector<bool> seen(m.size(), false);
  for (auto it = m.begin(); it != m.end(); ++it) {
    size_t idx = 0, used = 0;
    try {
      idx = std::stoul(it.key(), &used);
    } catch (...) {
      used = 0;
    }
    TZ_CHECK(used == it.key().size() && !it.key().empty(), "config.json: id2label key '", it.key(),
             "' is not an integer");
    TZ_CHECK(idx < m.size() && !seen[idx] && it.value().is_string(), "config.json: id2label must map 0..",
             m.size() - 1, " to strings, got key ", it.key(), " -> ", it.value().dump());
    seen[idx] = true;
    labels[idx] = it.value().get<std::string>();
  }
  return labels;
}

// label2id: an object from names to ids 0..n-1, each id once.
std::vector<std::string> read_label2id(const json& m) {
  TZ_CHECK(m.is_object(), "config.json: label2id must be an object, got ", m.type_name());
  std::vector<std::string> labels(m.size());
  std::vector<bool> seen(m.size(), false);
  for (auto it = m.begin(); it != m.end(); ++it) {
    TZ_CHECK(it.value().is_number_integer(), "config.json: label2id['", it.key(), "'] must be an integer, got ",
             it.value().dump());
    const int64_t id = it.value().get<int64_t>();
    TZ_CHECK(id >= 0 && id < static_cast<int64_t>(m.size()) && !seen[static_cast<size_t>(id)],
             "config.json: label2id must map its ", m.size(), " labels to the ids 0..", m.size() - 1,
             " once each, got '", it.key(), "' -> ", id);
    seen[static_cast<size_t>(id)] = true;
    labels[static_cast<size_t>(id)] = it.key();
  }
  return labels;
}

}  // namespace

void PretrainedConfig::read_common(const json& j, std::set<std::string>& known) {
  TZ_CHECK(j.is_object(), "config.json: expected a JSON object, got ", j.type_name());
  read_field(j, "model_type", model_type, known);
  read_field(j, "architectures", architectures, known);
  read_field(j, "problem_type", problem_type, known);
  read_field(j, "pad_token_id", pad_token_id, known);
  read_field(j, "bos_token_id", bos_token_id, known);
  read_field(j, "eos_token_id", eos_token_id, known);
  read_field(j, "torch_dtype", torch_dtype, known);
  read_field(j, "tie_word_embeddings", tie_word_embeddings, known);
  // Labels: id2label wins, as in HF; label2id alone also defines them; both must agree.
  known.insert({"id2label", "label2id", "num_labels"});
  const bool has_id2 = j.contains("id2label") && !j["id2label"].is_null() && !j["id2label"].empty();
  const bool has_l2i = j.contains("label2id") && !j["label2id"].is_null() && !j["label2id"].empty();
  if (has_id2) {
    id2label = read_id2label(j["id2label"]);
    if (has_l2i) {
      std::vector<std::string> other = read_label2id(j["label2id"]);
      TZ_CHECK(other.size() == id2label.size(), "config.json: id2label has ", id2label.size(),
               " labels but label2id has ", other.size());
      for (size_t i = 0; i < other.size(); ++i)
        TZ_CHECK(other[i] == id2label[i], "config.json: label2id maps '", other[i], "' to ", i, " but id2label[", i,
                 "] is '", id2label[i], "'");
    }
  } else if (has_l2i) {
    id2label = read_label2id(j["label2id"]);
  } else if (j.contains("num_labels") && !j["num_labels"].is_null()) {
    int64_t n = 2;
    std::set<std::string> ignored;
    read_field(j, "num_labels", n, ignored);
    set_num_labels(n);
  }
  if (j.contains("num_labels") && j["num_labels"].is_number_integer() && (has_id2 || has_l2i))
    TZ_CHECK(j["num_labels"].get<int64_t>() == num_labels(), "config.json: num_labels ", j["num_labels"].dump(),
             " disagrees with the ", num_labels(), " labels of id2label");
}

void PretrainedConfig::write_common(json& j) const {
  if (!architectures.empty()) j["architectures"] = architectures;
  j["model_type"] = model_type;
  if (id2label != std::vector<std::string>{"LABEL_0", "LABEL_1"}) {
    json id2 = json::object(), l2i = json::object();
    for (size_t i = 0; i < id2label.size(); ++i) {
      id2[std::to_string(i)] = id2label[i];
      l2i[id2label[i]] = i;
    }
    j["id2label"] = id2;
    j["label2id"] = l2i;
  }
  if (problem_type) j["problem_type"] = *problem_type;
  j["pad_token_id"] = pad_token_id;
  if (bos_token_id) j["bos_token_id"] = *bos_token_id;
  if (eos_token_id) j["eos_token_id"] = *eos_token_id;
  if (torch_dtype) j["torch_dtype"] = *torch_dtype;
  if (!tie_word_embeddings) j["tie_word_embeddings"] = false;
}

void PretrainedConfig::keep_unknown_keys(const json& j, const std::set<std::string>& known) {
  for (auto it = j.begin(); it != j.end(); ++it)
    if (!known.count(it.key())) extra[it.key()] = it.value();
}

void PretrainedConfig::validate() const {
  auto positive = [](const char* name, int64_t v) { TZ_CHECK(v >= 1, "config: ", name, " must be >= 1, got ", v); };
  positive("vocab_size", vocab_size);
  positive("hidden_size", hidden_size);
  positive("num_hidden_layers", num_hidden_layers);
  positive("num_attention_heads", num_attention_heads);
  positive("intermediate_size", intermediate_size);
  positive("max_position_embeddings", max_position_embeddings);
  TZ_CHECK(type_vocab_size >= 0, "config: type_vocab_size must be >= 0, got ", type_vocab_size);
  // Sizes that multiply past any machine's memory are refused before anything is allocated.
  constexpr int64_t kMaxDim = kMaxConfigSize;
  for (auto [name, v] : {std::pair{"vocab_size", vocab_size}, std::pair{"hidden_size", hidden_size},
                         std::pair{"intermediate_size", intermediate_size},
                         std::pair{"max_position_embeddings", max_position_embeddings},
                         std::pair{"num_hidden_layers", num_hidden_layers},
                         std::pair{"type_vocab_size", type_vocab_size}})
    TZ_CHECK(v <= kMaxDim, "config: ", name, " ", v, " is larger than ", kMaxDim, " (the model would not fit in memory)");
  try {
    nn::activation(hidden_act);
  } catch (const Error& e) {
    throw Error(detail::concat("config: hidden_act: ", e.what()));
  }
  for (auto [name, p] : {std::pair{"hidden_dropout_prob", hidden_dropout_prob},
                         std::pair{"attention_probs_dropout_prob", attention_probs_dropout_prob}})
    TZ_CHECK(p >= 0.0 && p < 1.0, "config: ", name, " must be in [0, 1), got ", p);
  TZ_CHECK(layer_norm_eps > 0.0, "config: layer_norm_eps must be positive, got ", layer_norm_eps);
  TZ_CHECK(pad_token_id >= 0 && pad_token_id < vocab_size, "config: pad_token_id ", pad_token_id,
           " outside the vocabulary [0, ", vocab_size, ")");
  TZ_CHECK(!id2label.empty(), "config: num_labels must be >= 1");
  if (problem_type)
    TZ_CHECK(*problem_type == "regression" || *problem_type == "single_label_classification" ||
                 *problem_type == "multi_label_classification",
             "config: problem_type '", *problem_type,
             "' is not one of regression, single_label_classification, multi_label_classification");
}

double PretrainedConfig::min_weight_count() const {
  const double H = static_cast<double>(hidden_size), I = static_cast<double>(intermediate_size);
  return H * static_cast<double>(vocab_size) + static_cast<double>(num_hidden_layers) * (H * H + 2.0 * H * I);
}

void PretrainedConfig::check_fits_in_memory() const {
  const double bytes = 4.0 * min_weight_count();
  const long pages = ::sysconf(_SC_PHYS_PAGES), page_size = ::sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page_size <= 0) return;  // unknown: nothing to compare with
  const double memory = static_cast<double>(pages) * static_cast<double>(page_size);
  char need[32], have[32];
  std::snprintf(need, sizeof need, "%.3g", bytes / 1e9);
  std::snprintf(have, sizeof have, "%.3g", memory / 1e9);
  TZ_CHECK(bytes <= memory, model_type, ": the config's weights need at least ", need, " GB (vocab_size ", vocab_size,
           ", hidden_size ", hidden_size, ", intermediate_size ", intermediate_size, ", ", num_hidden_layers,
           " layers), more than this machine's ", have, " GB of memory");
}

void PretrainedConfig::save(const std::string& path) const {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp);
    TZ_CHECK(f, "config: cannot write '", tmp, "'");
    f << to_json().dump(2) << "\n";
    f.flush();
    TZ_CHECK(f.good(), "config: write to '", tmp, "' failed");
  }
  TZ_CHECK(std::rename(tmp.c_str(), path.c_str()) == 0, "config: cannot rename '", tmp, "' to '", path, "'");
}

json read_json_file(const std::string& path) {
  std::ifstream f(path);
  TZ_CHECK(f, "config: cannot open '", path, "'");
  try {
    return json::parse(f);
  } catch (const json::exception& e) {
    throw Error(detail::concat("config: '", path, "' is not valid JSON: ", e.what()));
  }
}

}  // namespace tz::models
