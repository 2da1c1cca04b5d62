// Input checks and multiple-choice flattening for every family; see inputs.h.
#include "models/blocks/inputs.h"

#include "autograd/ops.h"
#include "core/error.h"

namespace tz::blocks {

Shape check_inputs(const models::Inputs& in, const models::PretrainedConfig& c, const char* family,
                   int64_t embedding_size, bool token_types) {
  TZ_CHECK(in.input_ids.defined() != in.inputs_embeds.defined(), family,
           ": give exactly one of input_ids and inputs_embeds");
  Shape shape = in.input_ids.defined()
                    ? in.input_ids.shape()
                    : Shape(in.inputs_embeds.shape().begin(), in.inputs_embeds.shape().end() - (in.inputs_embeds.dim() > 0));
  TZ_CHECK(shape.size() == 2, family, ": expected input of shape [batch, seq], got ", shape_str(shape));
  TZ_CHECK(shape[0] >= 1 && shape[1] >= 1, family, ": empty input ", shape_str(shape));
  TZ_CHECK(shape[1] <= c.max_position_embeddings, family, ": sequence length ", shape[1],
           " exceeds max_position_embeddings ", c.max_position_embeddings);
  if (in.input_ids.defined()) models::check_ids(in.input_ids, family, "input_ids", c.vocab_size, "vocab_size");
  if (in.inputs_embeds.defined())
    TZ_CHECK(in.inputs_embeds.dim() == 3 && in.inputs_embeds.size(2) == embedding_size &&
                 in.inputs_embeds.dtype() == DType::Float32,
             family, ": inputs_embeds must be float32 [batch, seq, ", embedding_size, "], got ",
             shape_str(in.inputs_embeds.shape()));
  auto check_shape = [&](const Tensor& t, const char* name) {
    TZ_CHECK(!t.defined() || t.shape() == shape, family, ": ", name, " has shape ", shape_str(t.shape()),
             ", expected ", shape_str(shape), " like the input");
  };
  check_shape(in.attention_mask, "attention_mask");
  check_shape(in.position_ids, "position_ids");
  if (in.position_ids.defined())
    models::check_ids(in.position_ids, family, "position_ids", c.max_position_embeddings, "max_position_embeddings");
  if (token_types) {
    check_shape(in.token_type_ids, "token_type_ids");
    if (in.token_type_ids.defined())
      models::check_ids(in.token_type_ids, family, "token_type_ids", c.type_vocab_size, "type_vocab_size");
  }
  return shape;
}

Tensor expand_head_mask(const Tensor& head_mask, int64_t layers, int64_t heads, const char* family) {
  if (!head_mask.defined()) return head_mask;
  TZ_CHECK((head_mask.dim() == 1 && head_mask.size(0) == heads) ||
               (head_mask.dim() == 2 && head_mask.size(0) == layers && head_mask.size(1) == heads),
           family, ": head_mask must be [", heads, "] or [", layers, ", ", heads, "], got ",
           shape_str(head_mask.shape()));
  Tensor m = head_mask.dtype() == DType::Float32 ? head_mask : raw::to_dtype(head_mask, DType::Float32);
  return m.dim() == 1 ? expand(unsqueeze(m, 0), {layers, heads}) : m;
}

models::Inputs flatten_choices(const models::Inputs& in, const char* family, int64_t* num_choices) {
  const Tensor& ref = in.input_ids.defined() ? in.input_ids : in.inputs_embeds;
  TZ_CHECK(ref.defined() && ref.dim() == (in.input_ids.defined() ? 3 : 4), family,
           ": multiple choice expects inputs [batch, num_choices, seq], got ",
           ref.defined() ? shape_str(ref.shape()) : "none");
  *num_choices = ref.size(1);
  auto flat = [&](const Tensor& t, const char* name) {
    if (!t.defined()) return t;
    TZ_CHECK(t.dim() == 3, family, ": multiple choice expects ", name, " [batch, num_choices, seq], got ",
             shape_str(t.shape()));
    return raw::reshape(raw::contiguous(t), {-1, t.size(-1)});
  };
  models::Inputs f = in;
  f.input_ids = flat(in.input_ids, "input_ids");
  f.attention_mask = flat(in.attention_mask, "attention_mask");
  f.token_type_ids = flat(in.token_type_ids, "token_type_ids");
  f.position_ids = flat(in.position_ids, "position_ids");
  if (in.inputs_embeds.defined())
    f.inputs_embeds = reshape(in.inputs_embeds, {-1, in.inputs_embeds.size(-2), in.inputs_embeds.size(-1)});
  return f;
}

}  // namespace tz::blocks
