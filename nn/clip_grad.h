// Gradient clipping by total 2-norm, as torch.nn.utils.clip_grad_norm_ (norm_type 2).
// Not here: the optimizers that consume the clipped gradients (nn/optim.h).
#pragma once

#include <vector>

#include "tensor/tensor.h"

namespace tz::nn {

/// total = || (||g_1||, ..., ||g_n||) ||_2 over the parameters that have a gradient;
/// coef = max_norm / (total + 1e-6); when coef < 1 every gradient is scaled by coef in place.
/// Returns total (before clipping). No gradients at all: returns 0 and changes nothing.
double clip_grad_norm(const std::vector<Tensor>& params, double max_norm);

}  // namespace tz::nn
