// The LR schedules: HF's lambdas, computed in double as Python does. Declarations: nn/lr_schedule.h.
#include "nn/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace tz::optim {

LRScheduler::LRScheduler(Optimizer& opt) : opt_(opt), base_lr_(opt.lr()) {}

void LRScheduler::start() {
  last_step_ = 0;
  last_lr_ = base_lr_ * factor(0);
  opt_.set_lr(last_lr_);
}

void LRScheduler::step() {
  ++last_step_;
  last_lr_ = base_lr_ * factor(last_step_);
  opt_.set_lr(last_lr_);
}

nlohmann::json LRScheduler::state() const {
  return {{"last_step", last_step_}, {"base_lr", base_lr_}, {"last_lr", last_lr_}};
}

void LRScheduler::load_state(const nlohmann::json& j) {
  auto number = [&](const char* key) {
    TZ_CHECK(j.is_object() && j.contains(key) && j[key].is_number(), "LRScheduler::load_state: state lacks the number '",
             key, "'");
    return j[key].get<double>();
  };
  const double step = number("last_step"), base = number("base_lr"), last = number("last_lr");
  TZ_CHECK(step >= 0 && step == std::floor(step) && step < 9.0e15, "LRScheduler::load_state: last_step must be a "
           "non-negative integer, got ", step);
  TZ_CHECK(base >= 0 && std::isfinite(base) && last >= 0 && std::isfinite(last),
           "LRScheduler::load_state: learning rates must be finite and >= 0, got base ", base, " last ", last);
  opt_.set_lr(last);
  last_step_ = static_cast<int64_t>(step);
  base_lr_ = base;
  last_lr_ = last;
}

// ---- the schedules -------------------------------------------------------------------------------

namespace {
void check_steps(const char* op, int64_t warmup, int64_t total) {
  TZ_CHECK(warmup >= 0 && total >= 0, op, ": step counts must be >= 0, got warmup ", warmup, " total ", total);
}
double warmup_factor(int64_t step, int64_t warmup) {
  return static_cast<double>(step) / static_cast<double>(std::max<int64_t>(1, warmup));
}
}  // namespace

ConstantLR::ConstantLR(Optimizer& opt, int64_t warmup) : LRScheduler(opt), warmup_(warmup) {
  check_steps("ConstantLR", warmup, 0);
  start();
}

double ConstantLR::factor(int64_t step) const { return step < warmup_ ? warmup_factor(step, warmup_) : 1.0; }

LinearWarmupDecay::LinearWarmupDecay(Optimizer& opt, int64_t warmup, int64_t total)
    : LRScheduler(opt), warmup_(warmup), total_(total) {
  check_steps("LinearWarmupDecay", warmup, total);
  start();
}

double LinearWarmupDecay::factor(int64_t step) const {
  if (step < warmup_) return warmup_factor(step, warmup_);
  return std::max(0.0, static_cast<double>(total_ - step) /
                           static_cast<double>(std::max<int64_t>(1, total_ - warmup_)));
}

CosineWarmupDecay::CosineWarmupDecay(Optimizer& opt, int64_t warmup, int64_t total, double cycles)
    : LRScheduler(opt), warmup_(warmup), total_(total), cycles_(cycles) {
  check_steps("CosineWarmupDecay", warmup, total);
  TZ_CHECK(std::isfinite(cycles) && cycles >= 0, "CosineWarmupDecay: num_cycles must be finite and >= 0, got ",
           cycles);
  start();
}

double CosineWarmupDecay::factor(int64_t step) const {
  if (step < warmup_) return warmup_factor(step, warmup_);
  const double progress = static_cast<double>(step - warmup_) /
                          static_cast<double>(std::max<int64_t>(1, total_ - warmup_));
  return std::max(0.0, 0.5 * (1.0 + std::cos(std::numbers::pi * cycles_ * 2.0 * progress)));
}

std::unique_ptr<LRScheduler> make_scheduler(const std::string& name, Optimizer& opt, int64_t warmup,
                                            int64_t total) {
  if (name == "constant") return std::make_unique<ConstantLR>(opt, 0);
  if (name == "constant_with_warmup") return std::make_unique<ConstantLR>(opt, warmup);
  if (name == "linear") return std::make_unique<LinearWarmupDecay>(opt, warmup, total);
  if (name == "cosine") return std::make_unique<CosineWarmupDecay>(opt, warmup, total);
  throw Error("make_scheduler: unknown schedule '" + name +
              "'; supported: constant, constant_with_warmup, linear, cosine");
}

}  // namespace tz::optim
