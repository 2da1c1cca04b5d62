// The task heads' HF loss rules; see task_losses.h. HF: the *For* classes' forward in
// modeling_bert.py (and their copies in the other families).
#include "models/blocks/task_losses.h"

#include <algorithm>
#include <vector>

#include "autograd/ops.h"
#include "core/error.h"

namespace tz::blocks {

Tensor flat_cross_entropy(const Tensor& logits, const Tensor& labels, const char* family) {
  TZ_CHECK(labels.dtype() == DType::Int64, family, ": labels must be int64 class ids, got ", dtype_name(labels.dtype()));
  const int64_t C = logits.size(-1);
  TZ_CHECK(labels.numel() * C == logits.numel(), family, ": labels ", shape_str(labels.shape()),
           " do not match the logits ", shape_str(logits.shape()), " (one label per row of ", C, " classes)");
  return cross_entropy(reshape(logits, {-1, C}), raw::reshape(raw::contiguous(labels), {-1}), -100);
}

std::string problem_type_for(const models::PretrainedConfig& c, const Tensor& labels) {
  if (c.problem_type) return *c.problem_type;
  if (c.num_labels() == 1) return "regression";
  return labels.dtype() == DType::Int64 ? "single_label_classification" : "multi_label_classification";
}

Tensor sequence_classification_loss(const models::PretrainedConfig& c, const Tensor& logits, const Tensor& labels,
                                    const char* family) {
  const int64_t L = c.num_labels();
  const std::string problem = problem_type_for(c, labels);
  if (problem == "regression") {
    Tensor y = raw::to_dtype(labels, DType::Float32);
    // HF squeezes both sides when there is one label; flattening gives the same numbers.
    if (L == 1) {
      TZ_CHECK(y.numel() == logits.numel(), family, ": regression labels ", shape_str(labels.shape()),
               " do not match the logits ", shape_str(logits.shape()));
      return mse_loss(reshape(logits, {-1}), raw::reshape(raw::contiguous(y), {-1}));
    }
    TZ_CHECK(y.shape() == logits.shape(), family, ": regression labels must have shape ", shape_str(logits.shape()),
             ", got ", shape_str(labels.shape()));
    return mse_loss(logits, y);
  }
  if (problem == "single_label_classification") return flat_cross_entropy(logits, labels, family);
  TZ_CHECK(labels.shape() == logits.shape(), family, ": multi-label labels must have shape ",
           shape_str(logits.shape()), ", got ", shape_str(labels.shape()));
  return bce_with_logits(logits, raw::to_dtype(labels, DType::Float32));
}

namespace {
// Positions as HF's QA heads use them: [B, 1] squeezed, clamped to [0, T] (T is then ignored).
Tensor clamped_positions(const Tensor& p, int64_t T, const char* family) {
  TZ_CHECK(p.dtype() == DType::Int64, family, ": start/end positions must be int64, got ", dtype_name(p.dtype()));
  TZ_CHECK(p.dim() == 1 || (p.dim() == 2 && p.size(1) == 1), family, ": start/end positions must be [batch], got ",
           shape_str(p.shape()));
  std::vector<int64_t> v = raw::contiguous(p).to_vector<int64_t>();
  for (auto& x : v) x = std::clamp<int64_t>(x, 0, T);
  return raw::from_vector(v, {static_cast<int64_t>(v.size())});
}
}  // namespace

void span_outputs(const Tensor& logits, const models::Inputs& in, models::Output& out, const char* family) {
  out.start_logits = contiguous(select(logits, -1, 0));
  out.end_logits = contiguous(select(logits, -1, 1));
  if (!in.start_positions.defined() || !in.end_positions.defined()) return;
  const int64_t T = out.start_logits.size(1);
  Tensor start = clamped_positions(in.start_positions, T, family), end = clamped_positions(in.end_positions, T, family);
  TZ_CHECK(start.size(0) == out.start_logits.size(0) && end.size(0) == out.start_logits.size(0), family,
           ": start/end positions need one entry per row (", out.start_logits.size(0), ")");
  Tensor start_loss = cross_entropy(out.start_logits, start, T);
  Tensor end_loss = cross_entropy(out.end_logits, end, T);
  out.loss = div(add(start_loss, end_loss), raw::scalar(2.f));
}

void masked_lm_outputs(models::Output& out, const models::Inputs& in, int64_t vocab_size,
                       const std::function<Tensor(const Tensor&)>& head, const char* family) {
  const Tensor& h = out.last_hidden_state;  // [B, T, H]
  if (in.labels.defined() && in.mlm_logits_at_labels_only) {
    TZ_CHECK(in.labels.dtype() == DType::Int64, family, ": labels must be int64 class ids, got ",
             dtype_name(in.labels.dtype()));
    TZ_CHECK(in.labels.numel() * h.size(-1) == h.numel(), family, ": labels ", shape_str(in.labels.shape()),
             " do not match the input ", shape_str(Shape(h.shape().begin(), h.shape().end() - 1)));
    std::vector<int64_t> labels = raw::contiguous(in.labels).to_vector<int64_t>(), rows, targets;
    for (size_t i = 0; i < labels.size(); ++i)
      if (labels[i] != -100) rows.push_back(static_cast<int64_t>(i)), targets.push_back(labels[i]);
    if (!rows.empty()) {
      const int64_t n = static_cast<int64_t>(rows.size());
      // A row gather whose backward scatter-adds: embedding() over the flattened hidden states.
      Tensor picked = embedding(reshape(h, {-1, h.size(-1)}), raw::from_vector(rows, {n}));
      out.logits = head(picked);
      TZ_CHECK(out.logits.size(-1) == vocab_size, family, ": the LM head gives ", out.logits.size(-1),
               " logits, expected vocab_size ", vocab_size);
      out.loss = cross_entropy(out.logits, raw::from_vector(targets, {n}), -100);
      return;
    }
  }
  out.logits = head(h);
  if (in.labels.defined()) out.loss = flat_cross_entropy(out.logits, in.labels, family);
}

}  // namespace tz::blocks
