// Every differentiable op against central finite differences (autograd/gradcheck.h), on random
// inputs, including broadcast operands and non-contiguous (transposed) views.
#include <catch2/catch.hpp>

#include "autograd/ops.h"
#include "check_gradients.h"

using namespace tz;
using Inputs = std::vector<Tensor>;
using test::check_gradients;

namespace {
Generator gen(42);

Tensor rnd(const Shape& s, float scale = 1.f) {
  Tensor t = raw::randn(s, gen, 0.f, scale);
  t.set_requires_grad(true);
  return t;
}
// Positive values (for log, sqrt, division).
Tensor pos(const Shape& s) {
  Tensor t = raw::rand(s, gen, 0.5f, 2.0f);
  t.set_requires_grad(true);
  return t;
}
// A transposed (non-contiguous) leaf: the tensor the op sees has strides of a [n, m] buffer.
Tensor rnd_t(int64_t rows, int64_t cols) {
  Tensor base = raw::randn({cols, rows}, gen);
  Tensor t = raw::transpose(base, 0, 1);
  t.set_requires_grad(true);
  return t;
}

}  // namespace

TEST_CASE("gradcheck: arithmetic with broadcasting", "[autograd][gradcheck]") {
  check_gradients([](const Inputs& x) { return add(x[0], x[1]); }, {rnd({3, 4}), rnd({4})});
  check_gradients([](const Inputs& x) { return sub(x[0], x[1]); }, {rnd({3, 1}), rnd({1, 4})});
  check_gradients([](const Inputs& x) { return mul(x[0], x[1]); }, {rnd({2, 3, 4}), rnd({3, 1})});
  check_gradients([](const Inputs& x) { return div(x[0], x[1]); }, {rnd({3, 4}), pos({3, 4})});
  check_gradients([](const Inputs& x) { return mul(add(x[0], 1.5), -2.0); }, {rnd({5})});
  check_gradients([](const Inputs& x) { return neg(x[0]); }, {rnd_t(3, 4)});
  check_gradients([](const Inputs& x) { return mul(x[0], x[1]); }, {rnd_t(3, 4), rnd({3, 4})});
}

TEST_CASE("gradcheck: elementwise functions", "[autograd][gradcheck]") {
  check_gradients([](const Inputs& x) { return exp(x[0]); }, {rnd({7})});
  check_gradients([](const Inputs& x) { return log(x[0]); }, {pos({7})});
  check_gradients([](const Inputs& x) { return sqrt(x[0]); }, {pos({7})});
  check_gradients([](const Inputs& x) { return rsqrt(x[0]); }, {pos({7})});
  check_gradients([](const Inputs& x) { return tanh(x[0]); }, {rnd({7})});
  check_gradients([](const Inputs& x) { return sigmoid(x[0]); }, {rnd({7})});
  check_gradients([](const Inputs& x) { return pow(x[0], 3.0); }, {rnd({7})});
  check_gradients([](const Inputs& x) { return pow(x[0], 0.5); }, {pos({7})});
  check_gradients([](const Inputs& x) { return gelu(x[0]); }, {rnd({17}, 2.f)});
  check_gradients([](const Inputs& x) { return gelu_new(x[0]); }, {rnd({17}, 2.f)});
  check_gradients([](const Inputs& x) { return silu(x[0]); }, {rnd({17}, 2.f)});
  check_gradients([](const Inputs& x) { return gelu(x[0]); }, {rnd_t(4, 5)});
  check_gradients([](const Inputs& x) { return quick_gelu(x[0]); }, {rnd({17}, 2.f)});
  check_gradients([](const Inputs& x) { return mish(x[0]); }, {rnd({17}, 2.f)});
  check_gradients([](const Inputs& x) { return mish(x[0]); }, {rnd_t(4, 5)});
}

TEST_CASE("gradcheck: relu6 away from the kinks", "[autograd][gradcheck]") {
  Tensor x = raw::from_vector(std::vector<float>{-1.f, -0.3f, 0.2f, 2.f, 5.5f, 6.4f, 9.f}, {7});
  x.set_requires_grad(true);
  check_gradients([](const Inputs& v) { return relu6(v[0]); }, {x});
}

TEST_CASE("gradcheck: relu away from the kink", "[autograd][gradcheck]") {
  Tensor x = raw::from_vector(std::vector<float>{-1.f, -0.3f, 0.2f, 2.f}, {4});
  x.set_requires_grad(true);
  check_gradients([](const Inputs& v) { return relu(v[0]); }, {x});
}

TEST_CASE("gradcheck: reductions", "[autograd][gradcheck]") {
  check_gradients([](const Inputs& x) { return sum(x[0]); }, {rnd({3, 4})});
  check_gradients([](const Inputs& x) { return sum(x[0], {1}); }, {rnd({3, 4, 2})});
  check_gradients([](const Inputs& x) { return sum(x[0], {0, 2}, true); }, {rnd({3, 4, 2})});
  check_gradients([](const Inputs& x) { return mean(x[0], {-1}); }, {rnd({3, 4})});
  check_gradients([](const Inputs& x) { return mean(x[0]); }, {rnd_t(3, 4)});
}

TEST_CASE("gradcheck: views and joins", "[autograd][gradcheck]") {
  check_gradients([](const Inputs& x) { return reshape(x[0], {4, 3}); }, {rnd({3, 4})});
  check_gradients([](const Inputs& x) { return reshape(x[0], {12}); }, {rnd_t(3, 4)});
  check_gradients([](const Inputs& x) { return view(x[0], {2, 6}); }, {rnd({3, 4})});
  check_gradients([](const Inputs& x) { return mul(permute(x[0], {2, 0, 1}), 2.0); }, {rnd({2, 3, 4})});
  check_gradients([](const Inputs& x) { return transpose(x[0], 0, 1); }, {rnd({2, 3})});
  check_gradients([](const Inputs& x) { return narrow(x[0], 1, 1, 2); }, {rnd({3, 4})});
  check_gradients([](const Inputs& x) { return slice(x[0], 0, 0, 5, 2); }, {rnd({5, 2})});
  check_gradients([](const Inputs& x) { return select(x[0], 1, 2); }, {rnd({3, 4})});
  check_gradients([](const Inputs& x) { return unsqueeze(x[0], 1); }, {rnd({3, 4})});
  check_gradients([](const Inputs& x) { return squeeze(x[0], 1); }, {rnd({3, 1, 4})});
  check_gradients([](const Inputs& x) { return expand(x[0], {3, 4}); }, {rnd({1, 4})});
  check_gradients([](const Inputs& x) { return contiguous(x[0]); }, {rnd_t(3, 4)});
  check_gradients([](const Inputs& x) { return cat({x[0], x[1]}, 1); }, {rnd({2, 3}), rnd({2, 2})});
  check_gradients([](const Inputs& x) { return cat({x[0], x[1]}, 0); }, {rnd_t(2, 3), rnd({1, 3})});
}

TEST_CASE("gradcheck: matmul and linear", "[autograd][gradcheck]") {
  check_gradients([](const Inputs& x) { return matmul(x[0], x[1]); }, {rnd({3, 4}), rnd({4, 5})});
  check_gradients([](const Inputs& x) { return matmul(x[0], x[1]); }, {rnd({2, 3, 4}), rnd({4, 2})});
  check_gradients([](const Inputs& x) { return matmul(x[0], x[1]); }, {rnd({2, 1, 3, 4}), rnd({3, 4, 2})});
  check_gradients([](const Inputs& x) { return matmul(x[0], x[1]); }, {rnd({4}), rnd({4, 3})});
  check_gradients([](const Inputs& x) { return matmul(x[0], x[1]); }, {rnd({3, 4}), rnd({4})});
  check_gradients([](const Inputs& x) { return matmul(x[0], transpose(x[1], 0, 1)); }, {rnd({3, 4}), rnd({5, 4})});
  check_gradients([](const Inputs& x) { return linear(x[0], x[1], x[2]); }, {rnd({2, 3, 4}), rnd({5, 4}), rnd({5})});
  check_gradients([](const Inputs& x) { return linear(x[0], x[1], Tensor()); }, {rnd_t(3, 4), rnd({2, 4})});
}

TEST_CASE("gradcheck: softmax, log_softmax, layer_norm", "[autograd][gradcheck]") {
  check_gradients([](const Inputs& x) { return softmax(x[0], -1); }, {rnd({3, 5})});
  check_gradients([](const Inputs& x) { return softmax(x[0], 0); }, {rnd({3, 5})});
  check_gradients([](const Inputs& x) { return log_softmax(x[0], 1); }, {rnd({2, 4, 3})});
  check_gradients([](const Inputs& x) { return softmax(x[0], -1); }, {rnd_t(4, 3)});
  check_gradients([](const Inputs& x) { return layer_norm(x[0], x[1], x[2], 1e-5); }, {rnd({3, 6}), rnd({6}), rnd({6})});
  check_gradients([](const Inputs& x) { return layer_norm(x[0], Tensor(), Tensor(), 1e-12); }, {rnd({2, 2, 5})});
  check_gradients([](const Inputs& x) { return layer_norm(x[0], x[1], x[2], 1e-5); }, {rnd_t(4, 6), rnd({6}), rnd({6})});
}

TEST_CASE("gradcheck: embedding, where, masked_fill, dropout", "[autograd][gradcheck]") {
  Tensor ids = raw::from_vector(std::vector<int64_t>{1, 3, 1, 0, 2, 3}, {2, 3});
  check_gradients([ids](const Inputs& x) { return embedding(x[0], ids); }, {rnd({4, 5})});
  // padding_idx rows get no gradient from the lookup
  {
    Tensor w = rnd({4, 3});
    sum(embedding(w, ids, /*padding_idx=*/1)).backward();
    auto g = w.grad().to_vector<float>();
    for (int c = 0; c < 3; ++c) {
      CHECK(g[1 * 3 + c] == 0.f);
      CHECK(g[3 * 3 + c] == 2.f);  // id 3 appears twice
    }
  }
  Tensor cond = raw::from_vector(std::vector<float>{1, 0, 1, 0}, {4});
  check_gradients([cond](const Inputs& x) { return where(cond, x[0], x[1]); }, {rnd({4}), rnd({3, 1})});
  Tensor mask = raw::from_vector(std::vector<float>{0, 1, 0}, {1, 3});
  check_gradients([mask](const Inputs& x) { return masked_fill(x[0], mask, -5.0); }, {rnd({2, 3})});
  // Dropout: the same mask in forward and backward (re-seed so every evaluation draws it again).
  check_gradients([](const Inputs& x) {
    Generator g(7);
    return dropout(x[0], 0.3, true, g);
  }, {rnd({20})});
}

TEST_CASE("gradcheck: depthwise conv1d and unfold1d", "[autograd][gradcheck]") {
  check_gradients([](const Inputs& x) { return depthwise_conv1d(x[0], x[1], x[2], 2); }, {rnd({2, 3, 7}), rnd({3, 1, 5}), rnd({3})});
  check_gradients([](const Inputs& x) { return depthwise_conv1d(x[0], x[1], Tensor(), 1); }, {rnd({1, 2, 4}), rnd({2, 1, 3})});
  check_gradients([](const Inputs& x) { return unfold1d(x[0], 3, 1); }, {rnd({2, 5, 3})});
  check_gradients([](const Inputs& x) { return unfold1d(x[0], 5, 2); }, {rnd({1, 4, 2})});
}

TEST_CASE("gradcheck: losses", "[autograd][gradcheck]") {
  Tensor target = raw::from_vector(std::vector<int64_t>{2, -100, 0, 1}, {4});
  check_gradients([target](const Inputs& x) { return cross_entropy(x[0], target); }, {rnd({4, 3})});
  check_gradients([target](const Inputs& x) { return nll_loss(log_softmax(x[0], -1), target); }, {rnd({4, 3})});
  Tensor y = raw::randn({3, 2}, gen);
  check_gradients([y](const Inputs& x) { return mse_loss(x[0], y); }, {rnd({3, 2})});
  Tensor yb = raw::from_vector(std::vector<float>{0, 1, 1, 0, 1, 0}, {3, 2});
  check_gradients([yb](const Inputs& x) { return bce_with_logits(x[0], yb); }, {rnd({3, 2}, 3.f)});
}

TEST_CASE("cross_entropy with ignore_index matches the hand-computed value", "[autograd][loss]") {
  Tensor logits = raw::from_vector(std::vector<float>{1.f, 2.f, 3.f, 0.f, 0.f, 0.f}, {2, 3});
  Tensor target = raw::from_vector(std::vector<int64_t>{2, -100}, {2});
  double expected = -(3.0 - std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0)));
  CHECK(cross_entropy(logits, target).item() == Approx(expected).epsilon(1e-6));
}
