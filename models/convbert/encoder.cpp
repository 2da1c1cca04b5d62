// The encoder stack and its feed-forward; see encoder.h.
#include "models/convbert/encoder.h"

#include "autograd/grad_mode.h"
#include "autograd/ops.h"

namespace tz::convbert {

GroupedLinear::GroupedLinear(int64_t in_, int64_t out_, int64_t groups_) : in(in_), out(out_), groups(groups_) {
  TZ_CHECK(in % groups == 0 && out % groups == 0, "GroupedLinear: groups ", groups, " must divide in ", in,
           " and out ", out);
  weight = register_parameter("weight", raw::zeros({groups, in / groups, out / groups}));
  bias = register_parameter("bias", raw::zeros({out}));
}

Tensor GroupedLinear::forward(const Tensor& x) {
  if (precision() != nn::Precision::Float32 && !is_grad_enabled()) return forward_low_precision(x, bias);
  const int64_t B = x.size(0);
  Tensor g = permute(reshape(x, {-1, groups, in / groups}), {1, 0, 2});  // [G, N, in/G]
  Tensor y = permute(matmul(g, weight), {1, 0, 2});                        // [N, G, out/G]
  return add(reshape(y, {B, -1, out}), bias);
}

Tensor apply_dense(nn::Module& dense, const Tensor& x) {
  if (auto* lin = dynamic_cast<nn::Linear*>(&dense)) return lin->forward(x);
  return static_cast<GroupedLinear&>(dense).forward(x);
}

static std::shared_ptr<nn::Module> make_dense(int64_t in, int64_t out, int64_t groups) {
  if (groups == 1) return std::make_shared<nn::Linear>(in, out);
  return std::make_shared<GroupedLinear>(in, out, groups);
}

Intermediate::Intermediate(const ConvBertConfig& c) {
  dense = register_module("dense", make_dense(c.hidden_size, c.intermediate_size, c.num_groups));
  act = nn::activation(c.hidden_act);
}

Tensor Intermediate::forward(const Tensor& x) { return act(apply_dense(*dense, x)); }

LayerOutput::LayerOutput(const ConvBertConfig& c) {
  dense = register_module("dense", make_dense(c.intermediate_size, c.hidden_size, c.num_groups));
  layer_norm = register_module("LayerNorm", std::make_shared<nn::LayerNorm>(c.hidden_size, c.layer_norm_eps));
  dropout = register_module("dropout", std::make_shared<nn::Dropout>(c.hidden_dropout_prob));
}

Tensor LayerOutput::forward(const Tensor& x, const Tensor& residual) {
  return layer_norm->forward(add(dropout->forward(apply_dense(*dense, x)), residual));
}

Layer::Layer(const ConvBertConfig& c) {
  attention = register_module("attention", std::make_shared<Attention>(c));
  intermediate = register_module("intermediate", std::make_shared<Intermediate>(c));
  output = register_module("output", std::make_shared<LayerOutput>(c));
}

Tensor Layer::forward(const Tensor& x, const Tensor& additive_mask, const Tensor& head_mask, Tensor* probs) {
  Tensor a = attention->forward(x, additive_mask, head_mask, probs);
  return output->forward(intermediate->forward(a), a);
}

Encoder::Encoder(const ConvBertConfig& c) {
  layer = register_module("layer", std::make_shared<nn::ModuleList>());
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) layer->push_back(std::make_shared<Layer>(c));
}

EncoderOutput Encoder::forward(const Tensor& x, const Tensor& additive_mask, const Tensor& head_mask,
                               bool output_hidden_states, bool output_attentions) {
  EncoderOutput out;
  Tensor h = x;
  for (size_t i = 0; i < layer->size(); ++i) {
    if (output_hidden_states) out.hidden_states.push_back(h);
    Tensor layer_head_mask;
    if (head_mask.defined()) layer_head_mask = reshape(select(head_mask, 0, static_cast<int64_t>(i)), {1, -1, 1, 1});
    Tensor probs;
    h = layer->get<Layer>(i)->forward(h, additive_mask, layer_head_mask, output_attentions ? &probs : nullptr);
    if (output_attentions) out.attentions.push_back(probs);
  }
  if (output_hidden_states) out.hidden_states.push_back(h);
  out.last_hidden_state = h;
  return out;
}

}  // namespace tz::convbert
