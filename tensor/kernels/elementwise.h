// Elementwise kernels over one strided run: y[i*sy] = f(x[i*sx]) (unary), f(a[i*sa], b[i*sb])
// (binary), an activation of tz::Pointwise and its backward (pointwise), or cond[i] != 0 ? a[i] :
// b[i] (where). A stride of 1 is a contiguous run, 0 a broadcast value; runs with unit or zero
// strides take the vector loop, any other stride a scalar loop over the same function. Each op is
// defined once, as a template on float / SIMD vector, in elementwise.cpp (activations: their
// structs in activations.h), where the scalar reference path (std:: math) sits beside the vector loop.
// Not here: shapes, broadcasting and threads (tensor/elementwise_ops.cpp drives these kernels).
#pragma once

#include <cstdint>

namespace tz {
enum class Pointwise : uint8_t;  // the list of activations: tensor/pointwise.h
}

namespace tz::kernels {

enum class UnaryOp {
  Neg, Exp, Log, Sqrt, Rsqrt, Tanh, Erf, Sigmoid, Abs, Relu,
  AddScalar,  // x + p
  MulScalar,  // x * p
  GtScalar,   // x > p ? 1 : 0
  PowScalar,  // x^p; p in {0, ±0.5, ±1, 2, 3, -2} vectorised, other exponents use std::pow
  Copy,
};

enum class BinaryOp {
  Add, Sub, Mul, Div,
  AddScaled,  // a + p * b
  Eq,         // a == b ? 1 : 0
};

/// x [n] stride sx -> y [n] stride sy; p is the op's scalar (ignored by ops without one).
/// y may alias x when sy == sx (in-place).
void unary_run(UnaryOp op, float p, int64_t n, const float* x, int64_t sx, float* y, int64_t sy);

/// a [n] stride sa, b [n] stride sb -> y [n] stride sy. y may alias a (in-place).
void binary_run(BinaryOp op, float p, int64_t n, const float* a, int64_t sa, const float* b,
                int64_t sb, float* y, int64_t sy);

/// x [n] stride sx -> y [n] stride sy: y = f(x) for an activation f. y may alias x.
void pointwise_run(Pointwise f, int64_t n, const float* x, int64_t sx, float* y, int64_t sy);

/// g [n] stride sg, x [n] stride sx -> y [n] stride sy: y = g * f'(x), the backward of
/// pointwise_run (x is the forward input). y may alias g.
void pointwise_backward_run(Pointwise f, int64_t n, const float* g, int64_t sg, const float* x, int64_t sx,
                            float* y, int64_t sy);

/// f's name in errors and graph nodes ("gelu").
const char* pointwise_name(Pointwise f);

/// cond [n] stride sc, a [n] stride sa, b [n] stride sb -> y [n] stride sy:
/// y = cond != 0 ? a : b.
void where_run(int64_t n, const float* cond, int64_t sc, const float* a, int64_t sa, const float* b,
               int64_t sb, float* y, int64_t sy);

}  // namespace tz::kernels
