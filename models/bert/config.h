// BertConfig: HF's config.json for BERT: the shared fields (models/config.h) with BERT's defaults,
// plus its own (position_embedding_type, classifier_dropout); validation with clear errors,
// round-tripping (unknown keys are kept), and the named sizes of well-known checkpoints.
// The model that reads it: model.h; the family's registry entry: family.h.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "models/config.h"

namespace tz::bert {

class BertConfig : public models::PretrainedConfig {
 public:
  // Defaults are HF's BertConfig defaults (transformers/models/bert/configuration_bert.py), which
  // the shared fields already hold.
  BertConfig() { model_type = "bert"; }

  /// Only "absolute" is supported (the relative_key variants add distance embeddings; refused).
  std::string position_embedding_type = "absolute";
  /// Dropout before the sequence/token classifiers; unset: hidden_dropout_prob.
  std::optional<double> classifier_dropout;
  double classifier_dropout_prob() const { return classifier_dropout.value_or(hidden_dropout_prob); }

  void validate() const override;
  nlohmann::json to_json() const override;
  std::shared_ptr<models::PretrainedConfig> clone() const override { return std::make_shared<BertConfig>(*this); }

  /// HF's defaults for absent keys. Does not validate.
  static BertConfig from_json(const nlohmann::json& j);

  /// "tiny", "mini", "small", "medium" (Google's BERT miniatures), "base" (bert-base-uncased),
  /// "large" (bert-large-uncased), "minilm-l6" (sentence-transformers/all-MiniLM-L6-v2).
  static BertConfig named(const std::string& name);
  /// The names named() knows, smallest first.
  static std::vector<std::string> size_names();
};

}  // namespace tz::bert
