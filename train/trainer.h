// The training loop any model of the zoo can use:
//   for each step: grad_accum micro-batches (loss / grad_accum, backward), clip_grad_norm,
//   optimizer step, LR-schedule step; log every log_every steps (progress line on a terminal,
//   plain lines otherwise, a record in OUT/metrics.jsonl); evaluate every eval_every steps
//   (the best model by `metric` goes to OUT/model, early stop after `patience` evaluations
//   without improvement); checkpoint every save_every steps (OUT/checkpoints/step-N, atomic);
//   at the end OUT/loss.svg.
// Determinism: with the same seed, data and thread count the losses are bit-identical, and a run
// resumed from a checkpoint continues exactly as the uninterrupted run would have: a checkpoint
// holds the weights, the optimizer and scheduler state, tz::default_generator() (dropout) and
// whatever the data pipeline reports as its state (order position, masking RNG).
// Not here: data (batching.h, mlm_collator.h), the model's loss (the model's forward).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nn/lr_schedule.h"
#include "nn/module.h"
#include "nn/optim.h"

namespace tz::dist { class GradientReducer; }

namespace tz::train {

/// What one micro-batch contributes: its mean loss (a 0-dim tensor with a graph) and its tokens.
/// Data-parallel runs (distributed/, several processes): each process returns the loss of its
/// shard of the global micro-batch and `count`, the number of terms its mean is over (labelled
/// tokens for masked LM, examples for classification). The loop weights each shard by
/// count / (sum of counts over processes), so the step's loss and gradient are those of the whole
/// global micro-batch, exactly as one process computes them. count == 0: this process has nothing
/// to contribute (loss may be undefined). count < 0: shards weigh equally. `summed`: the loss is
/// already this shard's part of the global micro-batch's loss (its terms divided by the global
/// counts, as a loss of several means needs), so the shards' losses simply add up.
struct MicroBatchLoss {
  Tensor loss;
  int64_t tokens = 0;
  int64_t count = -1;
  bool summed = false;
};

using Metrics = std::map<std::string, double>;

/// The task-specific pieces the loop calls.
struct TrainCallbacks {
  /// Draws the next micro-batch and returns its loss (required).
  std::function<MicroBatchLoss()> micro_batch_loss;
  /// Evaluates the model (called in eval mode, grad off); must not draw from the default
  /// generator. Optional: without it the final model is saved at the end.
  std::function<Metrics()> evaluate;
  /// Writes the model into a directory (default: model.safetensors of state_dict()).
  std::function<void(const std::string& dir)> save_model;
  /// Loads what save_model wrote (default: model.safetensors into load_state_dict, strict).
  std::function<void(const std::string& dir)> load_model;
  /// The data pipeline's resumable state and its restore (both optional, but needed for resume
  /// to reproduce the uninterrupted run).
  std::function<nlohmann::json()> data_state;
  std::function<void(const nlohmann::json&)> load_data_state;
};

struct TrainOptions {
  int64_t steps = 100;          // optimizer steps
  int64_t grad_accum = 1;       // micro-batches per step
  double max_grad_norm = 1.0;   // <= 0: no clipping
  int64_t log_every = 10;
  int64_t eval_every = 0;       // 0: evaluate only at the end
  int64_t save_every = 0;       // 0: no checkpoints
  int keep_checkpoints = 2;     // newest complete checkpoints kept (<= 0: all)
  int64_t early_stop_patience = 0;  // evaluations without improvement before stopping; 0: never
  std::string metric = "eval_loss";  // selects the best model and drives early stopping
  bool greater_is_better = false;
  std::string out_dir;          // required
  std::string model_subdir = "model";  // where in out_dir the final / best model goes ("": out_dir itself)
  bool resume = false;          // continue from the newest complete checkpoint in out_dir
  bool quiet = false;           // no progress output (files are still written)
  std::string title = "training";  // of loss.svg
  /// > 0: end the run after this step as an interruption would (checkpoint written when
  /// save_every > 0; no final evaluation, model or plot). For testing --resume.
  int64_t stop_after = 0;
  /// Test hook: runs between writing a checkpoint and renaming it into place.
  std::function<void(const std::string& tmp_dir)> before_checkpoint_rename;
};

struct TrainResult {
  int64_t start_step = 0;        // 0, or the checkpoint's step when resumed
  int64_t steps_done = 0;        // the last step completed
  std::vector<double> losses;    // per step run in this call (start_step+1 ..), mean over micro-batches
  bool stopped_early = false;
  bool interrupted = false;      // ended by stop_after
  double best_metric = 0.0;      // of the best evaluation (when any)
  int64_t best_step = -1;
  Metrics last_eval;
};

/// The 6 words of a tz::Generator state as saved in a checkpoint (a JSON array of non-negative
/// integers), checked: throws tz::Error naming `what` for anything else.
std::array<uint64_t, 6> generator_state_from_json(const nlohmann::json& words, const std::string& what);

/// Several processes (tz::dist::world_size() > 1, set up by tz::dist::init()): every process runs
/// the same loop on its shard of each global micro-batch; gradients are summed over processes
/// (bucketed all-reduce) before clipping, so every process takes the identical optimizer step.
/// Only rank 0 prints and writes files (metrics.jsonl, loss.svg, the model, checkpoints); every
/// rank reads the checkpoint on resume.
class Trainer {
 public:
  Trainer(nn::Module& model, optim::Optimizer& optimizer, optim::LRScheduler& scheduler, TrainCallbacks callbacks,
          TrainOptions options);
  TrainResult run();

  /// Writes a checkpoint of the current state as step `step` (run() calls this every save_every).
  std::string save_checkpoint(int64_t step);
  /// Restores the newest complete checkpoint; returns its step, or -1 when there is none.
  int64_t resume_from_latest();

 private:
  void default_save_model(const std::string& dir) const;
  void default_load_model(const std::string& dir);
  bool better(double a, double b) const { return o_.greater_is_better ? a > b : a < b; }

  nn::Module& model_;
  optim::Optimizer& opt_;
  optim::LRScheduler& sched_;
  TrainCallbacks cb_;
  TrainOptions o_;
  // Early-stopping bookkeeping (part of the checkpoint).
  bool has_best_ = false;
  double best_ = 0.0;
  int64_t best_step_ = -1;
  int64_t evals_without_improvement_ = 0;
  std::shared_ptr<dist::GradientReducer> reducer_;  // created on the first step of a multi-process run
};

}  // namespace tz::train
