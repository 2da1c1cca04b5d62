// ConvBertConfig: every field of HuggingFace's config.json for ConvBERT, with HF's defaults for
// absent keys, validation with clear errors, and round-tripping (unknown keys are kept).
// The model that reads it: model.h; loading a whole model directory: pretrained.h.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace tz::convbert {

struct ConvBertConfig {
  // Defaults are HF's ConvBertConfig defaults (transformers/models/convbert/configuration_convbert.py).
  int64_t vocab_size = 30522;
  int64_t hidden_size = 768;
  int64_t embedding_size = 768;
  int64_t num_hidden_layers = 12;
  int64_t num_attention_heads = 12;
  int64_t intermediate_size = 3072;
  std::string hidden_act = "gelu";
  double hidden_dropout_prob = 0.1;
  double attention_probs_dropout_prob = 0.1;
  int64_t max_position_embeddings = 512;
  int64_t type_vocab_size = 2;
  double initializer_range = 0.02;
  double layer_norm_eps = 1e-12;
  int64_t pad_token_id = 1;  // HF's ConvBertConfig default (not 0)
  int64_t bos_token_id = 0;
  int64_t eos_token_id = 2;
  int64_t head_ratio = 2;
  int64_t conv_kernel_size = 9;
  int64_t num_groups = 1;
  std::optional<double> classifier_dropout;
  std::vector<std::string> id2label{"LABEL_0", "LABEL_1"};  // num_labels = id2label.size()
  std::optional<std::string> problem_type;  // "regression", "single_label_classification", "multi_label_classification"
  std::vector<std::string> architectures;
  std::string model_type = "convbert";
  bool tie_word_embeddings = true;
  nlohmann::json extra = nlohmann::json::object();  // keys we do not interpret, written back on save

  int64_t num_labels() const { return static_cast<int64_t>(id2label.size()); }
  void set_num_labels(int64_t n);
  /// Heads of the attention half: num_attention_heads / head_ratio, at least 1 (HF's rule).
  int64_t attention_heads() const;
  /// Size of one head: hidden_size / num_attention_heads.
  int64_t attention_head_size() const;
  /// attention_heads() * attention_head_size(): the width of q, k, v and the conv half.
  int64_t all_head_size() const { return attention_heads() * attention_head_size(); }
  double classifier_dropout_prob() const { return classifier_dropout.value_or(hidden_dropout_prob); }

  /// Throws tz::Error naming the field, its value and the rule, for configs HF cannot run either.
  void validate() const;

  static ConvBertConfig from_json(const nlohmann::json& j);
  nlohmann::json to_json() const;
  static ConvBertConfig load(const std::string& path);  // a config.json file
  void save(const std::string& path) const;             // atomic write

  /// The named sizes of the ConvBERT paper's checkpoints (12 layers, vocab 30522):
  /// "small", "medium-small", "base".
  static ConvBertConfig named(const std::string& name);
};

}  // namespace tz::convbert
