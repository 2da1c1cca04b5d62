// Layers against naive loops written here, their gradients against finite differences
// (autograd/gradcheck.h), dropout's modes and seeding, and HF init. Activations by name:
// test_activation.cpp.
#include <catch2/catch.hpp>

#include <cmath>

#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "nn/init.h"
#include "nn/layers.h"

using namespace tz;
using namespace tz::nn;

namespace {

Tensor randn(const Shape& s, uint64_t seed, float std = 1.f) {
  Generator g(seed);
  return raw::randn(s, g, 0.f, std);
}

void check_grad(const std::function<Tensor(const std::vector<Tensor>&)>& fn, const std::vector<Tensor>& in) {
  GradcheckResult r = gradcheck(fn, in);
  INFO(r.report);
  CHECK(r.ok);
}

// out[b, o, t] = bias[o] + sum_{c in group(o), k} w[o, c - c0, k] * x[b, c, t + k - pad]
std::vector<float> naive_conv1d(const Tensor& x, const Tensor& w, const Tensor& bias, int64_t pad, int64_t groups) {
  const int64_t B = x.size(0), C = x.size(1), T = x.size(2), O = w.size(0), Cg = w.size(1), K = w.size(2);
  const int64_t T_out = T + 2 * pad - K + 1, Og = O / groups;
  std::vector<float> out;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t o = 0; o < O; ++o)
      for (int64_t t = 0; t < T_out; ++t) {
        double s = bias.defined() ? bias.at({o}) : 0.0;
        const int64_t c0 = (o / Og) * Cg;
        for (int64_t c = 0; c < Cg; ++c)
          for (int64_t k = 0; k < K; ++k) {
            const int64_t ti = t + k - pad;
            if (ti >= 0 && ti < T) s += w.at({o, c, k}) * x.at({b, c0 + c, ti});
          }
        out.push_back(static_cast<float>(s));
      }
  (void)C;
  return out;
}

double max_diff(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(static_cast<double>(a[i]) - b[i]));
  return m;
}

}  // namespace

TEST_CASE("Linear: shapes, forward vs naive, gradients", "[nn][layers]") {
  manual_seed(1);
  Linear lin(5, 3);
  CHECK(lin.weight.shape() == Shape{3, 5});
  CHECK(lin.bias.shape() == Shape{3});
  // torch default init bound 1/sqrt(in)
  for (float v : lin.weight.to_vector<float>()) CHECK(std::abs(v) <= 1.0 / std::sqrt(5.0));
  Tensor x = randn({2, 4, 5}, 7);
  Tensor y = lin.forward(x);
  REQUIRE(y.shape() == Shape{2, 4, 3});
  std::vector<float> ref;
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t t = 0; t < 4; ++t)
      for (int64_t o = 0; o < 3; ++o) {
        double s = lin.bias.at({o});
        for (int64_t i = 0; i < 5; ++i) s += lin.weight.at({o, i}) * x.at({b, t, i});
        ref.push_back(static_cast<float>(s));
      }
  CHECK(max_diff(y.to_vector<float>(), ref) < 1e-5);

  Linear nob(5, 3, false);
  CHECK_FALSE(nob.bias.defined());
  CHECK(nob.named_parameters().size() == 1);
  CHECK_THROWS_WITH(lin.forward(randn({2, 4}, 1)), Catch::Contains("does not end in in_features = 5"));

  x.set_requires_grad(true);
  check_grad([&](const std::vector<Tensor>& in) { return lin.forward(in[0]); }, {x});
  check_grad([&](const std::vector<Tensor>&) { return lin.forward(x.detach()); }, {lin.weight, lin.bias});
}

TEST_CASE("Embedding: lookup, zero padding row that gets no gradient", "[nn][layers]") {
  manual_seed(2);
  Embedding emb(6, 3, 2);
  CHECK(emb.weight.shape() == Shape{6, 3});
  for (int64_t c = 0; c < 3; ++c) CHECK(emb.weight.at({2, c}) == 0.0);
  Tensor ids = raw::from_vector(std::vector<int64_t>{1, 2, 5, 1}, {2, 2});
  Tensor y = emb.forward(ids);
  REQUIRE(y.shape() == Shape{2, 2, 3});
  for (int64_t c = 0; c < 3; ++c) {
    CHECK(y.at({0, 0, c}) == emb.weight.at({1, c}));
    CHECK(y.at({1, 0, c}) == emb.weight.at({5, c}));
  }
  tz::sum(y).backward();
  Tensor g = emb.weight.grad();
  for (int64_t c = 0; c < 3; ++c) {
    CHECK(g.at({1, c}) == 2.0);  // id 1 used twice
    CHECK(g.at({2, c}) == 0.0);  // padding
    CHECK(g.at({5, c}) == 1.0);
    CHECK(g.at({0, c}) == 0.0);
  }
  CHECK_THROWS_WITH(Embedding(6, 3, 6), Catch::Contains("padding_idx 6"));
  CHECK_THROWS_WITH(emb.forward(raw::zeros({2})), Catch::Contains("ids must be int64"));
  // Finite differences would see the padding row, which by design gets no gradient; check the rest.
  Tensor ids_no_pad = raw::from_vector(std::vector<int64_t>{1, 4, 5, 1, 0}, {5});
  check_grad([&](const std::vector<Tensor>&) { return emb.forward(ids_no_pad); }, {emb.weight});
}

TEST_CASE("LayerNorm: forward vs naive (biased variance, eps inside), gradients", "[nn][layers]") {
  LayerNorm ln(6, 1e-5);
  CHECK(ln.weight.to_vector<float>() == std::vector<float>(6, 1.f));
  CHECK(ln.bias.to_vector<float>() == std::vector<float>(6, 0.f));
  Generator gen(3);
  init_normal_(ln.weight, 1.0, gen);
  init_normal_(ln.bias, 1.0, gen);
  Tensor x = randn({3, 6}, 5, 2.f);
  Tensor y = ln.forward(x);
  std::vector<float> ref;
  for (int64_t r = 0; r < 3; ++r) {
    double mean = 0, var = 0;
    for (int64_t c = 0; c < 6; ++c) mean += x.at({r, c});
    mean /= 6;
    for (int64_t c = 0; c < 6; ++c) var += (x.at({r, c}) - mean) * (x.at({r, c}) - mean);
    var /= 6;
    for (int64_t c = 0; c < 6; ++c)
      ref.push_back(static_cast<float>((x.at({r, c}) - mean) / std::sqrt(var + 1e-5) * ln.weight.at({c}) + ln.bias.at({c})));
  }
  CHECK(max_diff(y.to_vector<float>(), ref) < 1e-5);
  CHECK_THROWS_WITH(ln.forward(randn({3, 5}, 1)), Catch::Contains("does not end in dim = 6"));
  x.set_requires_grad(true);
  check_grad([&](const std::vector<Tensor>& in) { return ln.forward(in[0]); }, {x});
  check_grad([&](const std::vector<Tensor>&) { return ln.forward(x.detach()); }, {ln.weight, ln.bias});
}

TEST_CASE("Dropout: identity in eval, seeded and inverted-scaled in training", "[nn][layers]") {
  Generator g1(99), g2(99);
  Dropout d1(0.25, &g1), d2(0.25, &g2);
  Tensor x = raw::ones({4000});
  Tensor a = d1.forward(x), b = d2.forward(x);
  CHECK(raw::max_abs_diff(a, b) == 0.0);  // same seed, same mask
  auto v = a.to_vector<float>();
  int zeros = 0;
  for (float f : v) {
    if (f == 0.f)
      ++zeros;
    else
      CHECK(f == Approx(1.0 / 0.75));
  }
  CHECK(zeros > 900);   // expected 1000, sd ~27
  CHECK(zeros < 1100);
  CHECK(raw::max_abs_diff(d1.forward(x), a) > 0.0);  // the stream moves on

  d1.eval();
  Tensor e = d1.forward(x);
  CHECK(raw::max_abs_diff(e, x) == 0.0);
  const auto state_before = g1.state();
  d1.forward(x);
  CHECK(g1.state() == state_before);  // eval draws nothing
  CHECK_THROWS_WITH(Dropout(1.0), Catch::Contains("[0, 1)"));
}

TEST_CASE("Conv1d: depthwise, pointwise and general groups=1 vs naive; gradients", "[nn][layers]") {
  manual_seed(3);
  SECTION("depthwise (ConvBERT's SeparableConv1D.depthwise)") {
    Conv1d conv(4, 4, 3, /*padding=*/1, /*groups=*/4, /*bias=*/false);
    CHECK(conv.weight.shape() == Shape{4, 1, 3});
    CHECK_FALSE(conv.bias.defined());
    Tensor x = randn({2, 4, 7}, 11);
    Tensor y = conv.forward(x);
    REQUIRE(y.shape() == Shape{2, 4, 7});
    CHECK(max_diff(y.to_vector<float>(), naive_conv1d(x, conv.weight, Tensor(), 1, 4)) < 1e-5);
    x.set_requires_grad(true);
    check_grad([&](const std::vector<Tensor>& in) { return conv.forward(in[0]); }, {x});
    check_grad([&](const std::vector<Tensor>&) { return conv.forward(x.detach()); }, {conv.weight});
  }
  SECTION("pointwise (kernel 1)") {
    Conv1d conv(4, 6, 1, 0, 1, false);
    CHECK(conv.weight.shape() == Shape{6, 4, 1});
    Tensor x = randn({2, 4, 5}, 12);
    Tensor y = conv.forward(x);
    REQUIRE(y.shape() == Shape{2, 6, 5});
    CHECK(max_diff(y.to_vector<float>(), naive_conv1d(x, conv.weight, Tensor(), 0, 1)) < 1e-5);
    x.set_requires_grad(true);
    check_grad([&](const std::vector<Tensor>& in) { return conv.forward(in[0]); }, {x});
    check_grad([&](const std::vector<Tensor>&) { return conv.forward(x.detach()); }, {conv.weight});
  }
  SECTION("groups = 1, kernel 3, with bias, output shorter / longer than input") {
    for (int64_t pad : {0, 1, 3}) {
      Conv1d conv(3, 2, 3, pad);
      Tensor x = randn({2, 3, 6}, 13 + pad);
      Tensor y = conv.forward(x);
      REQUIRE(y.shape() == Shape{2, 2, 6 + 2 * pad - 2});
      CHECK(max_diff(y.to_vector<float>(), naive_conv1d(x, conv.weight, conv.bias, pad, 1)) < 1e-5);
      x.set_requires_grad(true);
      check_grad([&](const std::vector<Tensor>& in) { return conv.forward(in[0]); }, {x});
      check_grad([&](const std::vector<Tensor>&) { return conv.forward(x.detach()); }, {conv.weight, conv.bias});
    }
  }
  CHECK_THROWS_WITH(Conv1d(4, 4, 3, 1, 2), Catch::Contains("groups = 2 (in 4, out 4) is not supported"));
  CHECK_THROWS_WITH(Conv1d(4, 4, 3).forward(randn({1, 3, 5}, 1)), Catch::Contains("is not [B, in_channels = 4, T]"));
  CHECK_THROWS_WITH(Conv1d(4, 4, 5).forward(randn({1, 4, 3}, 1)), Catch::Contains("shorter than kernel_size"));
}

TEST_CASE("init helpers and init_weights_like_hf", "[nn][init]") {
  struct Model : Module {
    std::shared_ptr<Embedding> emb = register_module("emb", std::make_shared<Embedding>(50, 40, 1));
    std::shared_ptr<Linear> dense = register_module("dense", std::make_shared<Linear>(40, 60));
    std::shared_ptr<LayerNorm> ln = register_module("LayerNorm", std::make_shared<LayerNorm>(40));
    std::shared_ptr<Conv1d> conv = register_module("conv", std::make_shared<Conv1d>(4, 4, 3, 1, 4, false));
  } m;
  init_constant_(m.ln->weight, 3.0);
  init_constant_(m.ln->bias, 3.0);
  init_constant_(m.emb->weight, 3.0);
  Tensor conv_before = raw::clone(m.conv->weight);
  Generator gen(5);
  init_weights_like_hf(m, 0.02, gen);

  auto stats = [](const Tensor& t) {
    auto v = t.to_vector<float>();
    double s = 0, s2 = 0;
    for (float f : v) s += f, s2 += static_cast<double>(f) * f;
    const double mean = s / v.size();
    return std::pair<double, double>{mean, std::sqrt(s2 / v.size() - mean * mean)};
  };
  auto [lm, ls] = stats(m.dense->weight);
  CHECK(std::abs(lm) < 0.002);
  CHECK(ls == Approx(0.02).epsilon(0.05));
  CHECK(m.dense->bias.to_vector<float>() == std::vector<float>(60, 0.f));
  auto [em, es] = stats(m.emb->weight);
  CHECK(es == Approx(0.02).epsilon(0.1));
  (void)em;
  for (int64_t c = 0; c < 40; ++c) CHECK(m.emb->weight.at({1, c}) == 0.0);
  CHECK(m.ln->weight.to_vector<float>() == std::vector<float>(40, 1.f));
  CHECK(m.ln->bias.to_vector<float>() == std::vector<float>(40, 0.f));
  CHECK(raw::max_abs_diff(conv_before, m.conv->weight) == 0.0);  // not an HF-initialised layer

  // Seeded: the same generator state gives the same weights.
  Generator a(7), b(7);
  Tensor t1 = raw::zeros({3, 5}), t2 = raw::transpose(raw::zeros({5, 3}), 0, 1);
  init_normal_(t1, 0.5, a);
  init_normal_(t2, 0.5, b);  // strided view: same values in logical order
  CHECK(raw::max_abs_diff(t1, t2) == 0.0);
  init_uniform_(t1, -0.1, 0.1, a);
  for (float v : t1.to_vector<float>()) CHECK(std::abs(v) <= 0.1f);
  CHECK_THROWS_WITH(init_normal_(raw::arange(3), 1.0, a), Catch::Contains("expects a float32 tensor"));
}
