// Learning-rate schedules as objects that set an optimizer's lr per step, with HF's formulas
// (transformers.get_{constant,linear,cosine}_schedule_with_warmup over torch's LambdaLR):
// lr(step) = base_lr * factor(step). Construction applies factor(0) (so a warmup starts at lr 0),
// and each step() advances by one, as torch's scheduler.step() after optimizer.step().
// Not here: the optimizers (nn/optim.h).
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "nn/optim.h"

namespace tz::optim {

class LRScheduler {
 public:
  virtual ~LRScheduler() = default;
  /// Advances one step and sets the optimizer's lr.
  void step();
  /// The lr set by the last construction/step()/load_state().
  double lr() const { return last_lr_; }
  int64_t last_step() const { return last_step_; }
  double base_lr() const { return base_lr_; }
  /// The multiplier of base_lr at `step` (pure; for plots and tests).
  virtual double factor(int64_t step) const = 0;

  /// {"last_step", "base_lr", "last_lr"} for resuming.
  nlohmann::json state() const;
  /// Restores state() and sets the optimizer's lr to the saved last lr.
  void load_state(const nlohmann::json& state);

 protected:
  /// Call from the derived constructor (factor() is virtual): records base lr and applies step 0.
  explicit LRScheduler(Optimizer& opt);
  void start();

 private:
  Optimizer& opt_;
  double base_lr_;
  int64_t last_step_ = 0;
  double last_lr_ = 0.0;
};

/// factor = step / warmup during warmup, then 1 (HF constant / constant_with_warmup).
class ConstantLR : public LRScheduler {
 public:
  explicit ConstantLR(Optimizer& opt, int64_t num_warmup_steps = 0);
  double factor(int64_t step) const override;

 private:
  int64_t warmup_;
};

/// Linear warmup to base_lr, then linear decay to 0 at num_training_steps (HF "linear").
class LinearWarmupDecay : public LRScheduler {
 public:
  LinearWarmupDecay(Optimizer& opt, int64_t num_warmup_steps, int64_t num_training_steps);
  double factor(int64_t step) const override;

 private:
  int64_t warmup_, total_;
};

/// Linear warmup, then a cosine from base_lr down over num_cycles half-waves
/// (HF "cosine"; the default 0.5 decays to 0 at num_training_steps).
class CosineWarmupDecay : public LRScheduler {
 public:
  CosineWarmupDecay(Optimizer& opt, int64_t num_warmup_steps, int64_t num_training_steps,
                    double num_cycles = 0.5);
  double factor(int64_t step) const override;

 private:
  int64_t warmup_, total_;
  double cycles_;
};

/// By HF's SchedulerType name: "constant", "constant_with_warmup", "linear", "cosine".
std::unique_ptr<LRScheduler> make_scheduler(const std::string& name, Optimizer& opt,
                                            int64_t num_warmup_steps, int64_t num_training_steps);

}  // namespace tz::optim
