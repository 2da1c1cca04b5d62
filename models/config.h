// PretrainedConfig: what every model family's config.json shares, as HF's PretrainedConfig has it
// (architectures, labels, problem_type, special token ids, torch_dtype, tie_word_embeddings, the
// keys we do not interpret), plus the encoder sizes every family of the zoo has, under HF's common
// names (hidden_size, num_hidden_layers, ...). A family whose config.json spells a size otherwise
// (DistilBERT's dim, n_layers) reads and writes its own spelling and maps it onto these fields, as
// HF's attribute_map does, so train/ and cli/ never need to know the family.
// Not here: a family's own fields and defaults (models/<family>/config.h), choosing the family from
// model_type (models/registry.h).
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace tz::models {

/// Throws tz::Error: "config.json: field 'key' has the wrong type (value)".
[[noreturn]] void throw_wrong_type(const char* key, const nlohmann::json& value);

class PretrainedConfig {
 public:
  virtual ~PretrainedConfig() = default;

  // ---- the fields every HF config has ----
  std::string model_type;                  // config.json's spelling ("convbert" or "conv_bert" stay as read)
  std::vector<std::string> architectures;  // HF class names; the first picks the head on load
  std::vector<std::string> id2label{"LABEL_0", "LABEL_1"};  // num_labels = id2label.size()
  std::optional<std::string> problem_type;  // "regression", "single_label_classification", "multi_label_classification"
  int64_t pad_token_id = 0;
  std::optional<int64_t> bos_token_id, eos_token_id;
  std::optional<std::string> torch_dtype;  // "float32", "float16", "bfloat16": how the weights were saved
  bool tie_word_embeddings = true;
  nlohmann::json extra = nlohmann::json::object();  // keys nobody here interprets, written back on save

  // ---- encoder sizes, by HF's common names (a family maps its own spelling onto them) ----
  int64_t vocab_size = 30522;
  int64_t hidden_size = 768;
  int64_t num_hidden_layers = 12;
  int64_t num_attention_heads = 12;
  int64_t intermediate_size = 3072;
  std::string hidden_act = "gelu";
  double hidden_dropout_prob = 0.1;
  double attention_probs_dropout_prob = 0.1;
  int64_t max_position_embeddings = 512;
  int64_t type_vocab_size = 2;  // 0: the family has no token types (DistilBERT)
  double initializer_range = 0.02;
  double layer_norm_eps = 1e-12;

  int64_t num_labels() const { return static_cast<int64_t>(id2label.size()); }
  /// id2label becomes LABEL_0 .. LABEL_{n-1}.
  void set_num_labels(int64_t n);
  /// The label's id, or -1.
  int64_t label_id(const std::string& label) const;

  /// A copy of the whole config, family fields included.
  virtual std::shared_ptr<PretrainedConfig> clone() const = 0;
  /// config.json as HF writes it for this family.
  virtual nlohmann::json to_json() const = 0;
  /// Throws tz::Error naming the field, its value and the rule, for configs HF cannot run either.
  virtual void validate() const;

  /// Writes to_json() to `path` atomically (a temporary file renamed over it).
  void save(const std::string& path) const;

 protected:
  /// Reads the shared fields from `j` (only keys present; HF's defaults stay otherwise) and adds
  /// their names to `known`. Families call it from their from_json, then read their own keys, then
  /// keep_unknown_keys.
  void read_common(const nlohmann::json& j, std::set<std::string>& known);
  /// Writes the shared HF fields (not the sizes: each family writes those in its own spelling).
  void write_common(nlohmann::json& j) const;
  /// Every key of `j` not in `known` goes to `extra`.
  void keep_unknown_keys(const nlohmann::json& j, const std::set<std::string>& known);
};

/// Reads `key` of `j` into `out` when present and not null; a value of the wrong JSON type throws
/// naming the key and the value. Adds `key` to `known`.
template <class T>
void read_field(const nlohmann::json& j, const char* key, T& out, std::set<std::string>& known) {
  known.insert(key);
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return;
  try {
    out = it->template get<T>();
  } catch (const nlohmann::json::exception&) {
    throw_wrong_type(key, *it);
  }
}
template <class T>
void read_field(const nlohmann::json& j, const char* key, std::optional<T>& out, std::set<std::string>& known) {
  known.insert(key);
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return;
  T v{};
  read_field(j, key, v, known);
  out = v;
}

/// The JSON object of a config.json file; throws naming the file when it cannot be read or parsed.
nlohmann::json read_json_file(const std::string& path);

}  // namespace tz::models
