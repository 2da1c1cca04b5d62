// A small valid training checkpoint whose trainer_state.json can be replaced by any bytes, then
// resumed from as `tensorzoo train ... --resume` would: a Linear model, AdamW after one step, a
// linear schedule, and a batch sampler plus generator as the data state (as the CLI's
// DataStream saves it). Shared by tests/train/test_trainer_state_corpus.cpp and tests/fuzz/fuzz_trainer_state.cpp.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "nn/layers.h"
#include "nn/lr_schedule.h"
#include "nn/optim.h"
#include "tensor/ops.h"
#include "tensor/random.h"
#include "train/batching.h"
#include "train/trainer.h"

namespace tz::test {

struct TrainerStateFixture {
  nn::Linear model{3, 2};
  optim::AdamW opt{model.parameters(), optim::AdamWOptions{}};
  optim::LinearWarmupDecay sched{opt, 2, 10};
  train::BatchSampler sampler{{3, 5, 2, 7, 4}, train::BatchSamplerOptions{.batch_size = 2}};
  Generator gen{9};
  std::unique_ptr<train::Trainer> trainer;
  std::filesystem::path state_file;  // the checkpoint's trainer_state.json

  /// Writes checkpoint step-1 under `out_dir`.
  explicit TrainerStateFixture(const std::filesystem::path& out_dir) {
    train::TrainCallbacks cb;
    cb.micro_batch_loss = [] { return train::MicroBatchLoss{}; };
    cb.data_state = [this] {
      auto g = gen.state();
      return nlohmann::json{{"sampler", sampler.state()}, {"generator", std::vector<uint64_t>(g.begin(), g.end())}};
    };
    cb.load_data_state = [this](const nlohmann::json& j) {
      sampler.load_state(j.at("sampler"));
      gen.set_state(train::generator_state_from_json(j.at("generator"), "data state: generator"));
    };
    train::TrainOptions o;
    o.out_dir = out_dir.string();
    o.quiet = true;
    trainer = std::make_unique<train::Trainer>(model, opt, sched, cb, o);
    for (const Tensor& p : model.parameters()) p.set_grad(raw::ones(p.shape()));
    opt.step();  // so the checkpoint holds AdamW moments too
    sched.step();
    (void)sampler.next();
    state_file = std::filesystem::path(trainer->save_checkpoint(1)) / "trainer_state.json";
  }

  /// Replaces trainer_state.json with `bytes` and resumes; returns the step resumed from.
  int64_t resume_with(const std::string& bytes) {
    {
      std::ofstream out(state_file, std::ios::binary | std::ios::trunc);
      out << bytes;
    }
    int64_t step = trainer->resume_from_latest();
    (void)sampler.next();  // the restored data position must be usable
    return step;
  }
};

}  // namespace tz::test
