// gradcheck: compares the gradients autograd computes with central finite differences.
//
// How: the function's output is reduced to a scalar L = sum(out * w) with fixed random weights w
// (so every output element matters and errors cannot cancel), autograd gives dL/dx, and each
// input element is nudged by +-eps to get (L(x+eps) - L(x-eps)) / (2 eps), with L accumulated in
// double. Tolerances for float32: eps = 1e-3 makes the truncation error O(eps^2 * f''') ~ 1e-6
// while float32 rounding in L contributes about 1e-7 * |L| / eps ~ 1e-4 * |L|; hence the defaults
// atol = 2e-3, rtol = 2e-2 (an element passes when |analytic - numeric| <= atol + rtol*|numeric|).
// Inputs must be float32 tensors that require grad (int64 inputs such as ids may be passed too;
// they are left alone).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace tz {

struct GradcheckOptions {
  double eps = 1e-3;
  double atol = 2e-3;
  double rtol = 2e-2;
  uint64_t seed = 1234;  // for the output weights w
};

struct GradcheckResult {
  bool ok = true;
  double max_abs_error = 0.0;
  std::string report;  // the first failures, "input 0 [3]: analytic 0.12 numeric 0.15"
};

GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                          const std::vector<Tensor>& inputs, const GradcheckOptions& options = {});

}  // namespace tz
