// Depthwise conv1d and ConvBERT's unfold against naive loops written here; their backward passes
// against the adjoint identities <f(x), g> == <x, f^T(g)> (both maps are linear in x, and the conv
// is linear in the weight too) and a naive weight gradient; the vector row kernels against their
// scalar references on SIMD-awkward sizes.
#include <catch2/catch.hpp>

#include "tensor/kernels/conv.h"
#include "tensor/ops.h"

using namespace tz;

namespace {

Tensor randn(const Shape& s, uint64_t seed) {
  Generator g(seed);
  return raw::randn(s, g);
}

double inner(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  auto x = a.to_vector<float>(), y = b.to_vector<float>();
  double s = 0;
  for (size_t i = 0; i < x.size(); ++i) s += static_cast<double>(x[i]) * y[i];
  return s;
}

void check_close(const Tensor& got, const std::vector<double>& want, double tol = 1e-5) {
  auto v = got.to_vector<float>();
  REQUIRE(v.size() == want.size());
  for (size_t i = 0; i < v.size(); ++i) REQUIRE(v[i] == Approx(want[i]).epsilon(tol).margin(tol));
}

// PyTorch Conv1d(groups = C) in double: y[b,c,t] = bias[c] + sum_k w[c,0,k] x[b,c,t+k-p]
std::vector<double> naive_dwconv(const Tensor& x, const Tensor& w, const Tensor& bias, int64_t p) {
  const int64_t B = x.size(0), C = x.size(1), T = x.size(2), K = w.size(2), To = T + 2 * p - K + 1;
  std::vector<double> y;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t t = 0; t < To; ++t) {
        double acc = bias.defined() ? bias.at({c}) : 0.0;
        for (int64_t k = 0; k < K; ++k) {
          const int64_t s = t + k - p;
          if (s >= 0 && s < T) acc += w.at({c, 0, k}) * x.at({b, c, s});
        }
        y.push_back(acc);
      }
  return y;
}

}  // namespace

TEST_CASE("depthwise_conv1d: forward against the naive loop", "[conv]") {
  uint64_t seed = 1;
  for (int64_t T : {1, 7, 17, 130})
    for (int64_t K : {1, 3, 9})
      for (int64_t p : {int64_t{0}, K / 2, K - 1}) {
        if (T + 2 * p - K + 1 < 1) continue;
        INFO("T=" << T << " K=" << K << " padding=" << p);
        Tensor x = randn({2, 3, T}, seed++), w = randn({3, 1, K}, seed++), b = randn({3}, seed++);
        Tensor y = raw::depthwise_conv1d(x, w, b, p);
        REQUIRE(y.shape() == Shape{2, 3, T + 2 * p - K + 1});
        check_close(y, naive_dwconv(x, w, b, p));
        check_close(raw::depthwise_conv1d(x, w, Tensor(), p), naive_dwconv(x, w, Tensor(), p));
      }
  // a non-contiguous input: [B, T, C] transposed to [B, C, T], as ConvBERT feeds it
  Tensor xt = raw::transpose(randn({2, 11, 4}, 99), 1, 2);
  Tensor w = randn({4, 1, 5}, 100);
  check_close(raw::depthwise_conv1d(xt, w, Tensor(), 2), naive_dwconv(xt, w, Tensor(), 2));
}

TEST_CASE("depthwise_conv1d: backward satisfies the adjoint identities", "[conv]") {
  for (int64_t T : {1, 7, 17, 130})
    for (int64_t K : {1, 3, 9}) {
      const int64_t p = K / 2, To = T + 2 * p - K + 1;
      INFO("T=" << T << " K=" << K);
      Tensor x = randn({3, 4, T}, 1), w = randn({4, 1, K}, 2), g = randn({3, 4, To}, 3);
      raw::DepthwiseConv1dGrads d = raw::depthwise_conv1d_backward(g, x, w, p, true);
      REQUIRE(d.dx.shape() == x.shape());
      REQUIRE(d.dweight.shape() == w.shape());
      REQUIRE(d.dbias.shape() == Shape{4});
      Tensor y = raw::depthwise_conv1d(x, w, Tensor(), p);
      // <conv(x; w), g> is bilinear in (x, w): it equals <x, dx> and <w, dw>.
      const double lhs = inner(y, g);
      CHECK(inner(x, d.dx) == Approx(lhs).epsilon(1e-4).margin(1e-4));
      CHECK(inner(w, d.dweight) == Approx(lhs).epsilon(1e-4).margin(1e-4));
      // dw naive: sum_b sum_t g[b,c,t] x[b,c,t+k-p]; dbias: sum_b sum_t g
      std::vector<double> dw, db;
      for (int64_t c = 0; c < 4; ++c) {
        double sb = 0;
        for (int64_t b = 0; b < 3; ++b)
          for (int64_t t = 0; t < To; ++t) sb += g.at({b, c, t});
        db.push_back(sb);
        for (int64_t k = 0; k < K; ++k) {
          double s = 0;
          for (int64_t b = 0; b < 3; ++b)
            for (int64_t t = 0; t < To; ++t)
              if (t + k - p >= 0 && t + k - p < T) s += g.at({b, c, t}) * x.at({b, c, t + k - p});
          dw.push_back(s);
        }
      }
      check_close(d.dweight, dw, 1e-4);
      check_close(d.dbias, db, 1e-4);
    }
  Tensor x = randn({1, 2, 5}, 1), w = randn({2, 1, 3}, 2);
  CHECK_FALSE(raw::depthwise_conv1d_backward(randn({1, 2, 5}, 3), x, w, 1, false).dbias.defined());
  CHECK_THROWS_WITH(raw::depthwise_conv1d_backward(randn({1, 2, 4}, 3), x, w, 1, false),
                    Catch::Contains("depthwise_conv1d_backward: grad shape [1,2,4] does not match the output shape [1,2,5]"));
}

TEST_CASE("depthwise_conv1d: error messages", "[conv][errors]") {
  Tensor x = raw::zeros({2, 3, 4});
  CHECK_THROWS_WITH(raw::depthwise_conv1d(x, raw::zeros({4, 1, 3}), Tensor(), 1),
                    Catch::Contains("depthwise_conv1d: weight shape [4,1,3] does not fit input [2,3,4] (expected [3, 1, K])"));
  CHECK_THROWS_WITH(raw::depthwise_conv1d(x, raw::zeros({3, 1, 9}), Tensor(), 0),
                    Catch::Contains("depthwise_conv1d: input [2,3,4] with padding 0 is too short for kernel size 9"));
  CHECK_THROWS_WITH(raw::depthwise_conv1d(x, raw::zeros({3, 1, 3}), raw::zeros({2}), 1),
                    Catch::Contains("depthwise_conv1d: bias shape [2] does not fit input [2,3,4] (expected [3])"));
  CHECK_THROWS_WITH(raw::depthwise_conv1d(raw::zeros({3, 4}), raw::zeros({3, 1, 3}), Tensor(), 1),
                    Catch::Contains("depthwise_conv1d: input must be [B, C, T], got [3,4]"));
  CHECK_THROWS_WITH(raw::depthwise_conv1d(x, raw::zeros({3, 1, 3}), Tensor(), -1),
                    Catch::Contains("depthwise_conv1d: padding must be >= 0, got -1"));
}

TEST_CASE("conv row kernels agree with their scalar references", "[conv][kernels]") {
  for (int64_t T : {1, 7, 15, 16, 17, 1000, 4099})
    for (int64_t K : {1, 4, 9}) {
      const int64_t p = K / 2, To = T + 2 * p - K + 1;
      INFO("T=" << T << " K=" << K);
      Tensor x = randn({T}, 1), w = randn({K}, 2), g = randn({To}, 3);
      Tensor y1 = raw::zeros({To}), y2 = raw::zeros({To});
      kernels::dwconv1d_row(x.data<float>(), T, w.data<float>(), K, 0.5f, p, y1.data<float>(), To);
      kernels::dwconv1d_row_reference(x.data<float>(), T, w.data<float>(), K, 0.5f, p, y2.data<float>(), To);
      auto r2 = y2.to_vector<float>();
      check_close(y1, std::vector<double>(r2.begin(), r2.end()), 1e-5);
      Tensor dx1 = raw::full({T}, 1.0), dx2 = raw::full({T}, 1.0);
      kernels::dwconv1d_row_backward_input(g.data<float>(), To, w.data<float>(), K, p, dx1.data<float>(), T);
      kernels::dwconv1d_row_backward_input_reference(g.data<float>(), To, w.data<float>(), K, p, dx2.data<float>(), T);
      auto v2 = dx2.to_vector<float>();
      check_close(dx1, std::vector<double>(v2.begin(), v2.end()), 1e-5);
      Tensor dw1 = raw::full({K}, 1.0), dw2 = raw::full({K}, 1.0);
      kernels::dwconv1d_row_backward_weight(g.data<float>(), To, x.data<float>(), T, K, p, dw1.data<float>());
      kernels::dwconv1d_row_backward_weight_reference(g.data<float>(), To, x.data<float>(), T, K, p, dw2.data<float>());
      auto w2 = dw2.to_vector<float>();
      check_close(dw1, std::vector<double>(w2.begin(), w2.end()), 1e-4);
    }
}

TEST_CASE("unfold1d: against the naive definition, and its adjoint", "[conv]") {
  for (int64_t T : {1, 7, 17})
    for (int64_t K : {1, 3, 9})
      for (int64_t p : {int64_t{0}, (K - 1) / 2, K - 1}) {
        const int64_t To = T + 2 * p - K + 1;
        if (To < 1) continue;
        INFO("T=" << T << " K=" << K << " padding=" << p);
        const int64_t B = 2, C = 5;
        Tensor x = randn({B, T, C}, 1);
        Tensor u = raw::unfold1d(x, K, p);
        REQUIRE(u.shape() == Shape{B, To, C, K});
        std::vector<double> want;
        for (int64_t b = 0; b < B; ++b)
          for (int64_t t = 0; t < To; ++t)
            for (int64_t c = 0; c < C; ++c)
              for (int64_t k = 0; k < K; ++k) {
                const int64_t s = t + k - p;
                want.push_back(s >= 0 && s < T ? x.at({b, s, c}) : 0.0);
              }
        check_close(u, want, 0.0);
        Tensor g = randn({B, To, C, K}, 2);
        Tensor dx = raw::unfold1d_backward(g, K, p);
        REQUIRE(dx.shape() == x.shape());
        CHECK(inner(x, dx) == Approx(inner(u, g)).epsilon(1e-5).margin(1e-5));
      }
  // ConvBERT's case: K = 9, padding 4 keeps T; a non-contiguous input
  Tensor xt = raw::transpose(randn({2, 6, 10}, 3), 1, 2);  // [2,10,6]
  Tensor u = raw::unfold1d(xt, 9, 4);
  REQUIRE(u.shape() == Shape{2, 10, 6, 9});
  CHECK(u.at({1, 3, 2, 0}) == 0);                       // t + k - p = -1
  CHECK(u.at({1, 3, 2, 5}) == xt.at({1, 4, 2}));
  CHECK(u.at({0, 9, 5, 4}) == xt.at({0, 9, 5}));
  CHECK_THROWS_WITH(raw::unfold1d(raw::zeros({1, 3, 2}), 9, 0),
                    Catch::Contains("unfold1d: input [1,3,2] with padding 0 is too short for kernel size 9"));
  CHECK_THROWS_WITH(raw::unfold1d_backward(raw::zeros({1, 3, 2, 4}), 9, 4),
                    Catch::Contains("unfold1d_backward: grad must be [B, T, C, K] with K = 9, got [1,3,2,4]"));
}
