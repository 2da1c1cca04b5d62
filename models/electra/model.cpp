// ElectraModel and what every ELECTRA class shares; see model.h. HF: modeling_electra.py, classes
// ElectraPreTrainedModel and ElectraModel.
#include "models/electra/model.h"

#include "autograd/ops.h"
#include "models/blocks/inputs.h"

namespace tz::electra {

using models::Inputs;
using models::Output;

bool ElectraPreTrainedModel::ignorable_unexpected_key(const std::string& key) const {
  return models::PreTrainedModel::ignorable_unexpected_key(key) || key == "electra.embeddings_project.weight" ||
         key == "electra.embeddings_project.bias";
}

double ElectraPreTrainedModel::forward_flops(int64_t B, int64_t T) const {
  const auto& c = config();
  double flops = blocks::encoder_flops(c, B, T);
  if (c.embedding_size != c.hidden_size)
    flops += 2.0 * static_cast<double>(B * T) * static_cast<double>(c.embedding_size * c.hidden_size);
  return flops;
}

ElectraModel::ElectraModel(const ElectraConfig& config) : config_(config) {
  config_.validate();
  embeddings = register_module("embeddings", std::make_shared<blocks::Embeddings>(
                                                 blocks::EmbeddingsOptions::from(config_, config_.embedding_size)));
  if (config_.embedding_size != config_.hidden_size)
    embeddings_project = register_module("embeddings_project",
                                         std::make_shared<nn::Linear>(config_.embedding_size, config_.hidden_size));
  encoder = register_module("encoder", std::make_shared<blocks::Encoder>(config_));
}

Output ElectraModel::forward(const Inputs& in) {
  blocks::check_inputs(in, config_, "electra", config_.embedding_size);
  Tensor h = embeddings->forward(in.input_ids, in.token_type_ids, in.position_ids, in.inputs_embeds);
  if (embeddings_project) h = embeddings_project->forward(h);
  return blocks::encode(*encoder, config_, h, in, blocks::kMaskedScore, "electra");
}

std::shared_ptr<nn::Module> ElectraPreTrainedModel::embedding_layer() const { return blocks::embedding_layer_of<ElectraModel>(*this); }

void ElectraPreTrainedModel::set_embedding_layer(std::shared_ptr<nn::Module> layer) {
  blocks::set_embedding_layer_of<ElectraModel>(*this, layer);
}

}  // namespace tz::electra
