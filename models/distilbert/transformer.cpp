// DistilBERT's layer stack; see transformer.h for the math. HF: modeling_distilbert.py,
// MultiHeadSelfAttention, FFN, TransformerBlock, Transformer.
#include "models/distilbert/transformer.h"

#include <cmath>
#include <limits>

#include "autograd/ops.h"
#include "models/blocks/attention.h"

namespace tz::distilbert {

namespace {
constexpr double kLayerNormEps = 1e-12;  // DistilBERT has no layer_norm_eps: HF hard-codes it
}  // namespace

MultiHeadSelfAttention::MultiHeadSelfAttention(const DistilBertConfig& c)
    : heads(c.num_attention_heads), head_size(c.hidden_size / c.num_attention_heads) {
  const int64_t D = c.hidden_size;
  dropout = register_module("dropout", std::make_shared<nn::Dropout>(c.attention_probs_dropout_prob));
  q_lin = register_module("q_lin", std::make_shared<nn::Linear>(D, D));
  k_lin = register_module("k_lin", std::make_shared<nn::Linear>(D, D));
  v_lin = register_module("v_lin", std::make_shared<nn::Linear>(D, D));
  out_lin = register_module("out_lin", std::make_shared<nn::Linear>(D, D));
}

Tensor MultiHeadSelfAttention::forward(const Tensor& x, const Tensor& masked_keys, const Tensor& head_mask,
                                       Tensor* probs_out) {
  Tensor q = blocks::split_heads(q_lin->forward(x), heads);  // [B, nh, T, d]
  Tensor k = blocks::split_heads(k_lin->forward(x), heads);
  Tensor v = blocks::split_heads(v_lin->forward(x), heads);
  q = div(q, raw::scalar(static_cast<float>(std::sqrt(static_cast<double>(head_size)))));
  Tensor scores = matmul(q, transpose(k, -1, -2));  // [B, nh, T, T]
  if (masked_keys.defined()) scores = masked_fill(scores, masked_keys, -std::numeric_limits<double>::infinity());
  return out_lin->forward(blocks::attend(scores, v, *dropout, head_mask, probs_out));
}

FFN::FFN(const DistilBertConfig& c) {
  dropout = register_module("dropout", std::make_shared<nn::Dropout>(c.hidden_dropout_prob));
  lin1 = register_module("lin1", std::make_shared<nn::Linear>(c.hidden_size, c.intermediate_size));
  lin2 = register_module("lin2", std::make_shared<nn::Linear>(c.intermediate_size, c.hidden_size));
  act = nn::activation(c.hidden_act);
}

Tensor FFN::forward(const Tensor& x) { return dropout->forward(lin2->forward(act(lin1->forward(x)))); }

TransformerBlock::TransformerBlock(const DistilBertConfig& c) {
  attention = register_module("attention", std::make_shared<MultiHeadSelfAttention>(c));
  sa_layer_norm = register_module("sa_layer_norm", std::make_shared<nn::LayerNorm>(c.hidden_size, kLayerNormEps));
  ffn = register_module("ffn", std::make_shared<FFN>(c));
  output_layer_norm = register_module("output_layer_norm", std::make_shared<nn::LayerNorm>(c.hidden_size, kLayerNormEps));
}

Tensor TransformerBlock::forward(const Tensor& x, const Tensor& masked_keys, const Tensor& head_mask, Tensor* probs_out) {
  Tensor h = sa_layer_norm->forward(add(attention->forward(x, masked_keys, head_mask, probs_out), x));
  return output_layer_norm->forward(add(ffn->forward(h), h));
}

Transformer::Transformer(const DistilBertConfig& c) {
  layer = register_module("layer", std::make_shared<nn::ModuleList>());
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) layer->push_back(std::make_shared<TransformerBlock>(c));
}

blocks::EncoderOutput Transformer::forward(const Tensor& x, const Tensor& masked_keys, const Tensor& head_mask,
                                           bool output_hidden_states, bool output_attentions) {
  auto step = [&](size_t i, const Tensor& h, Tensor* probs) {
    return layer->get<TransformerBlock>(i)->forward(h, masked_keys,
                                                    blocks::layer_head_mask(head_mask, static_cast<int64_t>(i)), probs);
  };
  return blocks::run_layers(layer->size(), step, x, output_hidden_states, output_attentions);
}

}  // namespace tz::distilbert
