// Multi-head self-attention and the residual output block; see attention.h for the math.
// HF: modeling_bert.py BertSelfAttention, BertSelfOutput, BertOutput, BertAttention.
#include "models/blocks/attention.h"

#include <cmath>

#include "autograd/ops.h"
#include "core/error.h"

namespace tz::blocks {

Tensor split_heads(const Tensor& x, int64_t heads) {
  const int64_t B = x.size(0), T = x.size(1), A = x.size(2);
  return permute(view(x, {B, T, heads, A / heads}), {0, 2, 1, 3});
}

Tensor merge_heads(const Tensor& x) {
  const int64_t B = x.size(0), nh = x.size(1), T = x.size(2), d = x.size(3);
  return reshape(permute(x, {0, 2, 1, 3}), {B, T, nh * d});
}

Tensor attend(const Tensor& scores, const Tensor& v, nn::Dropout& dropout, const Tensor& head_mask, Tensor* probs_out) {
  Tensor probs = dropout.forward(softmax(scores, -1));
  if (head_mask.defined()) probs = mul(probs, head_mask);
  if (probs_out) *probs_out = probs;
  return merge_heads(matmul(probs, v));
}

SelfAttention::SelfAttention(const models::PretrainedConfig& c)
    : heads(c.num_attention_heads), head_size(c.hidden_size / c.num_attention_heads) {
  TZ_CHECK(c.hidden_size % c.num_attention_heads == 0, "attention: hidden_size ", c.hidden_size,
           " is not a multiple of num_attention_heads ", c.num_attention_heads);
  const int64_t H = c.hidden_size;
  query = register_module("query", std::make_shared<nn::Linear>(H, H));
  key = register_module("key", std::make_shared<nn::Linear>(H, H));
  value = register_module("value", std::make_shared<nn::Linear>(H, H));
  dropout = register_module("dropout", std::make_shared<nn::Dropout>(c.attention_probs_dropout_prob));
}

Tensor SelfAttention::forward(const Tensor& x, const Tensor& additive_mask, const Tensor& head_mask, Tensor* probs_out) {
  Tensor q = split_heads(query->forward(x), heads);  // [B, nh, T, d]
  Tensor k = split_heads(key->forward(x), heads);
  Tensor v = split_heads(value->forward(x), heads);
  // HF divides the product by sqrt(d) (a Python float, so float32(sqrt(d)) in the kernel).
  Tensor scores = matmul(q, transpose(k, -1, -2));  // [B, nh, T, T]
  scores = div(scores, raw::scalar(static_cast<float>(std::sqrt(static_cast<double>(head_size)))));
  if (additive_mask.defined()) scores = add(scores, additive_mask);
  return attend(scores, v, *dropout, head_mask, probs_out);
}

ResidualOutput::ResidualOutput(int64_t in, int64_t out, double layer_norm_eps, double p) {
  dense = register_module("dense", std::make_shared<nn::Linear>(in, out));
  layer_norm = register_module("LayerNorm", std::make_shared<nn::LayerNorm>(out, layer_norm_eps));
  dropout = register_module("dropout", std::make_shared<nn::Dropout>(p));
}

Tensor ResidualOutput::forward(const Tensor& x, const Tensor& residual) {
  return layer_norm->forward(add(dropout->forward(dense->forward(x)), residual));
}

Attention::Attention(const models::PretrainedConfig& c) {
  self = register_module("self", std::make_shared<SelfAttention>(c));
  output = register_module("output", std::make_shared<ResidualOutput>(c.hidden_size, c.hidden_size, c.layer_norm_eps,
                                                                        c.hidden_dropout_prob));
}

Tensor Attention::forward(const Tensor& x, const Tensor& additive_mask, const Tensor& head_mask, Tensor* probs_out) {
  return output->forward(self->forward(x, additive_mask, head_mask, probs_out), x);
}

}  // namespace tz::blocks
