// The loop on a plain nn module (no ConvBERT): gradient accumulation averages the micro-batch
// gradients, clipping is applied to the accumulated gradient, and the default checkpoint format
// (state_dict in model.safetensors) round-trips through resume.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>

#include "autograd/ops.h"
#include "nn/clip_grad.h"
#include "nn/layers.h"
#include "nn/lr_schedule.h"
#include "nn/optim.h"
#include "tensor/ops.h"
#include "tensor/random.h"
#include "train/trainer.h"

using namespace tz::train;
namespace fs = std::filesystem;

namespace {

// Removes this process's temporary folder when the test program exits.
struct TempCleanup {
  ~TempCleanup() {
    std::error_code ec;
    std::filesystem::remove_all(std::filesystem::temp_directory_path() / ("tz_trainer_generic_" + std::to_string(::getpid())), ec);
  }
} temp_cleanup;


// Micro-batch i: x = rows of a fixed table, y = a fixed linear function of x.
struct Regression {
  tz::nn::Linear model{3, 1};
  int64_t next = 0;
  std::pair<tz::Tensor, tz::Tensor> batch(int64_t i) const {
    std::vector<float> x, y;
    for (int r = 0; r < 4; ++r) {
      float a = float((i * 4 + r) % 7) - 3, b = float((i * 5 + r) % 5) - 2, c = float(r) - 1.5f;
      x.insert(x.end(), {a, b, c});
      y.push_back(0.5f * a - 2 * b + c + 1);
    }
    return {tz::raw::from_vector(x, {4, 3}), tz::raw::from_vector(y, {4, 1})};
  }
  TrainCallbacks callbacks() {
    TrainCallbacks cb;
    cb.micro_batch_loss = [this] {
      auto [x, y] = batch(next++);
      return MicroBatchLoss{tz::mse_loss(model.forward(x), y), 4};
    };
    cb.data_state = [this] { return nlohmann::json{{"next", next}}; };
    cb.load_data_state = [this](const nlohmann::json& j) { next = j.at("next").get<int64_t>(); };
    return cb;
  }
};

std::string fresh_dir(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("tz_trainer_generic_" + std::to_string(::getpid())) / name;
  fs::remove_all(p);
  return p.string();
}

}  // namespace

TEST_CASE("grad accumulation averages micro-batch gradients before clipping and the step", "[train][trainer]") {
  tz::manual_seed(1);
  Regression r;
  // The expected update by hand: g = (g0 + g1) / 2, clipped to norm 0.5, then SGD.
  auto w0 = tz::raw::clone(r.model.weight), b0 = tz::raw::clone(r.model.bias);
  for (int64_t i = 0; i < 2; ++i) {
    auto [x, y] = r.batch(i);
    tz::mse_loss(r.model.forward(x), y).backward();
  }
  std::vector<tz::Tensor> params = {r.model.weight, r.model.bias};
  std::vector<float> gw = r.model.weight.grad().to_vector<float>(), gb = r.model.bias.grad().to_vector<float>();
  double norm = 0;
  for (float& g : gw) g /= 2, norm += double(g) * g;
  for (float& g : gb) g /= 2, norm += double(g) * g;
  norm = std::sqrt(norm);
  REQUIRE(norm > 0.5);  // so clipping matters
  const double coef = 0.5 / (norm + 1e-6);
  r.model.zero_grad();

  tz::optim::SGD opt(params, {.lr = 0.1});
  tz::optim::ConstantLR sched(opt);
  TrainOptions o;
  o.steps = 1;
  o.grad_accum = 2;
  o.max_grad_norm = 0.5;
  o.out_dir = fresh_dir("accum");
  o.quiet = true;
  Trainer t(r.model, opt, sched, r.callbacks(), o);
  TrainResult res = t.run();
  REQUIRE(res.losses.size() == 1);
  auto w1 = r.model.weight.to_vector<float>(), w0v = w0.to_vector<float>();
  for (size_t k = 0; k < w1.size(); ++k) CHECK(w1[k] == Approx(w0v[k] - 0.1 * coef * gw[k]).margin(1e-6));
  CHECK(r.model.bias.to_vector<float>()[0] == Approx(b0.to_vector<float>()[0] - 0.1 * coef * gb[0]).margin(1e-6));
}

TEST_CASE("any module resumes through the default checkpoint format", "[train][trainer]") {
  auto run = [](const std::string& out, int64_t stop_after, bool resume) {
    tz::manual_seed(5);
    Regression r;
    tz::optim::AdamW opt({r.model.weight, r.model.bias}, {.lr = 0.05});
    tz::optim::CosineWarmupDecay sched(opt, 2, 10);
    TrainOptions o;
    o.steps = 10;
    o.save_every = 3;
    o.stop_after = stop_after;
    o.out_dir = out;
    o.resume = resume;
    o.quiet = true;
    Trainer t(r.model, opt, sched, r.callbacks(), o);
    TrainResult res = t.run();
    return std::make_pair(res, r.model.weight.to_vector<float>());
  };
  auto [full, w_full] = run(fresh_dir("a"), 0, false);
  REQUIRE(full.losses.size() == 10);
  std::string out = fresh_dir("b");
  auto [first, w_first] = run(out, 5, false);
  CHECK(first.interrupted);
  CHECK(first.losses.size() == 5);
  CHECK(fs::exists(fs::path(out) / "checkpoints" / "step-5" / "model.safetensors"));
  auto [rest, w_rest] = run(out, 0, true);
  CHECK(rest.start_step == 5);
  REQUIRE(rest.losses.size() == 5);
  for (size_t i = 0; i < 5; ++i) CHECK(rest.losses[i] == full.losses[5 + i]);
  CHECK(w_rest == w_full);
}
