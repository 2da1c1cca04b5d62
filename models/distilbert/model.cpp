// DistilBertModel and what every DistilBERT class shares; see model.h. HF: modeling_distilbert.py,
// create_sinusoidal_embeddings, Embeddings, DistilBertPreTrainedModel, DistilBertModel.
#include "models/distilbert/model.h"

#include <cmath>
#include <vector>

#include "autograd/ops.h"
#include "models/blocks/inputs.h"
#include "nn/init.h"
#include "tensor/ops.h"

namespace tz::distilbert {

using models::Inputs;
using models::Output;

void fill_sinusoidal(const Tensor& table) {
  TZ_CHECK(table.dim() == 2 && table.dtype() == DType::Float32 && table.is_contiguous(),
           "fill_sinusoidal: expected a contiguous float32 [n_pos, dim] table, got ", shape_str(table.shape()));
  const int64_t n_pos = table.size(0), dim = table.size(1);
  float* out = table.data<float>();
  for (int64_t pos = 0; pos < n_pos; ++pos)
    for (int64_t j = 0; j < dim; ++j) {
      const double angle = static_cast<double>(pos) /
                           std::pow(10000.0, static_cast<double>(2 * (j / 2)) / static_cast<double>(dim));
      out[pos * dim + j] = static_cast<float>(j % 2 == 0 ? std::sin(angle) : std::cos(angle));
    }
}

double DistilBertPreTrainedModel::forward_flops(int64_t B, int64_t T) const {
  return blocks::encoder_flops(config(), B, T);
}

void DistilBertPreTrainedModel::init_family_module(const std::string&, nn::Module& m, Generator&) {
  if (!config().sinusoidal_pos_embds) return;
  if (auto* e = dynamic_cast<blocks::Embeddings*>(&m)) fill_sinusoidal(e->position_embeddings->weight);
}

DistilBertModel::DistilBertModel(const DistilBertConfig& config) : config_(config) {
  config_.validate();
  blocks::EmbeddingsOptions e = blocks::EmbeddingsOptions::from(config_, config_.hidden_size);
  e.type_vocab_size = 0;
  e.layer_norm_eps = 1e-12;
  e.position_ids_persistent = false;
  embeddings = register_module("embeddings", std::make_shared<blocks::Embeddings>(e));
  if (config_.sinusoidal_pos_embds) {
    Tensor table = embeddings->position_embeddings->weight;  // the same tensor (a handle)
    table.set_requires_grad(false);  // HF freezes the table; the optimizer never sees a gradient
    if (!nn::init_skipped()) fill_sinusoidal(table);
  }
  transformer = register_module("transformer", std::make_shared<Transformer>(config_));
}

Output DistilBertModel::forward(const Inputs& in) {
  const auto& c = config_;
  TZ_CHECK(!in.position_ids.defined(), "distilbert: position_ids are not an input of DistilBERT (positions are 0..T-1)");
  const Shape shape = blocks::check_inputs(in, c, "distilbert", c.hidden_size, /*token_types=*/false);
  // HF: scores.masked_fill(attention_mask == 0, -inf); any non-zero mask value attends.
  Tensor masked_keys;
  if (in.attention_mask.defined()) {
    std::vector<float> keys = raw::to_dtype(raw::contiguous(in.attention_mask), DType::Float32).to_vector<float>();
    for (float& k : keys) k = k == 0.f ? 1.f : 0.f;
    masked_keys = raw::from_vector(keys, {shape[0], 1, 1, shape[1]});
  }
  Tensor head_mask = blocks::expand_head_mask(in.head_mask, c.num_hidden_layers, c.num_attention_heads, "distilbert");
  Tensor x = in.inputs_embeds.defined() ? in.inputs_embeds : embeddings->forward(in.input_ids, Tensor(), Tensor(), Tensor());
  blocks::EncoderOutput enc = transformer->forward(x, masked_keys, head_mask, in.output_hidden_states, in.output_attentions);
  Output out;
  out.last_hidden_state = enc.last_hidden_state;
  out.hidden_states = std::move(enc.hidden_states);
  out.attentions = std::move(enc.attentions);
  return out;
}

std::shared_ptr<nn::Module> DistilBertPreTrainedModel::embedding_layer() const { return blocks::embedding_layer_of<DistilBertModel>(*this); }

void DistilBertPreTrainedModel::set_embedding_layer(std::shared_ptr<nn::Module> layer) {
  blocks::set_embedding_layer_of<DistilBertModel>(*this, layer);
}

}  // namespace tz::distilbert
