// ConvBERT's mixed attention; see self_attention.h for the math.
// HF: modeling_convbert.py, classes SeparableConv1D, ConvBertSelfAttention, ConvBertAttention
// (ConvBertSelfOutput is the shared blocks::ResidualOutput).
#include "models/convbert/self_attention.h"

#include <cmath>

#include "autograd/ops.h"

namespace tz::convbert {

SeparableConv1D::SeparableConv1D(int64_t in, int64_t out, int64_t k) {
  // HF registers depthwise, pointwise, then its own bias; PyTorch lists a module's own parameters
  // before its children's, which is what named_parameters() gives here too.
  depthwise = register_module("depthwise", std::make_shared<nn::Conv1d>(in, in, k, k / 2, in, false));
  pointwise = register_module("pointwise", std::make_shared<nn::Conv1d>(in, out, 1, 0, 1, false));
  bias = register_parameter("bias", raw::zeros({out, 1}));
}

Tensor SeparableConv1D::forward(const Tensor& x) {
  return add(pointwise->forward(depthwise->forward(x)), bias);  // bias [out, 1] broadcasts over T
}

SelfAttention::SelfAttention(const ConvBertConfig& c)
    : heads(c.attention_heads()),
      head_size(c.attention_head_size()),
      all_head_size(c.all_head_size()),
      kernel_size(c.conv_kernel_size) {
  const int64_t H = c.hidden_size, A = all_head_size;
  query = register_module("query", std::make_shared<nn::Linear>(H, A));
  key = register_module("key", std::make_shared<nn::Linear>(H, A));
  value = register_module("value", std::make_shared<nn::Linear>(H, A));
  key_conv_attn_layer = register_module("key_conv_attn_layer", std::make_shared<SeparableConv1D>(H, A, kernel_size));
  conv_kernel_layer = register_module("conv_kernel_layer", std::make_shared<nn::Linear>(A, heads * kernel_size));
  conv_out_layer = register_module("conv_out_layer", std::make_shared<nn::Linear>(H, A));
  dropout = register_module("dropout", std::make_shared<nn::Dropout>(c.attention_probs_dropout_prob));
}

Tensor SelfAttention::forward(const Tensor& x, const Tensor& additive_mask, const Tensor& head_mask, Tensor* probs_out) {
  const int64_t B = x.size(0), T = x.size(1);
  const int64_t nh = heads, d = head_size, A = all_head_size, K = kernel_size;

  Tensor q = query->forward(x);  // [B, T, A]
  Tensor k = key->forward(x);
  Tensor v = value->forward(x);
  // Span-aware key: a separable convolution over time, on the channels-first layout.
  Tensor k_span = transpose(key_conv_attn_layer->forward(transpose(x, 1, 2)), 1, 2);  // [B, T, A]

  // ---- dynamic convolution half ----
  Tensor conv_attn = mul(k_span, q);                                        // [B, T, A]
  Tensor kernel = reshape(conv_kernel_layer->forward(conv_attn), {-1, K, 1});  // [B*T*nh, K, 1]
  kernel = softmax(kernel, 1);
  Tensor conv_in = conv_out_layer->forward(x);                              // [B, T, A]
  Tensor unfolded = unfold1d(conv_in, K, (K - 1) / 2);                       // [B, T, A, K]
  unfolded = reshape(unfolded, {-1, d, K});                                  // [B*T*nh, d, K]
  Tensor conv_out = reshape(matmul(unfolded, kernel), {B, T, nh, d});        // [B, T, nh, d]

  // ---- self-attention half ----
  auto split_heads = [&](const Tensor& t) { return permute(view(t, {B, T, nh, d}), {0, 2, 1, 3}); };
  Tensor scores = matmul(split_heads(q), transpose(split_heads(k), -1, -2));  // [B, nh, T, T]
  scores = div(scores, raw::scalar(static_cast<float>(std::sqrt(static_cast<double>(d)))));
  if (additive_mask.defined()) scores = add(scores, additive_mask);
  Tensor probs = softmax(scores, -1);
  probs = dropout->forward(probs);
  if (head_mask.defined()) probs = mul(probs, head_mask);
  if (probs_out) *probs_out = probs;
  Tensor context = permute(matmul(probs, split_heads(v)), {0, 2, 1, 3});    // [B, T, nh, d]

  // Attention heads first, then convolution heads, as HF concatenates them.
  return reshape(cat({context, conv_out}, 2), {B, T, 2 * A});
}

Attention::Attention(const ConvBertConfig& c) {
  self = register_module("self", std::make_shared<SelfAttention>(c));
  output = register_module("output", std::make_shared<blocks::ResidualOutput>(c.hidden_size, c.hidden_size,
                                                                             c.layer_norm_eps, c.hidden_dropout_prob));
}

Tensor Attention::forward(const Tensor& x, const Tensor& additive_mask, const Tensor& head_mask, Tensor* probs) {
  return output->forward(self->forward(x, additive_mask, head_mask, probs), x);
}

}  // namespace tz::convbert
