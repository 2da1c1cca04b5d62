// Reductions of tz::raw: sum, mean, amax over dims (keepdim), argmax, sum_to.
// How a reduction is walked depends on where the input's contiguous dim is:
//   - reduced (sum over the last dim): each output reduces its own runs (kernels::reduce_run),
//     outputs are spread over threads; a reduction to one value splits its input into fixed
//     chunks whose partial results are combined in order (the result does not depend on threads);
//   - kept (sum over the rows of [N, C]): output rows accumulate input rows elementwise
//     (kernels::accumulate_run), threads take disjoint column blocks of the output.
// Not here: elementwise ops (elementwise_ops.cpp), softmax (softmax_ops.cpp).
#include <algorithm>
#include <cmath>

#include "tensor/kernels/reduce.h"
#include "tensor/kernels/strided.h"
#include "tensor/ops.h"

namespace tz::raw {
namespace {

using kernels::ReduceOp;

struct Dim {
  int64_t size, in_stride, out_stride;
};

// A contiguous output of `shape` viewed with another shape of the same numel (no copy).
Tensor reshaped(const Tensor& contiguous_out, const Shape& shape) {
  return Tensor::view_of(contiguous_out.storage(), contiguous_out.dtype(), shape, contiguous_strides(shape), 0);
}

// Flags which dims of an `ndim`-dim tensor `dims` names (all of them when empty).
std::vector<bool> reduced_flags(const std::vector<int64_t>& dims, int64_t ndim, const char* op) {
  std::vector<bool> flags(static_cast<size_t>(ndim), dims.empty());
  for (int64_t d : dims) {
    int64_t w = wrap_dim(d, ndim, op);
    if (ndim == 0) continue;  // dim 0 / -1 of a scalar: nothing to reduce
    TZ_CHECK(!flags[w], op, ": dim ", d, " is listed twice");
    flags[w] = true;
  }
  return flags;
}

Shape result_shape(const Shape& shape, const std::vector<bool>& reduced, bool keepdim) {
  Shape out;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (!reduced[d]) out.push_back(shape[d]);
    else if (keepdim) out.push_back(1);
  }
  return out;
}

// Reduces float32 `a` over the flagged dims into a new contiguous tensor of keepdim shape.
Tensor reduce_keepdim(const Tensor& a, const std::vector<bool>& reduced, ReduceOp op) {
  const Shape& shape = a.shape();
  const Shape keep_shape = result_shape(shape, reduced, true);
  Tensor out = Tensor::uninitialized(keep_shape);
  const int64_t n_out = out.numel();
  if (n_out == 0) return out;
  float* y = out.data<float>();
  const float* x = a.data<float>();
  const Shape out_strides = contiguous_strides(keep_shape);

  // The innermost dim is the one with the smallest stride (the last one among equals).
  int64_t inner_dim = -1;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] != 1 && (inner_dim < 0 || a.strides()[d] <= a.strides()[inner_dim]))
      inner_dim = static_cast<int64_t>(d);
  }
  const bool inner_is_reduced = inner_dim < 0 || reduced[inner_dim];
  std::vector<Dim> kept, red;
  int64_t r_total = 1;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (reduced[d]) r_total *= shape[d];
    if (shape[d] == 1 || (!inner_is_reduced && static_cast<int64_t>(d) == inner_dim)) continue;
    (reduced[d] ? red : kept).push_back({shape[d], a.strides()[d], out_strides[d]});
  }
  const float identity = kernels::reduce_identity(op);
  if (r_total == 1) {  // nothing to combine (sum_to a shape that is already the input's): a copy
    copy_(out, a);
    return out;
  }
  if (r_total == 0) {
    std::fill(y, y + n_out, identity);
    return out;
  }
  // Reduced dims in memory order, so the last one (the run dim) is the most contiguous.
  std::stable_sort(red.begin(), red.end(), [](const Dim& p, const Dim& q) { return p.in_stride > q.in_stride; });
  Shape red_shape, red_strides;
  for (const Dim& d : red) {
    red_shape.push_back(d.size);
    red_strides.push_back(d.in_stride);
  }
  const auto RL = kernels::plan_layout<1>(red_shape, {red_strides});

  if (inner_is_reduced) {
    auto reduce_range = [&](const float* base, int64_t begin, int64_t end) {
      float acc = identity;
      kernels::for_each_run(RL, begin, end, [&](const auto& off, const auto& st, int64_t n) {
        acc = kernels::reduce_combine(op, acc, kernels::reduce_run(op, n, base + off[0], st[0]));
      });
      return acc;
    };
    if (n_out == 1) {
      // One result: fixed-size chunks reduced in parallel, then combined in chunk order.
      constexpr int64_t kChunk = int64_t{1} << 16;
      const int64_t chunks = (r_total + kChunk - 1) / kChunk;
      std::vector<float> partial(static_cast<size_t>(chunks));
      parallel_for(0, chunks, 1, [&](int64_t cb, int64_t ce) {
        for (int64_t c = cb; c < ce; ++c)
          partial[c] = reduce_range(x, c * kChunk, std::min(r_total, (c + 1) * kChunk));
      });
      float acc = identity;
      for (float p : partial) acc = kernels::reduce_combine(op, acc, p);
      y[0] = acc;
      return out;
    }
    Shape kept_shape, kept_in, kept_out;
    for (const Dim& d : kept) {
      kept_shape.push_back(d.size);
      kept_in.push_back(d.in_stride);
      kept_out.push_back(d.out_stride);
    }
    const auto KL = kernels::plan_layout<2>(kept_shape, {kept_out, kept_in});
    const int64_t grain = std::max<int64_t>(1, kernels::kGrainCheap / r_total);
    kernels::parallel_runs(KL, grain, [&](const auto& off, const auto& st, int64_t n) {
      for (int64_t i = 0; i < n; ++i) y[off[0] + i * st[0]] = reduce_range(x + off[1] + i * st[1], 0, r_total);
    });
    return out;
  }

  // The contiguous dim is kept: it becomes the accumulator row; the other kept dims index rows.
  const Dim inner{shape[inner_dim], a.strides()[inner_dim], out_strides[inner_dim]};
  Shape outer_shape, outer_in, outer_out;
  for (const Dim& d : kept) {
    outer_shape.push_back(d.size);
    outer_in.push_back(d.in_stride);
    outer_out.push_back(d.out_stride);
  }
  const auto OL = kernels::plan_layout<2>(outer_shape, {outer_out, outer_in});
  // With a single output row, threads split its columns; blocks of 256 floats keep each
  // thread's accumulator slice in L1 while it streams over the reduced rows.
  const int64_t block = OL.numel == 1 ? std::min<int64_t>(inner.size, 256) : inner.size;
  const int64_t n_blocks = (inner.size + block - 1) / block;
  const int64_t grain = std::max<int64_t>(1, kernels::kGrainCheap / (r_total * block));
  parallel_for(0, OL.numel * n_blocks, grain, [&](int64_t tb, int64_t te) {
    for (int64_t t = tb; t < te; ++t) {
      const int64_t row = t / n_blocks, col0 = (t % n_blocks) * block;
      const int64_t count = std::min(block, inner.size - col0);
      kernels::for_each_run(OL, row, row + 1, [&](const auto& off, const auto&, int64_t) {
        float* acc = y + off[0] + col0 * inner.out_stride;
        const float* base = x + off[1] + col0 * inner.in_stride;
        for (int64_t i = 0; i < count; ++i) acc[i * inner.out_stride] = identity;
        kernels::for_each_run(RL, 0, r_total, [&](const auto& roff, const auto& rst, int64_t rn) {
          kernels::accumulate_rows(op, rn, count, base + roff[0], rst[0], inner.in_stride, acc, inner.out_stride);
        });
      });
    }
  });
  return out;
}

Tensor reduce(const Tensor& a, const std::vector<bool>& reduced, bool keepdim, ReduceOp op) {
  Tensor out = reduce_keepdim(a, reduced, op);
  return keepdim ? out : reshaped(out, result_shape(a.shape(), reduced, false));
}

void check_float(const Tensor& a, const char* op) {
  TZ_CHECK(a.dtype() == DType::Float32, op, ": expected a float32 tensor, got ", dtype_name(a.dtype()),
           " ", shape_str(a.shape()));
}

}  // namespace

Tensor sum(const Tensor& a, const std::vector<int64_t>& dims, bool keepdim) {
  check_float(a, "sum");
  return reduce(a, reduced_flags(dims, a.dim(), "sum"), keepdim, ReduceOp::Sum);
}

Tensor mean(const Tensor& a, const std::vector<int64_t>& dims, bool keepdim) {
  check_float(a, "mean");
  const auto flags = reduced_flags(dims, a.dim(), "mean");
  Tensor out = reduce(a, flags, keepdim, ReduceOp::Sum);
  int64_t count = 1;
  for (size_t d = 0; d < flags.size(); ++d)
    if (flags[d]) count *= a.shape()[d];
  // A true division as PyTorch does; 0/0 gives NaN for an empty reduction, also as PyTorch.
  const float c = static_cast<float>(count);
  float* y = out.data<float>();
  for (int64_t i = 0, n = out.numel(); i < n; ++i) y[i] /= c;
  return out;
}

Tensor amax(const Tensor& a, int64_t dim, bool keepdim) {
  check_float(a, "amax");
  const auto flags = reduced_flags({dim}, a.dim(), "amax");
  if (a.dim() > 0) {
    const int64_t d = wrap_dim(dim, a.dim(), "amax");
    TZ_CHECK(a.shape()[d] > 0, "amax: cannot reduce over dim ", dim, " of size 0 (shape ",
             shape_str(a.shape()), ")");
  }
  return reduce(a, flags, keepdim, ReduceOp::Max);
}

// Not vectorised: argmax runs on logits once per step, never in a hot loop.
// NaN counts as the maximum (the first NaN wins), as torch.argmax.
Tensor argmax(const Tensor& a, int64_t dim, bool keepdim) {
  check_float(a, "argmax");
  const int64_t d = wrap_dim(dim, a.dim(), "argmax");
  const int64_t n = a.dim() == 0 ? 1 : a.shape()[d];
  const int64_t stride = a.dim() == 0 ? 0 : a.strides()[d];
  TZ_CHECK(n > 0, "argmax: cannot reduce over dim ", dim, " of size 0 (shape ", shape_str(a.shape()), ")");
  Shape kept_shape = a.shape(), kept_strides = a.strides();
  if (a.dim() > 0) {
    kept_shape.erase(kept_shape.begin() + d);
    kept_strides.erase(kept_strides.begin() + d);
  }
  Tensor out = Tensor::uninitialized(kept_shape, DType::Int64);
  int64_t* y = out.data<int64_t>();
  const float* x = a.data<float>();
  const auto L = kernels::plan_layout<2>(kept_shape, {out.strides(), kept_strides});
  const int64_t grain = std::max<int64_t>(1, kernels::kGrainCheap / n);
  kernels::parallel_runs(L, grain, [&](const auto& off, const auto& st, int64_t count) {
    for (int64_t i = 0; i < count; ++i) {
      const float* row = x + off[1] + i * st[1];
      int64_t best_k = 0;
      float best = row[0];
      for (int64_t k = 1; k < n && !std::isnan(best); ++k) {
        const float v = row[k * stride];
        if (v > best || std::isnan(v)) {
          best = v;
          best_k = k;
        }
      }
      y[off[0] + i * st[0]] = best_k;
    }
  });
  if (!keepdim || a.dim() == 0) return out;
  Shape keep = a.shape();
  keep[d] = 1;
  return reshaped(out, keep);
}

Tensor sum_to(const Tensor& a, const Shape& shape) {
  check_float(a, "sum_to");
  const Shape& from = a.shape();
  const bool ok = shape.size() <= from.size() && [&] {
    for (size_t i = 0; i < shape.size(); ++i) {
      const int64_t f = from[from.size() - shape.size() + i];
      if (shape[i] != f && shape[i] != 1) return false;
    }
    return true;
  }();
  TZ_CHECK(ok, "sum_to: shape ", shape_str(shape), " does not broadcast to ", shape_str(from));
  std::vector<bool> flags(from.size(), false);
  const size_t lead = from.size() - shape.size();
  for (size_t d = 0; d < from.size(); ++d) flags[d] = d < lead || (shape[d - lead] == 1 && from[d] != 1);
  // Always a new tensor (ops.h: outputs are new unless marked view), even when nothing is summed.
  return reshaped(reduce_keepdim(a, flags, ReduceOp::Sum), shape);
}

}  // namespace tz::raw
