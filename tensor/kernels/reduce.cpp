// Reduction kernels; see reduce.h. The reference path is the plain left-to-right loop; the vector
// path sums into 4 vector accumulators (4 * lanes partial sums, combined pairwise at the end), so
// the two differ by float rounding only.
#include "tensor/kernels/reduce.h"

#include <limits>
#include <type_traits>

#include "tensor/kernels/kernel_mode.h"
#include "tensor/kernels/simd.h"

namespace tz::kernels {
namespace {

using simd::kWidth;
using simd::load;
using simd::store;
using simd::Vec;

struct SumOp {
  static constexpr float identity() { return 0.f; }
  template <class V> V operator()(V acc, V x) const { return acc + x; }
  static float horizontal(const Vec& v) { return simd::hsum(v); }
};
struct MaxOp {
  static constexpr float identity() { return simd::kNegInf; }
  template <class V> V operator()(V acc, V x) const { return simd::max_nan(acc, x); }
  static float horizontal(const Vec& v) { return simd::hmax_nan(v); }
};

// The vector max of a contiguous run: plain max instructions (short dependency chains) and a
// separate sticky "saw a NaN" mask, since max instructions drop NaNs. The select-based max_nan
// costs four dependent instructions per vector and made the max pass a third of softmax's time.
float max_contiguous(int64_t n, const float* x) {
  Vec a0(simd::kNegInf), a1(simd::kNegInf), a2(simd::kNegInf), a3(simd::kNegInf);
  simd::VecMask nan0 = simd::isnan(Vec(0.f)), nan1 = nan0;
  int64_t i = 0;
  for (; i + 4 * kWidth <= n; i += 4 * kWidth) {
    const Vec v0 = load(x + i), v1 = load(x + i + kWidth);
    const Vec v2 = load(x + i + 2 * kWidth), v3 = load(x + i + 3 * kWidth);
    a0 = xsimd::max(a0, v0);
    a1 = xsimd::max(a1, v1);
    a2 = xsimd::max(a2, v2);
    a3 = xsimd::max(a3, v3);
    nan0 = nan0 | simd::isnan(v0) | simd::isnan(v1);
    nan1 = nan1 | simd::isnan(v2) | simd::isnan(v3);
  }
  for (; i + kWidth <= n; i += kWidth) {
    const Vec v = load(x + i);
    a0 = xsimd::max(a0, v);
    nan0 = nan0 | simd::isnan(v);
  }
  if (xsimd::any(nan0 | nan1)) return std::numeric_limits<float>::quiet_NaN();
  float acc = simd::hmax_nan(xsimd::max(xsimd::max(a0, a1), xsimd::max(a2, a3)));
  for (; i < n; ++i) acc = simd::max_nan(acc, x[i]);
  return acc;
}

// x [n] stride sx -> one value
template <class Op>
float reduce_impl(Op op, int64_t n, const float* x, int64_t sx) {
  float acc = Op::identity();
  int64_t i = 0;
  if constexpr (std::is_same_v<Op, MaxOp>) {
    if (!use_reference() && sx == 1 && n >= 4 * kWidth) return max_contiguous(n, x);
  }
  if (!use_reference() && sx == 1 && n >= kWidth) {
    Vec a0(Op::identity()), a1(Op::identity()), a2(Op::identity()), a3(Op::identity());
    for (; i + 4 * kWidth <= n; i += 4 * kWidth) {
      a0 = op(a0, load(x + i));
      a1 = op(a1, load(x + i + kWidth));
      a2 = op(a2, load(x + i + 2 * kWidth));
      a3 = op(a3, load(x + i + 3 * kWidth));
    }
    for (; i + kWidth <= n; i += kWidth) a0 = op(a0, load(x + i));
    acc = Op::horizontal(op(op(a0, a1), op(a2, a3)));
  }
  for (; i < n; ++i) acc = op(acc, x[i * sx]);
  return acc;
}

// x [n] stride sx, acc [n] stride sa
template <class Op>
void accumulate_impl(Op op, int64_t n, const float* x, int64_t sx, float* acc, int64_t sa) {
  int64_t i = 0;
  if (!use_reference() && sx == 1 && sa == 1) {
    for (; i + kWidth <= n; i += kWidth) store(acc + i, op(load(acc + i), load(x + i)));
  }
  for (; i < n; ++i) acc[i * sa] = op(acc[i * sa], x[i * sx]);
}

// rows runs of x (row r at x + r * row_stride) into acc, each element in row order.
template <class Op>
void accumulate_rows_impl(Op op, int64_t rows, int64_t n, const float* x, int64_t row_stride, int64_t sx,
                          float* acc, int64_t sa) {
  int64_t i = 0;
  if (!use_reference() && sx == 1 && sa == 1) {
    for (; i + 4 * kWidth <= n; i += 4 * kWidth) {
      Vec a0 = load(acc + i), a1 = load(acc + i + kWidth), a2 = load(acc + i + 2 * kWidth),
          a3 = load(acc + i + 3 * kWidth);
      const float* p = x + i;
      for (int64_t r = 0; r < rows; ++r, p += row_stride) {
        a0 = op(a0, load(p));
        a1 = op(a1, load(p + kWidth));
        a2 = op(a2, load(p + 2 * kWidth));
        a3 = op(a3, load(p + 3 * kWidth));
      }
      store(acc + i, a0);
      store(acc + i + kWidth, a1);
      store(acc + i + 2 * kWidth, a2);
      store(acc + i + 3 * kWidth, a3);
    }
    for (; i + kWidth <= n; i += kWidth) {
      Vec a = load(acc + i);
      for (int64_t r = 0; r < rows; ++r) a = op(a, load(x + i + r * row_stride));
      store(acc + i, a);
    }
  }
  for (; i < n; ++i) {
    float a = acc[i * sa];
    for (int64_t r = 0; r < rows; ++r) a = op(a, x[r * row_stride + i * sx]);
    acc[i * sa] = a;
  }
}

}  // namespace

float reduce_identity(ReduceOp op) { return op == ReduceOp::Sum ? SumOp::identity() : MaxOp::identity(); }

float reduce_combine(ReduceOp op, float a, float b) {
  return op == ReduceOp::Sum ? SumOp{}(a, b) : MaxOp{}(a, b);
}

float reduce_run(ReduceOp op, int64_t n, const float* x, int64_t sx) {
  return op == ReduceOp::Sum ? reduce_impl(SumOp{}, n, x, sx) : reduce_impl(MaxOp{}, n, x, sx);
}

void accumulate_run(ReduceOp op, int64_t n, const float* x, int64_t sx, float* acc, int64_t sa) {
  if (op == ReduceOp::Sum) accumulate_impl(SumOp{}, n, x, sx, acc, sa);
  else accumulate_impl(MaxOp{}, n, x, sx, acc, sa);
}

void accumulate_rows(ReduceOp op, int64_t rows, int64_t n, const float* x, int64_t row_stride, int64_t sx,
                     float* acc, int64_t sa) {
  if (op == ReduceOp::Sum) accumulate_rows_impl(SumOp{}, rows, n, x, row_stride, sx, acc, sa);
  else accumulate_rows_impl(MaxOp{}, rows, n, x, row_stride, sx, acc, sa);
}

}  // namespace tz::kernels
