// The replaced-token-detection discriminator for any family: the family's encoder (under its HF
// prefix) plus ELECTRA's discriminator head, `discriminator_predictions`:
//   logits [B, T] = dense_prediction(hidden_act(dense(h))).squeeze(-1)
// with, given labels (1 = replaced, 0 = original), HF ElectraForPreTraining's loss: BCE with
// logits averaged over the positions where attention_mask is 1 (all positions without a mask).
// ELECTRA registers its own ElectraForPreTraining; the other families register this class for
// Task::ReplacedTokenDetection (ConvBERT as "ConvBertForPreTraining", the ConvBERT paper's
// discriminator), so HF loads the saved encoder with <Family>Model and reports the head's
// weights as unused. Pretraining with it: train/replaced_token_detection.h.
#pragma once

#include <memory>
#include <string>

#include "models/model.h"
#include "nn/layers.h"

namespace tz::models {

/// dense (H -> H) -> hidden_act -> dense_prediction (H -> 1), as HF's ElectraDiscriminatorPredictions.
class DiscriminatorPredictions : public nn::Module {
 public:
  DiscriminatorPredictions(int64_t hidden_size, const std::string& hidden_act);
  /// h [B, T, H] -> logits [B, T]
  Tensor forward(const Tensor& h);
  std::shared_ptr<nn::Linear> dense, dense_prediction;
  nn::Activation act;
};

/// BCE with logits over the positions where attention_mask != 0 (every position when the mask is
/// undefined): HF ElectraForPreTraining's loss. logits [B, T], labels [B, T] (0/1, any dtype).
Tensor discriminator_loss(const Tensor& logits, const Tensor& labels, const Tensor& attention_mask);

class ForReplacedTokenDetection : public PreTrainedModel {
 public:
  /// `encoder`: the family's base model (Task::Base); `architecture`: the class name config.json
  /// records.
  ForReplacedTokenDetection(std::shared_ptr<PreTrainedModel> encoder, std::string architecture);
  Output forward(const Inputs& inputs) override;
  std::string architecture() const override { return architecture_; }
  Task task() const override { return Task::ReplacedTokenDetection; }
  const PretrainedConfig& config() const override { return encoder_->config(); }
  std::string base_model_prefix() const override { return encoder_->base_model_prefix(); }
  bool takes_token_type_ids() const override { return encoder_->takes_token_type_ids(); }
  bool ignorable_missing_key(const std::string& key) const override;
  bool ignorable_unexpected_key(const std::string& key) const override;
  std::shared_ptr<nn::Module> embedding_layer() const override { return encoder_->embedding_layer(); }
  void set_embedding_layer(std::shared_ptr<nn::Module> layer) override { encoder_->set_embedding_layer(layer); }
  double forward_flops(int64_t B, int64_t T) const override;
  void init_family_module(const std::string& name, nn::Module& module, Generator& gen) override;

  PreTrainedModel& encoder() { return *encoder_; }
  std::shared_ptr<DiscriminatorPredictions> discriminator_predictions;

 private:
  std::shared_ptr<PreTrainedModel> encoder_;
  std::string architecture_;
};

}  // namespace tz::models
