// The task heads' outputs and losses as HF computes them, for every family: cross-entropy over
// class ids with -100 ignored, sequence classification by HF's problem_type rule, extractive QA's
// clamped span loss, and the masked-LM head (optionally only at the labelled positions).
// Not here: the heads' layers (heads.h and models/<family>/heads.*), the losses' math
// (autograd/ops.h).
#pragma once

#include <functional>
#include <string>

#include "models/config.h"
#include "models/model.h"

namespace tz::blocks {

/// CrossEntropyLoss(ignore_index=-100) over the last dim: logits [..., C], labels [...] int64
/// (HF's view(-1, C) / view(-1)). Throws naming `family` for labels of another dtype or count.
Tensor flat_cross_entropy(const Tensor& logits, const Tensor& labels, const char* family);

/// HF's rule when config.problem_type is unset: one label -> "regression"; int64 labels ->
/// "single_label_classification"; float labels -> "multi_label_classification".
std::string problem_type_for(const models::PretrainedConfig& config, const Tensor& labels);

/// logits [B, L]: regression -> MSE (labels [B] with one label, else [B, L], made float);
/// single-label -> cross-entropy (int64 [B]); multi-label -> BCE-with-logits ([B, L], made float).
Tensor sequence_classification_loss(const models::PretrainedConfig& config, const Tensor& logits,
                                    const Tensor& labels, const char* family);

/// Extractive QA: splits logits [B, T, 2] into out.start_logits / out.end_logits [B, T]; with both
/// start_positions and end_positions ([B] or [B, 1], int64), out.loss = (CE(start) + CE(end)) / 2
/// where positions are clamped to [0, T] and T is ignored, so spans outside the input drop out.
void span_outputs(const Tensor& logits, const models::Inputs& inputs, models::Output& out, const char* family);

/// Masked LM: out.logits = head(out.last_hidden_state) [B, T, V] and, with labels, out.loss =
/// cross-entropy over the positions whose label is not -100. With inputs.mlm_logits_at_labels_only
/// (and labels), the head runs only at those positions: logits [N, V], the same loss.
void masked_lm_outputs(models::Output& out, const models::Inputs& inputs, int64_t vocab_size,
                       const std::function<Tensor(const Tensor&)>& head, const char* family);

}  // namespace tz::blocks
