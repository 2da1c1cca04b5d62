// The BERT layer stack (HF's BertIntermediate, BertLayer, BertEncoder; ELECTRA's are copies):
// each layer is attention (attention.h), then the feed-forward intermediate (dense + hidden_act)
// and the residual output block. Names: encoder.layer.<i>.{attention, intermediate, output}.
// Not here: the embeddings (embeddings.h), a family's model and heads (models/<family>/).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "models/blocks/attention.h"
#include "models/config.h"
#include "models/model.h"
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

/// One layer of a stack: h -> the layer's output; `probs_out` (non-null when attentions are asked
/// for) receives its attention probabilities.
using LayerStep = std::function<Tensor(size_t layer, const Tensor& h, Tensor* probs_out)>;
/// Runs `layers` steps from x, collecting the input and every layer's output (output_hidden_states)
/// and every layer's probabilities (output_attentions), as HF's encoders return them.
EncoderOutput run_layers(size_t layers, const LayerStep& step, const Tensor& x, bool output_hidden_states,
                         bool output_attentions);

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

/// What HF 4.19's BERT-like models add to the scores of padded keys ((1 - mask) * this); later
/// versions use float32's lowest. A row with at least one real token gives padded keys probability
/// exactly 0 either way (the exponential underflows); a row without any differs.
inline constexpr float kMaskedScore = -10000.f;

/// The part of a BERT-style base model's forward that follows its embeddings: HF's additive mask
/// ((1 - attention_mask) * masked_value; all ones without a mask), the head mask (checked,
/// expanded to every layer), the encoder; an Output with last_hidden_state, and hidden_states /
/// attentions when `inputs` asks for them. `embedded` [B, T, H]; `family` starts error messages.
models::Output encode(Encoder& encoder, const models::PretrainedConfig& config, const Tensor& embedded,
                      const models::Inputs& inputs, float masked_value, const char* family);

/// Row i of a [num_layers, heads] head mask as [1, heads, 1, 1] (undefined stays undefined).
Tensor layer_head_mask(const Tensor& head_mask, int64_t layer);

/// Matrix-multiply FLOPs of a stack of BERT layers on [B, T] (a multiply-add counts 2): q, k, v and
/// the attention output, QK^T and PV, the feed-forward. DistilBERT's layers have the same shapes.
double encoder_flops(const models::PretrainedConfig& config, int64_t B, int64_t T);

}  // namespace tz::blocks
