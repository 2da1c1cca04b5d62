// GELU in HF's two spellings ("gelu": x Phi(x) with erf; "gelu_new": the tanh approximation), each
// one kernel struct of tensor/pointwise.h's list: its value above its backward (grad * f'(x)),
// each with a float overload (the scalar reference: PyTorch's formula in its operation order, std::
// math) and a simd::Vec overload (the fast path). Used through activations.h by the elementwise
// kernels (elementwise.cpp) and by the fused inference epilogues (fused.cpp), so both compute the
// same values. GELU has a file of its own for the numerics of its vector paths, which use identities
// that avoid the reference's cancellation in 1 + erf / 1 + tanh:
//   gelu:      x Phi(x), Phi from fast_math::normal_cdf (polynomials, no exp in |x| <= 2.5)
//   gelu':     fast_math::gelu_derivative = Phi(x) + x phi(x)
//   gelu_new:  x/2 (1 + tanh(a)) = x sigmoid(2a) = x / (1 + exp(-2a)),  a = sqrt(2/pi)(x + 0.044715 x^3)
//   gelu_new': with s = sigmoid(2a): s (1 + 2 sqrt(2/pi) x (1 - s)(1 + 3 0.044715 x^2)),
//              1 - s = exp(-2a) s
// They agree with the reference to a few 1e-8 absolute (see tests/tensor/test_fast_math.cpp).
#pragma once

#include <cmath>

#include "tensor/kernels/fast_math.h"
#include "tensor/kernels/simd.h"

namespace tz::kernels::gelu {

using simd::Vec;

inline constexpr float kSqrt1_2 = 0.70710678118654752440f;      // 1/sqrt(2)
inline constexpr float kInvSqrt2Pi = 0.39894228040143267794f;   // 1/sqrt(2 pi)
inline constexpr float kSqrt2OverPi = 0.79788456080286535588f;  // sqrt(2/pi)
inline constexpr float kGeluNewCubic = 0.044715f;

struct Gelu {
  static constexpr const char* name = "gelu";
  float operator()(float x) const { return x * 0.5f * (1.f + std::erf(x * kSqrt1_2)); }
  Vec operator()(const Vec& x) const { return x * fast_math::normal_cdf(x); }

  // d/dx [x Phi(x)] = Phi(x) + x phi(x)
  float backward(float g, float x) const {
    const float cdf = 0.5f * (1.f + std::erf(x * kSqrt1_2));
    const float pdf = kInvSqrt2Pi * std::exp(-0.5f * x * x);
    return g * (cdf + x * pdf);
  }
  Vec backward(const Vec& g, const Vec& x) const { return g * fast_math::gelu_derivative(x); }
};

struct GeluNew {
  static constexpr const char* name = "gelu_new";
  float operator()(float x) const {
    const float inner = kSqrt2OverPi * (x + kGeluNewCubic * (x * x * x));
    return 0.5f * x * (1.f + std::tanh(inner));
  }
  Vec operator()(const Vec& x) const {
    const Vec two_a = Vec(2.f * kSqrt2OverPi) * kernels::fma(Vec(kGeluNewCubic) * x, x * x, x);
    return x / (Vec(1.f) + fast_math::exp(-two_a));
  }

  // With t = tanh(a): d/dx = (1 + t)/2 + x/2 (1 - t^2) sqrt(2/pi) (1 + 3 c x^2)
  float backward(float g, float x) const {
    const float x2 = x * x;
    const float t = std::tanh(kSqrt2OverPi * (x + kGeluNewCubic * (x2 * x)));
    const float left = 0.5f * (1.f + t);
    const float right = 0.5f * x * (1.f - t * t) * kSqrt2OverPi * (1.f + 3.f * kGeluNewCubic * x2);
    return g * (left + right);
  }
  Vec backward(const Vec& g, const Vec& x) const {
    const Vec x2 = x * x;
    const Vec two_a = Vec(2.f * kSqrt2OverPi) * kernels::fma(Vec(kGeluNewCubic) * x, x2, x);
    const Vec e = fast_math::exp(-two_a);
    const Vec s = Vec(1.f) / (Vec(1.f) + e);
    // e s, not 1 - s, which cancels for large x; where e overflows (x below about -9.5) s is 0
    // and 1 - s is 1, which keeps the result 0 instead of inf * 0.
    const Vec one_minus_s = simd::select(s == Vec(0.f), Vec(1.f), e * s);
    const Vec slope = Vec(2.f * kSqrt2OverPi) * x * one_minus_s * kernels::fma(Vec(3.f * kGeluNewCubic), x2, Vec(1.f));
    return g * kernels::fma(s, slope, s);
  }
};

}  // namespace tz::kernels::gelu
