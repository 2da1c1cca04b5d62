// ConvBertConfig: HuggingFace's config.json for ConvBERT: the shared fields (models/config.h) with
// ConvBERT's defaults, plus its own (embedding_size, head_ratio, conv_kernel_size, num_groups,
// classifier_dropout); validation with clear errors, round-tripping (unknown keys are kept).
// The model that reads it: model.h; the family's registry entry: family.h.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "models/config.h"

namespace tz::convbert {

class ConvBertConfig : public models::PretrainedConfig {
 public:
  // Defaults are HF's ConvBertConfig defaults (transformers/models/convbert/configuration_convbert.py).
  ConvBertConfig();

  int64_t embedding_size = 768;
  int64_t head_ratio = 2;
  int64_t conv_kernel_size = 9;
  int64_t num_groups = 1;
  std::optional<double> classifier_dropout;

  /// Heads of the attention half: num_attention_heads / head_ratio, at least 1 (HF's rule).
  int64_t attention_heads() const;
  /// Size of one head: hidden_size / num_attention_heads.
  int64_t attention_head_size() const;
  /// attention_heads() * attention_head_size(): the width of q, k, v and the conv half.
  int64_t all_head_size() const { return attention_heads() * attention_head_size(); }
  double classifier_dropout_prob() const { return classifier_dropout.value_or(hidden_dropout_prob); }

  void validate() const override;
  double min_weight_count() const override;
  nlohmann::json to_json() const override;
  std::shared_ptr<models::PretrainedConfig> clone() const override { return std::make_shared<ConvBertConfig>(*this); }

  /// HF's defaults for absent keys; accepts both model_type spellings seen on the Hub
  /// ("convbert" and "conv_bert"). Does not validate.
  static ConvBertConfig from_json(const nlohmann::json& j);
  /// A config.json file, validated.
  static ConvBertConfig load(const std::string& path);

  /// The named sizes of the ConvBERT paper's checkpoints (12 layers, vocab 30522):
  /// "small", "medium-small", "base".
  static ConvBertConfig named(const std::string& name);
};

}  // namespace tz::convbert
