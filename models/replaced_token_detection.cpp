// The family-neutral replaced-token-detection discriminator; see replaced_token_detection.h.
// HF: modeling_electra.py, ElectraDiscriminatorPredictions and ElectraForPreTraining.
#include "models/replaced_token_detection.h"

#include "autograd/ops.h"
#include "core/error.h"
#include "tensor/ops.h"

namespace tz::models {

DiscriminatorPredictions::DiscriminatorPredictions(int64_t H, const std::string& hidden_act) {
  dense = register_module("dense", std::make_shared<nn::Linear>(H, H));
  dense_prediction = register_module("dense_prediction", std::make_shared<nn::Linear>(H, 1));
  act = nn::activation(hidden_act);
}

Tensor DiscriminatorPredictions::forward(const Tensor& h) {
  Tensor logits = dense_prediction->forward(act(dense->forward(h)));  // [B, T, 1]
  return reshape(logits, {logits.size(0), logits.size(1)});
}

Tensor discriminator_loss(const Tensor& logits, const Tensor& labels, const Tensor& attention_mask) {
  TZ_CHECK(labels.shape() == logits.shape(), "replaced-token detection: labels must have the logits' shape ",
           shape_str(logits.shape()), ", got ", shape_str(labels.shape()));
  Tensor y = raw::to_dtype(labels, DType::Float32);
  if (!attention_mask.defined()) return bce_with_logits(logits, y);
  TZ_CHECK(attention_mask.shape() == logits.shape(), "replaced-token detection: attention_mask has shape ",
           shape_str(attention_mask.shape()), ", expected ", shape_str(logits.shape()));
  // The real positions, gathered (with a scatter-add backward) as HF's logits[attention_mask == 1].
  std::vector<int64_t> rows;
  const Tensor m = raw::to_dtype(raw::contiguous(attention_mask), DType::Float32);
  const std::vector<float> mask = m.to_vector<float>();
  for (size_t i = 0; i < mask.size(); ++i)
    if (mask[i] != 0.f) rows.push_back(static_cast<int64_t>(i));
  TZ_CHECK(!rows.empty(), "replaced-token detection: the attention mask has no real position");
  const Tensor index = raw::from_vector(rows, {static_cast<int64_t>(rows.size())});
  Tensor picked = reshape(embedding(reshape(logits, {-1, 1}), index), {-1});
  Tensor targets = raw::reshape(raw::embedding(raw::reshape(y, {-1, 1}), index), {-1});
  return bce_with_logits(picked, targets);
}

ForReplacedTokenDetection::ForReplacedTokenDetection(std::shared_ptr<PreTrainedModel> encoder, std::string architecture)
    : encoder_(std::move(encoder)), architecture_(std::move(architecture)) {
  TZ_CHECK(encoder_ && encoder_->task() == Task::Base, "replaced-token detection: the encoder must be a base model");
  register_module(encoder_->base_model_prefix(), encoder_);
  discriminator_predictions = register_module(
      "discriminator_predictions",
      std::make_shared<DiscriminatorPredictions>(encoder_->config().hidden_size, encoder_->config().hidden_act));
}

Output ForReplacedTokenDetection::forward(const Inputs& in) {
  Inputs enc = in;
  enc.labels = Tensor();
  Output out = encoder_->forward(enc);
  out.logits = discriminator_predictions->forward(out.last_hidden_state);
  if (in.labels.defined()) out.loss = discriminator_loss(out.logits, in.labels, in.attention_mask);
  return out;
}

// Keys carry the family prefix here, as in the family's own heads.
bool ForReplacedTokenDetection::ignorable_missing_key(const std::string& key) const {
  return encoder_->ignorable_missing_key(key);
}

bool ForReplacedTokenDetection::ignorable_unexpected_key(const std::string& key) const {
  return encoder_->ignorable_unexpected_key(key);
}

double ForReplacedTokenDetection::forward_flops(int64_t B, int64_t T) const { return encoder_->forward_flops(B, T); }

void ForReplacedTokenDetection::init_family_module(const std::string& name, nn::Module& module, Generator& gen) {
  encoder_->init_family_module(name, module, gen);
}

}  // namespace tz::models
