// End to end: a 2-layer MLP with layer_norm and softmax cross-entropy must learn a fixed synthetic
// 3-class problem. Any wrong backward (matmul, linear, layer_norm, gelu, log_softmax, nll) stalls it.
#include <catch2/catch.hpp>

#include "autograd/ops.h"

using namespace tz;

TEST_CASE("a 2-layer MLP learns a synthetic classification problem", "[autograd][e2e]") {
  Generator gen(2024);
  const int64_t N = 300, D = 2, H = 32, C = 3;
  // Three blobs on a circle; labels by blob.
  std::vector<float> xs;
  std::vector<int64_t> ys;
  for (int64_t i = 0; i < N; ++i) {
    int64_t c = i % C;
    double angle = 2.0 * 3.14159265 * c / C;
    xs.push_back(static_cast<float>(2.0 * std::cos(angle) + 0.6 * gen.normal()));
    xs.push_back(static_cast<float>(2.0 * std::sin(angle) + 0.6 * gen.normal()));
    ys.push_back(c);
  }
  Tensor x = raw::from_vector(xs, {N, D});
  Tensor y = raw::from_vector(ys, {N});

  auto leaf = [](Tensor t) { t.set_requires_grad(true); return t; };
  Tensor w1 = leaf(raw::randn({H, D}, gen, 0.f, 0.5f)), b1 = leaf(raw::zeros({H}));
  Tensor g1 = leaf(raw::ones({H})), be1 = leaf(raw::zeros({H}));
  Tensor w2 = leaf(raw::randn({C, H}, gen, 0.f, 0.2f)), b2 = leaf(raw::zeros({C}));
  std::vector<Tensor> params{w1, b1, g1, be1, w2, b2};

  auto forward = [&] {
    Tensor h = gelu(layer_norm(linear(x, w1, b1), g1, be1, 1e-5));
    return linear(h, w2, b2);
  };
  double first_loss = 0;
  for (int step = 0; step < 200; ++step) {
    Tensor loss = cross_entropy(forward(), y);
    if (step == 0) first_loss = loss.item();
    for (auto& p : params) p.set_grad(Tensor());
    loss.backward();
    NoGradGuard ng;
    for (auto& p : params) raw::add_(p, p.grad(), -0.1);
  }
  NoGradGuard ng;
  Tensor pred = raw::argmax(forward(), -1);
  auto p = pred.to_vector<int64_t>();
  int correct = 0;
  for (int64_t i = 0; i < N; ++i) correct += p[i] == ys[i];
  double acc = static_cast<double>(correct) / N;
  INFO("accuracy " << acc << ", first loss " << first_loss << ", final loss "
                   << cross_entropy(forward(), y).item());
  CHECK(acc >= 0.95);
}
