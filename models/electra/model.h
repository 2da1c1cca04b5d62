// ElectraModel (embeddings at embedding_size -> embeddings_project when embedding_size !=
// hidden_size -> encoder; no pooler) and ElectraPreTrainedModel, what every ELECTRA class shares:
// the config, the "electra" prefix, the FLOP count, the keys loading passes over. The blocks are
// the shared ones (models/blocks/); heads: heads.h; registry entry: family.h.
#pragma once

#include <memory>
#include <string>

#include "models/blocks/embeddings.h"
#include "models/blocks/encoder.h"
#include "models/electra/config.h"
#include "models/model.h"
#include "nn/layers.h"

namespace tz::electra {

/// HF's ElectraPreTrainedModel: the base of the base model and of every head.
class ElectraPreTrainedModel : public models::PreTrainedModel {
 public:
  const ElectraConfig& config() const override = 0;
  std::string base_model_prefix() const override { return "electra"; }
  /// Also HF's rule: a checkpoint's electra.embeddings_project.* is ignored when the model has none.
  bool ignorable_unexpected_key(const std::string& key) const override;
  double forward_flops(int64_t B, int64_t T) const override;
  std::shared_ptr<nn::Module> embedding_layer() const override;
  void set_embedding_layer(std::shared_ptr<nn::Module> layer) override;
};

class ElectraModel : public ElectraPreTrainedModel {
 public:
  explicit ElectraModel(const ElectraConfig& config);
  /// last_hidden_state [B, T, H] (+ hidden_states, whose entry 0 is the projected embeddings, and
  /// attentions when asked). Padding is masked by adding (1 - attention_mask) * -10000 to the
  /// attention scores, as HF 4.19 does.
  models::Output forward(const models::Inputs& inputs) override;
  std::string architecture() const override { return "ElectraModel"; }
  models::Task task() const override { return models::Task::Base; }
  const ElectraConfig& config() const override { return config_; }

  std::shared_ptr<blocks::Embeddings> embeddings;
  std::shared_ptr<nn::Linear> embeddings_project;  // only when embedding_size != hidden_size
  std::shared_ptr<blocks::Encoder> encoder;

 private:
  ElectraConfig config_;
};

}  // namespace tz::electra
