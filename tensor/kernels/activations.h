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

}  // namespace tz::kernels::act
