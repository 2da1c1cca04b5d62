// ConvBertModel: embeddings (+ projection) -> encoder; input checks and HF's input defaults; what
// every ConvBERT class shares (ConvBertPreTrainedModel). HF: modeling_convbert.py, classes
// ConvBertPreTrainedModel and ConvBertModel.
#include "models/convbert/model.h"

#include <limits>

#include "autograd/ops.h"
#include "models/convbert/inference.h"
#include "nn/init.h"
#include "tensor/ops.h"

namespace tz::convbert {

using models::Inputs;
using models::Output;

bool ConvBertPreTrainedModel::ignorable_unexpected_key(const std::string& key) const {
  return models::PreTrainedModel::ignorable_unexpected_key(key) || key == "convbert.embeddings_project.weight" ||
         key == "convbert.embeddings_project.bias";
}

void ConvBertPreTrainedModel::init_family_module(const std::string&, nn::Module& m, Generator& gen) {
  const double range = config().initializer_range;
  // HF leaves the grouped weights uninitialised; the Linear rule makes fresh models train.
  if (auto* g = dynamic_cast<GroupedLinear*>(&m)) {
    nn::init_normal_(g->weight, range, gen);
    raw::fill_(g->bias, 0.0);
  } else if (auto* s = dynamic_cast<SeparableConv1D*>(&m)) {
    raw::fill_(s->bias, 0.0);
  } else if (auto* conv = dynamic_cast<nn::Conv1d*>(&m)) {
    nn::init_normal_(conv->weight, range, gen);
    if (conv->bias.defined()) raw::fill_(conv->bias, 0.0);
  }
}

std::shared_ptr<nn::Module> ConvBertPreTrainedModel::embedding_layer() const {
  return blocks::embedding_layer_of<ConvBertModel>(*this);
}

void ConvBertPreTrainedModel::set_embedding_layer(std::shared_ptr<nn::Module> layer) {
  blocks::set_embedding_layer_of<ConvBertModel>(*this, layer);
}

double ConvBertPreTrainedModel::forward_flops(int64_t B, int64_t T) const {
  return convbert::forward_flops(config(), B, T);
}

ConvBertModel::ConvBertModel(const ConvBertConfig& config) : config_(config) {
  config_.validate();
  blocks::EmbeddingsOptions e = blocks::EmbeddingsOptions::from(config_, config_.embedding_size);
  e.positions_before_token_types = true;  // HF's ConvBertEmbeddings: (word + position) + token type
  embeddings = register_module("embeddings", std::make_shared<blocks::Embeddings>(e));
  if (config_.embedding_size != config_.hidden_size)
    embeddings_project = register_module("embeddings_project",
                                         std::make_shared<nn::Linear>(config_.embedding_size, config_.hidden_size));
  encoder = register_module("encoder", std::make_shared<Encoder>(config_));
}

namespace {
void check_ids(const Tensor& ids, const char* name, int64_t limit, const char* limit_name) {
  models::check_ids(ids, "convbert", name, limit, limit_name);
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
  // (1 - mask) * float32's lowest value: HF >= 4.21's extended mask.
  Tensor additive = models::additive_attention_mask(mask, std::numeric_limits<float>::lowest());

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
