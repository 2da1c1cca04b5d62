// The kernel of each activation in tz::Pointwise (tensor/pointwise.h): one struct per activation,
// its value above its backward (grad * f'(x), with x the forward input), so the math of both
// directions is read in one place. Each is written once as a template on V (float or simd::Vec)
// where one expression serves both the scalar reference and the vector path; where the vector path
// needs another formula (for speed or to avoid cancellation) the struct has a float overload (the
// reference: PyTorch's formula in its operation order, std:: math) and a Vec overload.
// `name` is the op's name in errors and graph nodes. GELU's two forms live in gelu.h (numerics of
// their own). Dispatch from tz::Pointwise: `visit` in elementwise.cpp; loops and threads:
// elementwise.cpp and tensor/elementwise_ops.cpp. Tests: tests/tensor/test_elementwise.cpp.
#pragma once

#include <cmath>

#include "tensor/kernels/gelu.h"
#include "tensor/kernels/simd.h"

namespace tz::kernels::act {

using gelu::Gelu;
using gelu::GeluNew;
using simd::Vec;

// x sigmoid(x), written x / (1 + e^-x) as PyTorch's silu kernel.
struct Silu {
  static constexpr const char* name = "silu";
  template <class V> V operator()(V x) const { return x / (V(1.f) + simd::exp(-x)); }

  // With s = sigmoid(x): d/dx [x s] = s (1 + x (1 - s))
  template <class V> V backward(V g, V x) const {
    V s = V(1.f) / (V(1.f) + simd::exp(-x));
    return g * s * (V(1.f) + x * (V(1.f) - s));
  }
};

// HF's quick_gelu: x sigmoid(1.702 x), the sigmoid taken first as HF writes it.
struct QuickGelu {
  static constexpr const char* name = "quick_gelu";
  static constexpr float kScale = 1.702f;
  template <class V> V operator()(V x) const { return x * (V(1.f) / (V(1.f) + simd::exp(-(V(kScale) * x)))); }

  // With s = sigmoid(k x): d/dx [x s] = s (1 + k x (1 - s))
  template <class V> V backward(V g, V x) const {
    const V s = V(1.f) / (V(1.f) + simd::exp(-(V(kScale) * x)));
    return g * (s * (V(1.f) + V(kScale) * x * (V(1.f) - s)));
  }
};

// x tanh(softplus(x)). The reference follows PyTorch's mish kernels: tanh(log1p(exp(x))) and
// t + x sigmoid(x) (1 - t^2). The vector path needs one exp: with e = e^x and n = e (e + 2),
//   tanh(log(1 + e)) = ((1 + e)^2 - 1) / ((1 + e)^2 + 1) = n / (n + 2),
//   sigmoid(x) (1 - t^2) = e/(1 + e) * 4 (1 + e)^2 / (n + 2)^2 = 4 e (1 + e) / (n + 2)^2,
// with no cancellation anywhere. e is taken at min(x, 20): beyond, n / (n + 2) rounds to 1 and the
// second term is below 1e-16 x, while e^2 would overflow from x = 44 on. NaN passes the clamp.
struct Mish {
  static constexpr const char* name = "mish";
  static constexpr float kClamp = 20.f;
  float operator()(float x) const { return x * std::tanh(std::log1p(std::exp(x))); }
  Vec operator()(const Vec& x) const {
    const Vec e = simd::exp(simd::select(x > Vec(kClamp), Vec(kClamp), x));
    const Vec n = e * (e + Vec(2.f));
    return x * (n / (n + Vec(2.f)));
  }

  float backward(float g, float x) const {
    const float sigmoid = 1.f / (1.f + std::exp(-x));
    const float t = std::tanh(std::log1p(std::exp(x)));
    return g * (t + x * sigmoid * (1.f - t * t));
  }
  Vec backward(const Vec& g, const Vec& x) const {
    const Vec e = simd::exp(simd::select(x > Vec(kClamp), Vec(kClamp), x));
    const Vec n = e * (e + Vec(2.f));
    const Vec d = n + Vec(2.f);
    const Vec t = n / d;
    return g * (t + x * (Vec(4.f) * e * (Vec(1.f) + e) / (d * d)));
  }
};

// min(max(x, 0), 6) as PyTorch's hardtanh(x, 0, 6): the bounds are taken at x <= 0 and x >= 6
// (so -0 gives +0), NaN passes through; the gradient is g strictly inside (0, 6), else 0.
struct Relu6 {
  static constexpr const char* name = "relu6";
  template <class V> V operator()(V x) const {
    return simd::select(x <= V(0.f), V(0.f), simd::select(x >= V(6.f), V(6.f), x));
  }
  template <class V> V backward(V g, V x) const {
    return simd::select(x <= V(0.f), V(0.f), simd::select(x >= V(6.f), V(0.f), g));
  }
};

}  // namespace tz::kernels::act
