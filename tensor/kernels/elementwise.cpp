// Elementwise kernels: each op is one functor templated on V (float or simd::Vec), so the vector
// loop, its scalar tail and the scalar reference path (TZ_KERNELS=reference) evaluate the same
// expression; only the math functions differ (std:: for float, xsimd for Vec).
// Formulas follow PyTorch's CPU kernels in operation order (gelu, gelu_new as HF writes it,
// sigmoid, silu), so results agree with PyTorch to float rounding.
// Partner: tensor/elementwise_ops.cpp (shapes, broadcasting, threads).
#include "tensor/kernels/elementwise.h"

#include <cmath>

#include "tensor/kernels/kernel_mode.h"
#include "tensor/kernels/simd.h"

namespace tz::kernels {
namespace {

using simd::kWidth;
using simd::load;
using simd::store;
using simd::Vec;

constexpr float kSqrt1_2 = 0.70710678118654752440f;          // 1/sqrt(2)
constexpr float kInvSqrt2Pi = 0.39894228040143267794f;       // 1/sqrt(2 pi)
constexpr float kSqrt2OverPi = 0.79788456080286535588f;      // sqrt(2/pi)
constexpr float kGeluNewCubic = 0.044715f;

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
// gelu = x Phi(x). The reference (float) spells out PyTorch's formula with std::erf; the vector
// path gets Phi from normal_cdf below (one exp instead of erf's exp, two polynomials, a division
// and a blend of both). They agree to about 1e-7 absolute (see normal_cdf).
struct Gelu {
  float operator()(float x) const { return x * 0.5f * (1.f + std::erf(x * kSqrt1_2)); }
  Vec operator()(const Vec& x) const;
};
struct GeluNew {
  template <class V> V operator()(V x) const {
    V inner = V(kSqrt2OverPi) * (x + V(kGeluNewCubic) * (x * x * x));
    return V(0.5f) * x * (V(1.f) + simd::tanh(inner));
  }
};
struct Silu { template <class V> V operator()(V x) const { return x / (V(1.f) + simd::exp(-x)); } };
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
// d/dx [x Phi(x)] = Phi(x) + x phi(x); the vector path shares one exp between Phi and phi.
struct GeluBackward {
  float operator()(float g, float x) const {
    const float cdf = 0.5f * (1.f + std::erf(x * kSqrt1_2));
    const float pdf = kInvSqrt2Pi * std::exp(-0.5f * x * x);
    return g * (cdf + x * pdf);
  }
  Vec operator()(const Vec& g, const Vec& x) const;
};
// With t = tanh(k (x + c x^3)): d/dx = (1 + t)/2 + x/2 (1 - t^2) k (1 + 3 c x^2)
struct GeluNewBackward {
  template <class V> V operator()(V g, V x) const {
    V x2 = x * x;
    V t = simd::tanh(V(kSqrt2OverPi) * (x + V(kGeluNewCubic) * (x2 * x)));
    V left = V(0.5f) * (V(1.f) + t);
    V right = V(0.5f) * x * (V(1.f) - t * t) * V(kSqrt2OverPi) * (V(1.f) + V(3.f * kGeluNewCubic) * x2);
    return g * (left + right);
  }
};
// With s = sigmoid(x): d/dx [x s] = s (1 + x (1 - s))
struct SiluBackward {
  template <class V> V operator()(V g, V x) const {
    V s = V(1.f) / (V(1.f) + simd::exp(-x));
    return g * s * (V(1.f) + x * (V(1.f) - s));
  }
};

// ---- the normal CDF for the vector gelu kernels ---------------------------------------------
// Phi(x) = erfc(-x/sqrt 2) / 2, so with u = |x|/sqrt 2:  Phi = erfc(u)/2 for x < 0, 1 - erfc(u)/2
// otherwise. No cancellation: erfc(u) is computed with full relative precision, where
// 1 + erf(-u) loses digits. We write erfc(u) = exp(-u^2) w P(w) with w = 1/(1 + u/2): P is
// smooth on w in (0, 1] (P = 1 at u = 0 and tends to 1/(2 sqrt pi) as u grows), so a
// polynomial fits it. The coefficients come from Chebyshev interpolation of P at 11 nodes on
// w in [0.15, 1] (u up to 11.3, where erfc(u) is ~1e-57, far below float), rewritten in powers of
// s = (2w - 1.15) / 0.85 in [-1, 1]; computed in double with the C library's erfc, relative error
// about 3e-8 after rounding the coefficients to float. exp(-u^2) takes u^2 as hi + lo (an FMA
// recovers the rounding error of u*u), so large u lose no precision there.
// Special values: x = -inf gives Phi 0, +inf gives 1, NaN gives NaN.
struct NormalCdf {
  Vec cdf;  // Phi(x)
  Vec q;    // exp(-x^2 / 2), for the density
};

inline NormalCdf normal_cdf(const Vec& x) {
  const Vec u = simd::abs(x * Vec(kSqrt1_2));
  const Vec hi = u * u;
  const Vec lo = xsimd::fms(u, u, hi);  // u*u - hi, exactly
  const Vec q = simd::exp(-hi) * (Vec(1.f) - lo);
  const Vec w = Vec(1.f) / xsimd::fma(u, Vec(0.5f), Vec(1.f));
  const Vec t = xsimd::fma(w, Vec(2.f / 0.85f), Vec(-1.15f / 0.85f));
  static constexpr float kP[11] = {5.655282736e-01f,  3.285916150e-01f,  1.057642698e-01f,
                                   6.847652607e-03f,  -6.590692792e-03f, -7.635742659e-04f,
                                   6.703941035e-04f,  1.838354910e-05f,  -7.944049867e-05f,
                                   6.353701792e-06f,  6.739699074e-06f};  // P = sum kP[i] t^i
  Vec p(kP[10]);
  p = xsimd::fma(p, t, Vec(kP[9]));
  p = xsimd::fma(p, t, Vec(kP[8]));
  p = xsimd::fma(p, t, Vec(kP[7]));
  p = xsimd::fma(p, t, Vec(kP[6]));
  p = xsimd::fma(p, t, Vec(kP[5]));
  p = xsimd::fma(p, t, Vec(kP[4]));
  p = xsimd::fma(p, t, Vec(kP[3]));
  p = xsimd::fma(p, t, Vec(kP[2]));
  p = xsimd::fma(p, t, Vec(kP[1]));
  p = xsimd::fma(p, t, Vec(kP[0]));
  const Vec half_erfc = Vec(0.5f) * q * w * p;
  return {xsimd::select(x < Vec(0.f), half_erfc, Vec(1.f) - half_erfc), q};
}

Vec Gelu::operator()(const Vec& x) const { return x * normal_cdf(x).cdf; }

Vec GeluBackward::operator()(const Vec& g, const Vec& x) const {
  const NormalCdf n = normal_cdf(x);
  return g * xsimd::fma(x * Vec(kInvSqrt2Pi), n.q, n.cdf);
}

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
    case UnaryOp::Gelu: return map1(Gelu{}, n, x, sx, y, sy);
    case UnaryOp::GeluNew: return map1(GeluNew{}, n, x, sx, y, sy);
    case UnaryOp::Silu: return map1(Silu{}, n, x, sx, y, sy);
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
    case BinaryOp::GeluBackward: return map2(GeluBackward{}, n, a, sa, b, sb, y, sy);
    case BinaryOp::GeluNewBackward: return map2(GeluNewBackward{}, n, a, sa, b, sb, y, sy);
    case BinaryOp::SiluBackward: return map2(SiluBackward{}, n, a, sa, b, sb, y, sy);
  }
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
