// layer_norm over the last dim and its backward pass (tz::raw): checks, layout, threads. Rows are
// independent in the forward pass and in dx; dweight and dbias sum over rows, so the backward pass
// gives each fixed block of rows its own partial sums and adds the blocks in order afterwards:
// the result does not depend on the number of threads. Kernels: kernels/layer_norm.h.
#include <algorithm>

#include "tensor/kernels/layer_norm.h"
#include "tensor/kernels/reduce.h"
#include "tensor/kernels/strided.h"
#include "tensor/ops.h"

namespace tz::raw {
namespace {

void check_float(const Tensor& t, const char* op, const char* what) {
  TZ_CHECK(t.dtype() == DType::Float32, op, ": expected float32 for ", what, ", got ", dtype_name(t.dtype()),
           " ", shape_str(t.shape()));
}

// Checks x (at least 1-D, non-empty last dim) and an optional [C] parameter; returns C.
int64_t check_input(const Tensor& x, const char* op) {
  check_float(x, op, "input");
  TZ_CHECK(x.dim() >= 1, op, ": expected an input with at least 1 dim, got shape ", shape_str(x.shape()));
  const int64_t C = x.shape().back();
  TZ_CHECK(C > 0, op, ": the normalised (last) dim is empty, shape ", shape_str(x.shape()));
  return C;
}

void check_param(const Tensor& p, int64_t C, const Tensor& x, const char* op, const char* what) {
  if (!p.defined()) return;
  check_float(p, op, what);
  TZ_CHECK(p.shape() == Shape{C}, op, ": ", what, " shape ", shape_str(p.shape()),
           " does not match the last dim of input ", shape_str(x.shape()), " (expected [", C, "])");
}

Shape stats_shape(const Shape& x_shape) { return Shape(x_shape.begin(), x_shape.end() - 1); }

const float* data_or_null(const Tensor& t) { return t.defined() ? t.data<float>() : nullptr; }

}  // namespace

LayerNormOut layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps) {
  const int64_t C = check_input(x, "layer_norm");
  check_param(weight, C, x, "layer_norm", "weight");
  check_param(bias, C, x, "layer_norm", "bias");
  const Tensor xc = contiguous(x);
  const Tensor wc = weight.defined() ? contiguous(weight) : Tensor();
  const Tensor bc = bias.defined() ? contiguous(bias) : Tensor();
  LayerNormOut out{Tensor::uninitialized(x.shape()), Tensor::uninitialized(stats_shape(x.shape())),
                   Tensor::uninitialized(stats_shape(x.shape()))};
  const int64_t rows = x.numel() / C;
  const float* px = xc.data<float>();
  const float* pw = data_or_null(wc);
  const float* pb = data_or_null(bc);
  float* py = out.y.data<float>();
  float* pm = out.mean.data<float>();
  float* pr = out.rstd.data<float>();
  const float e = static_cast<float>(eps);
  parallel_for(0, rows, std::max<int64_t>(1, kernels::kGrainCheap / C), [&](int64_t b, int64_t end) {
    for (int64_t r = b; r < end; ++r)
      kernels::layer_norm_row(C, px + r * C, pw, pb, e, py + r * C, pm + r, pr + r);
  });
  return out;
}

LayerNormGrads layer_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& mean,
                                   const Tensor& rstd, const Tensor& weight) {
  const char* op = "layer_norm_backward";
  const int64_t C = check_input(x, op);
  check_float(dy, op, "dy");
  TZ_CHECK(dy.shape() == x.shape(), op, ": dy shape ", shape_str(dy.shape()), " does not match input shape ",
           shape_str(x.shape()));
  const Shape st = stats_shape(x.shape());
  for (const Tensor* s : {&mean, &rstd}) {
    check_float(*s, op, s == &mean ? "mean" : "rstd");
    TZ_CHECK(s->shape() == st, op, ": ", s == &mean ? "mean" : "rstd", " shape ", shape_str(s->shape()),
             " does not match input shape ", shape_str(x.shape()), " (expected ", shape_str(st), ")");
  }
  check_param(weight, C, x, op, "weight");
  const Tensor dyc = contiguous(dy), xc = contiguous(x), mc = contiguous(mean), rc = contiguous(rstd);
  const Tensor wc = weight.defined() ? contiguous(weight) : Tensor();
  const float* pdy = dyc.data<float>();
  const float* px = xc.data<float>();
  const float* pm = mc.data<float>();
  const float* pr = rc.data<float>();
  const float* pw = data_or_null(wc);
  const int64_t rows = x.numel() / C;

  LayerNormGrads g;
  g.dx = Tensor::uninitialized(x.shape());
  float* pdx = g.dx.data<float>();
  if (!weight.defined()) {
    parallel_for(0, rows, std::max<int64_t>(1, kernels::kGrainCheap / C), [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r)
        kernels::layer_norm_backward_row(C, pdy + r * C, px + r * C, pm[r], pr[r], nullptr, pdx + r * C,
                                         nullptr, nullptr);
    });
    return g;
  }
  // Fixed row blocks (at most 256 of them, about 32 rows each), a partial dweight/dbias per block.
  const int64_t n_blocks = std::clamp<int64_t>((rows + 31) / 32, 1, 256);
  const int64_t block_rows = (rows + n_blocks - 1) / n_blocks;
  std::vector<float> dw_part(static_cast<size_t>(n_blocks * C), 0.f), db_part(dw_part.size(), 0.f);
  const int64_t grain = std::max<int64_t>(1, kernels::kGrainCheap / std::max<int64_t>(1, block_rows * C));
  parallel_for(0, n_blocks, grain, [&](int64_t bb, int64_t be) {
    for (int64_t blk = bb; blk < be; ++blk) {
      for (int64_t r = blk * block_rows, end = std::min(rows, r + block_rows); r < end; ++r)
        kernels::layer_norm_backward_row(C, pdy + r * C, px + r * C, pm[r], pr[r], pw, pdx + r * C,
                                         dw_part.data() + blk * C, db_part.data() + blk * C);
    }
  });
  g.dweight = Tensor::empty({C});
  g.dbias = Tensor::empty({C});
  float* pdw = g.dweight.data<float>();
  float* pdb = g.dbias.data<float>();
  for (int64_t blk = 0; blk < n_blocks; ++blk) {
    kernels::accumulate_run(kernels::ReduceOp::Sum, C, dw_part.data() + blk * C, 1, pdw, 1);
    kernels::accumulate_run(kernels::ReduceOp::Sum, C, db_part.data() + blk * C, 1, pdb, 1);
  }
  return g;
}

}  // namespace tz::raw
