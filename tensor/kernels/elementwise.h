// Elementwise kernels over one strided run: y[i*sy] = f(x[i*sx]) (unary), f(a[i*sa], b[i*sb])
// (binary) or cond[i] != 0 ? a[i] : b[i] (where). A stride of 1 is a contiguous run, 0 a
// broadcast value; runs with unit or zero strides take the vector loop, any other stride a scalar
// loop over the same function. Each op is defined once, as a template on float / SIMD vector, in
// elementwise.cpp, where the scalar reference path (std:: math) sits beside the vector loop.
// Not here: shapes, broadcasting and threads (tensor/elementwise_ops.cpp drives these kernels).
#pragma once

#include <cstdint>

namespace tz::kernels {

enum class UnaryOp {
  Neg, Exp, Log, Sqrt, Rsqrt, Tanh, Erf, Sigmoid, Abs, Relu,
  Gelu,       // x/2 (1 + erf(x/sqrt 2))
  GeluNew,    // x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
  Silu,       // x sigmoid(x)
  AddScalar,  // x + p
  MulScalar,  // x * p
  GtScalar,   // x > p ? 1 : 0
  PowScalar,  // x^p; p in {0, ±0.5, ±1, 2, 3, -2} vectorised, other exponents use std::pow
  Copy,
};

enum class BinaryOp {
  Add, Sub, Mul, Div,
  AddScaled,        // a + p * b
  Eq,               // a == b ? 1 : 0
  GeluBackward,     // a * gelu'(b)      (a = grad, b = forward input)
  GeluNewBackward,  // a * gelu_new'(b)
  SiluBackward,     // a * silu'(b)
};

/// x [n] stride sx -> y [n] stride sy; p is the op's scalar (ignored by ops without one).
/// y may alias x when sy == sx (in-place).
void unary_run(UnaryOp op, float p, int64_t n, const float* x, int64_t sx, float* y, int64_t sy);

/// a [n] stride sa, b [n] stride sb -> y [n] stride sy. y may alias a (in-place).
void binary_run(BinaryOp op, float p, int64_t n, const float* a, int64_t sa, const float* b,
                int64_t sb, float* y, int64_t sy);

/// cond [n] stride sc, a [n] stride sa, b [n] stride sb -> y [n] stride sy:
/// y = cond != 0 ? a : b.
void where_run(int64_t n, const float* cond, int64_t sc, const float* a, int64_t sa, const float* b,
               int64_t sb, float* y, int64_t sy);

}  // namespace tz::kernels
