// Reduction kernels; see reduce.h. The reference path is the plain left-to-right loop; the vector
// path sums into 4 vector accumulators (4 * lanes partial sums, combined pairwise at the end), so
// the two differ by float rounding only.
#include "tensor/kernels/reduce.h"

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

// x [n] stride sx -> one value
template <class Op>
float reduce_impl(Op op, int64_t n, const float* x, int64_t sx) {
  float acc = Op::identity();
  int64_t i = 0;
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

}  // namespace tz::kernels
