// ConvBertModel: embeddings (+ projection) -> encoder; input checks and HF's input defaults.
// HF: modeling_convbert.py, class ConvBertModel.
#include "models/convbert/model.h"

#include <unistd.h>

#include <cstdio>
#include <limits>

#include "autograd/ops.h"
#include "models/convbert/inference.h"

namespace tz::convbert {

namespace {

// A config's sizes come from a file: refuse, before allocating anything, one whose weights alone
// cannot fit in this machine's memory (the allocations would otherwise succeed one by one, thanks
// to overcommit, until the kernel kills the process). The count is a lower bound (the word
// embeddings, each layer's output dense and feed-forward), so no runnable model is refused.
void check_weights_fit_in_memory(const ConvBertConfig& c) {
  const double E = static_cast<double>(c.embedding_size), H = static_cast<double>(c.hidden_size);
  const double I = static_cast<double>(c.intermediate_size), G = static_cast<double>(c.num_groups);
  const double params = E * static_cast<double>(c.vocab_size) +
                        static_cast<double>(c.num_hidden_layers) * (H * H + 2.0 * H * I / G);
  const double bytes = 4.0 * params;
  const long pages = ::sysconf(_SC_PHYS_PAGES), page_size = ::sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page_size <= 0) return;  // unknown: nothing to compare with
  const double memory = static_cast<double>(pages) * static_cast<double>(page_size);
  char need[32], have[32];
  std::snprintf(need, sizeof need, "%.3g", bytes / 1e9);
  std::snprintf(have, sizeof have, "%.3g", memory / 1e9);
  TZ_CHECK(bytes <= memory, "convbert: the config's weights need at least ", need, " GB (vocab_size ", c.vocab_size,
           ", embedding_size ", c.embedding_size, ", hidden_size ", c.hidden_size, ", intermediate_size ",
           c.intermediate_size, ", ", c.num_hidden_layers, " layers), more than this machine's ", have, " GB of memory");
}
}  // namespace

ConvBertModel::ConvBertModel(const ConvBertConfig& config) : config_(config) {
  config_.validate();
  check_weights_fit_in_memory(config_);
  embeddings = register_module("embeddings", std::make_shared<Embeddings>(config_));
  if (config_.embedding_size != config_.hidden_size)
    embeddings_project = register_module("embeddings_project",
                                         std::make_shared<nn::Linear>(config_.embedding_size, config_.hidden_size));
  encoder = register_module("encoder", std::make_shared<Encoder>(config_));
}

Tensor additive_attention_mask(const Tensor& attention_mask) {
  Tensor m = raw::to_dtype(attention_mask, DType::Float32);
  m = raw::reshape(m, {m.size(0), 1, 1, m.size(1)});
  // (1 - mask) * min: 0 where attended, float32's lowest value where masked (HF >= 4.21).
  return raw::mul(raw::add(raw::neg(m), 1.0), static_cast<double>(std::numeric_limits<float>::lowest()));
}

namespace {
void check_ids(const Tensor& ids, const char* name, int64_t limit, const char* limit_name) {
  TZ_CHECK(ids.dtype() == DType::Int64, "convbert: ", name, " must be int64, got ", dtype_name(ids.dtype()));
  for (int64_t v : raw::contiguous(ids).to_vector<int64_t>())
    TZ_CHECK(v >= 0 && v < limit, "convbert: ", name, " contains ", v, ", outside [0, ", limit, ") (",
             limit_name, " = ", limit, ")");
}
}  // namespace

Output ConvBertModel::forward(const Inputs& in) {
  const auto& c = config_;
  TZ_CHECK(in.input_ids.defined() != in.inputs_embeds.defined(),
           "convbert: give exactly one of input_ids and inputs_embeds");
  Shape shape = in.input_ids.defined() ? in.input_ids.shape() : Shape(in.inputs_embeds.shape().begin(),
                                                                         in.inputs_embeds.shape().end() - 1);
  TZ_CHECK(shape.size() == 2, "convbert: expected input of shape [batch, seq], got ", shape_str(shape));
  const int64_t B = shape[0], T = shape[1];
  TZ_CHECK(T >= 1 && B >= 1, "convbert: empty input ", shape_str(shape));
  TZ_CHECK(T <= c.max_position_embeddings, "convbert: sequence length ", T,
           " exceeds max_position_embeddings ", c.max_position_embeddings);
  if (in.input_ids.defined()) check_ids(in.input_ids, "input_ids", c.vocab_size, "vocab_size");
  if (in.inputs_embeds.defined())
    TZ_CHECK(in.inputs_embeds.dim() == 3 && in.inputs_embeds.size(2) == c.embedding_size,
             "convbert: inputs_embeds must be [batch, seq, ", c.embedding_size, "], got ",
             shape_str(in.inputs_embeds.shape()));
  auto check_shape = [&](const Tensor& t, const char* name) {
    TZ_CHECK(!t.defined() || t.shape() == shape, "convbert: ", name, " has shape ", shape_str(t.shape()),
             ", expected ", shape_str(shape), " like the input");
  };
  check_shape(in.attention_mask, "attention_mask");
  check_shape(in.token_type_ids, "token_type_ids");
  check_shape(in.position_ids, "position_ids");
  if (in.token_type_ids.defined()) check_ids(in.token_type_ids, "token_type_ids", c.type_vocab_size, "type_vocab_size");
  if (in.position_ids.defined())
    check_ids(in.position_ids, "position_ids", c.max_position_embeddings, "max_position_embeddings");

  // Graph-free fast path (inference.h), embeddings included, when only the last hidden state is needed.
  if (can_use_inference_path(*this, in)) {
    Output out;
    out.last_hidden_state = model_forward_inference(*this, in.input_ids, in.token_type_ids, in.position_ids,
                                                    in.attention_mask);
    return out;
  }
  Tensor mask = in.attention_mask.defined() ? in.attention_mask : raw::ones({B, T});
  Tensor additive = additive_attention_mask(mask);

  Tensor head_mask;
  if (in.head_mask.defined()) {
    const int64_t nh = c.attention_heads(), L = c.num_hidden_layers;
    TZ_CHECK((in.head_mask.dim() == 1 && in.head_mask.size(0) == nh) ||
                 (in.head_mask.dim() == 2 && in.head_mask.size(0) == L && in.head_mask.size(1) == nh),
             "convbert: head_mask must be [", nh, "] or [", L, ", ", nh, "], got ", shape_str(in.head_mask.shape()));
    head_mask = in.head_mask.dim() == 1 ? expand(unsqueeze(in.head_mask, 0), {L, nh}) : in.head_mask;
  }

  Tensor h = embeddings->forward(in.input_ids, in.token_type_ids, in.position_ids, in.inputs_embeds);
  if (embeddings_project) h = embeddings_project->forward(h);
  Output out;
  // The same fast path from the encoder on (for inputs_embeds).
  if (can_use_inference_path(*encoder, c, head_mask.defined(), in.output_hidden_states, in.output_attentions)) {
    out.last_hidden_state = encoder_forward_inference(*encoder, c, h, additive);
    return out;
  }
  EncoderOutput enc = encoder->forward(h, additive, head_mask, in.output_hidden_states, in.output_attentions);
  out.last_hidden_state = enc.last_hidden_state;
  out.hidden_states = std::move(enc.hidden_states);
  out.attentions = std::move(enc.attentions);
  return out;
}

}  // namespace tz::convbert
