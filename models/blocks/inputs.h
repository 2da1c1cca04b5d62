// What every encoder's forward checks and defaults before it runs, the same way in each family:
// the input shape, ids inside their tables, mask and type shapes, the head mask's shape; and the
// flattening of multiple-choice inputs [B, C, T] into B*C rows.
// Not here: the additive attention mask (models/model.h), the losses (task_losses.h).
#pragma once

#include <cstdint>

#include "models/config.h"
#include "models/model.h"

namespace tz::blocks {

/// Checks a base model's inputs and returns their [B, T]: exactly one of input_ids (int64 ids in
/// [0, vocab_size)) and inputs_embeds ([B, T, embedding_size]); B, T >= 1 and T <=
/// max_position_embeddings; attention_mask, position_ids (and token_type_ids, when
/// `token_types`) shaped like the input, ids inside their tables. Errors start with `family`.
Shape check_inputs(const models::Inputs& inputs, const models::PretrainedConfig& config, const char* family,
                   int64_t embedding_size, bool token_types = true);

/// HF's get_head_mask: [heads] (the same for every layer) or [layers, heads] -> [layers, heads];
/// undefined stays undefined. Throws for any other shape.
Tensor expand_head_mask(const Tensor& head_mask, int64_t layers, int64_t heads, const char* family);

/// Multiple choice: inputs [B, C, T] (inputs_embeds [B, C, T, E]) as [B*C, T] rows; labels stay
/// [B]. Sets *num_choices to C.
models::Inputs flatten_choices(const models::Inputs& inputs, const char* family, int64_t* num_choices);

}  // namespace tz::blocks
