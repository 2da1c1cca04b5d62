// Helpers for the kernel tests (test_elementwise/reduce/softmax/layer_norm/copy.cpp): random
// tensors, non-contiguous and broadcast views built directly with Tensor::view_of (independent of
// the view ops), running an op under both kernel modes, and closeness checks that report the worst
// element.
#pragma once

#include <catch2/catch.hpp>

#include <cmath>
#include <climits>
#include <cstdint>
#include <cstring>
#include <functional>
#include <sstream>
#include <vector>

#include "tensor/kernels/kernel_mode.h"
#include "tensor/ops.h"

namespace tz::test {

/// Sizes that are and are not multiples of the SIMD width (4, 8 or 16 floats).
inline const std::vector<int64_t> kOddSizes = {1, 7, 15, 16, 17, 1000, 4099};

/// Error bounds of the polynomial kernels (fast_math.h) are set for a build with fused multiply-add
/// (every AVX2 or AVX-512 host build). A portable build (TZ_NATIVE=OFF: -march=x86-64, SSE2, no
/// FMA) rounds each Horner step twice and loses up to about one more ulp of 1 in absolute terms
/// (measured there: Phi 1.16e-7, Phi tails 64 ulp, gelu' 2.17e-7, gelu 1.07e-7, against bounds of
/// 1e-7, 16 ulp, 2e-7 and 1e-7 here): those bounds are multiplied by this factor.
#if defined(__FMA__) || defined(__AVX512F__)
inline constexpr double kNoFmaSlack = 1.0;
#else
inline constexpr double kNoFmaSlack = 8.0;
#endif

/// A float32 tensor from a braced list (raw::from_vector is ambiguous for braced lists).
inline Tensor fvec(const std::vector<float>& values, const Shape& shape) { return raw::from_vector(values, shape); }

inline Tensor uniform(const Shape& shape, Generator& gen, float lo = -3.f, float hi = 3.f) {
  return raw::rand(shape, gen, lo, hi);
}

/// Random values seen through a view whose last dim has stride 2 and whose first element sits at
/// offset 1 of its storage: non-contiguous and unaligned.
inline Tensor strided_uniform(const Shape& shape, Generator& gen, float lo = -3.f, float hi = 3.f) {
  Shape big = shape;
  if (big.empty()) big.push_back(1);
  big.back() = big.back() * 2 + 1;
  Tensor base = raw::rand(big, gen, lo, hi);
  Shape strides = base.strides();
  strides.back() = 2;
  strides.resize(shape.size());
  return Tensor::view_of(base.storage(), DType::Float32, shape, strides, 1);
}

/// A [R, C] view of a contiguous [C, R] tensor (strides [1, R]): the transposed layout.
inline Tensor transposed_uniform(int64_t R, int64_t C, Generator& gen, float lo = -3.f, float hi = 3.f) {
  Tensor base = raw::rand({C, R}, gen, lo, hi);
  return Tensor::view_of(base.storage(), DType::Float32, {R, C}, {1, R}, 0);
}

/// `t` broadcast to `shape` with stride-0 dims (like expand).
inline Tensor broadcast_view(const Tensor& t, const Shape& shape) {
  const size_t nd = shape.size(), nt = t.shape().size();
  Shape strides(nd, 0);
  for (size_t i = 0; i < nt; ++i)
    if (t.shape()[i] != 1) strides[nd - nt + i] = t.strides()[i];
  return Tensor::view_of(t.storage(), t.dtype(), shape, strides, t.offset());
}

/// Runs f once with the scalar reference kernels and once with the vectorised ones.
template <class F>
auto both_modes(F&& f) {
  using kernels::KernelMode;
  using kernels::KernelModeGuard;
  auto ref = [&] {
    KernelModeGuard g(KernelMode::Reference);
    return f();
  }();
  auto vec = [&] {
    KernelModeGuard g(KernelMode::Simd);
    return f();
  }();
  return std::make_pair(ref, vec);
}

/// Distance in units in the last place between two floats (0 when both are the same NaN/inf).
inline int64_t ulp_distance(float a, float b) {
  if (a == b || (std::isnan(a) && std::isnan(b))) return 0;
  if (std::isnan(a) || std::isnan(b) || std::isinf(a) || std::isinf(b)) return INT64_MAX;
  auto key = [](float f) {
    int32_t i;
    std::memcpy(&i, &f, 4);
    return i < 0 ? int64_t{INT32_MIN} - i : int64_t{i};
  };
  return std::llabs(key(a) - key(b));
}

/// Checks every element: |got - want| <= atol + rtol |want|, or within max_ulp ulp.
/// Reports the first offending index and the values.
inline void check_close(const std::vector<float>& got, const std::vector<double>& want, double rtol,
                        double atol, int64_t max_ulp = 0, const std::string& what = "") {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    const double g = got[i], w = want[i];
    if (g == w || (std::isnan(g) && std::isnan(w))) continue;
    const bool close = std::fabs(g - w) <= atol + rtol * std::fabs(w) ||
                       (max_ulp > 0 && ulp_distance(got[i], static_cast<float>(w)) <= max_ulp);
    if (!close) {
      std::ostringstream os;
      os << what << " element " << i << " of " << got.size() << ": got " << g << ", want " << w
         << " (diff " << std::fabs(g - w) << ", " << ulp_distance(got[i], static_cast<float>(w)) << " ulp)";
      FAIL(os.str());
    }
  }
}

inline void check_close(const Tensor& got, const Tensor& want, double rtol, double atol, int64_t max_ulp = 0,
                        const std::string& what = "") {
  REQUIRE(got.shape() == want.shape());
  auto w = want.to_vector<float>();
  check_close(got.to_vector<float>(), std::vector<double>(w.begin(), w.end()), rtol, atol, max_ulp, what);
}

inline std::vector<double> to_double(const Tensor& t) {
  auto v = t.to_vector<float>();
  return std::vector<double>(v.begin(), v.end());
}

}  // namespace tz::test
