// ConvBERT's mixed attention block (HF: SeparableConv1D, ConvBertSelfAttention, ConvBertSelfOutput,
// ConvBertAttention). Half of the hidden features go through ordinary multi-head self-attention,
// the other half through the span-based dynamic convolution:
//
//   q = query(x), k_span = SeparableConv1D(x)            [B, T, A]   A = all_head_size = H/2
//   kernel = softmax(conv_kernel_layer(q * k_span))      [B, T, heads, K] over K
//   v_conv = unfold(conv_out_layer(x))                    [B, T, A, K]  (K neighbours of each token)
//   conv   = sum_k v_conv[..., k] * kernel[..., k]        [B, T, heads, d]
//   attn   = softmax(q k^T / sqrt(d) + mask) v            [B, T, heads, d]
//   out    = LayerNorm(dense(concat(attn, conv)) + x)
//
// The convolution half ignores the attention mask: padding positions are read like any other, so
// a token near the end of a padded row sees the padding (HF behaves the same; batching changes
// results slightly).
#pragma once

#include <memory>

#include "models/blocks/attention.h"
#include "models/convbert/config.h"
#include "nn/layers.h"
#include "nn/module.h"

namespace tz::convbert {

/// Depthwise conv (kernel K, same padding, no bias) then pointwise conv (no bias) then + bias[out, 1].
class SeparableConv1D : public nn::Module {
 public:
  SeparableConv1D(int64_t in, int64_t out, int64_t kernel_size);
  /// x [B, in, T] -> [B, out, T]
  Tensor forward(const Tensor& x);
  Tensor bias;  // [out, 1]
  std::shared_ptr<nn::Conv1d> depthwise, pointwise;
};

class SelfAttention : public nn::Module {
 public:
  explicit SelfAttention(const ConvBertConfig& config);
  /// x [B, T, H], additive mask [B, 1, 1, T] (or undefined), head_mask [heads] (or undefined).
  /// Returns the context [B, T, H]; when `probs` is non-null it receives the attention
  /// probabilities [B, heads, T, T].
  Tensor forward(const Tensor& x, const Tensor& additive_mask, const Tensor& head_mask, Tensor* probs);

  int64_t heads, head_size, all_head_size, kernel_size;
  std::shared_ptr<nn::Linear> query, key, value, conv_kernel_layer, conv_out_layer;
  std::shared_ptr<SeparableConv1D> key_conv_attn_layer;
  std::shared_ptr<nn::Dropout> dropout;
};


class Attention : public nn::Module {
 public:
  explicit Attention(const ConvBertConfig& config);
  Tensor forward(const Tensor& x, const Tensor& additive_mask, const Tensor& head_mask, Tensor* probs);
  std::shared_ptr<SelfAttention> self;
  std::shared_ptr<blocks::ResidualOutput> output;  // dense -> dropout -> LayerNorm(. + x), shared with BERT
};

}  // namespace tz::convbert
