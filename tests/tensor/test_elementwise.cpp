// Elementwise ops: the vectorised kernels against the scalar reference kernels (TZ_KERNELS modes)
// at odd sizes, both against naive double-precision formulas, on strided, transposed and broadcast
// views; activation backward kernels against finite differences; the activations at the far ends
// (|x| = 1e4, inf, NaN); error messages.
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <string>

#include "tensor/ops.h"
#include "tensor/parallel.h"
#include "tests/tensor/kernel_check.h"

using namespace tz;
using tz::test::both_modes;
using tz::test::check_close;

namespace {

struct UnaryCase {
  std::string name;
  std::function<Tensor(const Tensor&)> op;
  std::function<double(double)> ref;
  float lo, hi;
  int64_t mode_ulp;   // allowed distance between the SIMD and the reference kernel
  double rtol, atol;  // allowed distance from the double formula
};

double gelu_d(double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); }
double gelu_new_d(double x) {
  return 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
}
double silu_d(double x) { return x / (1.0 + std::exp(-x)); }
double quick_gelu_d(double x) { return x / (1.0 + std::exp(-1.702 * x)); }
double mish_d(double x) { return x * std::tanh(std::log1p(std::exp(x))); }
double relu6_d(double x) { return std::min(std::max(x, 0.0), 6.0); }

// raw::pointwise(x, f) as a function of x alone.
std::function<Tensor(const Tensor&)> pointwise_op(Pointwise f) {
  return [f](const Tensor& x) { return raw::pointwise(x, f); };
}

std::vector<UnaryCase> unary_cases() {
  const double f = 1e-6;  // a few float ulp, relative
  return {
      {"neg", raw::neg, [](double x) { return -x; }, -3, 3, 0, 0, 0},
      {"exp", raw::exp, [](double x) { return std::exp(x); }, -20, 20, 4, f, 0},
      {"log", raw::log, [](double x) { return std::log(x); }, 1e-3f, 100, 4, f, 1e-7},
      {"sqrt", raw::sqrt, [](double x) { return std::sqrt(x); }, 0, 100, 0, f, 0},
      {"rsqrt", raw::rsqrt, [](double x) { return 1 / std::sqrt(x); }, 1e-2f, 100, 0, f, 0},
      {"tanh", raw::tanh, [](double x) { return std::tanh(x); }, -10, 10, 4, f, 1e-7},
      {"erf", raw::erf, [](double x) { return std::erf(x); }, -5, 5, 4, f, 1e-7},
      {"sigmoid", raw::sigmoid, [](double x) { return 1 / (1 + std::exp(-x)); }, -20, 20, 4, f, 1e-7},
      {"abs", raw::abs, [](double x) { return std::fabs(x); }, -3, 3, 0, 0, 0},
      {"relu", raw::relu, [](double x) { return x < 0 ? 0.0 : x; }, -3, 3, 0, 0, 0},
      {"gelu", raw::gelu, gelu_d, -8, 8, 4, f, 1e-7 * test::kNoFmaSlack},
      {"gelu_new", raw::gelu_new, gelu_new_d, -8, 8, 4, f, 1e-7 * test::kNoFmaSlack},
      {"silu", raw::silu, silu_d, -20, 20, 4, f, 1e-7},
      {"quick_gelu", pointwise_op(Pointwise::QuickGelu), quick_gelu_d, -20, 20, 4, f, 1e-7},
      {"mish", pointwise_op(Pointwise::Mish), mish_d, -20, 20, 4, f, 1e-7},
      {"mish far", pointwise_op(Pointwise::Mish), mish_d, -90, 90, 4, f, 1e-7},
      {"relu6", pointwise_op(Pointwise::Relu6), relu6_d, -3, 9, 0, 0, 0},
      {"add scalar", [](const Tensor& t) { return raw::add(t, 0.25); }, [](double x) { return x + 0.25; }, -3, 3, 0, 1e-7, 0},
      {"mul scalar", [](const Tensor& t) { return raw::mul(t, -1.5); }, [](double x) { return x * -1.5; }, -3, 3, 0, 1e-7, 0},
      {"gt", [](const Tensor& t) { return raw::gt(t, 0.5); }, [](double x) { return x > 0.5 ? 1.0 : 0.0; }, -3, 3, 0, 0, 0},
      {"pow 2", [](const Tensor& t) { return raw::pow(t, 2); }, [](double x) { return x * x; }, -10, 10, 1, f, 0},
      {"pow 3", [](const Tensor& t) { return raw::pow(t, 3); }, [](double x) { return x * x * x; }, -10, 10, 2, f, 0},
      {"pow 0.5", [](const Tensor& t) { return raw::pow(t, 0.5); }, [](double x) { return std::sqrt(x); }, 0, 10, 1, f, 0},
      {"pow -0.5", [](const Tensor& t) { return raw::pow(t, -0.5); }, [](double x) { return 1 / std::sqrt(x); }, 0.1f, 10, 1, f, 0},
      {"pow -1", [](const Tensor& t) { return raw::pow(t, -1); }, [](double x) { return 1 / x; }, 0.1f, 10, 1, f, 0},
      {"pow -2", [](const Tensor& t) { return raw::pow(t, -2); }, [](double x) { return 1 / (x * x); }, 0.1f, 10, 2, f, 0},
      {"pow 1.7", [](const Tensor& t) { return raw::pow(t, 1.7); }, [](double x) { return std::pow(x, 1.7); }, 0, 10, 0, f, 0},
      {"pow 0", [](const Tensor& t) { return raw::pow(t, 0); }, [](double) { return 1.0; }, -3, 3, 0, 0, 0},
  };
}

// The multi-index of element k (row-major) of `shape`.
std::vector<int64_t> unravel(int64_t k, const Shape& shape) {
  std::vector<int64_t> idx(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    idx[d] = k % shape[d];
    k /= shape[d];
  }
  return idx;
}

// The element of `t` that broadcasting maps to index `idx` of a tensor of larger shape.
double at_broadcast(const Tensor& t, const std::vector<int64_t>& idx) {
  std::vector<int64_t> ti(t.shape().size());
  const size_t lead = idx.size() - ti.size();
  for (size_t d = 0; d < ti.size(); ++d) ti[d] = t.shape()[d] == 1 ? 0 : idx[lead + d];
  return t.at(ti);
}

// out[k] = f(a[k], b[k]) with broadcasting, in double, element by element through Tensor::at.
std::vector<double> naive_binary(const Tensor& a, const Tensor& b, const std::function<double(double, double)>& f) {
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), "test");
  std::vector<double> out(static_cast<size_t>(shape_numel(shape)));
  for (size_t k = 0; k < out.size(); ++k) {
    auto idx = unravel(static_cast<int64_t>(k), shape);
    out[k] = f(at_broadcast(a, idx), at_broadcast(b, idx));
  }
  return out;
}

}  // namespace

TEST_CASE("elementwise: unary kernels, SIMD vs reference vs double formula", "[elementwise]") {
  Generator gen(1);
  for (const auto& c : unary_cases()) {
    for (int64_t n : test::kOddSizes) {
      INFO(c.name << " n=" << n);
      const Tensor x = test::uniform({n}, gen, c.lo, c.hi);
      auto [ref, vec] = both_modes([&] { return c.op(x); });
      check_close(vec, ref, 0, c.atol, c.mode_ulp, c.name + " simd vs reference");
      std::vector<double> want;
      for (float v : x.to_vector<float>()) want.push_back(c.ref(v));
      check_close(vec.to_vector<float>(), want, c.rtol, c.atol, 0, c.name + " vs double");
    }
    // Non-contiguous (stride 2, offset 1) and broadcast (stride 0) inputs.
    INFO(c.name << " views");
    const Tensor xs = test::strided_uniform({3, 37}, gen, c.lo, c.hi);
    const Tensor xb = test::broadcast_view(test::uniform({37}, gen, c.lo, c.hi), {4, 37});
    const Tensor xt = test::transposed_uniform(19, 23, gen, c.lo, c.hi);
    for (const Tensor& x : {xs, xb, xt}) {
      REQUIRE_FALSE(x.is_contiguous());
      auto [ref, vec] = both_modes([&] { return c.op(x); });
      REQUIRE(vec.shape() == x.shape());
      REQUIRE(vec.is_contiguous());
      check_close(vec, ref, 0, c.atol, c.mode_ulp, c.name + " view simd vs reference");
      std::vector<double> want;
      for (float v : x.to_vector<float>()) want.push_back(c.ref(v));
      check_close(vec.to_vector<float>(), want, c.rtol, c.atol, 0, c.name + " view vs double");
    }
  }
}

TEST_CASE("elementwise: special values", "[elementwise]") {
  const float inf = INFINITY, nan = NAN;
  const Tensor x = test::fvec({-inf, -100.f, -0.f, 0.f, 100.f, inf, nan}, {7});
  for (auto mode : {kernels::KernelMode::Reference, kernels::KernelMode::Simd}) {
    kernels::KernelModeGuard guard(mode);
    auto relu = raw::relu(x).to_vector<float>();
    CHECK(relu[0] == 0.f);
    CHECK(relu[5] == inf);
    CHECK(std::isnan(relu[6]));  // NaN passes through relu, as torch.relu
    auto sig = raw::sigmoid(x).to_vector<float>();
    CHECK(sig[0] == 0.f);
    CHECK(sig[1] == Approx(0.0).margin(1e-30));
    CHECK(sig[5] == 1.f);
    auto gelu = raw::gelu(x).to_vector<float>();
    CHECK(gelu[1] == 0.f);
    CHECK(gelu[4] == 100.f);
    auto th = raw::tanh(x).to_vector<float>();
    CHECK(th[0] == -1.f);
    CHECK(th[5] == 1.f);
    CHECK(raw::exp(x).to_vector<float>()[0] == 0.f);
    CHECK(std::isnan(raw::log(test::fvec({-1.f}, {1})).item()));
  }
}

TEST_CASE("elementwise: binary ops with broadcasting and views", "[elementwise]") {
  Generator gen(2);
  struct BinCase {
    std::string name;
    std::function<Tensor(const Tensor&, const Tensor&)> op;
    std::function<double(double, double)> ref;
  };
  const std::vector<BinCase> cases = {
      {"add", [](const Tensor& a, const Tensor& b) { return raw::add(a, b); }, [](double a, double b) { return a + b; }},
      {"sub", [](const Tensor& a, const Tensor& b) { return raw::sub(a, b); }, [](double a, double b) { return a - b; }},
      {"mul", [](const Tensor& a, const Tensor& b) { return raw::mul(a, b); }, [](double a, double b) { return a * b; }},
      {"div", [](const Tensor& a, const Tensor& b) { return raw::div(a, b); }, [](double a, double b) { return a / b; }},
  };
  // (a, b) pairs: same shape at odd sizes, bias rows, outer products, scalars, and views.
  std::vector<std::pair<Tensor, Tensor>> pairs;
  for (int64_t n : test::kOddSizes) pairs.emplace_back(test::uniform({n}, gen), test::uniform({n}, gen, 0.5f, 3));
  pairs.emplace_back(test::uniform({33, 768}, gen), test::uniform({768}, gen, 0.5f, 3));       // bias add
  pairs.emplace_back(test::uniform({17, 1}, gen), test::uniform({1, 19}, gen, 0.5f, 3));       // outer
  pairs.emplace_back(test::uniform({2, 3, 1, 5}, gen), test::uniform({4, 1}, gen, 0.5f, 3));   // 4-d
  pairs.emplace_back(test::uniform({}, gen), test::uniform({9}, gen, 0.5f, 3));                // 0-dim
  pairs.emplace_back(test::uniform({23}, gen), test::uniform({}, gen, 0.5f, 3));
  pairs.emplace_back(test::transposed_uniform(31, 29, gen), test::strided_uniform({31, 29}, gen, 0.5f, 3));
  pairs.emplace_back(test::strided_uniform({5, 40}, gen), test::transposed_uniform(5, 40, gen, 0.5f, 3));
  pairs.emplace_back(test::transposed_uniform(64, 48, gen), test::uniform({48}, gen, 0.5f, 3));
  for (const auto& c : cases) {
    for (const auto& [a, b] : pairs) {
      INFO(c.name << " " << shape_str(a.shape()) << " " << shape_str(b.shape()));
      auto [ref, vec] = both_modes([&] { return c.op(a, b); });
      check_close(vec, ref, 0, 0, 0, c.name + " simd vs reference");  // one IEEE op: bitwise equal
      check_close(vec.to_vector<float>(), naive_binary(a, b, c.ref), 1e-7, 0, 0, c.name + " vs double");
      // Swapped operands exercise the scalar-vector path the other way round.
      auto [ref2, vec2] = both_modes([&] { return c.op(b, a); });
      check_close(vec2, ref2, 0, 0, 0, c.name + " swapped simd vs reference");
      check_close(vec2.to_vector<float>(), naive_binary(b, a, c.ref), 1e-7, 0, 0, c.name + " swapped vs double");
    }
  }
}

TEST_CASE("elementwise: activation backward kernels match finite differences", "[elementwise]") {
  Generator gen(3);
  struct Case {
    std::string name;
    std::function<Tensor(const Tensor&, const Tensor&)> backward;
    std::function<double(double)> forward;
  };
  auto backward_of = [](Pointwise f) {
    return [f](const Tensor& g, const Tensor& x) { return raw::pointwise_backward(g, x, f); };
  };
  const std::vector<Case> cases = {{"gelu_backward", raw::gelu_backward, gelu_d},
                                   {"gelu_new_backward", raw::gelu_new_backward, gelu_new_d},
                                   {"silu_backward", raw::silu_backward, silu_d},
                                   {"quick_gelu_backward", backward_of(Pointwise::QuickGelu), quick_gelu_d},
                                   {"mish_backward", backward_of(Pointwise::Mish), mish_d}};
  for (const auto& c : cases) {
    for (int64_t n : test::kOddSizes) {
      INFO(c.name << " n=" << n);
      const Tensor x = test::uniform({n}, gen, -6, 6);
      const Tensor g = test::uniform({n}, gen, -2, 2);
      auto [ref, vec] = both_modes([&] { return c.backward(g, x); });
      check_close(vec, ref, 1e-6, 1e-6, 4, c.name + " simd vs reference");  // f' terms cancel near its zeros
      auto xs = x.to_vector<float>(), gs = g.to_vector<float>();
      std::vector<double> want(xs.size());
      const double h = 1e-4;
      for (size_t i = 0; i < xs.size(); ++i)
        want[i] = gs[i] * (c.forward(xs[i] + h) - c.forward(xs[i] - h)) / (2 * h);
      check_close(vec.to_vector<float>(), want, 1e-5, 1e-6, 0, c.name + " vs finite differences");
    }
    // A broadcast gradient and a strided input.
    const Tensor x = test::strided_uniform({4, 50}, gen, -6, 6);
    const Tensor g = test::uniform({50}, gen);
    auto [ref, vec] = both_modes([&] { return c.backward(g, x); });
    REQUIRE(vec.shape() == Shape{4, 50});
    check_close(vec, ref, 1e-6, 1e-6, 4, c.name + " views");
  }
}

TEST_CASE("elementwise: the far ends of the activations", "[elementwise]") {
  const float inf = INFINITY, nan = NAN;
  const std::vector<float> xs = {-inf, -1e4f, -100.f, -17.f, 0.f, 3.f, 100.f, 1e4f, inf, nan};
  const int64_t m = static_cast<int64_t>(xs.size()), reps = 32;  // each value 32 times: full vectors
  const Tensor x = raw::contiguous(raw::expand(test::fvec(xs, {m, 1}), {m, reps}));
  const Tensor g = raw::full({m, reps}, 2.0);
  for (auto mode : {kernels::KernelMode::Reference, kernels::KernelMode::Simd}) {
    kernels::KernelModeGuard guard(mode);
    for (Pointwise f : {Pointwise::Gelu, Pointwise::GeluNew, Pointwise::Silu, Pointwise::QuickGelu, Pointwise::Mish}) {
      const auto y = raw::pointwise(x, f).to_vector<float>();
      const auto d = raw::pointwise_backward(g, x, f).to_vector<float>();
      for (int64_t k = 0; k < m * reps; ++k) {
        const size_t i = static_cast<size_t>(k / reps);
        INFO(pointwise_name(f) << (mode == kernels::KernelMode::Simd ? " simd" : " reference") << " x = " << xs[i]);
        // x itself far above, 0 far below, no overflow into NaN on the way, in both directions.
        if (i == 1 || i == 4) CHECK(y[k] == 0.f);
        if (i == 2) CHECK(y[k] == Approx(0.0).margin(1e-30));
        if (i >= 6 && i <= 8) CHECK(y[k] == xs[i]);
        if (i == 9) CHECK(std::isnan(y[k]));
        if (i == 1) CHECK(d[k] == 0.f);
        if (i == 2 || i == 3) CHECK(d[k] == Approx(0.0).margin(1e-5));
        if (i == 6 || i == 7) CHECK(d[k] == 2.f);
      }
    }
  }
}

TEST_CASE("elementwise: relu6 at its bounds", "[elementwise]") {
  // hardtanh(x, 0, 6): the bounds taken at x <= 0 and x >= 6 (so -0 gives +0), NaN passes; the
  // gradient is g strictly inside (0, 6) and for NaN, 0 elsewhere, as PyTorch's hardtanh_backward.
  const float inf = INFINITY, nan = NAN;
  const std::vector<float> xs = {-inf, -1e4f, -1.f, -0.f, 0.f, 3.f, 6.f, 7.f, 1e4f, inf, nan};
  const std::vector<float> want_y = {0, 0, 0, 0, 0, 3, 6, 6, 6, 6, nan};
  const std::vector<float> want_d = {0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 2};
  const int64_t m = static_cast<int64_t>(xs.size()), reps = 32;
  const Tensor x = raw::contiguous(raw::expand(test::fvec(xs, {m, 1}), {m, reps}));
  const Tensor g = raw::full({m, reps}, 2.0);
  for (auto mode : {kernels::KernelMode::Reference, kernels::KernelMode::Simd}) {
    kernels::KernelModeGuard guard(mode);
    const auto y = raw::pointwise(x, Pointwise::Relu6).to_vector<float>();
    const auto d = raw::pointwise_backward(g, x, Pointwise::Relu6).to_vector<float>();
    for (int64_t k = 0; k < m * reps; ++k) {
      const size_t i = static_cast<size_t>(k / reps);
      INFO((mode == kernels::KernelMode::Simd ? "simd" : "reference") << " x = " << xs[i]);
      if (std::isnan(want_y[i])) CHECK(std::isnan(y[k]));
      else CHECK(y[k] == want_y[i]);
      CHECK_FALSE(std::signbit(y[k]));
      CHECK(d[k] == want_d[i]);
    }
  }
}

TEST_CASE("elementwise: in-place add_ and mul_ on views", "[elementwise]") {
  Generator gen(4);
  for (auto mode : {kernels::KernelMode::Reference, kernels::KernelMode::Simd}) {
    kernels::KernelModeGuard guard(mode);
    // Transposed destination, broadcast row operand.
    Tensor a = test::transposed_uniform(37, 45, gen);
    const Tensor b = test::uniform({45}, gen);
    const Tensor before = raw::clone(a);
    raw::add_(a, b, -0.5);
    REQUIRE(a.strides() == Shape{1, 37});  // still the same view
    check_close(a.to_vector<float>(), naive_binary(before, b, [](double x, double y) { return x - 0.5 * y; }),
                1e-6, 1e-7, 0, "add_");
    // Strided destination (stride 2, offset 1): the gaps must stay untouched.
    Tensor s = test::strided_uniform({3, 21}, gen);
    const auto storage_before = Tensor::view_of(s.storage(), DType::Float32, {129}, {1}, 0).to_vector<float>();
    raw::mul_(s, 3.0);
    const auto storage_after = Tensor::view_of(s.storage(), DType::Float32, {129}, {1}, 0).to_vector<float>();
    for (int64_t i = 0; i < 129; ++i) {
      const bool in_view = i >= 1 && (i - 1) % 43 < 42 && (i - 1) % 43 % 2 == 0;
      if (in_view) CHECK(storage_after[i] == storage_before[i] * 3.f);
      else CHECK(storage_after[i] == storage_before[i]);
    }
  }
}

TEST_CASE("elementwise: comparisons, where and masked_fill", "[elementwise]") {
  Generator gen(5);
  // eq on float and int64 with broadcasting.
  const Tensor fa = test::fvec({1.f, 2.f, 3.f, 4.f, 5.f, 6.f}, {2, 3});
  const Tensor fb = test::fvec({1.f, 0.f, 3.f}, {3});
  CHECK(raw::eq(fa, fb).to_vector<float>() == std::vector<float>{1, 0, 1, 0, 0, 0});
  const Tensor ia = raw::from_vector(std::vector<int64_t>{7, 8, 9, 7}, {4});
  const Tensor ib = raw::from_vector(std::vector<int64_t>{7}, {1});
  const Tensor eq_i = raw::eq(ia, ib);
  CHECK(eq_i.dtype() == DType::Float32);
  CHECK(eq_i.to_vector<float>() == std::vector<float>{1, 0, 0, 1});
  for (int64_t n : test::kOddSizes) {
    const Tensor a = test::uniform({n}, gen);
    auto [ref, vec] = both_modes([&] { return raw::eq(a, a); });
    check_close(vec, ref, 0, 0);
    CHECK(raw::sum(vec).item() == n);
    auto [rg, vg] = both_modes([&] { return raw::gt(a, 0.3); });
    check_close(vg, rg, 0, 0);
  }

  // where: float and int64 conditions, three-way broadcasting.
  const Tensor cond = test::uniform({4, 1, 6}, gen);
  const Tensor cond01 = raw::gt(cond, 0.0);
  const Tensor x = test::transposed_uniform(5, 6, gen);
  const Tensor y = test::uniform({6}, gen);
  auto [rw, vw] = both_modes([&] { return raw::where(cond01, x, y); });
  REQUIRE(vw.shape() == Shape{4, 5, 6});
  check_close(vw, rw, 0, 0);
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t j = 0; j < 5; ++j)
      for (int64_t k = 0; k < 6; ++k)
        REQUIRE(vw.at({i, j, k}) == (cond01.at({i, 0, k}) != 0 ? x.at({j, k}) : y.at({k})));
  const Tensor cond_i = raw::to_dtype(raw::mul(cond01, 5.0), DType::Int64);
  CHECK(raw::max_abs_diff(raw::where(cond_i, x, y), vw) == 0.0);

  // A NaN condition counts as nonzero (true) on both paths.
  const Tensor nan_cond = test::fvec(std::vector<float>(20, NAN), {20});
  auto [rn, vn] = both_modes([&] { return raw::where(nan_cond, raw::ones({20}), raw::zeros({20})); });
  CHECK(raw::sum(rn).item() == 20);
  CHECK(raw::sum(vn).item() == 20);

  // masked_fill with an attention-style mask [B, 1, 1, T] over scores [B, H, T, T].
  const int64_t B = 2, H = 3, T = 19;
  const Tensor scores = test::uniform({B, H, T, T}, gen);
  std::vector<int64_t> pad(B * T, 0);
  for (int64_t t = 11; t < T; ++t) pad[T + t] = 1;  // second sequence padded from 11 on
  const Tensor mask = raw::from_vector(pad, {B, 1, 1, T});
  auto [rm, vm] = both_modes([&] { return raw::masked_fill(scores, mask, -1e4); });
  check_close(vm, rm, 0, 0);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t q = 0; q < T; ++q)
        for (int64_t k = 0; k < T; ++k)
          REQUIRE(vm.at({b, h, q, k}) == (pad[b * T + k] ? -1e4f : scores.at({b, h, q, k})));
}

TEST_CASE("elementwise: large tensors split across threads give identical results", "[elementwise]") {
  Generator gen(6);
  const Tensor a = test::uniform({301, 1111}, gen);
  const Tensor b = test::uniform({1111}, gen);
  const int saved = get_num_threads();
  set_num_threads(1);
  const Tensor one_add = raw::add(a, b), one_gelu = raw::gelu(a);
  set_num_threads(2);
  const Tensor two_add = raw::add(a, b), two_gelu = raw::gelu(a);
  set_num_threads(saved);
  CHECK(raw::max_abs_diff(one_add, two_add) == 0.0);
  CHECK(raw::max_abs_diff(one_gelu, two_gelu) == 0.0);
  check_close(two_add.to_vector<float>(), naive_binary(a, b, [](double x, double y) { return x + y; }), 1e-7, 0);
}

TEST_CASE("elementwise: max_abs_diff", "[elementwise]") {
  const Tensor a = test::fvec({1.f, INFINITY, NAN, 4.f}, {4});
  CHECK(raw::max_abs_diff(a, a) == 0.0);  // equal infinities and NaN pairs count as equal
  const Tensor b = test::fvec({1.5f, INFINITY, NAN, 2.f}, {4});
  CHECK(raw::max_abs_diff(a, b) == 2.0);
  const Tensor c = test::fvec({1.f, INFINITY, 0.f, 4.f}, {4});
  CHECK(std::isnan(raw::max_abs_diff(a, c)));  // a NaN against a number is never hidden
  const Tensor i = raw::from_vector(std::vector<int64_t>{1, 3, 0, 4}, {4});
  CHECK(raw::max_abs_diff(test::fvec({1.f, 2.f, 0.f, 4.f}, {4}), i) == 1.0);
  CHECK_THROWS_WITH(raw::max_abs_diff(a, raw::zeros({2, 2})),
                    Catch::Contains("max_abs_diff: shapes [4] and [2,2] differ"));
}

TEST_CASE("elementwise: error messages", "[elementwise][errors]") {
  const Tensor a = raw::zeros({2, 3});
  CHECK_THROWS_WITH(raw::add(a, raw::zeros({4})),
                    Catch::Contains("add: shapes [2,3] and [4] cannot be broadcast"));
  CHECK_THROWS_WITH(raw::mul(a, raw::zeros({3}, DType::Int64)),
                    Catch::Contains("mul: expected float32 tensors, got float32 [2,3] and int64 [3]"));
  CHECK_THROWS_WITH(raw::exp(raw::zeros({3}, DType::Int64)),
                    Catch::Contains("exp: expected a float32 tensor, got int64 [3]"));
  CHECK_THROWS_WITH(raw::add_(raw::zeros({3}), raw::zeros({2, 3})),
                    Catch::Contains("add_: operand shape [2,3] does not broadcast to [3]"));
  CHECK_THROWS_WITH(raw::add_(test::broadcast_view(raw::zeros({3}), {2, 3}), raw::zeros({3})),
                    Catch::Contains("add_: cannot write into a broadcast view"));
  CHECK_THROWS_WITH(raw::masked_fill(a, raw::zeros({2, 4}), 0.0),
                    Catch::Contains("masked_fill: shapes [2,3] and [2,4] cannot be broadcast"));
  CHECK_THROWS_WITH(raw::masked_fill(a, raw::zeros({4, 2, 3}), 0.0),
                    Catch::Contains("masked_fill: mask shape [4,2,3] does not broadcast to [2,3]"));
  CHECK_THROWS_WITH(raw::where(raw::zeros({2}), a, raw::zeros({2, 3}, DType::Int64)),
                    Catch::Contains("where: expected float32 tensors"));
  Tensor ro = raw::zeros({3});
  ro.storage()->set_writable(false);
  CHECK_THROWS_WITH(raw::mul_(ro, 2.0), Catch::Contains("mul_: cannot write into read-only storage"));
}
