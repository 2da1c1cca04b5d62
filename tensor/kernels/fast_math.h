// Vectorised exp, erf and the two GELU helpers (the normal CDF Phi and GELU's derivative) for the
// kernels. Each is written once with xsimd batch arithmetic, as a template on the batch's
// architecture, so the same code serves whatever instruction set the build targets (SSE2 to
// AVX-512, chosen by -march; see TZ_NATIVE). They replace xsimd's exp/erf, whose generic range
// handling made softmax and GELU compute-bound. Float (scalar) callers keep std::exp / std::erf:
// those are the reference definitions the tests compare against.
// Private to tensor/kernels/*.cpp (through simd.h and gelu.h): xsimd types never reach a public header.
//
// How the coefficients were made: each polynomial is a Chebyshev interpolant (mpmath's chebyfit,
// 40 digits) of the named function on the named interval, rewritten in powers of a variable s
// scaled to [-1, 1] (so the Horner sums do not cancel) and rounded to float. The error columns
// are the fit's max error before rounding; the tests (tests/tensor/test_fast_math.cpp) measure
// the end result against std::exp / std::erf / double formulas in float ulps.
//
//   exp(x):   x = n ln2 + r, |r| <= ln2/2 (Cody-Waite: ln2 split in two parts, an FMA for each);
//             exp(r) = 1 + r + r^2 P(r), P of degree 5 fitted to (e^r - 1 - r)/r^2 (fit error
//             1.4e-9, i.e. below 2e-10 of exp(r)); the Cephes expf polynomial is the same idea.
//             2^n is built from exponent bits in two halves, 2^(n/2) 2^(n - n/2), so results in
//             the subnormal range (x down to -103.97) round once, as std::exp's do, and x near
//             88.72 reaches FLT_MAX without a spurious overflow. x < -104 gives 0, x > 88.8 +inf,
//             NaN stays NaN (it passes the clamps, which are compare-and-select).
//   erf(x):   |x| <= 2.5: x C(x^2), C of 12 terms fitted to erf(x)/x (fit error 3.3e-9);
//             2.5 < |x| < 3.9375: 1 - T(|x|), T of 9 terms fitted to erfc (absolute error 4.4e-9,
//             below a tenth of an ulp of 1); beyond: +-1 (erfc(3.9375) is below half an ulp of 1).
//   Phi(x):   the normal CDF, GELU's gate (gelu = x Phi(x)). |x| <= 3.5: 1/2 + x C(x^2), C of 12
//             terms fitted to erf(x/sqrt2)/(2x) (fit error 9.5e-10); 3.5 < |x| < 6.25: T(|x|) for
//             x < 0 and 1 - T(|x|) for x > 0, T of 10 terms fitted to erfc(x/sqrt2)/2 (absolute
//             error 2.3e-9); beyond: 0 or 1. No exp, no division. Absolute accuracy ~1e-9 is far
//             better than PyTorch's own float formula x/2 (1 + erf(x/sqrt2)), whose 1 + erf loses
//             ~3e-8 absolute; relative accuracy in the far negative tail (where gelu < 2e-8 x)
//             is not kept, as in PyTorch.
//   gelu'(x): Phi(x) + x phi(x) the same way: 1/2 + x D(x^2) (13 terms, fit error 2.3e-9) and
//             tails E(|x|) = erfc(|x|/sqrt2)/2 - |x| phi(|x|) (11 terms, absolute error 9.3e-9).
// The tail polynomials run only when some lane of the batch is in a tail (a rare branch for
// activations, which mostly sit within +-3.5); each lane's result depends on its own input only.
#pragma once

#include <cstddef>
#include <cstdint>

#include "tensor/kernels/fma.h"
#include "tensor/kernels/xsimd.h"

namespace tz::kernels::fast_math {

template <class A>
using Batch = xsimd::batch<float, A>;

// The hot paths are forced inline: called out of line, each call reloads its constants and the
// Horner chains of neighbouring vectors cannot overlap, which makes the loops several times
// slower. The rare tails are kept out of line (TZ_FAST_MATH_COLD) so they do not bloat the loops.
#define TZ_FAST_MATH_HOT [[gnu::always_inline]] inline
#define TZ_FAST_MATH_COLD [[gnu::noinline]]

inline constexpr float kSqrt1_2 = 0.70710678118654752440f;     // 1/sqrt(2)
inline constexpr float kInvSqrt2Pi = 0.39894228040143267794f;  // 1/sqrt(2 pi)

/// c[0] + c[1] s + c[2] s^2 + ... (Horner with FMA)
template <class A, size_t N>
TZ_FAST_MATH_HOT Batch<A> horner(const Batch<A>& s, const float (&c)[N]) {
  Batch<A> p(c[N - 1]);
  for (size_t k = N - 1; k-- > 0;) p = kernels::fma(p, s, Batch<A>(c[k]));
  return p;
}

/// s in [-1, 1] for v in [lo, hi]
template <class A>
TZ_FAST_MATH_HOT Batch<A> scale_to_unit(const Batch<A>& v, float lo, float hi) {
  return kernels::fma(v, Batch<A>(2.f / (hi - lo)), Batch<A>(-(hi + lo) / (hi - lo)));
}

// exp's constants and the reduction shared by its two paths: x = n ln2 + r, |r| <= ln2/2, with
// t = x log2(e) + shifter holding n in its low mantissa bits; returns exp(r).
struct ExpConst {
  static constexpr float kLog2e = 1.442695041f;
  static constexpr float kLn2Hi = 0.693145751953125f;  // 16 significant bits: n * kLn2Hi is exact
  static constexpr float kLn2Lo = 1.428606820e-06f;    // ln2 - kLn2Hi
  static constexpr float kP[6] = {5.000000013e-01f, 1.666666668e-01f, 4.166646501e-02f,
                                  8.333310934e-03f, 1.393364103e-03f, 1.989098087e-04f};
};

template <class A>
TZ_FAST_MATH_HOT Batch<A> exp_reduced(const Batch<A>& x, const Batch<A>& t, float shifter) {
  using F = Batch<A>;
  const F n = t - F(shifter);
  F r = kernels::fnma(n, F(ExpConst::kLn2Hi), x);
  r = kernels::fnma(n, F(ExpConst::kLn2Lo), r);
  return kernels::fma(horner(r, ExpConst::kP), r * r, r) + F(1.f);
}

/// exp for any input: clamps to [-104, 88.8] (compare-and-select, so NaN passes through), then
/// 2^n = 2^n1 2^n2 with n1 = floor(n/2), both halves normal for n in [-150, 128].
template <class A>
TZ_FAST_MATH_COLD Batch<A> exp_wide(const Batch<A>& x) {
  using F = Batch<A>;
  using I = xsimd::batch<int32_t, A>;
  constexpr float kShifter = 12582912.f;  // 1.5 * 2^23: adding it rounds to an integer
  F v = xsimd::select(x < F(-104.f), F(-104.f), x);
  v = xsimd::select(v > F(88.8f), F(88.8f), v);
  const F t = kernels::fma(v, F(ExpConst::kLog2e), F(kShifter));
  const F p = exp_reduced(v, t, kShifter);
  const I n = xsimd::bitwise_cast<I>(t) - xsimd::bitwise_cast<I>(F(kShifter));
  const I n1 = n >> 1;
  const I n2 = n - n1;
  return p * xsimd::bitwise_cast<F>((n1 + I(127)) << 23) * xsimd::bitwise_cast<F>((n2 + I(127)) << 23);
}

/// exp: when every lane has |x| <= 87 (n in [-126, 126]) one shift builds 2^n: the shifter
/// carries the exponent bias, so t's low bits are n + 127. Otherwise exp_wide.
template <class A>
TZ_FAST_MATH_HOT Batch<A> exp(const Batch<A>& x) {
  using F = Batch<A>;
  using I = xsimd::batch<int32_t, A>;
  if (!xsimd::all(xsimd::abs(x) <= F(87.f))) return exp_wide(x);  // also NaN lanes
  constexpr float kShifter = 12582912.f + 127.f;
  const F t = kernels::fma(x, F(ExpConst::kLog2e), F(kShifter));
  return exp_reduced(x, t, kShifter) * xsimd::bitwise_cast<F>(xsimd::bitwise_cast<I>(t) << 23);
}

/// The central pieces of erf, Phi and gelu': base + x C(x^2) for |x| <= x0, with C a polynomial
/// in w = 1 - x^2/x0^2 (in [0, 1]; w = 0 at the edge). Its leading coefficient is split in a float
/// pair (c0 + c0_lo) so that at the edge, where x C nearly cancels base (Phi(-2.5) = 0.5 - 0.494),
/// the sum keeps its accuracy. (erf passes base -0, so that erf(-0) = -0.)
template <class A, size_t N>
TZ_FAST_MATH_HOT Batch<A> odd_central(const Batch<A>& x, float base, float x0, float c0, float c0_lo, const float (&c)[N]) {
  using F = Batch<A>;
  const F w = kernels::fnma(x * x, F(1.f / (x0 * x0)), F(1.f));
  const F rest = kernels::fma(w, horner(w, c), F(c0_lo));
  return kernels::fma(x, rest, kernels::fma(x, F(c0), F(base)));
}

/// erfc(u) and exp(-u^2) for u >= 0, given u^2 as an unevaluated sum u2 + u2_lo, with full
/// relative precision (no cancellation):
/// erfc(u) = exp(-u^2) v P(v), v = 1/(1 + u/2). P is smooth on v in (0, 1] (1 at u = 0, tending to
/// 1/(2 sqrt pi) as u grows); its 11 coefficients come from Chebyshev interpolation at 11 nodes on
/// v in [0.15, 1] (u up to 11.3, where erfc(u) ~ 1e-57), in powers of s = (2v - 1.15)/0.85,
/// relative error ~3e-8. The callers pass u^2 exactly as a float pair (an FMA recovers the rounding
/// error of x*x), so large u lose no precision in the exponent.
template <class A>
void erfc_and_gauss(const Batch<A>& u, const Batch<A>& u2, const Batch<A>& u2_lo, Batch<A>& erfc, Batch<A>& gauss) {
  using F = Batch<A>;
  static constexpr float kP[11] = {5.655282736e-01f,  3.285916150e-01f,  1.057642698e-01f,
                                   6.847652607e-03f,  -6.590692792e-03f, -7.635742659e-04f,
                                   6.703941035e-04f,  1.838354910e-05f,  -7.944049867e-05f,
                                   6.353701792e-06f,  6.739699074e-06f};
  gauss = exp(-u2) * (F(1.f) - u2_lo);
  const F v = F(1.f) / kernels::fma(u, F(0.5f), F(1.f));
  erfc = gauss * v * horner(scale_to_unit(v, 0.15f, 1.f), kP);
}

/// |x| clamped to 16 (NaN passes): beyond it erfc and exp(-x^2) are 0 in float, and x*x stays finite.
template <class A>
TZ_FAST_MATH_HOT Batch<A> tail_abs(const Batch<A>& x) {
  const Batch<A> ax = xsimd::abs(x);
  return xsimd::select(ax > Batch<A>(16.f), Batch<A>(16.f), ax);
}

/// erf(x) for |x| > 1.25: sign(x) (1 - erfc(|x|))
template <class A>
TZ_FAST_MATH_COLD Batch<A> erf_tail(const Batch<A>& x) {
  using F = Batch<A>;
  F erfc, gauss;
  const F a = tail_abs(x);
  const F a2 = a * a;
  erfc_and_gauss(a, a2, kernels::fms(a, a, a2), erfc, gauss);
  return xsimd::copysign(F(1.f) - erfc, x);
}

/// Phi(x) (returned) and exp(-x^2/2) (in gauss) for the tails |x| > 2.5: with u = |x|/sqrt2,
/// Phi = erfc(u)/2 for x < 0 and 1 - erfc(u)/2 otherwise (u^2 = x^2/2: halving is exact).
/// (|x| is clamped to 16 first, as in erf_tail.)
template <class A>
TZ_FAST_MATH_COLD Batch<A> normal_cdf_tail(const Batch<A>& x, Batch<A>& gauss) {
  using F = Batch<A>;
  F erfc;
  const F a = tail_abs(x);
  const F a2 = a * a;
  erfc_and_gauss(a * F(kSqrt1_2), F(0.5f) * a2, F(0.5f) * kernels::fms(a, a, a2), erfc, gauss);
  const F half = F(0.5f) * erfc;
  return xsimd::select(x < F(0.f), half, F(1.f) - half);
}

template <class A>
TZ_FAST_MATH_HOT Batch<A> erf(const Batch<A>& x) {
  using F = Batch<A>;
  static constexpr float kC[7] = {2.508995831e-01f, 9.578132629e-02f, 3.171691298e-02f, 8.871891536e-03f,
                                  2.312406898e-03f, 3.037485003e-04f, 1.731834636e-04f};
  F y = odd_central(x, -0.f, 1.25f, 7.383201122e-01f, -1.045801490e-08f, kC);
  const F ax = xsimd::abs(x);
  const auto tail = ax > F(1.25f);
  if (xsimd::any(tail)) y = xsimd::select(tail, erf_tail(x), y);
  return y;
}

/// Phi(x) = (1 + erf(x/sqrt2)) / 2
template <class A>
TZ_FAST_MATH_HOT Batch<A> normal_cdf(const Batch<A>& x) {
  using F = Batch<A>;
  static constexpr float kC[11] = {8.089243621e-02f, 5.568305403e-02f,  3.893224150e-02f,
                                   2.556822821e-02f, 1.593686827e-02f,  7.033314090e-03f,
                                   7.710047532e-03f, -3.188897157e-03f, 5.765464623e-03f,
                                   -2.531610429e-03f, 9.244332905e-04f};
  F y = odd_central(x, 0.5f, 3.f, 1.662167013e-01f, -6.450187051e-10f, kC);
  const F ax = xsimd::abs(x);
  const auto tail = ax > F(3.f);
  if (xsimd::any(tail)) {
    F gauss;
    y = xsimd::select(tail, normal_cdf_tail(x, gauss), y);
  }
  return y;
}

/// d/dx [x Phi(x)] = Phi(x) + x phi(x), phi the standard normal density
template <class A>
TZ_FAST_MATH_HOT Batch<A> gelu_derivative(const Batch<A>& x) {
  using F = Batch<A>;
  static constexpr float kC[12] = {1.008357257e-01f, 1.005570963e-01f,  1.062078923e-01f,
                                   1.016493589e-01f, 8.177193999e-02f,  6.769791991e-02f,
                                   1.431669574e-02f, 6.418735534e-02f,  -4.648656026e-02f,
                                   5.232204497e-02f, -2.275986224e-02f, 6.936390884e-03f};
  F y = odd_central(x, 0.5f, 3.f, 1.706485450e-01f, 4.102002293e-09f, kC);
  const F ax = xsimd::abs(x);
  const auto tail = ax > F(3.f);
  if (xsimd::any(tail)) {
    F gauss;
    const F cdf = normal_cdf_tail(x, gauss);
    // x phi(x) with x clamped like the tail (gauss is 0 there), so that x = +-inf gives 1 / 0
    const F xc = xsimd::copysign(tail_abs(x), x);
    y = xsimd::select(tail, kernels::fma(xc * F(kInvSqrt2Pi), gauss, cdf), y);
  }
  return y;
}

}  // namespace tz::kernels::fast_math
