// BertModel (embeddings -> encoder -> optional pooler) and BertPreTrainedModel, what every BERT
// class shares: the config, the "bert" prefix, the FLOP count, the keys loading passes over.
// The blocks are the shared ones (models/blocks/); heads: heads.h; registry entry: family.h.
#pragma once

#include <memory>
#include <string>

#include "models/bert/config.h"
#include "models/blocks/embeddings.h"
#include "models/blocks/encoder.h"
#include "models/model.h"
#include "nn/layers.h"

namespace tz::bert {

/// HF's BertPreTrainedModel: the base of the base model and of every head.
class BertPreTrainedModel : public models::PreTrainedModel {
 public:
  const BertConfig& config() const override = 0;
  std::string base_model_prefix() const override { return "bert"; }
  /// Also HF's pooler rule: heads built without a pooler ignore a checkpoint's bert.pooler.*.
  bool ignorable_unexpected_key(const std::string& key) const override;
  double forward_flops(int64_t B, int64_t T) const override;
  std::shared_ptr<nn::Module> embedding_layer() const override;
  void set_embedding_layer(std::shared_ptr<nn::Module> layer) override;
};

/// tanh(dense(h[:, 0])): the first position and tanh, whatever hidden_act says.
class Pooler : public nn::Module {
 public:
  explicit Pooler(int64_t hidden_size);
  /// h [B, T, H] -> [B, H]
  Tensor forward(const Tensor& h);
  std::shared_ptr<nn::Linear> dense;
};

class BertModel : public BertPreTrainedModel {
 public:
  /// add_pooling_layer false: no `pooler` module (HF's heads for masked LM, tokens, QA).
  explicit BertModel(const BertConfig& config, bool add_pooling_layer = true);
  /// last_hidden_state [B, T, H], pooler_output [B, H] (with a pooler), hidden_states /
  /// attentions when asked. Padding is masked by adding (1 - attention_mask) * -10000 to the
  /// attention scores, as HF 4.19 does.
  models::Output forward(const models::Inputs& inputs) override;
  std::string architecture() const override { return "BertModel"; }
  models::Task task() const override { return models::Task::Base; }
  const BertConfig& config() const override { return config_; }

  std::shared_ptr<blocks::Embeddings> embeddings;
  std::shared_ptr<blocks::Encoder> encoder;
  std::shared_ptr<Pooler> pooler;  // null without a pooling layer

 private:
  BertConfig config_;
};

}  // namespace tz::bert
