// Layer norm kernels over one contiguous row of C features, forward and backward side by side.
// Numerics follow PyTorch: biased variance, eps inside the square root, statistics in float.
// The mean and variance are computed in two passes (mean, then the mean of squared deviations,
// with a correction term for the rounding of the first mean), which stays accurate when the row
// sits far from zero (e.g. values around 1e4).
// Partner: tensor/layer_norm_ops.cpp (shapes, threads, the dweight/dbias reduction over rows).
#pragma once

#include <cstdint>

namespace tz::kernels {

/// x [C], weight [C] or null (1), bias [C] or null (0) -> y [C], *mean, *rstd = 1/sqrt(var + eps)
void layer_norm_row(int64_t C, const float* x, const float* weight, const float* bias, float eps,
                    float* y, float* mean, float* rstd);

/// dy [C], x [C], the row's mean and rstd, weight [C] or null -> dx [C].
/// When dweight_acc / dbias_acc [C] are non-null, adds dy * xhat and dy to them.
void layer_norm_backward_row(int64_t C, const float* dy, const float* x, float mean, float rstd,
                             const float* weight, float* dx, float* dweight_acc, float* dbias_acc);

}  // namespace tz::kernels
