// Multi-head self-attention as HF's BertSelfAttention computes it, and the residual "output" block
// every BERT-like layer ends its halves with:
//
//   q, k, v = query(x), key(x), value(x)                 [B, T, nh*d] -> [B, nh, T, d]
//   probs   = softmax(q k^T / sqrt(d) + additive_mask)   [B, nh, T, T]
//   context = (dropout(probs) * head_mask) v              [B, T, nh*d]
//   output  = LayerNorm(dropout(dense(context)) + x)     (ResidualOutput)
//
// BERT and ELECTRA use these as they are (HF names: attention.self.{query,key,value},
// attention.output.{dense,LayerNorm}); DistilBERT and ConvBERT compute their scores their own way
// and share split_heads / attend / ResidualOutput.
// Not here: the feed-forward and the layer stack (encoder.h), the additive mask (models/model.h).
#pragma once

#include <cstdint>
#include <memory>

#include "models/config.h"
#include "nn/layers.h"
#include "nn/module.h"

namespace tz::blocks {

/// [B, T, nh*d] -> [B, nh, T, d] (a view).
Tensor split_heads(const Tensor& x, int64_t heads);
/// [B, nh, T, d] -> [B, T, nh*d].
Tensor merge_heads(const Tensor& x);
/// The second half of every attention here: softmax(scores) over the keys, dropout, times head_mask
/// (undefined, or broadcastable to the probabilities: [1, nh, 1, 1]), then the weighted sum of v.
/// scores [B, nh, T, T], v [B, nh, T, d] -> context [B, T, nh*d]. `probs_out` (when non-null)
/// receives the probabilities after dropout and head_mask, as HF returns them.
Tensor attend(const Tensor& scores, const Tensor& v, nn::Dropout& dropout, const Tensor& head_mask, Tensor* probs_out);

/// HF's BertSelfAttention (absolute positions only).
class SelfAttention : public nn::Module {
 public:
  explicit SelfAttention(const models::PretrainedConfig& config);
  /// x [B, T, H]; additive_mask [B, 1, 1, T] or undefined; head_mask [1, nh, 1, 1] or undefined.
  /// Returns the context [B, T, H].
  Tensor forward(const Tensor& x, const Tensor& additive_mask, const Tensor& head_mask, Tensor* probs_out);

  int64_t heads, head_size;
  std::shared_ptr<nn::Linear> query, key, value;
  std::shared_ptr<nn::Dropout> dropout;
};

/// dense(in -> out) -> dropout -> LayerNorm(. + residual): HF's BertSelfOutput (in = hidden) and
/// BertOutput (in = intermediate). DistilBERT computes the same with other names (its block.cpp).
class ResidualOutput : public nn::Module {
 public:
  ResidualOutput(int64_t in, int64_t out, double layer_norm_eps, double dropout);
  Tensor forward(const Tensor& x, const Tensor& residual);

  std::shared_ptr<nn::Linear> dense;
  std::shared_ptr<nn::LayerNorm> layer_norm;  // HF name "LayerNorm"
  std::shared_ptr<nn::Dropout> dropout;
};

/// HF's BertAttention: self-attention, then the residual output block on the input.
class Attention : public nn::Module {
 public:
  explicit Attention(const models::PretrainedConfig& config);
  Tensor forward(const Tensor& x, const Tensor& additive_mask, const Tensor& head_mask, Tensor* probs_out);

  std::shared_ptr<SelfAttention> self;
  std::shared_ptr<ResidualOutput> output;
};

}  // namespace tz::blocks
