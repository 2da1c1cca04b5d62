// ElectraConfig: HF's config.json for ELECTRA: the shared fields (models/config.h) with ELECTRA's
// defaults (those of electra-small), plus its own: embedding_size, the summary_* fields that
// configure the multiple-choice head's SequenceSummary, position_embedding_type,
// classifier_dropout. Validation with clear errors, round-tripping (unknown keys are kept), and the
// named sizes of Google's checkpoints.
// The model that reads it: model.h; the family's registry entry: family.h.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "models/blocks/heads.h"
#include "models/config.h"

namespace tz::electra {

class ElectraConfig : public models::PretrainedConfig {
 public:
  // Defaults are HF's ElectraConfig defaults (transformers/models/electra/configuration_electra.py).
  ElectraConfig();

  int64_t embedding_size = 128;
  std::string summary_type = "first";
  bool summary_use_proj = true;
  std::string summary_activation = "gelu";  // "" (null in config.json): no activation
  double summary_last_dropout = 0.1;
  /// Not ElectraConfig fields, but read by HF's SequenceSummary when config.json has them.
  std::optional<double> summary_first_dropout;
  std::optional<bool> summary_proj_to_labels;
  /// Only "absolute" is supported (the relative_key variants add distance embeddings; refused).
  std::string position_embedding_type = "absolute";
  /// Dropout of the classification heads; unset: hidden_dropout_prob.
  std::optional<double> classifier_dropout;
  double classifier_dropout_prob() const { return classifier_dropout.value_or(hidden_dropout_prob); }

  /// The multiple-choice head's SequenceSummary, as HF builds it from this config.
  blocks::SequenceSummaryOptions summary_options() const;

  void validate() const override;
  double min_weight_count() const override;
  nlohmann::json to_json() const override;
  std::shared_ptr<models::PretrainedConfig> clone() const override { return std::make_shared<ElectraConfig>(*this); }

  /// HF's defaults for absent keys. Does not validate.
  static ElectraConfig from_json(const nlohmann::json& j);

  /// google/electra-{small,base,large}-discriminator ("small", "base", "large") and the
  /// generators that were pretrained with the larger two ("base-generator", "large-generator").
  static ElectraConfig named(const std::string& name);
  /// The names named() knows.
  static std::vector<std::string> size_names();
};

}  // namespace tz::electra
