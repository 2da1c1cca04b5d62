// The BERT layer stack; see encoder.h. HF: modeling_bert.py BertIntermediate, BertLayer, BertEncoder.
#include "models/blocks/encoder.h"

#include "autograd/ops.h"
#include "models/blocks/inputs.h"

namespace tz::blocks {

Intermediate::Intermediate(int64_t hidden_size, int64_t intermediate_size, const std::string& act_name) {
  dense = register_module("dense", std::make_shared<nn::Linear>(hidden_size, intermediate_size));
  act = nn::activation(act_name);
}

Tensor Intermediate::forward(const Tensor& x) { return act(dense->forward(x)); }

Layer::Layer(const models::PretrainedConfig& c) {
  attention = register_module("attention", std::make_shared<Attention>(c));
  intermediate = register_module("intermediate", std::make_shared<Intermediate>(c.hidden_size, c.intermediate_size, c.hidden_act));
  output = register_module("output", std::make_shared<ResidualOutput>(c.intermediate_size, c.hidden_size, c.layer_norm_eps,
                                                                        c.hidden_dropout_prob));
}

Tensor Layer::forward(const Tensor& x, const Tensor& additive_mask, const Tensor& head_mask, Tensor* probs_out) {
  Tensor a = attention->forward(x, additive_mask, head_mask, probs_out);
  return output->forward(intermediate->forward(a), a);
}

Encoder::Encoder(const models::PretrainedConfig& c) {
  layer = register_module("layer", std::make_shared<nn::ModuleList>());
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) layer->push_back(std::make_shared<Layer>(c));
}

Tensor layer_head_mask(const Tensor& head_mask, int64_t i) {
  if (!head_mask.defined()) return Tensor();
  return reshape(select(head_mask, 0, i), {1, -1, 1, 1});
}

EncoderOutput run_layers(size_t layers, const LayerStep& step, const Tensor& x, bool output_hidden_states,
                         bool output_attentions) {
  EncoderOutput out;
  Tensor h = x;
  for (size_t i = 0; i < layers; ++i) {
    if (output_hidden_states) out.hidden_states.push_back(h);
    Tensor probs;
    h = step(i, h, output_attentions ? &probs : nullptr);
    if (output_attentions) out.attentions.push_back(probs);
  }
  if (output_hidden_states) out.hidden_states.push_back(h);
  out.last_hidden_state = h;
  return out;
}

EncoderOutput Encoder::forward(const Tensor& x, const Tensor& additive_mask, const Tensor& head_mask,
                               bool output_hidden_states, bool output_attentions) {
  auto step = [&](size_t i, const Tensor& h, Tensor* probs) {
    return layer->get<Layer>(i)->forward(h, additive_mask, layer_head_mask(head_mask, static_cast<int64_t>(i)), probs);
  };
  return run_layers(layer->size(), step, x, output_hidden_states, output_attentions);
}

models::Output encode(Encoder& encoder, const models::PretrainedConfig& c, const Tensor& embedded,
                      const models::Inputs& in, float masked_value, const char* family) {
  const Tensor mask = in.attention_mask.defined() ? in.attention_mask : raw::ones({embedded.size(0), embedded.size(1)});
  const Tensor additive = models::additive_attention_mask(mask, masked_value);
  const Tensor head_mask = expand_head_mask(in.head_mask, c.num_hidden_layers, c.num_attention_heads, family);
  EncoderOutput enc = encoder.forward(embedded, additive, head_mask, in.output_hidden_states, in.output_attentions);
  models::Output out;
  out.last_hidden_state = enc.last_hidden_state;
  out.hidden_states = std::move(enc.hidden_states);
  out.attentions = std::move(enc.attentions);
  return out;
}

double encoder_flops(const models::PretrainedConfig& c, int64_t B, int64_t T) {
  const double N = static_cast<double>(B * T), H = static_cast<double>(c.hidden_size);
  const double I = static_cast<double>(c.intermediate_size);
  const double layer = 4 * 2 * N * H * H                       // query, key, value, attention output
                       + 2 * 2 * N * static_cast<double>(T) * H  // QK^T and PV over all heads
                       + 2 * 2 * N * H * I;                      // feed-forward
  return layer * static_cast<double>(c.num_hidden_layers);
}

}  // namespace tz::blocks
