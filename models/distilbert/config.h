// DistilBertConfig: HF's config.json for DistilBERT. DistilBERT spells its sizes its own way (dim,
// hidden_dim, n_layers, n_heads, activation, dropout, attention_dropout); they are read and written
// under those names and held in the shared fields (hidden_size, intermediate_size, ...), as HF's
// attribute_map does, so train/ and cli/ see the common names. Its own fields: seq_classif_dropout,
// qa_dropout, sinusoidal_pos_embds. There are no token types (type_vocab_size 0) and every
// LayerNorm uses eps 1e-12 (no layer_norm_eps key).
// The model that reads it: model.h; the family's registry entry: family.h.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/config.h"

namespace tz::distilbert {

class DistilBertConfig : public models::PretrainedConfig {
 public:
  // Defaults are HF's DistilBertConfig defaults (distilbert-base-uncased's sizes).
  DistilBertConfig();

  double seq_classif_dropout = 0.2;  // sequence classification and multiple choice heads
  double qa_dropout = 0.1;
  /// Position embeddings start as the sinusoidal table and are frozen (requires_grad false).
  bool sinusoidal_pos_embds = false;

  void validate() const override;
  nlohmann::json to_json() const override;
  std::shared_ptr<models::PretrainedConfig> clone() const override { return std::make_shared<DistilBertConfig>(*this); }

  /// HF's defaults for absent keys; hidden_size, num_attention_heads and num_hidden_layers, when
  /// present, override dim, n_heads and n_layers (HF's attribute_map). Does not validate.
  static DistilBertConfig from_json(const nlohmann::json& j);

  /// "base": distilbert-base-uncased (6 layers x 768, 12 heads, hidden_dim 3072).
  static DistilBertConfig named(const std::string& name);
  static std::vector<std::string> size_names() { return {"base"}; }
};

}  // namespace tz::distilbert
