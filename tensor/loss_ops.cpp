// Loss kernels: nll_loss and its backward with PyTorch's mean reduction and ignore_index.
// cross_entropy = nll_loss(log_softmax(x)) is composed in autograd/loss.cpp; log_softmax itself
// is an elementwise/softmax op (not here).
#include <limits>

#include "tensor/ops.h"

namespace tz::raw {
namespace {

// Validates shapes and targets; returns the number of non-ignored targets.
int64_t check_nll(const char* op, const Tensor& logp, const Tensor& target, int64_t ignore_index) {
  TZ_CHECK(logp.dtype() == DType::Float32 && logp.dim() == 2, op, ": log-probabilities must be float32 [N, C], got ",
           dtype_name(logp.dtype()), " ", shape_str(logp.shape()));
  TZ_CHECK(target.dtype() == DType::Int64, op, ": target must be int64, got ", dtype_name(target.dtype()));
  const int64_t N = logp.size(0), C = logp.size(1);
  TZ_CHECK(target.shape() == Shape{N}, op, ": target shape ", shape_str(target.shape()),
           " does not match log-probabilities ", shape_str(logp.shape()), " (expected [", N, "])");
  int64_t count = 0;
  for (int64_t i = 0; i < N; ++i) {
    const int64_t t = static_cast<int64_t>(target.at({i}));
    if (t == ignore_index) continue;
    TZ_CHECK(t >= 0 && t < C, op, ": target ", t, " at position ", i, " is out of range for ", C,
             " classes (expected 0..", C - 1, " or ignore_index ", ignore_index, ")");
    ++count;
  }
  return count;
}

}  // namespace

Tensor nll_loss(const Tensor& logp, const Tensor& target, int64_t ignore_index) {
  const int64_t count = check_nll("nll_loss", logp, target, ignore_index);
  double sum = 0.0;
  for (int64_t i = 0, N = logp.size(0); i < N; ++i) {
    const int64_t t = static_cast<int64_t>(target.at({i}));
    if (t != ignore_index) sum -= logp.at({i, t});
  }
  // All targets ignored: 0 / 0, NaN, as PyTorch's mean reduction gives.
  const double loss = count > 0 ? sum / static_cast<double>(count) : std::numeric_limits<double>::quiet_NaN();
  return scalar(static_cast<float>(loss));
}

Tensor nll_loss_backward(const Tensor& grad, const Tensor& logp, const Tensor& target, int64_t ignore_index) {
  const int64_t count = check_nll("nll_loss_backward", logp, target, ignore_index);
  TZ_CHECK(grad.numel() == 1 && grad.dtype() == DType::Float32,
           "nll_loss_backward: grad must be a one-element float32 tensor, got ", dtype_name(grad.dtype()), " ",
           shape_str(grad.shape()));
  const int64_t N = logp.size(0), C = logp.size(1);
  Tensor out = Tensor::empty({N, C});
  if (count == 0) return out;  // no target contributes: the gradient is zero everywhere
  const float g = static_cast<float>(-grad.item() / static_cast<double>(count));
  float* op = out.data<float>();
  for (int64_t i = 0; i < N; ++i) {
    const int64_t t = static_cast<int64_t>(target.at({i}));
    if (t != ignore_index) op[i * C + t] = g;
  }
  return out;
}

}  // namespace tz::raw
