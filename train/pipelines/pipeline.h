// What the inference pipelines (HF's transformers.pipelines, one file each in this folder) share:
// running a model over many encoded inputs, the input length limit, and a softmax in double.
//
// Batching never pads: inputs of equal token length share a forward pass (at most batch_size of
// them), so every input's outputs are what the model gives on that input alone (up to float
// rounding in the batched matrix products, ~1e-7 relative), which is what HF's pipelines compute
// with their default batch_size=1. Padding would change results for families whose layers read
// padded positions (ConvBERT's span-based convolution does, by ~1e-3), so a result would depend on
// what else happened to be in the call.
// Not here: each task's pre- and post-processing (fill_mask.h, text_classification.h,
// token_classification.h, question_answering.h, feature_extraction.h).
#pragma once

#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "models/model.h"
#include "tokenizer/wordpiece.h"

namespace tz::pipelines {

/// Groups of indices into `lengths`: equal lengths together, at most batch_size per group, groups
/// ordered by their first index. batch_size must be positive.
std::vector<std::vector<std::size_t>> equal_length_batches(std::span<const std::size_t> lengths, std::size_t batch_size);

/// input_ids, attention_mask and (with_token_types) token_type_ids [B, T] from encodings that all
/// have T tokens.
models::Inputs stack_encodings(std::span<const tokenizer::Encoding* const> batch, bool with_token_types);

/// Runs `model` (its train/eval mode is the caller's) without gradients over every encoding, a
/// batch of equal-length encodings at a time. consume(indices, output) receives each batch: row b of
/// every output tensor belongs to encodings[indices[b]]. token_type_ids go in only when the model
/// takes them (models::PreTrainedModel::takes_token_type_ids).
void for_each_batch(models::PreTrainedModel& model, std::span<const tokenizer::Encoding* const> encodings,
                    std::size_t batch_size,
                    const std::function<void(std::span<const std::size_t>, const models::Output&)>& consume);

/// The longest input in tokens (special tokens included): `max_length` when given (> 0), capped by
/// the tokenizer's model_max_length and the model's max_position_embeddings.
std::size_t input_limit(const tokenizer::WordPiece& tok, const models::PretrainedConfig& config,
                        std::size_t max_length = 0);

/// Softmax of a row, computed in double (max subtracted first).
std::vector<double> softmax(std::span<const float> logits);

/// Python's str.lower() one code point at a time (full Unicode mappings; no final-sigma context).
/// Ill-formed UTF-8 bytes are kept as they are.
std::string python_lower(const std::string& s);
/// Python's str.strip(): White_Space code points removed at both ends.
std::string python_strip(const std::string& s);

}  // namespace tz::pipelines
