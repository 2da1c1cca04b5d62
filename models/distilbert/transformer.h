// DistilBERT's layer stack (HF: MultiHeadSelfAttention, FFN, TransformerBlock, Transformer), under
// HF's names transformer.layer.<i>.{attention.{q,k,v,out}_lin, sa_layer_norm, ffn.{lin1,lin2},
// output_layer_norm}. The math is BERT's but for two details the numbers depend on:
//
//   q       = q_lin(x) / sqrt(d)                              scaled BEFORE q k^T
//   scores  = (q k^T).masked_fill(attention_mask == 0, -inf)  a boolean test: any non-zero value attends
//   probs   = softmax(scores)                                 (a row without any real token: HF gives
//                                                             NaN, our softmax zeros)
//   h       = sa_layer_norm(out_lin(attend(probs, v)) + x)
//   out     = output_layer_norm(dropout(lin2(act(lin1(h)))) + h)      every LayerNorm eps 1e-12
//
// Not here: the embeddings (models/blocks/embeddings.h), the model (model.h).
#pragma once

#include <memory>
#include <vector>

#include "models/blocks/encoder.h"
#include "models/distilbert/config.h"
#include "nn/layers.h"
#include "nn/module.h"

namespace tz::distilbert {

class MultiHeadSelfAttention : public nn::Module {
 public:
  explicit MultiHeadSelfAttention(const DistilBertConfig& config);
  /// x [B, T, dim]; masked_keys [B, 1, 1, T]: 1 where a key is masked out (attention_mask == 0),
  /// or undefined; head_mask [1, heads, 1, 1] or undefined. Returns [B, T, dim].
  Tensor forward(const Tensor& x, const Tensor& masked_keys, const Tensor& head_mask, Tensor* probs_out);

  int64_t heads, head_size;
  std::shared_ptr<nn::Dropout> dropout;
  std::shared_ptr<nn::Linear> q_lin, k_lin, v_lin, out_lin;
};

/// lin1 (dim -> hidden_dim) -> activation -> lin2 -> dropout.
class FFN : public nn::Module {
 public:
  explicit FFN(const DistilBertConfig& config);
  Tensor forward(const Tensor& x);

  std::shared_ptr<nn::Dropout> dropout;
  std::shared_ptr<nn::Linear> lin1, lin2;
  nn::Activation act;
};

class TransformerBlock : public nn::Module {
 public:
  explicit TransformerBlock(const DistilBertConfig& config);
  Tensor forward(const Tensor& x, const Tensor& masked_keys, const Tensor& head_mask, Tensor* probs_out);

  std::shared_ptr<MultiHeadSelfAttention> attention;
  std::shared_ptr<nn::LayerNorm> sa_layer_norm;
  std::shared_ptr<FFN> ffn;
  std::shared_ptr<nn::LayerNorm> output_layer_norm;
};

/// n_layers TransformerBlocks under "layer".
class Transformer : public nn::Module {
 public:
  explicit Transformer(const DistilBertConfig& config);
  /// x [B, T, dim]; masked_keys as MultiHeadSelfAttention; head_mask [n_layers, heads] or undefined.
  blocks::EncoderOutput forward(const Tensor& x, const Tensor& masked_keys, const Tensor& head_mask,
                                bool output_hidden_states, bool output_attentions);

  std::shared_ptr<nn::ModuleList> layer;
};

}  // namespace tz::distilbert
