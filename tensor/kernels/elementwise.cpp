// Elementwise kernels: each op is one functor templated on V (float or simd::Vec), so the vector
// loop, its scalar tail and the scalar reference path (TZ_KERNELS=reference) evaluate the same
// expression; only the math functions differ (std:: for float, xsimd / fast_math.h for Vec). The
// activations of tz::Pointwise are structs in activations.h (shared with the fused inference
// kernels); `visit` below is the one place that maps the list to them.
// Formulas follow PyTorch's CPU kernels in operation order (sigmoid; the activations as their
// structs say), so results agree with PyTorch to float rounding.
// Partner: tensor/elementwise_ops.cpp (shapes, broadcasting, threads).
#include "tensor/kernels/elementwise.h"

#include <cmath>
#include <string>

#include "core/error.h"
#include "tensor/kernels/activations.h"
#include "tensor/kernels/kernel_mode.h"
#include "tensor/kernels/simd.h"
#include "tensor/pointwise.h"

namespace tz::kernels {
namespace {

using simd::kWidth;
using simd::load;
using simd::store;
using simd::Vec;

// ---- op definitions ------------------------------------------------------------------------
struct Neg { template <class V> V operator()(V x) const { return -x; } };
struct Exp { template <class V> V operator()(V x) const { return simd::exp(x); } };
struct Log { template <class V> V operator()(V x) const { return simd::log(x); } };
struct Sqrt { template <class V> V operator()(V x) const { return simd::sqrt(x); } };
// A true division, not the approximate rsqrt instruction, so both paths round the same way.
struct Rsqrt { template <class V> V operator()(V x) const { return V(1.f) / simd::sqrt(x); } };
struct Tanh { template <class V> V operator()(V x) const { return simd::tanh(x); } };
struct Erf { template <class V> V operator()(V x) const { return simd::erf(x); } };
struct Sigmoid {
  template <class V> V operator()(V x) const { return V(1.f) / (V(1.f) + simd::exp(-x)); }
};
struct Abs { template <class V> V operator()(V x) const { return simd::abs(x); } };
// x < 0 picks 0 and anything else (NaN included) passes through, as torch.relu.
struct Relu { template <class V> V operator()(V x) const { return simd::select(x < V(0.f), V(0.f), x); } };
struct AddScalar { float p; template <class V> V operator()(V x) const { return x + V(p); } };
struct MulScalar { float p; template <class V> V operator()(V x) const { return x * V(p); } };
struct GtScalar {
  float p;
  template <class V> V operator()(V x) const { return simd::select(x > V(p), V(1.f), V(0.f)); }
};
struct Copy { template <class V> V operator()(V x) const { return x; } };

// pow: the exponents that occur in models become exact products or square roots (as PyTorch
// does); xsimd's pow is exp(p log x), several ulp off for large results, so any other exponent
// goes lane by lane through std::pow.
struct Square { template <class V> V operator()(V x) const { return x * x; } };
struct Cube { template <class V> V operator()(V x) const { return x * x * x; } };
struct Recip { template <class V> V operator()(V x) const { return V(1.f) / x; } };
struct RecipSquare { template <class V> V operator()(V x) const { return V(1.f) / (x * x); } };
struct One { template <class V> V operator()(V) const { return V(1.f); } };
struct PowGeneric {
  float p;
  float operator()(float x) const { return std::pow(x, p); }
  Vec operator()(const Vec& x) const {
    alignas(64) float lanes[kWidth];
    x.store_aligned(lanes);
    for (auto& v : lanes) v = std::pow(v, p);
    return Vec::load_aligned(lanes);
  }
};

struct Add { template <class V> V operator()(V a, V b) const { return a + b; } };
struct Sub { template <class V> V operator()(V a, V b) const { return a - b; } };
struct Mul { template <class V> V operator()(V a, V b) const { return a * b; } };
struct Div { template <class V> V operator()(V a, V b) const { return a / b; } };
struct AddScaled { float p; template <class V> V operator()(V a, V b) const { return a + V(p) * b; } };
struct Eq {
  template <class V> V operator()(V a, V b) const { return simd::select(a == b, V(1.f), V(0.f)); }
};

// ---- loops ---------------------------------------------------------------------------------
// x [n] stride sx -> y [n] stride sy
template <class F>
void map1(F f, int64_t n, const float* x, int64_t sx, float* y, int64_t sy) {
  int64_t i = 0;
  if (!use_reference() && sy == 1) {
    if (sx == 1) {
      for (; i + 2 * kWidth <= n; i += 2 * kWidth) {
        Vec v0 = load(x + i), v1 = load(x + i + kWidth);
        store(y + i, f(v0));
        store(y + i + kWidth, f(v1));
      }
      for (; i + kWidth <= n; i += kWidth) store(y + i, f(load(x + i)));
    } else if (sx == 0) {
      const Vec v = f(Vec(x[0]));
      for (; i + kWidth <= n; i += kWidth) store(y + i, v);
    }
  }
  for (; i < n; ++i) y[i * sy] = f(x[i * sx]);
}

// a [n] stride sa, b [n] stride sb -> y [n] stride sy
template <class F>
void map2(F f, int64_t n, const float* a, int64_t sa, const float* b, int64_t sb, float* y, int64_t sy) {
  int64_t i = 0;
  if (!use_reference() && sy == 1) {
    if (sa == 1 && sb == 1) {
      for (; i + 2 * kWidth <= n; i += 2 * kWidth) {
        Vec a0 = load(a + i), a1 = load(a + i + kWidth);
        Vec b0 = load(b + i), b1 = load(b + i + kWidth);
        store(y + i, f(a0, b0));
        store(y + i + kWidth, f(a1, b1));
      }
      for (; i + kWidth <= n; i += kWidth) store(y + i, f(load(a + i), load(b + i)));
    } else if (sa == 1 && sb == 0) {
      const Vec vb(b[0]);
      for (; i + kWidth <= n; i += kWidth) store(y + i, f(load(a + i), vb));
    } else if (sa == 0 && sb == 1) {
      const Vec va(a[0]);
      for (; i + kWidth <= n; i += kWidth) store(y + i, f(va, load(b + i)));
    }
  }
  for (; i < n; ++i) y[i * sy] = f(a[i * sa], b[i * sb]);
}

void pow_run(float p, int64_t n, const float* x, int64_t sx, float* y, int64_t sy) {
  if (use_reference()) return map1(PowGeneric{p}, n, x, sx, y, sy);
  if (p == 2.f) return map1(Square{}, n, x, sx, y, sy);
  if (p == 3.f) return map1(Cube{}, n, x, sx, y, sy);
  if (p == 1.f) return map1(Copy{}, n, x, sx, y, sy);
  if (p == 0.f) return map1(One{}, n, x, sx, y, sy);
  if (p == 0.5f) return map1(Sqrt{}, n, x, sx, y, sy);
  if (p == -0.5f) return map1(Rsqrt{}, n, x, sx, y, sy);
  if (p == -1.f) return map1(Recip{}, n, x, sx, y, sy);
  if (p == -2.f) return map1(RecipSquare{}, n, x, sx, y, sy);
  map1(PowGeneric{p}, n, x, sx, y, sy);
}

// ---- activations ---------------------------------------------------------------------------
// Calls fn with the kernel struct of f: one line per entry of tz::Pointwise.
template <class Fn>
decltype(auto) visit(Pointwise f, Fn&& fn) {
  switch (f) {
    case Pointwise::Gelu: return fn(act::Gelu{});
    case Pointwise::GeluNew: return fn(act::GeluNew{});
    case Pointwise::Silu: return fn(act::Silu{});
    case Pointwise::QuickGelu: return fn(act::QuickGelu{});
    case Pointwise::Mish: return fn(act::Mish{});
    case Pointwise::Relu6: return fn(act::Relu6{});
  }
  throw Error("pointwise: unknown activation " + std::to_string(static_cast<int>(f)));
}

}  // namespace

void unary_run(UnaryOp op, float p, int64_t n, const float* x, int64_t sx, float* y, int64_t sy) {
  switch (op) {
    case UnaryOp::Neg: return map1(Neg{}, n, x, sx, y, sy);
    case UnaryOp::Exp: return map1(Exp{}, n, x, sx, y, sy);
    case UnaryOp::Log: return map1(Log{}, n, x, sx, y, sy);
    case UnaryOp::Sqrt: return map1(Sqrt{}, n, x, sx, y, sy);
    case UnaryOp::Rsqrt: return map1(Rsqrt{}, n, x, sx, y, sy);
    case UnaryOp::Tanh: return map1(Tanh{}, n, x, sx, y, sy);
    case UnaryOp::Erf: return map1(Erf{}, n, x, sx, y, sy);
    case UnaryOp::Sigmoid: return map1(Sigmoid{}, n, x, sx, y, sy);
    case UnaryOp::Abs: return map1(Abs{}, n, x, sx, y, sy);
    case UnaryOp::Relu: return map1(Relu{}, n, x, sx, y, sy);
    case UnaryOp::AddScalar: return map1(AddScalar{p}, n, x, sx, y, sy);
    case UnaryOp::MulScalar: return map1(MulScalar{p}, n, x, sx, y, sy);
    case UnaryOp::GtScalar: return map1(GtScalar{p}, n, x, sx, y, sy);
    case UnaryOp::PowScalar: return pow_run(p, n, x, sx, y, sy);
    case UnaryOp::Copy: return map1(Copy{}, n, x, sx, y, sy);
  }
}

void binary_run(BinaryOp op, float p, int64_t n, const float* a, int64_t sa, const float* b,
                int64_t sb, float* y, int64_t sy) {
  switch (op) {
    case BinaryOp::Add: return map2(Add{}, n, a, sa, b, sb, y, sy);
    case BinaryOp::Sub: return map2(Sub{}, n, a, sa, b, sb, y, sy);
    case BinaryOp::Mul: return map2(Mul{}, n, a, sa, b, sb, y, sy);
    case BinaryOp::Div: return map2(Div{}, n, a, sa, b, sb, y, sy);
    case BinaryOp::AddScaled: return map2(AddScaled{p}, n, a, sa, b, sb, y, sy);
    case BinaryOp::Eq: return map2(Eq{}, n, a, sa, b, sb, y, sy);
  }
}

void pointwise_run(Pointwise f, int64_t n, const float* x, int64_t sx, float* y, int64_t sy) {
  visit(f, [&](auto op) { map1(op, n, x, sx, y, sy); });
}

void pointwise_backward_run(Pointwise f, int64_t n, const float* g, int64_t sg, const float* x, int64_t sx,
                            float* y, int64_t sy) {
  visit(f, [&](auto op) {
    map2([op](auto gi, auto xi) { return op.backward(gi, xi); }, n, g, sg, x, sx, y, sy);
  });
}

const char* pointwise_name(Pointwise f) {
  return visit(f, [](auto op) { return decltype(op)::name; });
}

void where_run(int64_t n, const float* cond, int64_t sc, const float* a, int64_t sa, const float* b,
               int64_t sb, float* y, int64_t sy) {
  // Written as "c == 0 ? b : a" so a NaN condition counts as nonzero on both paths (xsimd's !=
  // is an ordered compare).
  auto pick = [](auto c, auto x, auto z) { return simd::select(c == decltype(c)(0.f), z, x); };
  int64_t i = 0;
  const bool unit_or_zero = (sc == 0 || sc == 1) && (sa == 0 || sa == 1) && (sb == 0 || sb == 1);
  if (!use_reference() && sy == 1 && unit_or_zero) {
    // A zero stride re-reads the same element; loading it as a broadcast keeps one loop for all
    // eight stride combinations (the branches are loop-invariant and predicted).
    auto ld = [](const float* p, int64_t s, int64_t k) { return s ? load(p + k) : Vec(p[0]); };
    for (; i + kWidth <= n; i += kWidth) store(y + i, pick(ld(cond, sc, i), ld(a, sa, i), ld(b, sb, i)));
  }
  for (; i < n; ++i) y[i * sy] = pick(cond[i * sc], a[i * sa], b[i * sb]);
}

}  // namespace tz::kernels
