// What the `tensorzoo train <task>` commands share (defined in cli/train_common.cpp): the common
// options, building or loading the model of any family through the registry, the optimizer and
// schedule, the resumable data stream, the data-parallel shard forward, and the fine-tuning run
// that classify, token-cls, qa and multiple-choice all go through. The task commands live in
// train_command.cpp (mlm, classify) and train_tasks_command.cpp (token-cls, qa, multiple-choice).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/args.h"
#include "models/registry.h"
#include "nn/lr_schedule.h"
#include "nn/optim.h"
#include "tensor/random.h"
#include "tokenizer/wordpiece.h"
#include "train/batching.h"
#include "train/trainer.h"

namespace tz::cli::training {

/// Options every task reads once.
struct Common {
  std::string out, model_dir, config_spec, arch, tokenizer_path;
  int64_t steps, stop_after, batch_size, grad_accum, seq_len, warmup, num_layers, log_every, eval_every, save_every, patience;
  double lr, warmup_ratio, weight_decay, max_grad_norm;
  uint64_t seed;
  int threads, keep;
  bool bucket, resume, quiet;
  std::string schedule;
};

void add_common_options(ArgParser& p);
/// Reads and checks the common options; sets threads and the default generator's seed.
Common read_common(const ArgParser& p);
/// The directory whose tokenizer files save_pretrained copies next to the model.
std::string tokenizer_dir_of(const std::string& path);

/// The config of the run before the task adjusts it: --model DIR's config.json, or --config (a
/// named size of --arch's family, a config.json of any family, or a model directory).
std::shared_ptr<models::PretrainedConfig> base_config(const Common& c);

/// The model of `task`: --model DIR's weights (a head whose shapes differ, such as a new label set,
/// starts fresh), or a new one from --config sized for the tokenizer. `adjust` sets the head's
/// fields (labels) on the config first.
std::shared_ptr<models::PreTrainedModel> make_model(const Common& c, const tokenizer::WordPiece& tok, models::Task task,
                                                    const std::function<void(models::PretrainedConfig&)>& adjust);

/// The batch source of a run: a sampler over examples plus a generator; its state goes into every
/// checkpoint.
struct DataStream {
  train::BatchSampler sampler;
  Generator gen;
  int64_t draws = 0;  // global micro-batches drawn so far: the key of their per-example dropout streams
  nlohmann::json state() const;
  void load_state(const nlohmann::json& j);
};

/// Everything a run sets up the same way for every task: the data stream over examples of the
/// given lengths, the step count, evaluation and checkpoint intervals, AdamW with HF's parameter
/// groups and the LR schedule.
struct Setup {
  DataStream data;
  int64_t steps = 0, eval_every = 0, save_every = 0;
  std::unique_ptr<optim::AdamW> optimizer;
  std::unique_ptr<optim::LRScheduler> scheduler;
};
/// epochs > 0 (fine-tuning): --steps or epochs over the data, evaluation once per epoch and
/// checkpoints at each evaluation unless the options say otherwise. epochs == 0 (pretraining):
/// --steps or 1000, evaluation at --eval-every (0: at the end), checkpoints every 1000 steps.
Setup make_setup(const Common& c, nn::Module& model, const std::vector<int64_t>& lengths, int64_t epochs);

/// The trainer's callbacks that save and reload the model as an HF directory (with the tokenizer).
void add_model_io(train::TrainCallbacks& cbs, models::PreTrainedModel& model, const Common& c);
train::TrainOptions train_options(const Common& c, const Setup& s);

/// The loss of this process's shard of a global micro-batch (data parallelism: every process
/// builds the same global batch and keeps rows [rank*B/N, (rank+1)*B/N) of every row-indexed
/// tensor), with per-example dropout streams keyed by the draw number and the global row.
/// `count_labelled_tokens`: the loss averages labelled tokens (labels != -100), else rows.
train::MicroBatchLoss forward_shard(models::PreTrainedModel& model, const models::Inputs& global, uint64_t seed,
                                    int64_t draw, bool count_labelled_tokens);

/// What differs between the fine-tuning tasks; run_fine_tuning does the rest.
struct FineTuning {
  std::string name;          // "token-cls"
  models::Task task;         // the head
  std::string metric;        // selects the best model
  bool greater_is_better = true;
  std::function<void(models::PretrainedConfig&)> set_head;
  std::vector<int64_t> train_lengths;  // one per training row (sampler, bucketing)
  std::function<models::Inputs(const std::vector<size_t>&)> collate_train;
  bool count_labelled_tokens = false;
  int64_t max_length = 0;    // --max-length the data was cut to (0: --seq-len); checked against the model's positions
  std::function<train::Metrics(models::PreTrainedModel&)> evaluate_dev, evaluate_test;  // evaluate_test empty: no --test
  std::string summary;       // for the progress line
};
/// Options every fine-tuning task has: --train --dev --test --epochs.
void add_fine_tuning_options(ArgParser& p);
/// Builds the model, trains, reports; with --test evaluates OUT/model and prints test_<metric>=
/// as the last line (all test metrics also in OUT/test_metrics.json).
int run_fine_tuning(const ArgParser& p, const Common& c, const tokenizer::WordPiece& tok, FineTuning& t);

}  // namespace tz::cli::training

// The task commands of cli/train_tasks_command.cpp, dispatched by `tensorzoo train`.
int run_train_token_cls(const std::vector<std::string>& args);
int run_train_qa(const std::vector<std::string>& args);
int run_train_multiple_choice(const std::vector<std::string>& args);
// cli/train_rtd_command.cpp
int run_train_rtd_task(const std::vector<std::string>& args);
