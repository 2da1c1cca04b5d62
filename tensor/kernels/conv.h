// Row kernels for the 1-D depthwise convolution (PyTorch Conv1d with groups = C: cross-correlation,
// zero padding) and its backward, plus ConvBERT's unfold and its adjoint. One "row" is one (b, c)
// time series. Every kernel has a scalar reference (`*_reference`, the readable definition, also
// the test oracle) and an xsimd version used unless TZ_KERNELS=reference (kernel_mode.h). Shape checks,
// threading and the [B, C, T] bookkeeping are in tensor/conv_ops.cpp.
#pragma once

#include <cstdint>

namespace tz::kernels {

// Forward. x [T], w [K] -> y [To], To = T + 2*pad - K + 1:
//   y[t] = bias + sum_k w[k] * x[t + k - pad]   (terms outside [0, T) are zero)
void dwconv1d_row(const float* x, int64_t T, const float* w, int64_t K, float bias, int64_t pad,
                  float* y, int64_t To);
void dwconv1d_row_reference(const float* x, int64_t T, const float* w, int64_t K, float bias,
                            int64_t pad, float* y, int64_t To);

// Input gradient. g [To], w [K] -> dx [T] (accumulated: dx += ...):
//   dx[t + k - pad] += w[k] * g[t]
void dwconv1d_row_backward_input(const float* g, int64_t To, const float* w, int64_t K, int64_t pad,
                                 float* dx, int64_t T);
void dwconv1d_row_backward_input_reference(const float* g, int64_t To, const float* w, int64_t K,
                                           int64_t pad, float* dx, int64_t T);

// Weight gradient. g [To], x [T] -> dw [K] (accumulated):
//   dw[k] += sum_t g[t] * x[t + k - pad]
void dwconv1d_row_backward_weight(const float* g, int64_t To, const float* x, int64_t T, int64_t K,
                                  int64_t pad, float* dw);
void dwconv1d_row_backward_weight_reference(const float* g, int64_t To, const float* x, int64_t T,
                                            int64_t K, int64_t pad, float* dw);

// ConvBERT unfold of one time step. x [T, C] (one batch item), output block [C, K]:
//   out[c, k] = x[t + k - pad, c]   (zero outside [0, T))
// A pure gather: the memory traffic is the cost, so there is only the plain version (written
// with contiguous stores so the compiler can vectorise the inner loop).
void unfold1d_step(const float* x, int64_t T, int64_t C, int64_t K, int64_t pad, int64_t t, float* out);
// Adjoint for one input time step s. g [To, C, K] (one batch item) -> dx [C] (overwritten):
//   dx[c] = sum_k g[s - k + pad, c, k]   (terms with s - k + pad outside [0, To) skipped)
void unfold1d_backward_step(const float* g, int64_t To, int64_t C, int64_t K, int64_t pad, int64_t s,
                            float* dx);

}  // namespace tz::kernels
