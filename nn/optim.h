// Optimizers with PyTorch 1.13 semantics (SGD, AdamW) and their resumable state.
// An optimizer holds handles to parameters and updates their storage in place from .grad();
// parameters whose grad is undefined are skipped and their state does not advance (as PyTorch).
// Per-element arithmetic follows torch's single-tensor (non-foreach) CPU path operation by
// operation in float32; see nn/optim.cpp. LR schedules: nn/lr_schedule.h; gradient clipping:
// nn/clip_grad.h. File I/O of the state is the caller's: state_tensors() + state_scalars().
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nn/module.h"

namespace tz::optim {

/// Parameters sharing a weight decay (HF puts biases and LayerNorm weights in a group with 0).
struct ParamGroup {
  std::vector<Tensor> params;
  double weight_decay = 0.0;
};

/// HF Trainer's grouping: weight decay for every parameter except biases and the parameters of
/// LayerNorm modules, which get 0. Order within each group follows named_parameters().
std::vector<ParamGroup> param_groups_like_hf(const nn::Module& model, double weight_decay);

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  /// One update of every parameter that has a gradient. Runs with grad mode off.
  virtual void step() = 0;
  /// Makes every parameter's grad undefined.
  void zero_grad();
  double lr() const { return lr_; }
  void set_lr(double lr);
  const std::vector<Tensor>& params() const { return params_; }
  /// Weight decay of parameter i (from its group).
  double weight_decay(size_t i) const { return weight_decay_.at(i); }

  /// The per-parameter state as named tensors, "state.<param index>.<slot>" (PyTorch's
  /// state_dict layout). Only parameters that have taken a step have entries. The tensors share
  /// storage with the optimizer: write them out before the next step().
  virtual nn::NamedTensors state_tensors() const = 0;
  /// Hyperparameters and per-parameter step counts, as JSON.
  virtual nlohmann::json state_scalars() const = 0;
  /// Restores what state_tensors()/state_scalars() produced (tensors are copied). Validates all of
  /// it first (optimizer kind, parameter count, shapes, missing/unknown keys) and throws one
  /// tz::Error without changing anything when it does not fit.
  virtual void load_state(const std::map<std::string, Tensor>& tensors, const nlohmann::json& scalars) = 0;

 protected:
  Optimizer(std::vector<ParamGroup> groups, double lr, const char* name);
  /// The gradient of parameter i as a contiguous float32 tensor, or undefined to skip it.
  Tensor grad_for_step(size_t i) const;

  std::vector<Tensor> params_;
  std::vector<double> weight_decay_;
  double lr_;
  const char* name_;
};

// ---- SGD -------------------------------------------------------------------------------------------

struct SGDOptions {
  double lr = 1e-3;
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;
};

/// torch.optim.SGD: d = g + wd*p; with momentum, buf = d on the first step, else
/// buf = momentum*buf + (1-dampening)*d, and d = buf (or d + momentum*buf for Nesterov);
/// p -= lr * d.
class SGD : public Optimizer {
 public:
  explicit SGD(std::vector<Tensor> params, SGDOptions o = {});
  /// Each group's weight_decay replaces o.weight_decay for its parameters.
  SGD(std::vector<ParamGroup> groups, SGDOptions o);
  void step() override;
  nn::NamedTensors state_tensors() const override;
  nlohmann::json state_scalars() const override;
  void load_state(const std::map<std::string, Tensor>& tensors, const nlohmann::json& scalars) override;
  const SGDOptions& options() const { return o_; }

 private:
  SGDOptions o_;
  std::vector<Tensor> momentum_buffer_;  // undefined until the parameter's first step
};

// ---- AdamW -----------------------------------------------------------------------------------------

struct AdamWOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.01;
};

/// torch.optim.AdamW (decoupled weight decay, bias correction, eps added after the sqrt):
///   p *= 1 - lr*wd;  m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g^2;
///   p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)
class AdamW : public Optimizer {
 public:
  explicit AdamW(std::vector<Tensor> params, AdamWOptions o = {});
  /// Each group's weight_decay replaces o.weight_decay for its parameters.
  AdamW(std::vector<ParamGroup> groups, AdamWOptions o);
  void step() override;
  nn::NamedTensors state_tensors() const override;
  nlohmann::json state_scalars() const override;
  void load_state(const std::map<std::string, Tensor>& tensors, const nlohmann::json& scalars) override;
  const AdamWOptions& options() const { return o_; }
  /// Steps taken by parameter i.
  int64_t step_count(size_t i) const { return step_.at(i); }

 private:
  AdamWOptions o_;
  std::vector<int64_t> step_;
  std::vector<Tensor> exp_avg_, exp_avg_sq_;  // undefined until the parameter's first step
};

}  // namespace tz::optim
