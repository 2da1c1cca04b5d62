// Strided iteration shared by the elementwise, copy and reduction drivers. N operands view the same
// logical shape through their own strides (0 on broadcast dims). plan_layout() drops size-1 dims
// and merges neighbouring dims that every operand walks contiguously, so a contiguous tensor, a
// bias row broadcast over [N, C] or a transposed view all become a few long "runs"; for_each_run()
// then hands each run (offsets, inner strides, count) to a kernel that takes raw pointers.
// Not here: the kernels that consume runs (elementwise.h, reduce.h) and the ops (tensor/*_ops.cpp).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "tensor/parallel.h"
#include "tensor/shape.h"
#include "tensor/tensor.h"

namespace tz::kernels {

/// Grain sizes (elements per parallel chunk): below these a loop stays on the calling thread,
/// because waking the pool costs more than the work.
inline constexpr int64_t kGrainCheap = int64_t{1} << 15;  // loads/stores and simple arithmetic
inline constexpr int64_t kGrainHeavy = int64_t{1} << 13;  // exp/erf/tanh per element

/// Strides of `t` read as a tensor of `shape` (NumPy broadcasting: leading dims added, size-1 dims
/// stretched with stride 0). The caller has checked that t.shape() broadcasts to `shape`.
inline Shape broadcast_strides(const Tensor& t, const Shape& shape) {
  const size_t nd = shape.size(), nt = t.shape().size();
  Shape strides(nd, 0);
  for (size_t i = 0; i < nt; ++i) {
    if (t.shape()[i] != 1) strides[nd - nt + i] = t.strides()[i];
  }
  return strides;
}

template <size_t N>
struct StridedLayout {
  Shape shape;                    // at least one dim; the last one is the run dim
  std::array<Shape, N> strides;   // per operand, same length as shape
  int64_t numel = 0;
};

/// Simplifies (shape, strides) for N operands without changing which elements pair up.
template <size_t N>
StridedLayout<N> plan_layout(const Shape& shape, const std::array<Shape, N>& strides) {
  StridedLayout<N> out;
  out.numel = shape_numel(shape);
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    const bool can_merge = !out.shape.empty() && [&] {
      for (size_t k = 0; k < N; ++k)
        if (out.strides[k].back() != strides[k][d] * shape[d]) return false;
      return true;
    }();
    if (can_merge) {
      out.shape.back() *= shape[d];
      for (size_t k = 0; k < N; ++k) out.strides[k].back() = strides[k][d];
    } else {
      out.shape.push_back(shape[d]);
      for (size_t k = 0; k < N; ++k) out.strides[k].push_back(strides[k][d]);
    }
  }
  if (out.shape.empty()) {  // a scalar, or all dims of size 1: one run of one element
    out.shape.push_back(1);
    for (size_t k = 0; k < N; ++k) out.strides[k].push_back(0);
  }
  return out;
}

/// Calls fn(offsets, run_strides, count) for the runs covering elements [begin, end) of the
/// layout, in row-major order. offsets[k] is in elements from operand k's first element.
template <size_t N, class Fn>
void for_each_run(const StridedLayout<N>& L, int64_t begin, int64_t end, Fn&& fn) {
  if (begin >= end) return;
  const int64_t nd = static_cast<int64_t>(L.shape.size());
  const int64_t inner = L.shape[nd - 1];
  std::array<int64_t, N> run_strides{}, off{};
  for (size_t k = 0; k < N; ++k) run_strides[k] = L.strides[k][nd - 1];
  // Multi-index of `begin` in the outer dims, and the matching offsets (on the stack for the
  // usual few dims: this runs once per op call, and tiny ops are dominated by such overheads).
  int64_t idx_small[8];
  std::vector<int64_t> idx_large;
  int64_t* idx = idx_small;
  if (nd > 8) {
    idx_large.resize(static_cast<size_t>(nd));
    idx = idx_large.data();
  }
  int64_t rest = begin;
  for (int64_t d = nd - 1; d >= 0; --d) {
    idx[d] = rest % L.shape[d];
    rest /= L.shape[d];
    for (size_t k = 0; k < N; ++k) off[k] += idx[d] * L.strides[k][d];
  }
  int64_t pos = begin;
  for (;;) {
    const int64_t col = idx[nd - 1];
    const int64_t count = std::min(inner - col, end - pos);
    fn(off, run_strides, count);
    pos += count;
    if (pos >= end) return;
    // Next row: rewind the run dim, then advance the outer dims like an odometer.
    for (size_t k = 0; k < N; ++k) off[k] -= col * run_strides[k];
    idx[nd - 1] = 0;
    for (int64_t d = nd - 2; d >= 0; --d) {
      for (size_t k = 0; k < N; ++k) off[k] += L.strides[k][d];
      if (++idx[d] < L.shape[d]) break;
      for (size_t k = 0; k < N; ++k) off[k] -= L.shape[d] * L.strides[k][d];
      idx[d] = 0;
    }
  }
}

/// for_each_run over all elements, split across the thread pool in chunks of about `grain`
/// elements. fn must be safe to call concurrently on disjoint element ranges.
///
/// Chunks start at a row start or at a multiple of kSplitBlock inside a row, so a kernel sees the
/// same vector/scalar-tail split of every row whatever the number of threads: results are
/// bitwise identical for 1 and N threads (a tail element goes through std::erf, a vector lane
/// through xsimd's erf, and the two may differ in the last bit).
inline constexpr int64_t kSplitBlock = 256;  // a multiple of every SIMD width

template <size_t N, class Fn>
void parallel_runs(const StridedLayout<N>& L, int64_t grain, Fn&& fn) {
  if (L.numel == 0) return;
  const int64_t inner = L.shape.back();
  const int64_t per_row = (inner + kSplitBlock - 1) / kSplitBlock;  // units per row
  const int64_t units = (L.numel / inner) * per_row;
  const int64_t unit_size = std::min(inner, kSplitBlock);
  auto unit_start = [&](int64_t u) { return (u / per_row) * inner + (u % per_row) * kSplitBlock; };
  const int64_t unit_grain = std::max<int64_t>(1, grain / unit_size);
  if (units <= unit_grain || in_parallel_region() || get_num_threads() == 1) {
    for_each_run(L, 0, L.numel, fn);  // one chunk: skip building a std::function for the pool
    return;
  }
  parallel_for(0, units, unit_grain, [&](int64_t ub, int64_t ue) {
    const int64_t end = ue == units ? L.numel : unit_start(ue);
    for_each_run(L, unit_start(ub), end, fn);
  });
}

}  // namespace tz::kernels
