// tensor/kernels/fast_math.h against the C library in double: dense sweeps over float bit patterns
// (every 61st float of each range, both signs; a vector at a time so both exp paths and the erf
// tails run), and special values. Measured on AVX2 and AVX-512 alike: exp 1 ulp, erf 2 ulp, Phi
// within 1.5e-8 absolute, gelu' within 1e-7 absolute (near its zero at x = -0.75 the ulp count is
// meaningless).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <vector>

#include "tensor/kernels/fast_math.h"
#include "tensor/kernels/fma.h"
#include "tests/tensor/kernel_check.h"

namespace {

using V = xsimd::batch<float>;
namespace fm = tz::kernels::fast_math;

std::vector<float> run_vec(const std::function<V(const V&)>& f, const std::vector<float>& xs) {
  std::vector<float> ys(xs.size());
  alignas(64) float lanes[V::size];
  for (size_t i = 0; i < xs.size(); i += V::size) {
    for (size_t l = 0; l < V::size; ++l) lanes[l] = i + l < xs.size() ? xs[i + l] : 0.f;
    f(V::load_aligned(lanes)).store_aligned(lanes);
    for (size_t l = 0; l < V::size && i + l < xs.size(); ++l) ys[i + l] = lanes[l];
  }
  return ys;
}

// Every `step`-th positive float in [lo, hi] (by bit pattern), each followed by its negative when
// `both_signs`.
std::vector<float> sweep(float lo, float hi, uint32_t step, bool both_signs) {
  uint32_t b, e;
  std::memcpy(&b, &lo, 4);
  std::memcpy(&e, &hi, 4);
  std::vector<float> xs;
  for (; b <= e; b += step) {
    float x;
    std::memcpy(&x, &b, 4);
    xs.push_back(x);
    if (both_signs) xs.push_back(-x);
  }
  return xs;
}

struct Worst {
  int64_t ulp = 0;
  double abs = 0;
  float at_ulp = 0, at_abs = 0;
};

Worst measure(const std::vector<float>& xs, const std::vector<float>& ys, const std::function<double(double)>& ref) {
  Worst w;
  for (size_t i = 0; i < xs.size(); ++i) {
    const double want = ref(xs[i]);
    const int64_t u = tz::test::ulp_distance(ys[i], static_cast<float>(want));
    const double a = std::fabs(ys[i] - want);
    if (u > w.ulp) w.ulp = u, w.at_ulp = xs[i];
    if (a > w.abs) w.abs = a, w.at_abs = xs[i];
  }
  return w;
}

}  // namespace

TEST_CASE("kernels::fma, fms and fnma round once, like std::fma, on the build's batch", "[fast_math]") {
  // fast_math's error-free products (fms(a, a, a * a) = the rounding error of a * a) need a single
  // rounding. xsimd 8.1's AVX-512 fma is a plain x * y + z, and on an AVX-512 host that product
  // error came out 0 (tensor/kernels/fma.h).
#if defined(__FMA__) || defined(__AVX512F__)
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-3.f, 3.f);
  alignas(64) float a[V::size], b[V::size], c[V::size], r[3][V::size];
  for (int rep = 0; rep < 200; ++rep) {
    for (size_t l = 0; l < V::size; ++l) a[l] = u(rng), b[l] = u(rng), c[l] = a[l] * b[l];
    const V va = V::load_aligned(a), vb = V::load_aligned(b), vc = V::load_aligned(c);
    tz::kernels::fma(va, vb, vc).store_aligned(r[0]);
    tz::kernels::fms(va, vb, vc).store_aligned(r[1]);
    tz::kernels::fnma(va, vb, vc).store_aligned(r[2]);
    for (size_t l = 0; l < V::size; ++l) {
      INFO("a = " << a[l] << ", b = " << b[l]);
      REQUIRE(r[0][l] == std::fma(a[l], b[l], c[l]));
      REQUIRE(r[1][l] == std::fma(a[l], b[l], -c[l]));  // the exact error of a * b: mostly nonzero
      REQUIRE(r[2][l] == std::fma(-a[l], b[l], c[l]));
    }
  }
  // And the error is really there: a product whose rounding error is known.
  const float x = 1.f + 0x1p-12f;  // x^2 = 1 + 2^-11 + 2^-24: the last term is rounded away
  const V vx(x);
  CHECK(tz::kernels::fms(vx, vx, vx * vx).get(0) == 0x1p-24f);
#else
  SUCCEED("a build without FMA (TZ_NATIVE=OFF): fma rounds twice there, as documented");
#endif
}

TEST_CASE("fast_math: exp within 1 ulp of std::exp over the whole float range", "[fast_math]") {
  // Down to -104 (results through the subnormal range to 0) and up past overflow (88.72).
  const auto xs = sweep(1e-8f, 104.f, 61, true);
  const auto ys = run_vec([](const V& v) { return fm::exp(v); }, xs);
  const Worst w = measure(xs, ys, [](double x) { return std::exp(x); });
  INFO("max " << w.ulp << " ulp at x = " << w.at_ulp);
  CHECK(w.ulp <= 1);
  // All lanes small (the one-shift path) and lanes mixed with a large one (the wide path) agree.
  const auto small = sweep(1e-3f, 80.f, 997, true);
  std::vector<float> mixed = small;
  for (size_t i = 0; i < mixed.size(); i += V::size) mixed[i] = -200.f;
  const auto ys_small = run_vec([](const V& v) { return fm::exp(v); }, small);
  const auto ys_mixed = run_vec([](const V& v) { return fm::exp(v); }, mixed);
  for (size_t i = 0; i < small.size(); ++i)
    if (i % V::size != 0) REQUIRE(tz::test::ulp_distance(ys_small[i], ys_mixed[i]) <= 1);
}

TEST_CASE("fast_math: erf within 2 ulp of std::erf", "[fast_math]") {
  const auto xs = sweep(1e-30f, 8.f, 61, true);
  const auto ys = run_vec([](const V& v) { return fm::erf(v); }, xs);
  const Worst w = measure(xs, ys, [](double x) { return std::erf(x); });
  INFO("max " << w.ulp << " ulp at x = " << w.at_ulp);
  CHECK(w.ulp <= 2);
}

TEST_CASE("fast_math: normal CDF and GELU derivative against double formulas", "[fast_math]") {
  const double inv_sqrt2 = 1 / std::sqrt(2.0), inv_sqrt2pi = 1 / std::sqrt(2 * M_PI);
  const auto xs = sweep(1e-8f, 12.f, 61, true);
  const auto cdf = run_vec([](const V& v) { return fm::normal_cdf(v); }, xs);
  const Worst wc = measure(xs, cdf, [&](double x) { return 0.5 * std::erfc(-x * inv_sqrt2); });
  INFO("Phi: max abs error " << wc.abs << " at x = " << wc.at_abs);
  CHECK(wc.abs < 1e-7 * tz::test::kNoFmaSlack);
  // In the tails (|x| > 3) Phi keeps its relative precision: compare there in ulps.
  std::vector<float> tail_x, tail_y;
  for (size_t i = 0; i < xs.size(); ++i)
    if (std::fabs(xs[i]) > 3.f) tail_x.push_back(xs[i]), tail_y.push_back(cdf[i]);
  const Worst wt = measure(tail_x, tail_y, [&](double x) { return 0.5 * std::erfc(-x * inv_sqrt2); });
  INFO("Phi tails: max " << wt.ulp << " ulp at x = " << wt.at_ulp);
  CHECK(wt.ulp <= 16 * tz::test::kNoFmaSlack);
  const auto d = run_vec([](const V& v) { return fm::gelu_derivative(v); }, xs);
  const Worst wd = measure(xs, d, [&](double x) {
    return 0.5 * std::erfc(-x * inv_sqrt2) + x * inv_sqrt2pi * std::exp(-0.5 * x * x);
  });
  INFO("gelu': max abs error " << wd.abs << " at x = " << wd.at_abs);
  CHECK(wd.abs < 2e-7 * tz::test::kNoFmaSlack);
}

TEST_CASE("fast_math: special values", "[fast_math]") {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> xs = {-inf, inf, nan, -0.f, 0.f, 1e4f, -1e4f, -3.4e38f, -100.f, -88.f, 88.7f, 89.f};
  const auto e = run_vec([](const V& v) { return fm::exp(v); }, xs);
  const auto r = run_vec([](const V& v) { return fm::erf(v); }, xs);
  const auto p = run_vec([](const V& v) { return fm::normal_cdf(v); }, xs);
  const auto d = run_vec([](const V& v) { return fm::gelu_derivative(v); }, xs);
  for (size_t i = 0; i < xs.size(); ++i) {
    INFO("x = " << xs[i]);
    CHECK(tz::test::ulp_distance(e[i], std::exp(xs[i])) <= 1);  // 0, inf, NaN, subnormal exp(-100)
    CHECK(tz::test::ulp_distance(r[i], std::erf(xs[i])) <= 2);
    const double want_cdf = 0.5 * std::erfc(-static_cast<double>(xs[i]) / std::sqrt(2.0));
    if (std::isnan(xs[i])) {
      CHECK(std::isnan(p[i]));
      CHECK(std::isnan(d[i]));
    } else {
      CHECK(std::fabs(p[i] - want_cdf) <= 1e-30 + 1e-7 * want_cdf);
      CHECK(std::isfinite(d[i]));
    }
  }
  CHECK(e[0] == 0.f);  // softmax masks: exp(-inf) = 0
  CHECK(std::signbit(r[3]));
}
