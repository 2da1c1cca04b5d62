// The small vocabulary the kernels are written in: one spelling of each math function for `float`
// and for `Vec` (an xsimd batch of floats at the build's best instruction set), so a kernel body
// written as a template on V runs unchanged in the vector loop, the scalar tail and the scalar
// reference path. The float overloads use std:: functions (the reference definitions); the Vec
// overloads use xsimd's, which stay within a few ulp of them. (fast_math.h has our own exp and
// erf; inside softmax they are no faster than xsimd's, so only the GELU kernels use them, through
// gelu.h.)
// Private to tensor/kernels/*.cpp: xsimd types never reach a public header.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

#include "tensor/kernels/xsimd.h"

namespace tz::kernels::simd {

using Vec = xsimd::batch<float>;
using VecMask = xsimd::batch_bool<float>;
inline constexpr int64_t kWidth = static_cast<int64_t>(Vec::size);

// Unaligned loads and stores: tensor views start anywhere in their storage.
inline Vec load(const float* p) { return Vec::load_unaligned(p); }
inline void store(float* p, const Vec& v) { v.store_unaligned(p); }

inline float exp(float x) { return std::exp(x); }
inline Vec exp(const Vec& x) { return xsimd::exp(x); }
inline float log(float x) { return std::log(x); }
inline Vec log(const Vec& x) { return xsimd::log(x); }
inline float tanh(float x) { return std::tanh(x); }
inline Vec tanh(const Vec& x) { return xsimd::tanh(x); }
inline float erf(float x) { return std::erf(x); }
inline Vec erf(const Vec& x) { return xsimd::erf(x); }
inline float sqrt(float x) { return std::sqrt(x); }
inline Vec sqrt(const Vec& x) { return xsimd::sqrt(x); }
inline float abs(float x) { return std::fabs(x); }
inline Vec abs(const Vec& x) { return xsimd::abs(x); }

inline float select(bool c, float a, float b) { return c ? a : b; }
inline Vec select(const VecMask& c, const Vec& a, const Vec& b) { return xsimd::select(c, a, b); }

// Not `x != x`: xsimd 8.1 compiles != on AVX to an ordered compare, false for NaN.
inline bool isnan(float x) { return std::isnan(x); }
inline VecMask isnan(const Vec& x) { return xsimd::isnan(x); }

/// NaN-propagating maximum: once either side is NaN the result is NaN (as torch.amax), which
/// plain max instructions do not guarantee.
inline float max_nan(float acc, float x) { return (x > acc || isnan(x)) ? x : acc; }
inline Vec max_nan(const Vec& acc, const Vec& x) { return xsimd::select((x > acc) | isnan(x), x, acc); }

/// Horizontal reductions of one vector.
inline float hsum(const Vec& v) { return xsimd::hadd(v); }
inline float hmax_nan(const Vec& v) {
  alignas(64) float lanes[kWidth];
  v.store_aligned(lanes);
  float m = lanes[0];
  for (int64_t i = 1; i < kWidth; ++i) m = max_nan(m, lanes[i]);
  return m;
}

inline constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// ---- loops over contiguous rows, shared by the row kernels -----------------------------------
// `vec` false runs the scalar reference: the same functor on floats, left to right.
// Sums keep two vector accumulators; the reference sums sequentially.

/// y[i] = f(a[i])
template <class F>
void map1(bool vec, F f, int64_t n, const float* a, float* y) {
  int64_t i = 0;
  if (vec)
    for (; i + kWidth <= n; i += kWidth) store(y + i, f(load(a + i)));
  for (; i < n; ++i) y[i] = f(a[i]);
}

/// y[i] = f(a[i], b[i])
template <class F>
void map2(bool vec, F f, int64_t n, const float* a, const float* b, float* y) {
  int64_t i = 0;
  if (vec)
    for (; i + kWidth <= n; i += kWidth) store(y + i, f(load(a + i), load(b + i)));
  for (; i < n; ++i) y[i] = f(a[i], b[i]);
}

/// y[i] = f(a[i], b[i], c[i])
template <class F>
void map3(bool vec, F f, int64_t n, const float* a, const float* b, const float* c, float* y) {
  int64_t i = 0;
  if (vec)
    for (; i + kWidth <= n; i += kWidth) store(y + i, f(load(a + i), load(b + i), load(c + i)));
  for (; i < n; ++i) y[i] = f(a[i], b[i], c[i]);
}

/// sum of f(a[i], b[i]) (pass b = a for a one-input sum)
template <class F>
float sum2(bool vec, F f, int64_t n, const float* a, const float* b) {
  float s = 0.f;
  int64_t i = 0;
  if (vec && n >= kWidth) {
    Vec s0(0.f), s1(0.f);
    for (; i + 2 * kWidth <= n; i += 2 * kWidth) {
      s0 += f(load(a + i), load(b + i));
      s1 += f(load(a + i + kWidth), load(b + i + kWidth));
    }
    for (; i + kWidth <= n; i += kWidth) s0 += f(load(a + i), load(b + i));
    s = hsum(s0 + s1);
  }
  for (; i < n; ++i) s += f(a[i], b[i]);
  return s;
}

/// sum of f(a[i], b[i], c[i])
template <class F>
float sum3(bool vec, F f, int64_t n, const float* a, const float* b, const float* c) {
  float s = 0.f;
  int64_t i = 0;
  if (vec && n >= kWidth) {
    Vec s0(0.f);
    for (; i + kWidth <= n; i += kWidth) s0 += f(load(a + i), load(b + i), load(c + i));
    s = hsum(s0);
  }
  for (; i < n; ++i) s += f(a[i], b[i], c[i]);
  return s;
}

/// Two sums in one pass: f(a[i], b[i], s, s2) adds its terms into s and s2 (floats on the
/// reference path, left to right; two pairs of vector accumulators on the vector path).
struct SumPair {
  float first, second;
};
template <class F>
SumPair sum_pair(bool vec, F f, int64_t n, const float* a, const float* b) {
  float s = 0.f, s2 = 0.f;
  int64_t i = 0;
  if (vec && n >= kWidth) {
    Vec p0(0.f), p1(0.f), q0(0.f), q1(0.f);
    for (; i + 2 * kWidth <= n; i += 2 * kWidth) {
      f(load(a + i), load(b + i), p0, q0);
      f(load(a + i + kWidth), load(b + i + kWidth), p1, q1);
    }
    for (; i + kWidth <= n; i += kWidth) f(load(a + i), load(b + i), p0, q0);
    s = hsum(p0 + p1);
    s2 = hsum(q0 + q1);
  }
  for (; i < n; ++i) f(a[i], b[i], s, s2);
  return {s, s2};
}

/// sum_pair with three inputs: f(a[i], b[i], c[i], s, s2).
template <class F>
SumPair sum_pair3(bool vec, F f, int64_t n, const float* a, const float* b, const float* c) {
  float s = 0.f, s2 = 0.f;
  int64_t i = 0;
  if (vec && n >= kWidth) {
    Vec p0(0.f), p1(0.f), q0(0.f), q1(0.f);
    for (; i + 2 * kWidth <= n; i += 2 * kWidth) {
      f(load(a + i), load(b + i), load(c + i), p0, q0);
      f(load(a + i + kWidth), load(b + i + kWidth), load(c + i + kWidth), p1, q1);
    }
    for (; i + kWidth <= n; i += kWidth) f(load(a + i), load(b + i), load(c + i), p0, q0);
    s = hsum(p0 + p1);
    s2 = hsum(q0 + q1);
  }
  for (; i < n; ++i) f(a[i], b[i], c[i], s, s2);
  return {s, s2};
}

/// Updates two arrays in one pass: f(y[i], z[i], a[i], b[i]) modifies y[i] and z[i] in place.
template <class F>
void update2(bool vec, F f, int64_t n, float* y, float* z, const float* a, const float* b) {
  int64_t i = 0;
  if (vec)
    for (; i + kWidth <= n; i += kWidth) {
      Vec vy = load(y + i), vz = load(z + i);
      f(vy, vz, load(a + i), load(b + i));
      store(y + i, vy);
      store(z + i, vz);
    }
  for (; i < n; ++i) f(y[i], z[i], a[i], b[i]);
}

/// y[i] = f(a[i]); returns the sum of the y[i]
template <class F>
float map1_sum(bool vec, F f, int64_t n, const float* a, float* y) {
  float s = 0.f;
  int64_t i = 0;
  if (vec && n >= kWidth) {
    Vec s0(0.f);
    for (; i + kWidth <= n; i += kWidth) {
      Vec v = f(load(a + i));
      store(y + i, v);
      s0 += v;
    }
    s = hsum(s0);
  }
  for (; i < n; ++i) {
    y[i] = f(a[i]);
    s += y[i];
  }
  return s;
}

/// The float or Vec constant matching the type of `like` (for generic lambdas).
template <class V>
V splat(const V&, float v) {
  return V(v);
}

}  // namespace tz::kernels::simd
