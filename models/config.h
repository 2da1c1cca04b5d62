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
#include <limits>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

namespace tz::models {

/// Throws tz::Error: "config.json: field 'key' has the wrong type (value)".
[[noreturn]] void throw_wrong_type(const char* key, const nlohmann::json& value);

/// The integer a config.json value holds: an integer, or a float with an integral value (512.0)
/// below 2^53; throws naming the key otherwise (converting a float such as 1e30 to an integer type
/// is undefined behaviour, so it is refused before the conversion).
int64_t integer_field(const char* key, const nlohmann::json& value);

/// Sizes a config may give, at most: every product of two of them stays inside int64.
inline constexpr int64_t kMaxConfigSize = int64_t{1} << 24;
/// Labels a config may name (each gets a string, so a count from a file is bounded).
inline constexpr int64_t kMaxLabels = int64_t{1} << 20;

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

  /// A lower bound on the number of weights a model of this config holds: the word embeddings
  /// and, per layer, the attention output and the feed-forward. A family whose layers are
  /// narrower (a factorised embedding, grouped feed-forward) overrides it.
  virtual double min_weight_count() const;
  /// Throws tz::Error when min_weight_count() float32 weights alone exceed this machine's physical
  /// memory: sizes from a file that pass validate() one by one can still multiply past it, and
  /// the allocations would succeed one by one (overcommit) until the kernel kills the process.
  /// Called before a model is built (create, from_pretrained).
  void check_fits_in_memory() const;

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
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    const int64_t v = integer_field(key, *it);
    if (v < static_cast<int64_t>(std::numeric_limits<T>::min()) ||
        (v > 0 && static_cast<uint64_t>(v) > static_cast<uint64_t>(std::numeric_limits<T>::max())))
      throw_wrong_type(key, *it);
    out = static_cast<T>(v);
  } else {
    try {
      out = it->template get<T>();
    } catch (const nlohmann::json::exception&) {
      throw_wrong_type(key, *it);
    }
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
