// softmax / log_softmax: against a naive double implementation over every dim (row and column
// kernels), SIMD vs reference kernels, stability at 1e4 and with -inf masks (including fully masked
// rows: 0 for softmax, -inf for log_softmax, our documented choice where PyTorch gives NaN),
// backward passes against finite differences in double, error messages.
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>

#include "tensor/ops.h"
#include "tests/tensor/kernel_check.h"

using namespace tz;
using tz::test::both_modes;
using tz::test::check_close;

namespace {

// Naive double softmax (or log_softmax) of the row-major values `v` of `shape` over `dim`.
std::vector<double> naive_softmax(const std::vector<double>& v, const Shape& shape, int64_t dim, bool log) {
  int64_t outer = 1, C = shape.empty() ? 1 : shape[dim], inner = 1;
  for (int64_t i = 0; i < static_cast<int64_t>(shape.size()); ++i) {
    if (i < dim) outer *= shape[i];
    if (i > dim) inner *= shape[i];
  }
  std::vector<double> out(v.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < inner; ++j) {
      auto at = [&](int64_t c) { return static_cast<size_t>((o * C + c) * inner + j); };
      double m = -INFINITY;
      for (int64_t c = 0; c < C; ++c) m = std::max(m, v[at(c)]);
      double s = 0;
      for (int64_t c = 0; c < C; ++c) s += std::exp(v[at(c)] - m);
      for (int64_t c = 0; c < C; ++c) out[at(c)] = log ? v[at(c)] - m - std::log(s) : std::exp(v[at(c)] - m) / s;
    }
  return out;
}

struct Case {
  Tensor x;
  int64_t dim;
};

std::vector<Case> cases(Generator& gen) {
  std::vector<Case> cs;
  for (int64_t n : test::kOddSizes) {
    cs.push_back({test::uniform({3, n}, gen, -5, 5), 1});    // rows
    cs.push_back({test::uniform({3, n}, gen, -5, 5), -1});
    cs.push_back({test::uniform({n, 3}, gen, -5, 5), 0});    // columns, inner 3
    cs.push_back({test::uniform({2, n, 5}, gen, -5, 5), 1});
  }
  cs.push_back({test::uniform({2, 3, 300}, gen, -5, 5), 1});  // two column blocks
  const Tensor x4 = test::uniform({2, 3, 4, 5}, gen, -5, 5);
  for (int64_t d = 0; d < 4; ++d) cs.push_back({x4, d});
  cs.push_back({test::transposed_uniform(20, 30, gen, -5, 5), 1});
  cs.push_back({test::transposed_uniform(20, 30, gen, -5, 5), 0});
  cs.push_back({test::strided_uniform({6, 17}, gen, -5, 5), 1});
  cs.push_back({test::broadcast_view(test::uniform({9}, gen), {4, 9}), 1});
  cs.push_back({test::uniform({}, gen), 0});
  return cs;
}

}  // namespace

TEST_CASE("softmax: forward vs naive double, SIMD vs reference", "[softmax]") {
  Generator gen(21);
  for (const auto& c : cases(gen)) {
    const int64_t d = c.x.dim() == 0 ? 0 : (c.dim + c.x.dim()) % c.x.dim();
    INFO("shape " << shape_str(c.x.shape()) << " dim " << c.dim);
    const auto xv = test::to_double(c.x);
    auto [rs, vs] = both_modes([&] { return raw::softmax(c.x, c.dim); });
    auto [rl, vl] = both_modes([&] { return raw::log_softmax(c.x, c.dim); });
    REQUIRE(vs.shape() == c.x.shape());
    check_close(vs, rs, 1e-5, 1e-9, 0, "softmax simd vs reference");  // sums differ in order
    check_close(vl, rl, 1e-5, 1e-6, 0, "log_softmax simd vs reference");
    for (const Tensor* t : {&vs, &rs}) check_close(t->to_vector<float>(), naive_softmax(xv, c.x.shape(), d, false), 1e-5, 1e-9, 0, "softmax");
    for (const Tensor* t : {&vl, &rl}) check_close(t->to_vector<float>(), naive_softmax(xv, c.x.shape(), d, true), 1e-6, 1e-5, 0, "log_softmax");
  }
}

TEST_CASE("softmax: stable at large magnitudes", "[softmax]") {
  Generator gen(22);
  for (float base : {1e4f, -1e4f}) {
    const Tensor x = raw::add(test::uniform({5, 77}, gen, -10, 10), static_cast<double>(base));
    const Tensor xt = raw::add(test::uniform({77, 5}, gen, -10, 10), static_cast<double>(base));
    for (auto [t, d] : {std::pair{x, int64_t{1}}, std::pair{xt, int64_t{0}}}) {
      auto [rs, vs] = both_modes([&] { return raw::softmax(t, d); });
      auto [rl, vl] = both_modes([&] { return raw::log_softmax(t, d); });
      const auto xv = test::to_double(t);
      for (const Tensor* s : {&rs, &vs}) check_close(s->to_vector<float>(), naive_softmax(xv, t.shape(), d, false), 1e-5, 1e-9);
      for (const Tensor* l : {&rl, &vl}) check_close(l->to_vector<float>(), naive_softmax(xv, t.shape(), d, true), 1e-5, 1e-5);
    }
  }
  // Spread over [-1e4, 1e4]: the largest entry takes all the mass, nothing overflows.
  const Tensor wide = test::fvec({-1e4f, 0.f, 1e4f, 9990.f}, {1, 4});
  auto s = raw::softmax(wide, 1).to_vector<float>();
  CHECK(s[0] == 0.f);
  CHECK(s[2] == Approx(1.0 / (1.0 + std::exp(-10.0))).epsilon(1e-6));
}

TEST_CASE("softmax: -inf masks and fully masked rows", "[softmax]") {
  Generator gen(23);
  for (int64_t n : test::kOddSizes) {
    INFO("n=" << n);
    // Row 0 unmasked, row 1 masked from the middle on, row 2 fully masked.
    Tensor x = test::uniform({3, n}, gen, -5, 5);
    std::vector<float> mask(static_cast<size_t>(3 * n), 0.f);
    for (int64_t j = 0; j < n; ++j) {
      if (j >= (n + 1) / 2) mask[n + j] = 1.f;
      mask[2 * n + j] = 1.f;
    }
    const Tensor m = test::fvec(mask, {3, n});
    const Tensor xm = raw::masked_fill(x, m, -INFINITY);
    // Same data with the softmax dim first, for the column kernels.
    const Tensor xmt = Tensor::view_of(raw::clone(xm).storage(), DType::Float32, {n, 3}, {1, n}, 0);
    for (auto mode : {kernels::KernelMode::Reference, kernels::KernelMode::Simd}) {
      kernels::KernelModeGuard guard(mode);
      const Tensor s = raw::softmax(xm, 1), l = raw::log_softmax(xm, 1);
      const Tensor st = raw::softmax(raw::clone(xmt), 0), lt = raw::log_softmax(raw::clone(xmt), 0);
      for (int64_t j = 0; j < n; ++j) {
        REQUIRE(std::isfinite(s.at({0, j})));
        REQUIRE(s.at({2, j}) == 0.0);        // fully masked: zeros, not NaN
        REQUIRE(l.at({2, j}) == -INFINITY);  // and log(0)
        REQUIRE(st.at({j, 2}) == 0.0);
        REQUIRE(lt.at({j, 2}) == -INFINITY);
        if (mask[n + j] != 0) {
          REQUIRE(s.at({1, j}) == 0.0);
          REQUIRE(st.at({j, 1}) == 0.0);
          REQUIRE(l.at({1, j}) == -INFINITY);
        }
        REQUIRE(s.at({0, j}) == Approx(st.at({j, 0})).epsilon(1e-5));
      }
      const Tensor row_sums = raw::sum(s, {1});
      CHECK(row_sums.at({0}) == Approx(1.0).epsilon(1e-5));
      CHECK(row_sums.at({1}) == Approx(1.0).epsilon(1e-5));
      CHECK(row_sums.at({2}) == 0.0);
      // Backward through a fully masked row stays finite: softmax grads are 0 there.
      const Tensor g = test::uniform({3, n}, gen);
      const Tensor gs = raw::softmax_backward(g, s, 1);
      for (int64_t j = 0; j < n; ++j) REQUIRE(gs.at({2, j}) == 0.0);
      const Tensor gl = raw::log_softmax_backward(g, l, 1);
      for (int64_t j = 0; j < n; ++j) REQUIRE(gl.at({2, j}) == g.at({2, j}));
    }
  }
  // A NaN poisons its row only.
  const Tensor xn = test::fvec({1.f, NAN, 2.f, 1.f, 2.f, 3.f}, {2, 3});
  auto s = raw::softmax(xn, 1).to_vector<float>();
  CHECK(std::isnan(s[0]));
  CHECK(std::isnan(s[2]));
  CHECK(std::isfinite(s[3]));
}

TEST_CASE("softmax: backward passes match finite differences in double", "[softmax]") {
  Generator gen(24);
  struct BCase {
    Shape shape;
    int64_t dim;
  };
  for (const auto& c : std::vector<BCase>{{{3, 7}, 1}, {{2, 17}, -1}, {{5, 4, 3}, 1}, {{6, 5}, 0}, {{4, 33}, 1}}) {
    INFO("shape " << shape_str(c.shape) << " dim " << c.dim);
    const int64_t d = (c.dim + static_cast<int64_t>(c.shape.size())) % static_cast<int64_t>(c.shape.size());
    const Tensor x = test::uniform(c.shape, gen, -3, 3);
    const Tensor r = test::uniform(c.shape, gen, -1, 1);  // loss = sum(r * f(x))
    const auto xv = test::to_double(x), rv = test::to_double(r);
    for (bool log : {false, true}) {
      auto loss = [&](const std::vector<double>& v) {
        auto y = naive_softmax(v, c.shape, d, log);
        double l = 0;
        for (size_t i = 0; i < y.size(); ++i) l += rv[i] * y[i];
        return l;
      };
      std::vector<double> numeric(xv.size());
      const double h = 1e-6;
      for (size_t i = 0; i < xv.size(); ++i) {
        auto p = xv, m = xv;
        p[i] += h;
        m[i] -= h;
        numeric[i] = (loss(p) - loss(m)) / (2 * h);
      }
      auto [ref, vec] = both_modes([&] {
        return log ? raw::log_softmax_backward(r, raw::log_softmax(x, c.dim), c.dim)
                   : raw::softmax_backward(r, raw::softmax(x, c.dim), c.dim);
      });
      check_close(vec.to_vector<float>(), numeric, 1e-4, 1e-6, 0, log ? "log_softmax_backward" : "softmax_backward");
      check_close(ref.to_vector<float>(), numeric, 1e-4, 1e-6, 0, "reference");
    }
  }
}

TEST_CASE("softmax: error messages", "[softmax][errors]") {
  const Tensor x = raw::zeros({2, 3});
  CHECK_THROWS_WITH(raw::softmax(x, 2), Catch::Contains("softmax: dim 2 out of range for a tensor with 2 dims"));
  CHECK_THROWS_WITH(raw::log_softmax(x, -3), Catch::Contains("log_softmax: dim -3 out of range"));
  CHECK_THROWS_WITH(raw::softmax(raw::zeros({2}, DType::Int64), 0),
                    Catch::Contains("softmax: expected a float32 tensor, got int64 [2]"));
  CHECK_THROWS_WITH(raw::softmax_backward(raw::zeros({3, 2}), x, 1),
                    Catch::Contains("softmax_backward: gradient shape [3,2] does not match output shape [2,3]"));
}
