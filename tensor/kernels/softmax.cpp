// Softmax kernels; see softmax.h for the numerics contract. Every per-element formula is a generic
// lambda run on float (scalar reference, std::exp/log) or simd::Vec (xsimd) by the loops in simd.h.
#include "tensor/kernels/softmax.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "tensor/kernels/kernel_mode.h"
#include "tensor/kernels/reduce.h"
#include "tensor/kernels/simd.h"

namespace tz::kernels {
namespace {

using simd::kNegInf;
using simd::splat;

auto exp_shifted(float m) {
  return [m](auto x) { return simd::exp(x - splat(x, m)); };
}

}  // namespace

// ---- rows ----------------------------------------------------------------------------------
namespace {

// The vector path of softmax_row, written out rather than through simd.h's generic loops: a
// softmax row in attention is short (128 floats is 16 AVX2 vectors), so per-row overheads count.
// Three passes over a row that sits in L1: max, exp and sum (two vectors per step, two
// accumulators), scale. The max pass uses plain max instructions and no NaN bookkeeping: a NaN
// that max drops still reaches the sum through its exp, so the whole row becomes NaN anyway; only
// a row whose max is -inf is scanned for NaNs (fully masked rows give 0). NaN-aware selects in
// the max pass would lengthen its dependency chain, which on rows this short is most of the cost.
void softmax_row_vec(int64_t C, const float* x, float* y) {
  using simd::kWidth;
  using simd::Vec;
  Vec m0(kNegInf), m1(kNegInf);
  int64_t i = 0;
  for (; i + 2 * kWidth <= C; i += 2 * kWidth) {
    m0 = xsimd::max(m0, simd::load(x + i));
    m1 = xsimd::max(m1, simd::load(x + i + kWidth));
  }
  for (; i + kWidth <= C; i += kWidth) m0 = xsimd::max(m0, simd::load(x + i));
  alignas(64) float lanes[kWidth];
  xsimd::max(m0, m1).store_aligned(lanes);
  float m = lanes[0];
  for (int64_t k = 1; k < kWidth; ++k) m = std::max(m, lanes[k]);
  for (; i < C; ++i) m = std::max(m, x[i]);
  if (m == kNegInf || std::isnan(m)) {
    const bool has_nan = std::any_of(x, x + C, [](float v) { return std::isnan(v); });
    std::fill(y, y + C, has_nan ? std::numeric_limits<float>::quiet_NaN() : 0.f);
    return;
  }
  const Vec vm(m);
  Vec s0(0.f), s1(0.f);
  i = 0;
  for (; i + 2 * kWidth <= C; i += 2 * kWidth) {
    const Vec e0 = simd::exp(simd::load(x + i) - vm);
    const Vec e1 = simd::exp(simd::load(x + i + kWidth) - vm);
    simd::store(y + i, e0);
    simd::store(y + i + kWidth, e1);
    s0 += e0;
    s1 += e1;
  }
  for (; i + kWidth <= C; i += kWidth) {
    const Vec e0 = simd::exp(simd::load(x + i) - vm);
    simd::store(y + i, e0);
    s0 += e0;
  }
  float s = simd::hsum(s0 + s1);
  for (; i < C; ++i) {
    y[i] = std::exp(x[i] - m);
    s += y[i];
  }
  const float inv = 1.f / s;
  const Vec vinv(inv);
  i = 0;
  for (; i + kWidth <= C; i += kWidth) simd::store(y + i, simd::load(y + i) * vinv);
  for (; i < C; ++i) y[i] *= inv;
}

}  // namespace

void softmax_row(int64_t C, const float* x, float* y) { softmax_row_path(!use_reference(), C, x, y); }

void softmax_row_path(bool vec, int64_t C, const float* x, float* y) {
  if (vec) return softmax_row_vec(C, x, y);
  const float m = reduce_run(ReduceOp::Max, C, x, 1);
  if (m == kNegInf) {
    std::fill(y, y + C, 0.f);
    return;
  }
  const float s = simd::map1_sum(false, exp_shifted(m), C, x, y);
  const float inv = 1.f / s;
  simd::map1(false, [inv](auto e) { return e * splat(e, inv); }, C, y, y);
}

void log_softmax_row(int64_t C, const float* x, float* y) {
  const bool vec = !use_reference();
  const float m = reduce_run(ReduceOp::Max, C, x, 1);
  if (m == kNegInf) {
    std::fill(y, y + C, kNegInf);
    return;
  }
  const float s = simd::sum2(vec, [m](auto v, auto) { return simd::exp(v - splat(v, m)); }, C, x, x);
  const float log_s = simd::log(s);
  simd::map1(vec, [m, log_s](auto v) { return v - splat(v, m) - splat(v, log_s); }, C, x, y);
}

void softmax_backward_row(int64_t C, const float* grad_y, const float* y, float* grad_x) {
  const bool vec = !use_reference();
  const float dot = simd::sum2(vec, [](auto g, auto p) { return g * p; }, C, grad_y, y);
  simd::map2(vec, [dot](auto g, auto p) { return p * (g - splat(g, dot)); }, C, grad_y, y, grad_x);
}

void log_softmax_backward_row(int64_t C, const float* grad_y, const float* y, float* grad_x) {
  const bool vec = !use_reference();
  const float s = simd::sum2(vec, [](auto g, auto) { return g; }, C, grad_y, grad_y);
  simd::map2(vec, [s](auto g, auto ly) { return g - simd::exp(ly) * splat(g, s); }, C, grad_y, y, grad_x);
}

// ---- columns -------------------------------------------------------------------------------
// The same algorithms with per-column statistics in small arrays; each step walks one row of the
// block (n contiguous floats), so the vector loops run along the columns.
void softmax_cols(int64_t C, int64_t n, int64_t ld, const float* x, float* y) {
  const bool vec = !use_reference();
  alignas(64) float m[kSoftmaxColBlock], s[kSoftmaxColBlock];
  std::fill(m, m + n, kNegInf);
  std::fill(s, s + n, 0.f);
  auto max_nan = [](auto a, auto b) { return simd::max_nan(a, b); };
  for (int64_t c = 0; c < C; ++c) simd::map2(vec, max_nan, n, m, x + c * ld, m);
  // A column whose maximum is -inf is entirely -inf: its exps are 0 instead of exp(NaN).
  auto e = [](auto v, auto mx) {
    return simd::select(mx == splat(mx, kNegInf), splat(mx, 0.f), simd::exp(v - mx));
  };
  for (int64_t c = 0; c < C; ++c) {
    simd::map2(vec, e, n, x + c * ld, m, y + c * ld);
    simd::map2(vec, [](auto acc, auto v) { return acc + v; }, n, s, y + c * ld, s);
  }
  simd::map2(vec, [](auto sum, auto mx) {
    return simd::select(mx == splat(mx, kNegInf), splat(mx, 0.f), splat(mx, 1.f) / sum);
  }, n, s, m, s);
  for (int64_t c = 0; c < C; ++c)
    simd::map2(vec, [](auto v, auto inv) { return v * inv; }, n, y + c * ld, s, y + c * ld);
}

void log_softmax_cols(int64_t C, int64_t n, int64_t ld, const float* x, float* y) {
  const bool vec = !use_reference();
  alignas(64) float m[kSoftmaxColBlock], s[kSoftmaxColBlock];
  std::fill(m, m + n, kNegInf);
  std::fill(s, s + n, 0.f);
  auto max_nan = [](auto a, auto b) { return simd::max_nan(a, b); };
  for (int64_t c = 0; c < C; ++c) simd::map2(vec, max_nan, n, m, x + c * ld, m);
  for (int64_t c = 0; c < C; ++c)
    simd::map3(vec, [](auto acc, auto v, auto mx) { return acc + simd::exp(v - mx); }, n, s, x + c * ld, m, s);
  // s becomes the per-column shift m + log(sum); an all -inf column gets shift 0 (so -inf stays).
  simd::map2(vec, [](auto sum, auto mx) {
    return simd::select(mx == splat(mx, kNegInf), splat(mx, 0.f), simd::log(sum));
  }, n, s, m, s);
  for (int64_t c = 0; c < C; ++c)
    simd::map3(vec, [](auto v, auto mx, auto ls) {
      return simd::select(mx == splat(mx, kNegInf), splat(mx, kNegInf), v - mx - ls);
    }, n, x + c * ld, m, s, y + c * ld);
}

void softmax_backward_cols(int64_t C, int64_t n, int64_t ld, const float* grad_y, const float* y, float* grad_x) {
  const bool vec = !use_reference();
  alignas(64) float dot[kSoftmaxColBlock];
  std::fill(dot, dot + n, 0.f);
  for (int64_t c = 0; c < C; ++c)
    simd::map3(vec, [](auto acc, auto g, auto p) { return acc + g * p; }, n, dot, grad_y + c * ld, y + c * ld, dot);
  for (int64_t c = 0; c < C; ++c)
    simd::map3(vec, [](auto g, auto p, auto d) { return p * (g - d); }, n, grad_y + c * ld, y + c * ld, dot,
               grad_x + c * ld);
}

void log_softmax_backward_cols(int64_t C, int64_t n, int64_t ld, const float* grad_y, const float* y,
                               float* grad_x) {
  const bool vec = !use_reference();
  alignas(64) float s[kSoftmaxColBlock];
  std::fill(s, s + n, 0.f);
  for (int64_t c = 0; c < C; ++c)
    simd::map2(vec, [](auto acc, auto g) { return acc + g; }, n, s, grad_y + c * ld, s);
  for (int64_t c = 0; c < C; ++c)
    simd::map3(vec, [](auto g, auto ly, auto sum) { return g - simd::exp(ly) * sum; }, n, grad_y + c * ld,
               y + c * ld, s, grad_x + c * ld);
}

}  // namespace tz::kernels
