// BertModel and what every BERT class shares; see model.h. HF: modeling_bert.py, classes
// BertPreTrainedModel, BertPooler and BertModel.
#include "models/bert/model.h"

#include "autograd/ops.h"
#include "models/blocks/inputs.h"
#include "tensor/ops.h"

namespace tz::bert {

using models::Inputs;
using models::Output;

namespace {
// HF 4.19's extended attention mask value; later versions use float32's lowest. A row with at
// least one real token gives padded keys probability exactly 0 either way (exp underflows).
constexpr float kMaskedScore = -10000.f;
}  // namespace

bool BertPreTrainedModel::ignorable_unexpected_key(const std::string& key) const {
  return models::PreTrainedModel::ignorable_unexpected_key(key) || key.find("pooler") != std::string::npos;
}

double BertPreTrainedModel::forward_flops(int64_t B, int64_t T) const { return blocks::encoder_flops(config(), B, T); }

Pooler::Pooler(int64_t H) { dense = register_module("dense", std::make_shared<nn::Linear>(H, H)); }

Tensor Pooler::forward(const Tensor& h) { return tz::tanh(dense->forward(select(h, 1, 0))); }

BertModel::BertModel(const BertConfig& config, bool add_pooling_layer) : config_(config) {
  config_.validate();
  embeddings = register_module("embeddings", std::make_shared<blocks::Embeddings>(
                                                 blocks::EmbeddingsOptions::from(config_, config_.hidden_size)));
  encoder = register_module("encoder", std::make_shared<blocks::Encoder>(config_));
  if (add_pooling_layer) pooler = register_module("pooler", std::make_shared<Pooler>(config_.hidden_size));
}

Output BertModel::forward(const Inputs& in) {
  const auto& c = config_;
  const Shape shape = blocks::check_inputs(in, c, "bert", c.hidden_size);
  Tensor mask = in.attention_mask.defined() ? in.attention_mask : raw::ones(shape);
  Tensor additive = models::additive_attention_mask(mask, kMaskedScore);
  Tensor head_mask = blocks::expand_head_mask(in.head_mask, c.num_hidden_layers, c.num_attention_heads, "bert");

  Tensor h = embeddings->forward(in.input_ids, in.token_type_ids, in.position_ids, in.inputs_embeds);
  blocks::EncoderOutput enc = encoder->forward(h, additive, head_mask, in.output_hidden_states, in.output_attentions);
  Output out;
  out.last_hidden_state = enc.last_hidden_state;
  if (pooler) out.pooler_output = pooler->forward(enc.last_hidden_state);
  out.hidden_states = std::move(enc.hidden_states);
  out.attentions = std::move(enc.attentions);
  return out;
}

}  // namespace tz::bert
