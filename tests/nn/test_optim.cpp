// Optimizers, LR schedules and gradient clipping: steps against values computed by hand / in
// double precision (the Python-style loop in the comments), the SIMD path against a scalar
// float32 replay of torch's op chain, and resume-from-saved-state giving bit-identical parameters.
// No FMA contraction in this file either, so the scalar replay rounds exactly as written.
#pragma GCC optimize("fp-contract=off")

#include <catch2/catch.hpp>

#include <cmath>
#include <map>

#include "autograd/ops.h"
#include "nn/nn.h"

using namespace tz;
using namespace tz::nn;
using namespace tz::optim;

namespace {

Tensor param(std::vector<float> v) {
  Tensor t = raw::from_vector(v, {static_cast<int64_t>(v.size())});
  t.set_requires_grad(true);
  return t;
}
void set_grad(const Tensor& p, std::vector<float> g) {
  p.set_grad(raw::from_vector(g, {static_cast<int64_t>(g.size())}));
}
void check_close(const Tensor& t, const std::vector<double>& expected, double tol) {
  auto v = t.to_vector<float>();
  REQUIRE(v.size() == expected.size());
  for (size_t i = 0; i < v.size(); ++i) {
    INFO("element " << i);
    CHECK(v[i] == Approx(expected[i]).margin(tol));
  }
}

}  // namespace

TEST_CASE("SGD: momentum, weight decay, dampening, Nesterov against hand values", "[nn][optim]") {
  // p0 = (1, -2), grads (0.5, 1), (0.5, 1), (-1, 0.25); lr 0.1, momentum 0.9, weight_decay 0.1.
  // Step 1 by hand: d = g + 0.1 p = (0.6, 0.8), buf = d, p = p - 0.1 d = (0.94, -2.08).
  // Step 2: d = (0.594, 0.792), buf = 0.9 (0.6, 0.8) + d = (1.134, 1.512), p = (0.8266, -2.2312).
  const std::vector<std::vector<float>> grads{{0.5f, 1.f}, {0.5f, 1.f}, {-1.f, 0.25f}};
  struct Case {
    bool nesterov;
    double dampening;
    std::vector<std::vector<double>> expected;
  };
  const std::vector<Case> cases{
      {false, 0.0, {{0.94, -2.08}, {0.8266, -2.2312}, {0.816274, -2.369968}}},
      {true, 0.0, {{0.886, -2.152}, {0.725566, -2.365912}, {0.810363646, -2.490348472}}},
      {false, 0.5, {{0.94, -2.08}, {0.8563, -2.1916}, {0.8266885, -2.293582}}},
  };
  for (const auto& c : cases) {
    INFO("nesterov " << c.nesterov << " dampening " << c.dampening);
    Tensor p = param({1.f, -2.f});
    SGD opt({p}, {.lr = 0.1, .momentum = 0.9, .dampening = c.dampening, .weight_decay = 0.1, .nesterov = c.nesterov});
    for (size_t s = 0; s < grads.size(); ++s) {
      set_grad(p, grads[s]);
      opt.step();
      check_close(p, c.expected[s], 2e-6);
    }
  }
  // Plain SGD: p -= lr g.
  Tensor p = param({1.f, 2.f});
  SGD plain({p}, {.lr = 0.5});
  set_grad(p, {1.f, -1.f});
  plain.step();
  CHECK(p.to_vector<float>() == std::vector<float>{0.5f, 2.5f});
  CHECK(plain.state_tensors().empty());
  CHECK_THROWS_WITH(SGD({p}, {.lr = 0.1, .nesterov = true}), Catch::Contains("Nesterov momentum needs momentum > 0"));
}

TEST_CASE("AdamW: three steps against a double-precision computation", "[nn][optim]") {
  // for t in 1..3: p *= 1 - lr*wd; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
  //                p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)
  // with lr 0.1, betas (0.9, 0.999), eps 1e-8, wd 0.01, evaluated in double.
  // Step 1 by hand: the bias corrections cancel, so p = 0.999 p - 0.1 g/(|g| + 1e-8):
  // p[0] = 0.999 - 0.1 * 0.1/(0.1 + 1e-8) = 0.89900001; a zero gradient leaves only the decay.
  Tensor p = param({1.f, -2.f, 0.5f, 0.f});
  AdamW opt({p}, {.lr = 0.1, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.01});
  const std::vector<std::vector<float>> grads{{0.1f, -0.2f, 0.f, 1.f}, {-0.3f, 0.05f, 0.2f, 1.f}, {0.2f, 0.1f, -0.1f, -2.f}};
  const std::vector<std::vector<double>> expected{
      {0.899000010, -1.898000005, 0.499500000, -0.099999999},
      {0.947519991, -1.849155191, 0.424586823, -0.199899998},
      {0.944693702, -1.842562691, 0.401298200, -0.192135165}};
  for (size_t s = 0; s < 3; ++s) {
    set_grad(p, grads[s]);
    opt.step();
    INFO("step " << s + 1);
    check_close(p, expected[s], 2e-6);
  }
  CHECK(opt.step_count(0) == 3);
  auto st = opt.state_tensors();
  REQUIRE(st.size() == 2);
  CHECK(st[0].first == "state.0.exp_avg");
  CHECK(st[1].first == "state.0.exp_avg_sq");
  check_close(st[0].second, {0.0011, -0.0017, 0.008, -0.029}, 1e-8);
  check_close(st[1].second, {0.00013989001, 5.241754e-05, 4.996e-05, 0.005997001}, 1e-9);
}

TEST_CASE("AdamW: vector path equals a scalar float32 replay of torch's op chain bit for bit", "[nn][optim]") {
  const int64_t n = 37;  // several SIMD batches and a scalar tail
  Generator gen(11);
  Tensor p = raw::randn({n}, gen);
  p.set_requires_grad(true);
  std::vector<float> rp = p.to_vector<float>(), rm(n, 0.f), rv(n, 0.f);
  const double lr = 3e-3, b1 = 0.9, b2 = 0.98, eps = 1e-6, wd = 0.1;
  AdamW opt({p}, {.lr = lr, .beta1 = b1, .beta2 = b2, .eps = eps, .weight_decay = wd});
  for (int t = 1; t <= 5; ++t) {
    Tensor g = raw::randn({n}, gen, 0.f, 0.01f * t);
    p.set_grad(g);
    opt.step();
    auto gv = g.to_vector<float>();
    const double bc1 = 1 - std::pow(b1, t), bc2 = 1 - std::pow(b2, t);
    const float step_size = static_cast<float>(-(lr / bc1)), bc2s = static_cast<float>(std::sqrt(bc2));
    for (int64_t k = 0; k < n; ++k) {
      rp[k] = rp[k] * static_cast<float>(1 - lr * wd);
      rm[k] = std::fma(gv[k], static_cast<float>(1 - b1), rm[k] * static_cast<float>(b1));
      rv[k] = rv[k] * static_cast<float>(b2) + (static_cast<float>(1 - b2) * gv[k]) * gv[k];
      const float denom = std::sqrt(rv[k]) / bc2s + static_cast<float>(eps);
      rp[k] = rp[k] + (step_size * rm[k]) / denom;
    }
  }
  CHECK(p.to_vector<float>() == rp);
}

TEST_CASE("optimizers skip parameters without a gradient; groups carry their own weight decay", "[nn][optim]") {
  Tensor a = param({1.f, 1.f}), b = param({1.f, 1.f});
  AdamW opt(std::vector<ParamGroup>{{{a}, 0.5}, {{b}, 0.0}}, {.lr = 0.1});
  CHECK(opt.weight_decay(0) == 0.5);
  CHECK(opt.weight_decay(1) == 0.0);
  set_grad(a, {0.f, 0.f});
  opt.step();
  CHECK(opt.step_count(0) == 1);
  CHECK(opt.step_count(1) == 0);
  CHECK(b.to_vector<float>() == std::vector<float>{1.f, 1.f});  // no grad: not even decayed
  check_close(a, {0.95, 0.95}, 1e-7);                            // decay only (zero gradient)
  CHECK(opt.state_tensors().size() == 2);                        // only a's moments
  opt.zero_grad();
  CHECK_FALSE(a.grad().defined());

  CHECK_THROWS_WITH(AdamW({a, a}), Catch::Contains("appears twice"));
  CHECK_THROWS_WITH(AdamW({raw::transpose(raw::zeros({2, 3}), 0, 1)}), Catch::Contains("contiguous float32"));
}

TEST_CASE("param_groups_like_hf exempts biases and LayerNorm parameters", "[nn][optim]") {
  struct M : Module {
    std::shared_ptr<Linear> dense = register_module("dense", std::make_shared<Linear>(3, 3));
    std::shared_ptr<LayerNorm> ln = register_module("LayerNorm", std::make_shared<LayerNorm>(3));
  } m;
  auto groups = param_groups_like_hf(m, 0.01);
  REQUIRE(groups.size() == 2);
  CHECK(groups[0].weight_decay == 0.01);
  REQUIRE(groups[0].params.size() == 1);
  CHECK(groups[0].params[0].is_same(m.dense->weight));
  CHECK(groups[1].weight_decay == 0.0);
  REQUIRE(groups[1].params.size() == 3);
  CHECK(groups[1].params[0].is_same(m.dense->bias));
  CHECK(groups[1].params[1].is_same(m.ln->weight));
}

TEST_CASE("LR schedules follow HF's formulas and drive the optimizer", "[nn][optim][schedule]") {
  Tensor p = param({0.f});
  AdamW opt({p}, {.lr = 2.0});
  SECTION("linear warmup + decay") {
    LinearWarmupDecay s(opt, 2, 6);
    // factors by hand: 0, 1/2, 1, 3/4, 1/2, 1/4, 0, 0
    const std::vector<double> f{0, 0.5, 1, 0.75, 0.5, 0.25, 0, 0};
    CHECK(opt.lr() == 0.0);  // construction applies step 0
    for (size_t k = 0; k < f.size(); ++k) {
      CHECK(s.factor(static_cast<int64_t>(k)) == Approx(f[k]));
      if (k > 0) {
        s.step();
        CHECK(opt.lr() == Approx(2.0 * f[k]));
        CHECK(s.lr() == opt.lr());
      }
    }
  }
  SECTION("cosine") {
    CosineWarmupDecay s(opt, 2, 6);
    CHECK(s.factor(1) == Approx(0.5));
    CHECK(s.factor(2) == Approx(1.0));
    CHECK(s.factor(3) == Approx(0.5 * (1 + std::cos(std::acos(-1.0) / 4))));  // 0.8535533906
    CHECK(s.factor(4) == Approx(0.5));
    CHECK(s.factor(6) == Approx(0.0).margin(1e-15));
  }
  SECTION("constant and by name") {
    auto c = make_scheduler("constant_with_warmup", opt, 4, 10);
    CHECK(opt.lr() == 0.0);
    CHECK(c->factor(1) == 0.25);
    CHECK(c->factor(4) == 1.0);
    CHECK(c->factor(100) == 1.0);
    CHECK(make_scheduler("constant", opt, 4, 10)->factor(0) == 1.0);
    CHECK_THROWS_WITH(make_scheduler("polynomial", opt, 1, 2),
                      "make_scheduler: unknown schedule 'polynomial'; supported: constant, constant_with_warmup, linear, cosine");
  }
}

TEST_CASE("clip_grad_norm: torch's formula", "[nn][optim][clip]") {
  Tensor a = param({0.f, 0.f}), b = param({0.f}), c = param({5.f});  // c has no grad: ignored
  set_grad(a, {3.f, 4.f});
  set_grad(b, {12.f});
  // total = sqrt(3^2 + 4^2 + 12^2) = 13; coef = 1 / (13 + 1e-6) < 1.
  double total = clip_grad_norm({a, b, c}, 1.0);
  CHECK(total == 13.0);
  const float coef = (1.0f / (13.0f + 1e-6f)) * 1.0f;
  CHECK(a.grad().to_vector<float>() == std::vector<float>{3.f * coef, 4.f * coef});
  CHECK(b.grad().to_vector<float>() == std::vector<float>{12.f * coef});
  CHECK_FALSE(c.grad().defined());
  // Under the limit: unchanged, still returns the norm.
  set_grad(a, {3.f, 4.f});
  CHECK(clip_grad_norm({a}, 10.0) == 5.0);
  CHECK(a.grad().to_vector<float>() == std::vector<float>{3.f, 4.f});
  CHECK(clip_grad_norm({c}, 1.0) == 0.0);
}

namespace {

struct Tiny : Module {
  std::shared_ptr<Linear> fc1 = register_module("fc1", std::make_shared<Linear>(5, 8));
  std::shared_ptr<LayerNorm> ln = register_module("ln", std::make_shared<LayerNorm>(8));
  std::shared_ptr<Linear> fc2 = register_module("fc2", std::make_shared<Linear>(8, 3));
  std::shared_ptr<Linear> unused = register_module("unused", std::make_shared<Linear>(2, 2));  // never gets a grad
  Tensor forward(const Tensor& x) { return fc2->forward(gelu(ln->forward(fc1->forward(x)))); }
};

struct Run {
  Tiny model;
  std::unique_ptr<AdamW> opt;
  std::unique_ptr<LRScheduler> sched;
  Run() {
    opt = std::make_unique<AdamW>(param_groups_like_hf(model, 0.01), AdamWOptions{.lr = 0.05});
    sched = std::make_unique<LinearWarmupDecay>(*opt, 2, 8);
  }
  void train_steps(int n, int first) {
    for (int s = first; s < first + n; ++s) {
      Generator g(1000 + s);  // the batch of step s
      Tensor x = raw::randn({6, 5}, g);
      Tensor y = raw::randint({6}, 0, 3, g);
      Tensor loss = cross_entropy(model.forward(x), y);
      loss.backward();
      clip_grad_norm(model.parameters(), 0.5);
      opt->step();
      sched->step();
      opt->zero_grad();
    }
  }
};

}  // namespace

TEST_CASE("resume from saved optimizer/scheduler state is bit-identical to an uninterrupted run", "[nn][optim][resume]") {
  manual_seed(77);
  Run straight;
  manual_seed(77);
  Run first_half;
  straight.train_steps(6, 0);
  first_half.train_steps(3, 0);

  // What a checkpoint holds: model state, optimizer tensors + scalars, scheduler scalars (as text).
  std::map<std::string, Tensor> model_state, opt_tensors;
  for (const auto& [k, t] : first_half.model.state_dict()) model_state[k] = raw::clone(t);
  for (const auto& [k, t] : first_half.opt->state_tensors()) opt_tensors[k] = raw::clone(t);
  const std::string opt_json = first_half.opt->state_scalars().dump();
  const std::string sched_json = first_half.sched->state().dump();
  // HF groups: decay = fc1.weight, fc2.weight, unused.weight (0-2); then the biases and ln (3-7).
  CHECK(opt_tensors.count("state.0.exp_avg"));
  CHECK(opt_tensors.count("state.3.exp_avg_sq"));
  CHECK_FALSE(opt_tensors.count("state.2.exp_avg"));  // unused.weight never stepped
  CHECK_FALSE(opt_tensors.count("state.7.exp_avg"));  // unused.bias never stepped

  manual_seed(12345);  // a differently initialised process
  Run resumed;
  resumed.model.load_state_dict(model_state);
  resumed.opt->load_state(opt_tensors, nlohmann::json::parse(opt_json));
  resumed.sched->load_state(nlohmann::json::parse(sched_json));
  CHECK(resumed.opt->lr() == first_half.opt->lr());
  resumed.train_steps(3, 3);

  auto a = straight.model.state_dict(), b = resumed.model.state_dict();
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    INFO(a[i].first);
    CHECK(a[i].second.to_vector<float>() == b[i].second.to_vector<float>());
  }
  CHECK(straight.opt->lr() == resumed.opt->lr());
  auto sa = straight.opt->state_tensors(), sb = resumed.opt->state_tensors();
  REQUIRE(sa.size() == sb.size());
  for (size_t i = 0; i < sa.size(); ++i) CHECK(sa[i].second.to_vector<float>() == sb[i].second.to_vector<float>());
}

TEST_CASE("optimizer load_state validates before changing anything", "[nn][optim][resume]") {
  Tensor p = param({1.f, 2.f});
  AdamW opt({p});
  set_grad(p, {0.1f, 0.1f});
  opt.step();
  std::map<std::string, Tensor> tensors;
  for (const auto& [k, t] : opt.state_tensors()) tensors[k] = raw::clone(t);
  nlohmann::json scalars = opt.state_scalars();

  AdamW other({param({0.f, 0.f})});
  SGD sgd({param({0.f, 0.f})});
  CHECK_THROWS_WITH(sgd.load_state(tensors, scalars), Catch::Contains("not from a SGD optimizer"));
  auto bad = tensors;
  bad["state.0.exp_avg"] = raw::zeros({3});
  CHECK_THROWS_WITH(other.load_state(bad, scalars), Catch::Contains("'state.0.exp_avg' is [3] float32, expected float32 [2]"));
  bad = tensors;
  bad.erase("state.0.exp_avg_sq");
  CHECK_THROWS_WITH(other.load_state(bad, scalars), Catch::Contains("'state.0.exp_avg_sq' is missing"));
  bad = tensors;
  bad["state.9.exp_avg"] = raw::zeros({2});
  CHECK_THROWS_WITH(other.load_state(bad, scalars), Catch::Contains("unexpected state tensor 'state.9.exp_avg'"));
  CHECK(other.step_count(0) == 0);  // untouched by the failed loads
  other.load_state(tensors, scalars);
  CHECK(other.step_count(0) == 1);
  AdamW two({param({0.f}), param({0.f})});
  CHECK_THROWS_WITH(two.load_state(tensors, scalars), Catch::Contains("state is for 1 parameters, this optimizer has 2"));
}
