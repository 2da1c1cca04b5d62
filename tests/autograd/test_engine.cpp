// The backward engine: leaf/non-leaf semantics, accumulation, a tensor used several times,
// graph freeing, grad mode, detach.
#include <catch2/catch.hpp>

#include <functional>

#include "autograd/node.h"
#include "autograd/ops.h"

using namespace tz;

static Tensor param(std::vector<float> v, Shape s) {
  Tensor t = raw::from_vector(v, s);
  t.set_requires_grad(true);
  return t;
}

TEST_CASE("backward of a scalar reaches leaves with the chain rule", "[autograd]") {
  Tensor x = param({1.f, 2.f, 3.f}, {3});
  Tensor y = sum(mul(x, x));  // dy/dx = 2x
  y.backward();
  REQUIRE(x.grad().defined());
  CHECK(x.grad().to_vector<float>() == std::vector<float>{2.f, 4.f, 6.f});
  CHECK(x.is_leaf());
  CHECK_FALSE(y.is_leaf());
}

TEST_CASE("a tensor used several times sums its gradients", "[autograd]") {
  Tensor x = param({2.f}, {1});
  Tensor a = mul(x, 3.0);
  Tensor y = sum(add(mul(a, x), a));  // y = 3x^2 + 3x -> dy/dx = 6x + 3 = 15
  y.backward();
  CHECK(x.grad().item() == Approx(15.0));
}

TEST_CASE("gradients accumulate across backward calls until zeroed", "[autograd]") {
  Tensor x = param({1.f, -1.f}, {2});
  sum(mul(x, 2.0)).backward();
  sum(mul(x, 2.0)).backward();
  CHECK(x.grad().to_vector<float>() == std::vector<float>{4.f, 4.f});
  x.set_grad(Tensor());
  sum(x).backward();
  CHECK(x.grad().to_vector<float>() == std::vector<float>{1.f, 1.f});
}

TEST_CASE("a second backward through a freed graph is a clear error", "[autograd]") {
  Tensor x = param({1.f, 2.f}, {2});
  Tensor y = sum(exp(x));
  y.backward();
  CHECK_THROWS_WITH(y.backward(), Catch::Contains("already been freed") && Catch::Contains("retain_graph"));
  Tensor z = sum(exp(x));
  z.backward(Tensor(), /*retain_graph=*/true);
  CHECK_NOTHROW(z.backward());
}

TEST_CASE("backward needs a one-element output or an explicit gradient", "[autograd]") {
  Tensor x = param({1.f, 2.f}, {2});
  Tensor y = mul(x, 2.0);
  CHECK_THROWS_WITH(y.backward(), Catch::Contains("one element") && Catch::Contains("[2]"));
  y.backward(raw::from_vector(std::vector<float>{1.f, 10.f}, {2}));
  CHECK(x.grad().to_vector<float>() == std::vector<float>{2.f, 20.f});
}

TEST_CASE("NoGradGuard records nothing; detach cuts history", "[autograd]") {
  Tensor x = param({1.f, 2.f}, {2});
  {
    NoGradGuard ng;
    Tensor y = mul(x, 2.0);
    CHECK_FALSE(y.requires_grad());
    {
      EnableGradGuard eg;
      CHECK(mul(x, 2.0).requires_grad());
    }
  }
  CHECK(is_grad_enabled());
  Tensor d = mul(x, 2.0).detach();
  CHECK_FALSE(d.requires_grad());
  CHECK(d.is_leaf());
}

TEST_CASE("only leaves may change requires_grad", "[autograd]") {
  Tensor x = param({1.f}, {1});
  Tensor y = mul(x, 2.0);
  CHECK_THROWS_WITH(y.set_requires_grad(false), Catch::Contains("leaf") && Catch::Contains("mul_scalar"));
  Tensor ids = raw::from_vector(std::vector<int64_t>{1}, {1});
  CHECK_THROWS_WITH(ids.set_requires_grad(true), Catch::Contains("int64"));
}

TEST_CASE("ops on inputs that need no grad record nothing", "[autograd]") {
  Tensor a = raw::ones({2});
  Tensor y = add(a, a);
  CHECK_FALSE(y.requires_grad());
  CHECK(y.autograd_meta() == nullptr);
}

TEST_CASE("a deep chain backpropagates without recursion limits", "[autograd]") {
  Tensor x = param({1.f}, {1});
  Tensor y = x;
  for (int i = 0; i < 20000; ++i) y = add(y, 0.0);
  sum(y).backward();
  CHECK(x.grad().item() == 1.0);
}

// An op `y = x` (identity) whose backward returns whatever `make_grad` builds from the output gradient.
static Tensor identity_with_grad(const Tensor& x, std::function<Tensor(const Tensor&)> make_grad) {
  return autograd::record("test_identity", raw::clone(x), {x},
                          [make_grad](const Tensor& g) { return std::vector<Tensor>{make_grad(g)}; });
}

TEST_CASE("a leaf keeps a fresh gradient as its .grad and copies one anyone else can reach",
          "[autograd]") {
  SECTION("a fresh result nobody else holds becomes .grad without a copy") {
    Tensor x = param({1.f, 2.f, 3.f}, {3});
    const float* made = nullptr;
    Tensor y = identity_with_grad(x, [&made](const Tensor& g) {
      Tensor fresh = raw::mul(g, 2.0);
      made = fresh.data<float>();
      return fresh;
    });
    sum(y).backward();
    CHECK(x.grad().data<float>() == made);
    CHECK(x.grad().to_vector<float>() == std::vector<float>{2.f, 2.f, 2.f});
  }
  SECTION("a gradient the node also keeps is copied, and later accumulation leaves it alone") {
    Tensor x = param({1.f, 2.f, 3.f}, {3});
    Tensor kept = raw::from_vector(std::vector<float>{5.f, 6.f, 7.f}, {3});
    sum(identity_with_grad(x, [kept](const Tensor&) { return kept; })).backward();
    CHECK(x.grad().data<float>() != kept.data<float>());
    sum(identity_with_grad(x, [kept](const Tensor&) { return kept; })).backward();
    CHECK(x.grad().to_vector<float>() == std::vector<float>{10.f, 12.f, 14.f});
    CHECK(kept.to_vector<float>() == std::vector<float>{5.f, 6.f, 7.f});
  }
  SECTION("a view into a larger gradient is copied into memory of the leaf's own size") {
    Tensor x = param({1.f, 2.f}, {2});
    sum(identity_with_grad(x, [](const Tensor&) {
      Tensor wide = raw::from_vector(std::vector<float>{0.f, 3.f, 4.f, 0.f}, {4});
      return raw::narrow(wide, 0, 1, 2);
    })).backward();
    CHECK(x.grad().storage()->nbytes() == 2 * sizeof(float));
    CHECK(x.grad().to_vector<float>() == std::vector<float>{3.f, 4.f});
  }
}

TEST_CASE("a node reached twice sums in place only into a gradient nobody else holds", "[autograd]") {
  for (bool kept_first : {true, false}) {
    CAPTURE(kept_first);
    Tensor x = param({1.f, 2.f}, {2});
    Tensor kept = raw::from_vector(std::vector<float>{10.f, 20.f}, {2});
    Tensor h = mul(x, 1.0);  // the non-leaf node that receives two gradients
    Tensor from_kept = identity_with_grad(h, [kept](const Tensor&) { return kept; });
    Tensor from_fresh = identity_with_grad(h, [](const Tensor& g) { return raw::mul(g, 3.0); });
    Tensor y = kept_first ? add(from_kept, from_fresh) : add(from_fresh, from_kept);
    sum(y).backward();
    CHECK(x.grad().to_vector<float>() == std::vector<float>{13.f, 23.f});
    CHECK(kept.to_vector<float>() == std::vector<float>{10.f, 20.f});
  }
}
