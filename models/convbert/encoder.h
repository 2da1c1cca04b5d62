// The encoder stack: ConvBertLayer = mixed attention (self_attention.h) + feed-forward, N times.
// The feed-forward's two dense layers are GroupedLinear when num_groups > 1 (HF's weight layout
// [groups, in/groups, out/groups]). HF: GroupedLinearLayer, ConvBertIntermediate, ConvBertOutput,
// ConvBertLayer, ConvBertEncoder.
#pragma once

#include <memory>
#include <vector>

#include "models/convbert/config.h"
#include "models/convbert/self_attention.h"
#include "nn/layers.h"
#include "nn/low_precision.h"
#include "nn/module.h"

namespace tz::convbert {

/// y = concat_g(x_g @ weight[g]) + bias, where x_g is group g's slice of the features.
/// An int8 or bf16 weight prepared with set_precision (nn/low_precision.h) is used when grad
/// mode is off, one prepared matrix per group.
class GroupedLinear : public nn::Module, public nn::LowPrecisionDense {
 public:
  GroupedLinear(int64_t in, int64_t out, int64_t groups);
  Tensor forward(const Tensor& x);  // [B, T, in] -> [B, T, out]
  const Tensor& dense_weight() const override { return weight; }
  nn::DenseLayout dense_layout() const override {
    return {groups, out / groups, in / groups, (in / groups) * (out / groups), 1, out / groups};
  }
  Tensor weight, bias;              // [G, in/G, out/G], [out]
  int64_t in, out, groups;
};

class Intermediate : public nn::Module {
 public:
  explicit Intermediate(const ConvBertConfig& config);
  Tensor forward(const Tensor& x);
  std::shared_ptr<nn::Module> dense;  // nn::Linear or GroupedLinear
  nn::Activation act;
};

class LayerOutput : public nn::Module {
 public:
  explicit LayerOutput(const ConvBertConfig& config);
  Tensor forward(const Tensor& x, const Tensor& residual);
  std::shared_ptr<nn::Module> dense;
  std::shared_ptr<nn::LayerNorm> layer_norm;
  std::shared_ptr<nn::Dropout> dropout;
};

class Layer : public nn::Module {
 public:
  explicit Layer(const ConvBertConfig& config);
  Tensor forward(const Tensor& x, const Tensor& additive_mask, const Tensor& head_mask, Tensor* probs);
  std::shared_ptr<Attention> attention;
  std::shared_ptr<Intermediate> intermediate;
  std::shared_ptr<LayerOutput> output;
};

struct EncoderOutput {
  Tensor last_hidden_state;
  std::vector<Tensor> hidden_states;  // input + each layer's output, when requested
  std::vector<Tensor> attentions;     // each layer's attention probabilities, when requested
};

class Encoder : public nn::Module {
 public:
  explicit Encoder(const ConvBertConfig& config);
  /// head_mask: undefined, or [num_layers, heads] (row i multiplies layer i's probabilities).
  EncoderOutput forward(const Tensor& x, const Tensor& additive_mask, const Tensor& head_mask,
                        bool output_hidden_states, bool output_attentions);
  std::shared_ptr<nn::ModuleList> layer;
};

/// Applies the dense layer held as a generic Module (Linear or GroupedLinear).
Tensor apply_dense(nn::Module& dense, const Tensor& x);

}  // namespace tz::convbert
