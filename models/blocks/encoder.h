// The BERT layer stack (HF's BertIntermediate, BertLayer, BertEncoder; ELECTRA's are copies):
// each layer is attention (attention.h), then the feed-forward intermediate (dense + hidden_act)
// and the residual output block. Names: encoder.layer.<i>.{attention, intermediate, output}.
// Not here: the embeddings (embeddings.h), a family's model and heads (models/<family>/).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "models/blocks/attention.h"
#include "models/config.h"
#include "nn/layers.h"
#include "nn/module.h"

namespace tz::blocks {

/// dense(H -> I) then hidden_act.
class Intermediate : public nn::Module {
 public:
  Intermediate(int64_t hidden_size, int64_t intermediate_size, const std::string& act);
  Tensor forward(const Tensor& x);

  std::shared_ptr<nn::Linear> dense;
  nn::Activation act;
};

class Layer : public nn::Module {
 public:
  explicit Layer(const models::PretrainedConfig& config);
  /// x [B, T, H] -> [B, T, H]; masks as SelfAttention::forward.
  Tensor forward(const Tensor& x, const Tensor& additive_mask, const Tensor& head_mask, Tensor* probs_out);

  std::shared_ptr<Attention> attention;
  std::shared_ptr<Intermediate> intermediate;
  std::shared_ptr<ResidualOutput> output;
};

struct EncoderOutput {
  Tensor last_hidden_state;
  std::vector<Tensor> hidden_states;  // the input, then each layer's output (when asked)
  std::vector<Tensor> attentions;     // each layer's attention probabilities (when asked)
};

/// num_hidden_layers Layers under "layer".
class Encoder : public nn::Module {
 public:
  explicit Encoder(const models::PretrainedConfig& config);
  /// x [B, T, H]; additive_mask [B, 1, 1, T] or undefined; head_mask [num_layers, heads] or
  /// undefined (row i multiplies layer i's probabilities).
  EncoderOutput forward(const Tensor& x, const Tensor& additive_mask, const Tensor& head_mask,
                        bool output_hidden_states, bool output_attentions);

  std::shared_ptr<nn::ModuleList> layer;
};

/// Row i of a [num_layers, heads] head mask as [1, heads, 1, 1] (undefined stays undefined).
Tensor layer_head_mask(const Tensor& head_mask, int64_t layer);

/// Matrix-multiply FLOPs of a stack of BERT layers on [B, T] (a multiply-add counts 2): q, k, v and
/// the attention output, QK^T and PV, the feed-forward. DistilBERT's layers have the same shapes.
double encoder_flops(const models::PretrainedConfig& config, int64_t B, int64_t T);

}  // namespace tz::blocks
