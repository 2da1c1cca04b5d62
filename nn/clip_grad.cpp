// clip_grad_norm: torch's float32 arithmetic for the coefficient, with the norms accumulated in
// double (torch accumulates CPU float reductions in wider precision too; the result rounds to the
// same float except in rare last-bit ties). Declaration: nn/clip_grad.h.
#include "nn/clip_grad.h"

#include <cmath>

#include "autograd/grad_mode.h"
#include "tensor/ops.h"

namespace tz::nn {

double clip_grad_norm(const std::vector<Tensor>& params, double max_norm) {
  TZ_CHECK(max_norm >= 0, "clip_grad_norm: max_norm must be >= 0, got ", max_norm);
  NoGradGuard no_grad;
  std::vector<Tensor> grads;
  for (const Tensor& p : params) {
    Tensor g = p.defined() ? p.grad() : Tensor();
    if (!g.defined()) continue;
    TZ_CHECK(g.dtype() == DType::Float32, "clip_grad_norm: gradient is ", dtype_name(g.dtype()), ", expected float32");
    grads.push_back(g);
  }
  if (grads.empty()) return 0.0;

  // torch: total = norm(stack([norm(g) for g in grads])), each norm a float32 tensor.
  double sum_sq_of_norms = 0.0;
  for (const Tensor& g : grads) {
    const Tensor c = raw::contiguous(g);
    const float* d = c.data<float>();
    double s = 0.0;
    for (int64_t i = 0, n = c.numel(); i < n; ++i) s += static_cast<double>(d[i]) * d[i];
    const float norm = static_cast<float>(std::sqrt(s));
    sum_sq_of_norms += static_cast<double>(norm) * norm;
  }
  const float total = static_cast<float>(std::sqrt(sum_sq_of_norms));

  // torch: clip_coef = max_norm / (total + 1e-6), where `float / Tensor` is reciprocal() * float.
  const float denom = total + 1e-6f;
  const float coef = (1.0f / denom) * static_cast<float>(max_norm);
  if (coef < 1.0f) {  // torch multiplies by the coef clamped to 1; a multiply by 1 changes nothing
    for (const Tensor& g : grads) raw::mul_(g, coef);
  }
  return total;
}

}  // namespace tz::nn
