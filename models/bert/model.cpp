// BertModel and what every BERT class shares; see model.h. HF: modeling_bert.py, classes
// BertPreTrainedModel, BertPooler and BertModel.
#include "models/bert/model.h"

#include "autograd/ops.h"
#include "models/blocks/inputs.h"

namespace tz::bert {

using models::Inputs;
using models::Output;

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
  blocks::check_inputs(in, config_, "bert", config_.hidden_size);
  Tensor h = embeddings->forward(in.input_ids, in.token_type_ids, in.position_ids, in.inputs_embeds);
  Output out = blocks::encode(*encoder, config_, h, in, blocks::kMaskedScore, "bert");
  if (pooler) out.pooler_output = pooler->forward(out.last_hidden_state);
  return out;
}

std::shared_ptr<nn::Module> BertPreTrainedModel::embedding_layer() const { return blocks::embedding_layer_of<BertModel>(*this); }

void BertPreTrainedModel::set_embedding_layer(std::shared_ptr<nn::Module> layer) {
  blocks::set_embedding_layer_of<BertModel>(*this, layer);
}

}  // namespace tz::bert
