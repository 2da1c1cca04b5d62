// The training loop; see trainer.h.
#include "train/trainer.h"

#include <unistd.h>

#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "distributed/communicator.h"
#include "nn/clip_grad.h"
#include "core/error.h"
#include "tensor/io/checkpoint.h"
#include "tensor/random.h"
#include "train/checkpoint_dir.h"
#include "train/loss_plot.h"
#include "train/metrics_log.h"

namespace tz::train {

namespace fs = std::filesystem;

namespace {

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  auto s = static_cast<int64_t>(seconds + 0.5);
  char buf[32];
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%lldh%02lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
  else std::snprintf(buf, sizeof buf, "%lldm%02llds", (long long)(s / 60), (long long)(s % 60));
  return buf;
}

std::string format_metrics(const Metrics& m) {
  std::string s;
  char buf[64];
  for (const auto& [k, v] : m) {
    std::snprintf(buf, sizeof buf, "%s%s=%.4f", s.empty() ? "" : " ", k.c_str(), v);
    s += buf;
  }
  return s;
}

void write_json(const std::string& path, const nlohmann::json& j) {
  std::ofstream out(path, std::ios::trunc);
  TZ_CHECK(out.good(), "trainer: cannot write '", path, "'");
  out << j.dump(2) << "\n";
  TZ_CHECK(out.good(), "trainer: write to '", path, "' failed");
}

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  TZ_CHECK(in.good(), "trainer: cannot read '", path, "'");
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw Error(detail::concat("trainer: '", path, "' is not valid JSON: ", e.what()));
  }
}

}  // namespace

std::array<uint64_t, 6> generator_state_from_json(const nlohmann::json& words, const std::string& what) {
  TZ_CHECK(words.is_array() && words.size() == 6, what, " must be an array of 6 words, got ", words.dump());
  std::array<uint64_t, 6> state{};
  for (size_t i = 0; i < 6; ++i) {
    const nlohmann::json& w = words[i];
    // Checked before the conversion: a float such as 1e300 cast to an integer is undefined behaviour.
    TZ_CHECK(w.is_number_unsigned() || (w.is_number_integer() && w.get<int64_t>() >= 0), what, " word ", i,
             " must be a non-negative integer, got ", w.dump());
    state[i] = w.get<uint64_t>();
  }
  return state;
}

Trainer::Trainer(nn::Module& model, optim::Optimizer& optimizer, optim::LRScheduler& scheduler,
                 TrainCallbacks callbacks, TrainOptions options)
    : model_(model), opt_(optimizer), sched_(scheduler), cb_(std::move(callbacks)), o_(std::move(options)) {
  TZ_CHECK(cb_.micro_batch_loss, "Trainer: micro_batch_loss callback is required");
  TZ_CHECK(!o_.out_dir.empty(), "Trainer: out_dir is required");
  TZ_CHECK(o_.steps >= 0, "Trainer: steps must be >= 0, got ", o_.steps);
  TZ_CHECK(o_.grad_accum >= 1, "Trainer: grad_accum must be >= 1, got ", o_.grad_accum);
  if (o_.log_every < 1) o_.log_every = 1;
}

void Trainer::default_save_model(const std::string& dir) const {
  fs::create_directories(dir);
  io::save_safetensors((fs::path(dir) / "model.safetensors").string(), model_.state_dict());
}

void Trainer::default_load_model(const std::string& dir) {
  io::Checkpoint ckpt = io::load_safetensors((fs::path(dir) / "model.safetensors").string());
  NoGradGuard ng;
  model_.load_state_dict(ckpt.tensors, /*strict=*/true);
}

std::string Trainer::save_checkpoint(int64_t step) {
  CheckpointDir ckpts((fs::path(o_.out_dir) / "checkpoints").string());
  auto write = [&](const std::string& dir) {
    if (cb_.save_model) cb_.save_model(dir);
    else default_save_model(dir);
    io::save_safetensors((fs::path(dir) / "optimizer.safetensors").string(), opt_.state_tensors());
    auto rng = default_generator().state();
    nlohmann::json state = {
        {"format", "tensorzoo-trainer-1"},
        {"step", step},
        {"optimizer", opt_.state_scalars()},
        {"scheduler", sched_.state()},
        {"default_generator", std::vector<uint64_t>(rng.begin(), rng.end())},
        {"data", cb_.data_state ? cb_.data_state() : nlohmann::json()},
        {"has_best", has_best_},
        {"best_metric", best_},
        {"best_step", best_step_},
        {"evals_without_improvement", evals_without_improvement_},
    };
    // trainer_state.json last: its presence marks a complete checkpoint.
    write_json((fs::path(dir) / "trainer_state.json").string(), state);
  };
  return ckpts.save(step, write, o_.keep_checkpoints, o_.before_checkpoint_rename);
}

int64_t Trainer::resume_from_latest() {
  CheckpointDir ckpts((fs::path(o_.out_dir) / "checkpoints").string());
  std::string dir = ckpts.latest();
  if (dir.empty()) return -1;
  const std::string state_path = (fs::path(dir) / "trainer_state.json").string();
  nlohmann::json state = read_json(state_path);
  TZ_CHECK(state.is_object() && state.contains("format") && state["format"] == "tensorzoo-trainer-1", "trainer: '",
           state_path, "' is not a tensorzoo trainer state");
  // The file is untrusted like any other: a missing key or a value of the wrong type (also inside
  // the callbacks' data state) is an error naming the file, and integers are checked before the
  // conversion (a float such as 1e300 cast to int64 is undefined behaviour).
  auto integer = [&](const nlohmann::json& v, const char* what) {
    TZ_CHECK(v.is_number_integer(), "trainer: '", state_path, "': ", what, " must be an integer, got ", v.dump());
    return v.get<int64_t>();
  };
  try {
    const int64_t step = integer(state.at("step"), "step");
    TZ_CHECK(step >= 0, "trainer: '", state_path, "': step must be >= 0, got ", step);
    if (cb_.load_model) cb_.load_model(dir);
    else default_load_model(dir);
    io::Checkpoint opt_state = io::load_safetensors((fs::path(dir) / "optimizer.safetensors").string());
    opt_.load_state(opt_state.tensors, state.at("optimizer"));
    sched_.load_state(state.at("scheduler"));
    default_generator().set_state(
        generator_state_from_json(state.at("default_generator"), "trainer: '" + state_path + "': default_generator"));
    if (cb_.load_data_state) cb_.load_data_state(state.at("data"));
    has_best_ = state.at("has_best").get<bool>();
    best_ = state.at("best_metric").get<double>();
    best_step_ = integer(state.at("best_step"), "best_step");
    evals_without_improvement_ = integer(state.at("evals_without_improvement"), "evals_without_improvement");
    return step;
  } catch (const nlohmann::json::exception& e) {
    throw Error(detail::concat("trainer: '", state_path, "' has unexpected content: ", e.what()));
  }
}

TrainResult Trainer::run() {
  const int world = dist::world_size();
  const bool writer = dist::is_main_process();  // rank 0 alone prints and writes files
  if (!writer) o_.quiet = true;
  if (writer) fs::create_directories(o_.out_dir);
  const std::string model_dir = (fs::path(o_.out_dir) / o_.model_subdir).string();
  const std::string metrics_path = (fs::path(o_.out_dir) / "metrics.jsonl").string();
  const bool tty = !o_.quiet && ::isatty(STDERR_FILENO);

  TrainResult result;
  if (o_.resume) {
    int64_t step = resume_from_latest();
    if (step >= 0) {
      result.start_step = step;
      if (!o_.quiet) std::cerr << "resuming from " << o_.out_dir << "/checkpoints/step-" << step << "\n";
    } else if (!o_.quiet) {
      std::cerr << "--resume: no complete checkpoint in " << o_.out_dir << "/checkpoints, starting from step 0\n";
    }
  }
  std::unique_ptr<MetricsLog> metrics_log;
  if (writer) metrics_log = std::make_unique<MetricsLog>(metrics_path, o_.resume ? result.start_step : -1);
  auto log_record = [&](const nlohmann::json& rec) {
    if (metrics_log) metrics_log->write(rec);
  };

  auto save_model = [&](const std::string& dir) {
    if (!writer) return;
    if (cb_.save_model) cb_.save_model(dir);
    else default_save_model(dir);
  };
  int64_t last_eval_step = -1;
  double last_lr = opt_.lr();  // the lr of the last step taken, for the eval records
  auto evaluate = [&](int64_t step) {
    model_.eval();
    Metrics m;
    {
      NoGradGuard ng;
      m = cb_.evaluate();
    }
    model_.train();
    last_eval_step = step;
    result.last_eval = m;
    nlohmann::json rec = {{"step", step}, {"lr", last_lr}};
    for (const auto& [k, v] : m) rec[k] = v;
    log_record(rec);
    if (!o_.quiet) std::cerr << (tty ? "\r\033[K" : "") << "eval step " << step << ": " << format_metrics(m) << "\n";
    auto it = m.find(o_.metric);
    TZ_CHECK(it != m.end(), "trainer: the evaluation has no metric '", o_.metric, "' (it has: ", format_metrics(m), ")");
    if (!has_best_ || better(it->second, best_)) {
      has_best_ = true;
      best_ = it->second;
      best_step_ = step;
      evals_without_improvement_ = 0;
      save_model(model_dir);
    } else {
      ++evals_without_improvement_;
    }
    return o_.early_stop_patience > 0 && evals_without_improvement_ >= o_.early_stop_patience;
  };

  model_.train();
  using clock = std::chrono::steady_clock;
  const auto t_start = clock::now();
  auto t_window = t_start;
  int64_t tokens_window = 0, tokens_total = 0;
  double loss_window = 0;
  int64_t steps_window = 0;
  int64_t step = result.start_step;
  int64_t last_saved = -1;
  while (step < o_.steps) {
    const double lr = last_lr = opt_.lr();
    double step_loss = 0;
    for (int64_t micro = 0; micro < o_.grad_accum; ++micro) {
      MicroBatchLoss mb = cb_.micro_batch_loss();
      // This shard's weight in the global micro-batch (1 for a single process).
      double weight = 1.0;
      if (world > 1 && !mb.summed) {
        if (mb.count >= 0) {
          const int64_t global = dist::all_reduce_sum(mb.count);
          weight = global > 0 ? static_cast<double>(mb.count) / static_cast<double>(global) : 0.0;
        } else {
          weight = 1.0 / static_cast<double>(world);
        }
      }
      double value = 0.0;
      if (mb.count != 0) {
        TZ_CHECK(mb.loss.defined() && mb.loss.numel() == 1, "trainer: micro_batch_loss must return a one-element loss");
        value = mb.loss.item();
        TZ_CHECK(std::isfinite(value), "trainer: the loss is ", value, " at step ", step + 1,
                 " (try a lower --lr or check the data)");
        const double scale = weight / static_cast<double>(o_.grad_accum);
        Tensor scaled = scale == 1.0 ? mb.loss : tz::mul(mb.loss, scale);
        scaled.backward();
      }
      step_loss += world > 1 ? dist::all_reduce_sum(value * weight) : value;
      const int64_t tokens = world > 1 ? dist::all_reduce_sum(mb.tokens) : mb.tokens;
      tokens_window += tokens;
      tokens_total += tokens;
    }
    step_loss /= static_cast<double>(o_.grad_accum);
    if (world > 1) {
      if (!reducer_) reducer_ = std::make_shared<dist::GradientReducer>(opt_.params());
      reducer_->all_reduce();  // shard gradients were pre-weighted: their sum is the step's gradient
    }
    double grad_norm = o_.max_grad_norm > 0 ? nn::clip_grad_norm(opt_.params(), o_.max_grad_norm) : 0.0;
    opt_.step();
    sched_.step();
    opt_.zero_grad();
    ++step;
    result.losses.push_back(step_loss);
    loss_window += step_loss;
    ++steps_window;

    const double elapsed = std::chrono::duration<double>(clock::now() - t_start).count();
    const double per_step = elapsed / static_cast<double>(step - result.start_step);
    const double eta = per_step * static_cast<double>(o_.steps - step);
    if (tty) {
      std::fprintf(stderr, "\r\033[Kstep %lld/%lld | loss %.4f | lr %.3e | %.0f tok/s | ETA %s",
                   (long long)step, (long long)o_.steps, step_loss, lr,
                   static_cast<double>(tokens_total) / std::max(elapsed, 1e-9), format_duration(eta).c_str());
      std::fflush(stderr);
    }
    if (step % o_.log_every == 0 || step == o_.steps) {
      const double window_s = std::chrono::duration<double>(clock::now() - t_window).count();
      const double tps = static_cast<double>(tokens_window) / std::max(window_s, 1e-9);
      const double mean_loss = loss_window / static_cast<double>(steps_window);
      log_record({{"step", step}, {"loss", mean_loss}, {"lr", lr}, {"grad_norm", grad_norm}, {"tokens_per_s", tps}});
      if (!o_.quiet && !tty) {
        char buf[200];
        std::snprintf(buf, sizeof buf, "step %lld/%lld loss %.4f lr %.3e %.0f tok/s ETA %s\n", (long long)step,
                      (long long)o_.steps, mean_loss, lr, tps, format_duration(eta).c_str());
        std::cerr << buf;
      }
      t_window = clock::now();
      tokens_window = 0;
      loss_window = 0;
      steps_window = 0;
    }
    bool stop = false;
    if (cb_.evaluate && o_.eval_every > 0 && step % o_.eval_every == 0) stop = evaluate(step);
    if (writer && o_.save_every > 0 && (step % o_.save_every == 0 || stop)) {
      save_checkpoint(step);
      last_saved = step;
    }
    if (o_.stop_after > 0 && step == o_.stop_after && step < o_.steps) {
      if (writer && o_.save_every > 0 && last_saved != step) save_checkpoint(step);
      if (tty) std::fprintf(stderr, "\n");
      if (!o_.quiet) std::cerr << "stopped after step " << step << " (--stop-after); continue with --resume\n";
      result.interrupted = true;
      result.steps_done = step;
      return result;
    }
    if (stop) {
      result.stopped_early = true;
      if (!o_.quiet)
        std::cerr << (tty ? "\r\033[K" : "") << "early stop at step " << step << ": no improvement of " << o_.metric
                  << " in " << o_.early_stop_patience << " evaluations (best " << best_ << " at step " << best_step_
                  << ")\n";
      break;
    }
  }
  if (tty) std::fprintf(stderr, "\n");
  if (cb_.evaluate) {
    // A run resumed from its final checkpoint has already evaluated that step.
    if (last_eval_step != step && !result.stopped_early && step > result.start_step) evaluate(step);
  } else {
    save_model(model_dir);
  }
  if (writer && o_.save_every > 0 && last_saved != step && step > result.start_step) save_checkpoint(step);
  if (writer) {
    metrics_log.reset();  // flushed and closed before the plot reads it
    write_loss_plot(metrics_path, (fs::path(o_.out_dir) / "loss.svg").string(), o_.title);
  }
  dist::barrier();  // the files are complete before any rank returns
  result.steps_done = step;
  result.best_metric = best_;
  result.best_step = best_step_;
  return result;
}

}  // namespace tz::train
