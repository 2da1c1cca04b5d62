// softmax / log_softmax over any dim and their backward passes (tz::raw). The tensor is viewed as
// [outer, C, inner] around the softmax dim: inner == 1 runs the row kernels, otherwise the column
// kernels take blocks of up to kSoftmaxColBlock neighbouring columns. Non-contiguous inputs are
// copied to contiguous first. Kernels and the all -inf row contract: kernels/softmax.h.
// Not here: the loss (loss_ops.cpp), masking (elementwise_ops.cpp: masked_fill).
#include <algorithm>

#include "tensor/kernels/softmax.h"
#include "tensor/kernels/strided.h"
#include "tensor/ops.h"

namespace tz::raw {
namespace {

struct Geometry {
  int64_t outer = 1, C = 1, inner = 1;
};

Geometry geometry(const Tensor& t, int64_t dim, const char* op) {
  Geometry g;
  const int64_t d = wrap_dim(dim, t.dim(), op);
  for (int64_t i = 0; i < t.dim(); ++i) {
    const int64_t s = t.shape()[i];
    if (i < d) g.outer *= s;
    else if (i == d) g.C = s;
    else g.inner *= s;
  }
  return g;
}

// Calls row(offset) for each row, or cols(offset, n) for each column block, in parallel.
template <class RowFn, class ColFn>
void for_each_slice(const Geometry& g, RowFn&& row, ColFn&& cols) {
  if (g.outer * g.C * g.inner == 0) return;
  if (g.inner == 1) {
    const int64_t grain = std::max<int64_t>(1, kernels::kGrainHeavy / g.C);
    parallel_for(0, g.outer, grain, [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) row(r * g.C);
    });
    return;
  }
  const int64_t block = kernels::kSoftmaxColBlock;
  const int64_t n_blocks = (g.inner + block - 1) / block;
  const int64_t grain = std::max<int64_t>(1, kernels::kGrainHeavy / (g.C * std::min(block, g.inner)));
  parallel_for(0, g.outer * n_blocks, grain, [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) {
      const int64_t o = t / n_blocks, j0 = (t % n_blocks) * block;
      cols(o * g.C * g.inner + j0, std::min(block, g.inner - j0));
    }
  });
}

void check_float(const Tensor& t, const char* op) {
  TZ_CHECK(t.dtype() == DType::Float32, op, ": expected a float32 tensor, got ", dtype_name(t.dtype()),
           " ", shape_str(t.shape()));
}

template <class RowK, class ColK>
Tensor forward(const Tensor& x, int64_t dim, const char* op, RowK row_kernel, ColK col_kernel) {
  check_float(x, op);
  const Geometry g = geometry(x, dim, op);
  const Tensor xc = contiguous(x);
  Tensor y = Tensor::uninitialized(x.shape());
  const float* px = xc.data<float>();
  float* py = y.data<float>();
  for_each_slice(
      g, [&](int64_t off) { row_kernel(g.C, px + off, py + off); },
      [&](int64_t off, int64_t n) { col_kernel(g.C, n, g.inner, px + off, py + off); });
  return y;
}

template <class RowK, class ColK>
Tensor backward(const Tensor& grad_y, const Tensor& y, int64_t dim, const char* op, RowK row_kernel,
                ColK col_kernel) {
  check_float(grad_y, op);
  check_float(y, op);
  TZ_CHECK(grad_y.shape() == y.shape(), op, ": gradient shape ", shape_str(grad_y.shape()),
           " does not match output shape ", shape_str(y.shape()));
  const Geometry g = geometry(y, dim, op);
  const Tensor gc = contiguous(grad_y), yc = contiguous(y);
  Tensor gx = Tensor::uninitialized(y.shape());
  const float* pg = gc.data<float>();
  const float* py = yc.data<float>();
  float* px = gx.data<float>();
  for_each_slice(
      g, [&](int64_t off) { row_kernel(g.C, pg + off, py + off, px + off); },
      [&](int64_t off, int64_t n) { col_kernel(g.C, n, g.inner, pg + off, py + off, px + off); });
  return gx;
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) {
  return forward(x, dim, "softmax", kernels::softmax_row, kernels::softmax_cols);
}

Tensor log_softmax(const Tensor& x, int64_t dim) {
  return forward(x, dim, "log_softmax", kernels::log_softmax_row, kernels::log_softmax_cols);
}

Tensor softmax_backward(const Tensor& grad_y, const Tensor& y, int64_t dim) {
  return backward(grad_y, y, dim, "softmax_backward", kernels::softmax_backward_row,
                  kernels::softmax_backward_cols);
}

Tensor log_softmax_backward(const Tensor& grad_y, const Tensor& y, int64_t dim) {
  return backward(grad_y, y, dim, "log_softmax_backward", kernels::log_softmax_backward_row,
                  kernels::log_softmax_backward_cols);
}

}  // namespace tz::raw
