// Saved tensors that are rebuilt instead of kept (autograd::set_recompute): the gradients are the
// same bit for bit, and the rebuilt tensors are really freed after the forward pass. Also: ops keep
// only what their backward reads (add keeps no operand, mul by a constant keeps no activation),
// and dropout draws its mask again in the backward.
#include <catch2/catch.hpp>

#include "autograd/ops.h"
#include "check_gradients.h"
#include "nn/layers.h"
#include "nn/per_example_rng.h"
#include "tensor/storage.h"

using namespace tz;
using Inputs = std::vector<Tensor>;
using test::check_gradients;

namespace {
Generator gen(2024);

Tensor leaf(const Shape& s) {
  Tensor t = raw::randn(s, gen);
  t.set_requires_grad(true);
  return t;
}


bool same_bits(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.to_vector<float>() == b.to_vector<float>();
}

constexpr size_t kFloat = sizeof(float);
}  // namespace

TEST_CASE("rebuilt saved tensors give correct gradients", "[autograd][recompute]") {
  // Each consumer below saves its input as a recipe (the input comes from a cheap op).
  check_gradients([](const Inputs& x) { return linear(gelu(x[0]), x[1], x[2]); }, {leaf({3, 4}), leaf({5, 4}), leaf({5})});
  check_gradients([](const Inputs& x) { return linear(gelu_new(x[0]), x[1], Tensor()); }, {leaf({2, 3}), leaf({4, 3})});
  check_gradients([](const Inputs& x) { return matmul(silu(x[0]), x[1]); }, {leaf({2, 3}), leaf({3, 2})});
  check_gradients([](const Inputs& x) { return linear(mul(x[0], x[1]), x[2], Tensor()); }, {leaf({2, 3}), leaf({2, 3}), leaf({4, 3})});
  // Through views: unfold -> reshape -> matmul, as ConvBERT's dynamic convolution does.
  check_gradients([](const Inputs& x) { return matmul(reshape(unfold1d(x[0], 3, 1), {-1, 2, 3}), x[1]); },
        {leaf({2, 4, 2}), leaf({8, 3, 1})});
  // depthwise conv -> transpose -> linear (the pointwise half of a separable convolution).
  check_gradients([](const Inputs& x) { return linear(transpose(depthwise_conv1d(x[0], x[1], x[2], 1), 1, 2), x[3], Tensor()); },
        {leaf({2, 3, 5}), leaf({3, 1, 3}), leaf({3}), leaf({4, 3})});
  // dropout -> matmul: the mask is drawn again for the rebuilt input and for dropout's own backward.
  check_gradients([](const Inputs& x) {
    Generator g(11);
    return matmul(dropout(softmax(x[0], -1), 0.4, true, g), x[1]);
  }, {leaf({3, 5}), leaf({5, 2})});
}

TEST_CASE("rebuilt saved tensors give the same gradients bit for bit", "[autograd][recompute]") {
  Tensor h = leaf({16, 32}), w = leaf({8, 32}), b = leaf({8});
  // With the recipe: the linear keeps gelu's recipe.
  sum(mul(linear(gelu(h), w, b), 0.5)).backward();
  // Without: gelu's output as a leaf, which the linear must keep.
  Tensor g = raw::gelu(h);
  g.set_requires_grad(true);
  Tensor w2 = raw::contiguous(w), b2 = raw::contiguous(b);
  w2.set_requires_grad(true);
  b2.set_requires_grad(true);
  sum(mul(linear(g, w2, b2), 0.5)).backward();
  CHECK(same_bits(w.grad(), w2.grad()));
  CHECK(same_bits(b.grad(), b2.grad()));
  CHECK(same_bits(h.grad(), raw::gelu_backward(g.grad(), h)));
}

TEST_CASE("a consumer keeps the recipe, not the cheap op's output", "[autograd][recompute]") {
  const int64_t n = 256, in = 512, out = 64;  // gelu's output: 512 KB
  Tensor h = leaf({n, in}), w = leaf({out, in});
  const size_t before = allocated_bytes();
  Tensor y = linear(gelu(h), w, Tensor());  // gelu's output is a temporary
  const size_t kept = allocated_bytes() - before;
  // Only y is alive; keeping gelu's output would add n * in floats.
  CHECK(kept < static_cast<size_t>(n * in) * kFloat);
  CHECK(kept >= static_cast<size_t>(n * out) * kFloat);
  sum(y).backward();
  CHECK(h.grad().defined());

  // The same for the unfold feeding a matmul (K = 9 times its input's size).
  Tensor x = leaf({4, 64, 32}), k = leaf({4 * 64 * 4, 9, 1});
  const size_t before2 = allocated_bytes();
  Tensor c = matmul(reshape(unfold1d(x, 9, 4), {-1, 8, 9}), k);
  // c is as large as x; the unfolded tensor would be 9 times that.
  CHECK(allocated_bytes() - before2 < static_cast<size_t>(2 * x.numel()) * kFloat);
  sum(c).backward();
  CHECK(x.grad().defined());
}

TEST_CASE("add keeps no operand; mul by a constant keeps only the constant", "[autograd][recompute]") {
  const int64_t n = 128 * 1024;  // 512 KB per tensor
  Tensor a = leaf({n}), b = leaf({n});
  Tensor mask = raw::rand({n}, gen, 0.f, 2.f);  // needs no gradient
  const size_t before = allocated_bytes();
  // t and u are temporaries: if add or the mask's mul kept them, they would stay alive.
  Tensor y = add(mul(mul(a, 3.0), mask), b);
  const size_t kept = allocated_bytes() - before;
  CHECK(kept < static_cast<size_t>(2 * n) * kFloat);  // y, and nothing as large besides
  sum(y).backward();
  auto ga = a.grad().to_vector<float>(), m = mask.to_vector<float>();
  for (int64_t i = 0; i < n; i += 4099) CHECK(ga[static_cast<size_t>(i)] == 3.f * m[static_cast<size_t>(i)]);
  // div by a constant: the gradient is still right without the numerator kept.
  Tensor c = leaf({4});
  sum(div(c, raw::scalar(2.f))).backward();
  for (float v : c.grad().to_vector<float>()) CHECK(v == 0.5f);
}

TEST_CASE("dropout's backward replays the forward's mask", "[autograd][recompute]") {
  Tensor x = raw::rand({1000}, gen, 1.f, 2.f);  // no zeros: y = x * mask shows the mask
  x.set_requires_grad(true);
  Generator g(5);
  Tensor y = dropout(x, 0.5, true, g);
  // Draws after the forward must not change the mask the backward uses.
  for (int i = 0; i < 100; ++i) g.uniform();
  raw::dropout_mask({1000}, 0.5, g);
  sum(y).backward();
  auto gx = x.grad().to_vector<float>(), yv = y.to_vector<float>(), xv = x.to_vector<float>();
  size_t dropped = 0;
  for (size_t i = 0; i < gx.size(); ++i) {
    CHECK(yv[i] == xv[i] * gx[i]);  // the gradient is the mask
    dropped += gx[i] == 0.f;
  }
  CHECK(dropped > 400);
  CHECK(dropped < 600);

  // The per-example path of nn::Dropout draws each row's mask again from its stream.
  nn::Dropout layer(0.3);
  layer.train();
  Tensor x2 = raw::rand({4, 256}, gen, 1.f, 2.f);
  x2.set_requires_grad(true);
  Tensor y2;
  {
    nn::PerExampleRngScope scope(/*run_seed=*/9, /*step=*/3, /*first_example=*/0);
    y2 = layer.forward(x2);
  }
  sum(y2).backward();
  auto g2 = x2.grad().to_vector<float>(), y2v = y2.to_vector<float>(), x2v = x2.to_vector<float>();
  size_t dropped2 = 0;
  for (size_t i = 0; i < g2.size(); ++i) {
    CHECK(y2v[i] == x2v[i] * g2[i]);
    dropped2 += g2[i] == 0.f;
  }
  CHECK(dropped2 > 200);
  CHECK(dropped2 < 420);
}
