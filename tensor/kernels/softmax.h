// Softmax and log-softmax kernels, forward and backward, over one contiguous row or over a block
// of columns (when the softmax dim is not the last one).
//   rows: x [C] -> y [C]
//   cols: x [C, n] with row stride ld (n <= kSoftmaxColBlock columns) -> y [C, n], same stride
// Numerics: the row maximum is subtracted before exp (PyTorch's order). A row that is entirely
// -inf (a fully masked attention row) gives softmax 0 and log_softmax -inf everywhere, where
// PyTorch gives NaN: an explicit choice, so that a padded query row cannot poison a batch.
// A NaN anywhere in a row makes the whole row NaN, as in PyTorch.
// Partner: tensor/softmax_ops.cpp (dims, layouts, threads).
#pragma once

#include <cstdint>

namespace tz::kernels {

inline constexpr int64_t kSoftmaxColBlock = 256;

// x [C] -> y [C] (x == y allowed). softmax_row follows TZ_KERNELS (kernel_mode.h); softmax_row_path
// takes the path explicitly (true: the vector kernel, false: the scalar reference).
void softmax_row(int64_t C, const float* x, float* y);
void softmax_row_path(bool vec, int64_t C, const float* x, float* y);
void log_softmax_row(int64_t C, const float* x, float* y);
// grad_y [C], y [C] (the forward output) -> grad_x [C]
void softmax_backward_row(int64_t C, const float* grad_y, const float* y, float* grad_x);
void log_softmax_backward_row(int64_t C, const float* grad_y, const float* y, float* grad_x);

// x [C, n] stride ld -> y [C, n] stride ld (n <= kSoftmaxColBlock)
void softmax_cols(int64_t C, int64_t n, int64_t ld, const float* x, float* y);
void log_softmax_cols(int64_t C, int64_t n, int64_t ld, const float* x, float* y);
// grad_y, y, grad_x [C, n] stride ld
void softmax_backward_cols(int64_t C, int64_t n, int64_t ld, const float* grad_y, const float* y, float* grad_x);
void log_softmax_backward_cols(int64_t C, int64_t n, int64_t ld, const float* grad_y, const float* y,
                               float* grad_x);

}  // namespace tz::kernels
