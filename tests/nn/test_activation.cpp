// Every activation nn::activation knows by HF name, against HF's formula for it written out here in
// double precision: values on a grid that reaches |x| = 1e4, gradients against the central
// difference of the double formula on the same grid, gradcheck (autograd/gradcheck.h) on moderate
// values, and the error for an unknown name.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <functional>
#include <numbers>
#include <string>
#include <vector>

#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "nn/activation.h"

using namespace tz;

namespace {

// HF's formulas (transformers/activations.py and the torch functions ACT2FN names), in double.
double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double gelu_erf(double x) { return x * 0.5 * (1.0 + std::erf(x / std::sqrt(2.0))); }
double gelu_tanh(double x) {
  return 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / std::numbers::pi) * (x + 0.044715 * std::pow(x, 3.0))));
}
double gelu_fast(double x) { return 0.5 * x * (1.0 + std::tanh(x * 0.7978845608 * (1.0 + 0.044715 * x * x))); }
double softplus(double x) { return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }

struct Formula {
  std::string name;
  std::function<double(double)> f;
  std::vector<double> kinks;  // where f has no derivative
};

const std::vector<Formula>& formulas() {
  static const std::vector<Formula> all = {
      {"gelu", gelu_erf, {}},
      {"gelu_python", gelu_erf, {}},
      {"gelu_new", gelu_tanh, {}},
      {"gelu_pytorch_tanh", gelu_tanh, {}},
      {"gelu_fast", gelu_fast, {}},
      {"quick_gelu", [](double x) { return x * sigmoid(1.702 * x); }, {}},
      {"relu", [](double x) { return std::max(x, 0.0); }, {0.0}},
      {"relu6", [](double x) { return std::min(std::max(x, 0.0), 6.0); }, {0.0, 6.0}},
      {"silu", [](double x) { return x * sigmoid(x); }, {}},
      {"swish", [](double x) { return x * sigmoid(x); }, {}},
      {"mish", [](double x) { return x * std::tanh(softplus(x)); }, {}},
      {"tanh", [](double x) { return std::tanh(x); }, {}},
      {"sigmoid", sigmoid, {}},
      {"linear", [](double x) { return x; }, {}},
  };
  return all;
}

// From far below to far above, through the bends of every activation (0, 6, GELU's minimum near
// -0.75, the tails where exp overflows in float).
const std::vector<float> kGrid = {-1e4f, -1000.f, -100.f, -30.f, -17.f, -8.f, -5.f, -3.5f, -2.f, -1.25f,
                                  -0.75f, -0.3f, -0.01f, 0.f, 0.01f, 0.3f, 0.8f, 1.5f, 2.7f, 4.f,
                                  5.5f, 6.f, 6.5f, 9.f, 17.f, 30.f, 100.f, 1000.f, 1e4f};

Tensor grid_tensor() {
  // Each grid value 16 times: the vector loops see full vectors of every value.
  std::vector<float> v;
  for (float x : kGrid) v.insert(v.end(), 16, x);
  return raw::from_vector(v, {static_cast<int64_t>(kGrid.size()), 16});
}

}  // namespace

TEST_CASE("activation: every HF name against its formula in double precision", "[nn][activation]") {
  const Tensor x = grid_tensor();
  for (const Formula& c : formulas()) {
    INFO(c.name);
    nn::Activation act = nn::activation(c.name);
    // Values: a few float ulps of the result, or 2e-7 absolute where the result is near 0 (GELU's
    // far negative tail keeps absolute, not relative, accuracy, as PyTorch's float kernels do).
    Tensor xl = raw::clone(x);
    xl.set_requires_grad(true);
    Tensor y = act(xl);
    REQUIRE(y.shape() == x.shape());
    const auto ys = y.to_vector<float>();
    for (size_t i = 0; i < ys.size(); ++i) {
      const double xi = kGrid[i / 16], want = c.f(xi);
      INFO("x = " << xi << ": got " << ys[i] << ", want " << want);
      CHECK(std::fabs(ys[i] - want) <= 1e-6 * std::fabs(want) + 2e-7);
    }
    // Gradients: d/dx of the formula by a central difference in double (away from kinks).
    sum(y).backward();
    const auto gs = xl.grad().to_vector<float>();
    for (size_t i = 0; i < gs.size(); ++i) {
      const double xi = kGrid[i / 16];
      if (std::find(c.kinks.begin(), c.kinks.end(), xi) != c.kinks.end()) continue;
      const double h = 1e-6 * std::max(1.0, std::fabs(xi));
      const double want = (c.f(xi + h) - c.f(xi - h)) / (2 * h);
      INFO("x = " << xi << ": gradient " << gs[i] << ", formula's " << want);
      CHECK(std::fabs(gs[i] - want) <= 1e-5 * std::fabs(want) + 1e-6);
    }
  }
}

TEST_CASE("activation: gradcheck through every HF name", "[nn][activation]") {
  // Moderate values, clear of relu's and relu6's kinks: float finite differences lose their
  // accuracy where |x| is large (eps = 1e-3 is near float's spacing there).
  Tensor x = raw::from_vector(std::vector<float>{-7.5f, -3.2f, -1.1f, -0.45f, 0.2f, 0.9f, 2.3f, 4.4f, 6.6f, 12.f}, {2, 5});
  x.set_requires_grad(true);
  for (const std::string& name : nn::activation_names()) {
    INFO(name);
    nn::Activation act = nn::activation(name);
    GradcheckResult r = gradcheck([&](const std::vector<Tensor>& in) { return act(in[0]); }, {x});
    INFO(r.report);
    CHECK(r.ok);
  }
}

TEST_CASE("activation: the names, and an unknown one", "[nn][activation]") {
  std::vector<std::string> tested;
  for (const Formula& c : formulas()) tested.push_back(c.name);
  std::sort(tested.begin(), tested.end());
  CHECK(nn::activation_names() == tested);  // every known name has a formula test above
  CHECK_THROWS_WITH(nn::activation("gelu_11"),
                    "activation: unknown name 'gelu_11'; supported: gelu, gelu_fast, gelu_new, gelu_python, "
                    "gelu_pytorch_tanh, linear, mish, quick_gelu, relu, relu6, sigmoid, silu, swish, tanh");
}
