// What the `tensorzoo train <task>` commands share (defined in cli/train_command.cpp): the common
// options, the model set-up, the optimizer schedule, the resumable data stream and the data-parallel
// shard forward. The task commands live in train_command.cpp (mlm, classify) and
// train_tasks_command.cpp (token-cls, qa, multiple-choice).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/args.h"
#include "models/convbert/pretrained.h"
#include "nn/lr_schedule.h"
#include "nn/optim.h"
#include "tensor/random.h"
#include "tokenizer/wordpiece.h"
#include "train/batching.h"
#include "train/trainer.h"

namespace tz::cli::training {

/// Options every task reads once.
struct Common {
  std::string out, model_dir, config_spec, tokenizer_path;
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
/// A fresh model of `architecture` from --config, sized for the tokenizer; `adjust` sets the head.
std::shared_ptr<convbert::PreTrainedModel> new_model(const Common& c, const tokenizer::WordPiece& tok,
                                                     const std::string& architecture,
                                                     const std::function<void(convbert::ConvBertConfig&)>& adjust);
/// A model directory's weights into `model` (head weights of another shape stay fresh).
void load_weights(convbert::PreTrainedModel& model, const std::string& dir, bool quiet);
std::unique_ptr<optim::LRScheduler> make_schedule(const Common& c, optim::Optimizer& opt, int64_t steps);
train::TrainOptions train_options(const Common& c, int64_t steps, int64_t eval_every, int64_t save_every);

/// The batch source of a run: a sampler over examples plus a generator; its state goes into every
/// checkpoint.
struct DataStream {
  train::BatchSampler sampler;
  Generator gen;
  int64_t draws = 0;  // global micro-batches drawn so far: the key of their per-example dropout streams
  nlohmann::json state() const;
  void load_state(const nlohmann::json& j);
};

}  // namespace tz::cli::training

// The task commands of cli/train_tasks_command.cpp, dispatched by `tensorzoo train`.
int run_train_token_cls(const std::vector<std::string>& args);
int run_train_qa(const std::vector<std::string>& args);
int run_train_multiple_choice(const std::vector<std::string>& args);
