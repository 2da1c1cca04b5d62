// Elementwise ops of tz::raw: shape and dtype checks, NumPy broadcasting, and the parallel walk over
// strided runs (kernels/strided.h) that feeds the kernels in kernels/elementwise.h, the activations
// of tensor/pointwise.h among them. Also max_abs_diff, the comparison helper tests use. Not here:
// reductions (reduce_ops.cpp), copies (copy_ops.cpp).
#include <cmath>
#include <limits>
#include <string>

#include "tensor/kernels/elementwise.h"
#include "tensor/kernels/strided.h"
#include "tensor/ops.h"

namespace tz::raw {
namespace {

using kernels::BinaryOp;
using kernels::UnaryOp;

void check_float(const Tensor& t, const char* op) {
  TZ_CHECK(t.dtype() == DType::Float32, op, ": expected a float32 tensor, got ", dtype_name(t.dtype()),
           " ", shape_str(t.shape()));
}

void check_float2(const Tensor& a, const Tensor& b, const char* op) {
  TZ_CHECK(a.dtype() == DType::Float32 && b.dtype() == DType::Float32, op,
           ": expected float32 tensors, got ", dtype_name(a.dtype()), " ", shape_str(a.shape()), " and ",
           dtype_name(b.dtype()), " ", shape_str(b.shape()));
}

// In-place ops write through `t`: its storage must be writable and no two of its elements may
// share memory (an expanded view), or parallel chunks would race and results would depend on order.
void check_writable(const Tensor& t, const char* op) {
  TZ_CHECK(t.storage()->writable(), op, ": cannot write into read-only storage (shape ",
           shape_str(t.shape()), ")");
  for (int64_t d = 0; d < t.dim(); ++d)
    TZ_CHECK(t.shape()[d] <= 1 || t.strides()[d] != 0, op, ": cannot write into a broadcast view (shape ",
             shape_str(t.shape()), ", strides ", shape_str(t.strides()), ")");
}

// `b` must broadcast to exactly `shape` (the shape of the tensor written in place).
void check_broadcasts_to(const Tensor& b, const Shape& shape, const char* op, const char* what) {
  Shape s = broadcast_shapes(shape, b.shape(), op);
  TZ_CHECK(s == shape, op, ": ", what, " shape ", shape_str(b.shape()), " does not broadcast to ",
           shape_str(shape));
}

// out = run(x) over a's strided runs; run(n, x, sx, y, sy) is one kernel call.
template <class Run>
Tensor unary(const Tensor& a, const char* name, int64_t grain, Run run) {
  check_float(a, name);
  Tensor out = Tensor::uninitialized(a.shape());
  const auto L = kernels::plan_layout<2>(a.shape(), {out.strides(), a.strides()});
  float* y = out.data<float>();
  const float* x = a.data<float>();
  kernels::parallel_runs(L, grain, [&](const auto& off, const auto& st, int64_t n) {
    run(n, x + off[1], st[1], y + off[0], st[0]);
  });
  return out;
}

Tensor unary(const Tensor& a, UnaryOp op, float p, const char* name, int64_t grain) {
  return unary(a, name, grain, [&](int64_t n, const float* x, int64_t sx, float* y, int64_t sy) {
    kernels::unary_run(op, p, n, x, sx, y, sy);
  });
}

// out = run(a, b) broadcast; run(n, a, sa, b, sb, y, sy) is one kernel call.
template <class Run>
Tensor binary(const Tensor& a, const Tensor& b, const char* name, int64_t grain, Run run) {
  check_float2(a, b, name);
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), name);
  Tensor out = Tensor::uninitialized(shape);
  const auto L = kernels::plan_layout<3>(
      shape, {out.strides(), kernels::broadcast_strides(a, shape), kernels::broadcast_strides(b, shape)});
  float* y = out.data<float>();
  const float* pa = a.data<float>();
  const float* pb = b.data<float>();
  kernels::parallel_runs(L, grain, [&](const auto& off, const auto& st, int64_t n) {
    run(n, pa + off[1], st[1], pb + off[2], st[2], y + off[0], st[0]);
  });
  return out;
}

Tensor binary(const Tensor& a, const Tensor& b, BinaryOp op, float p, const char* name, int64_t grain) {
  return binary(a, b, name, grain, [&](int64_t n, const float* x, int64_t sx, const float* z, int64_t sz, float* y,
                                       int64_t sy) { kernels::binary_run(op, p, n, x, sx, z, sz, y, sy); });
}

constexpr int64_t kCheap = kernels::kGrainCheap;
constexpr int64_t kHeavy = kernels::kGrainHeavy;

}  // namespace

// ---- binary --------------------------------------------------------------------------------
Tensor add(const Tensor& a, const Tensor& b) { return binary(a, b, BinaryOp::Add, 0.f, "add", kCheap); }
Tensor sub(const Tensor& a, const Tensor& b) { return binary(a, b, BinaryOp::Sub, 0.f, "sub", kCheap); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary(a, b, BinaryOp::Mul, 0.f, "mul", kCheap); }
Tensor div(const Tensor& a, const Tensor& b) { return binary(a, b, BinaryOp::Div, 0.f, "div", kCheap); }
Tensor add(const Tensor& a, double b) {
  return unary(a, UnaryOp::AddScalar, static_cast<float>(b), "add", kCheap);
}
Tensor mul(const Tensor& a, double b) {
  return unary(a, UnaryOp::MulScalar, static_cast<float>(b), "mul", kCheap);
}

void add_(const Tensor& a, const Tensor& b, double alpha) {
  check_float2(a, b, "add_");
  check_writable(a, "add_");
  check_broadcasts_to(b, a.shape(), "add_", "operand");
  const auto L = kernels::plan_layout<2>(a.shape(), {a.strides(), kernels::broadcast_strides(b, a.shape())});
  float* pa = a.data<float>();
  const float* pb = b.data<float>();
  const float p = static_cast<float>(alpha);
  kernels::parallel_runs(L, kCheap, [&](const auto& off, const auto& st, int64_t n) {
    kernels::binary_run(BinaryOp::AddScaled, p, n, pa + off[0], st[0], pb + off[1], st[1], pa + off[0], st[0]);
  });
}

void mul_(const Tensor& a, double b) {
  check_float(a, "mul_");
  check_writable(a, "mul_");
  const auto L = kernels::plan_layout<1>(a.shape(), {a.strides()});
  float* pa = a.data<float>();
  const float p = static_cast<float>(b);
  kernels::parallel_runs(L, kCheap, [&](const auto& off, const auto& st, int64_t n) {
    kernels::unary_run(UnaryOp::MulScalar, p, n, pa + off[0], st[0], pa + off[0], st[0]);
  });
}

Tensor gt(const Tensor& a, double b) {
  return unary(a, UnaryOp::GtScalar, static_cast<float>(b), "gt", kCheap);
}

Tensor eq(const Tensor& a, const Tensor& b) {
  if (a.dtype() == DType::Float32 || b.dtype() == DType::Float32)
    return binary(a, b, BinaryOp::Eq, 0.f, "eq", kCheap);
  // int64 ids and labels: a plain loop (no int64 vector kernels; this is never hot).
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), "eq");
  Tensor out = Tensor::uninitialized(shape);
  const auto L = kernels::plan_layout<3>(
      shape, {out.strides(), kernels::broadcast_strides(a, shape), kernels::broadcast_strides(b, shape)});
  float* y = out.data<float>();
  const int64_t* pa = a.data<int64_t>();
  const int64_t* pb = b.data<int64_t>();
  kernels::parallel_runs(L, kCheap, [&](const auto& off, const auto& st, int64_t n) {
    for (int64_t i = 0; i < n; ++i)
      y[off[0] + i * st[0]] = pa[off[1] + i * st[1]] == pb[off[2] + i * st[2]] ? 1.f : 0.f;
  });
  return out;
}

// ---- unary ---------------------------------------------------------------------------------
Tensor neg(const Tensor& a) { return unary(a, UnaryOp::Neg, 0.f, "neg", kCheap); }
Tensor exp(const Tensor& a) { return unary(a, UnaryOp::Exp, 0.f, "exp", kHeavy); }
Tensor log(const Tensor& a) { return unary(a, UnaryOp::Log, 0.f, "log", kHeavy); }
Tensor sqrt(const Tensor& a) { return unary(a, UnaryOp::Sqrt, 0.f, "sqrt", kCheap); }
Tensor rsqrt(const Tensor& a) { return unary(a, UnaryOp::Rsqrt, 0.f, "rsqrt", kCheap); }
Tensor tanh(const Tensor& a) { return unary(a, UnaryOp::Tanh, 0.f, "tanh", kHeavy); }
Tensor erf(const Tensor& a) { return unary(a, UnaryOp::Erf, 0.f, "erf", kHeavy); }
Tensor sigmoid(const Tensor& a) { return unary(a, UnaryOp::Sigmoid, 0.f, "sigmoid", kHeavy); }
Tensor abs(const Tensor& a) { return unary(a, UnaryOp::Abs, 0.f, "abs", kCheap); }
Tensor pow(const Tensor& a, double exponent) {
  return unary(a, UnaryOp::PowScalar, static_cast<float>(exponent), "pow", kHeavy);
}
Tensor relu(const Tensor& a) { return unary(a, UnaryOp::Relu, 0.f, "relu", kCheap); }

// ---- activations (tensor/pointwise.h) ------------------------------------------------------
Tensor pointwise(const Tensor& a, Pointwise f) {
  return unary(a, pointwise_name(f), kHeavy, [f](int64_t n, const float* x, int64_t sx, float* y, int64_t sy) {
    kernels::pointwise_run(f, n, x, sx, y, sy);
  });
}

Tensor pointwise_backward(const Tensor& grad, const Tensor& x, Pointwise f) {
  const std::string name = std::string(pointwise_name(f)) + "_backward";
  return binary(grad, x, name.c_str(), kHeavy, [f](int64_t n, const float* g, int64_t sg, const float* xs, int64_t sx,
                                                    float* y, int64_t sy) {
    kernels::pointwise_backward_run(f, n, g, sg, xs, sx, y, sy);
  });
}

// ---- selection -----------------------------------------------------------------------------
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  check_float2(a, b, "where");
  // Any nonzero int64 stays nonzero as a float, so an int64 condition converts without change
  // of meaning; conditions are masks, small next to the values they select.
  const Tensor c = to_dtype(cond, DType::Float32);
  const Shape shape = broadcast_shapes(broadcast_shapes(c.shape(), a.shape(), "where"), b.shape(), "where");
  Tensor out = Tensor::uninitialized(shape);
  const auto L = kernels::plan_layout<4>(shape, {out.strides(), kernels::broadcast_strides(c, shape),
                                                 kernels::broadcast_strides(a, shape),
                                                 kernels::broadcast_strides(b, shape)});
  float* y = out.data<float>();
  const float* pc = c.data<float>();
  const float* pa = a.data<float>();
  const float* pb = b.data<float>();
  kernels::parallel_runs(L, kCheap, [&](const auto& off, const auto& st, int64_t n) {
    kernels::where_run(n, pc + off[1], st[1], pa + off[2], st[2], pb + off[3], st[3], y + off[0], st[0]);
  });
  return out;
}

Tensor masked_fill(const Tensor& a, const Tensor& mask, double value) {
  check_float(a, "masked_fill");
  check_broadcasts_to(mask, a.shape(), "masked_fill", "mask");
  const Tensor m = to_dtype(mask, DType::Float32);
  Tensor out = Tensor::uninitialized(a.shape());
  const auto L = kernels::plan_layout<3>(
      a.shape(), {out.strides(), kernels::broadcast_strides(m, a.shape()), a.strides()});
  float* y = out.data<float>();
  const float* pm = m.data<float>();
  const float* pa = a.data<float>();
  const float v = static_cast<float>(value);
  kernels::parallel_runs(L, kCheap, [&](const auto& off, const auto& st, int64_t n) {
    kernels::where_run(n, pm + off[1], st[1], &v, 0, pa + off[2], st[2], y + off[0], st[0]);
  });
  return out;
}

// ---- comparison helper ---------------------------------------------------------------------
// Equal values count as 0 even when they are infinities or both NaN (so tests can compare masked
// outputs); a NaN against a number makes the result NaN, so a stray NaN never passes unnoticed.
double max_abs_diff(const Tensor& a, const Tensor& b) {
  TZ_CHECK(a.shape() == b.shape(), "max_abs_diff: shapes ", shape_str(a.shape()), " and ",
           shape_str(b.shape()), " differ");
  const auto L = kernels::plan_layout<2>(a.shape(), {a.strides(), b.strides()});
  auto value = [](const Tensor& t, int64_t off) -> double {
    return t.dtype() == DType::Float32 ? static_cast<double>(t.data<float>()[off])
                                       : static_cast<double>(t.data<int64_t>()[off]);
  };
  double worst = 0.0;
  kernels::for_each_run(L, 0, L.numel, [&](const auto& off, const auto& st, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
      const double x = value(a, off[0] + i * st[0]), y = value(b, off[1] + i * st[1]);
      if (x == y || (std::isnan(x) && std::isnan(y))) continue;
      const double d = std::fabs(x - y);
      if (std::isnan(d)) worst = std::numeric_limits<double>::quiet_NaN();
      else if (!std::isnan(worst)) worst = std::max(worst, d);
    }
  });
  return worst;
}

}  // namespace tz::raw

namespace tz {
const char* pointwise_name(Pointwise f) { return kernels::pointwise_name(f); }
}  // namespace tz
