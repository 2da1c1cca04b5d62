// `tensorzoo bench`: times a model of any family with seeded random weights, inference (the
// family's graph-free path where it has one) or one masked-LM training step, and prints one
// JSON line shaped like the peer scripts' (bench/README.md, bench/compare_peers.sh), so runs of
// tensorzoo, PyTorch and ONNX Runtime can be compared line by line. Progress goes to stderr.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "autograd/grad_mode.h"
#include "cli/args.h"
#include "cli/command.h"
#include "models/registry.h"
#include "nn/per_example_rng.h"
#include "nn/optim.h"
#include "tensor/kernels/gemm.h"
#include "tensor/ops.h"
#include "tensor/parallel.h"
#include "tensor/storage.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// The median of v (v is copied and sorted).
double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double mb(size_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

double peak_rss_mb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;  // Linux reports kilobytes
}

std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(" \t", colon + 1));
    }
  return "unknown";
}

// Raw OpenBLAS sgemm [1024x768]x[768x3072] at the current thread count, threaded by OpenBLAS
// itself: the machine's practical limit,
// measured in the same process so ratios against it are fair. Best of 3 after one warm-up.
double sgemm_gflops() {
  const int64_t M = 1024, K = 768, N = 3072;
  std::vector<float> a(M * K, 0.5f), b(K * N, 0.25f), c(M * N);
  double best = 1e30;
  tz::kernels::OpenBlasThreadsScope blas(tz::get_num_threads());  // OpenBLAS's own threads, as a peer would
  for (int rep = 0; rep < 4; ++rep) {
    auto t0 = Clock::now();
    tz::kernels::sgemm_openblas(false, false, M, N, K, 1.f, a.data(), K, b.data(), N, 0.f, c.data(), N);
    if (rep > 0) best = std::min(best, seconds_since(t0));
  }
  return 2.0 * M * N * K / best / 1e9;
}

// A named size of the family, or a config.json (whose model_type then decides the family).
std::shared_ptr<tz::models::PretrainedConfig> bench_config(const std::string& arch, const std::string& name_or_path) {
  for (const auto& size : tz::models::family(arch).sizes)
    if (size == name_or_path) return tz::models::named_config(arch, size);
  return tz::models::load_config(name_or_path);
}

// Random ids and an all-ones mask, as the peers get.
tz::models::Inputs random_inputs(const tz::models::PretrainedConfig& c, int64_t B, int64_t S, tz::Generator& gen) {
  tz::models::Inputs in;
  in.input_ids = tz::raw::randint({B, S}, 0, c.vocab_size, gen);
  in.attention_mask = tz::raw::ones({B, S}, tz::DType::Int64);
  return in;
}

int run_bench(const std::vector<std::string>& args) {
  tz::cli::ArgParser p("tensorzoo bench",
                       "Time a model of the zoo with seeded random weights: base-model inference (the graph-free "
                       "path where the family has one), or with --train one masked-LM step (15% of positions "
                       "labelled, forward, backward, AdamW). Prints one JSON line last; progress goes to stderr.");
  p.option("arch", "FAMILY", "model family (tensorzoo info --list)", "convbert");
  p.option("config", "NAME|PATH", "a named size of the family (convbert: small, medium-small, base), or a config.json",
           "small");
  p.option("batch", "B", "batch size", "1");
  p.option("seq", "S", "sequence length", "128");
  p.option("threads", "T", "threads (ours and OpenBLAS's)", "1");
  p.option("reps", "N", "timed runs (default 5; 10 at batch 1)", "0");
  p.option("warmup", "N", "untimed warm-up runs", "2");
  p.option("layers", "L", "number of layers (default: 12 for named configs, the file's for a path)", "0");
  p.option("seed", "N", "seed for the weights and inputs", "0");
  p.flag("train", "time one masked-LM training step instead of inference");
  p.flag("full-mlm-head", "--train: run the LM head at every position, as HF does (default: labelled positions only, as `train mlm` does)");
  p.flag("plain-path", "inference through the op-by-op path instead of the graph-free one (for comparison)");
  p.flag("paired-scaling",
         "also time every run at 1 thread, alternating with the --threads T run, and add median_s_1t and "
         "paired_speedup (median over pairs of 1-thread time / T-thread time) to the JSON line");
  if (!p.parse(args)) return p.exit_code();

  std::shared_ptr<tz::models::PretrainedConfig> config = bench_config(p.get("arch"), p.get("config"));
  tz::models::PretrainedConfig& c = *config;
  const int64_t B = p.get_int("batch"), S = p.get_int("seq"), threads = p.get_int("threads");
  const int64_t layers = p.get_int("layers"), warmup = p.get_int("warmup");
  int64_t reps = p.get_int("reps");
  if (reps <= 0) reps = B == 1 ? 10 : 5;
  TZ_CHECK(B >= 1 && S >= 1 && threads >= 1 && warmup >= 0, "bench: batch, seq and threads must be >= 1, got ",
           B, ", ", S, ", ", threads);
  if (layers > 0) c.num_hidden_layers = layers;
  const bool train = p.get_flag("train"), paired = p.get_flag("paired-scaling");
  TZ_CHECK(!paired || threads > 1, "bench: --paired-scaling compares --threads T with 1 thread, so T must be >= 2, got ",
           threads);
  tz::set_num_threads(static_cast<int>(threads));
  if (p.get_flag("plain-path")) tz::models::set_inference_path_enabled(false);
  const uint64_t seed = static_cast<uint64_t>(p.get_int("seed"));
  tz::Generator gen(seed + 1);

  std::cerr << "bench: " << c.model_type << " " << p.get("config") << " (" << c.num_hidden_layers << " layers, hidden " << c.hidden_size
            << "), batch " << B << ", seq " << S << ", threads " << threads << ", "
            << (train ? "train" : "infer") << "\n";
  // One timed run (a forward, or a training step) as a function of the run index.
  std::shared_ptr<tz::models::PreTrainedModel> infer_model, train_model;
  std::unique_ptr<tz::optim::AdamW> opt;
  tz::models::Inputs in = random_inputs(c, B, S, gen);
  std::function<double(int64_t)> run_once;
  if (!train) {
    infer_model = tz::models::create(c, "base", seed);
    infer_model->eval();
    run_once = [&](int64_t) {
      tz::NoGradGuard no_grad;
      auto t0 = Clock::now();
      tz::models::Output out = infer_model->forward(in);
      return seconds_since(t0);
    };
  } else {
    train_model = tz::models::create(c, "masked-lm", seed);
    train_model->train();
    tz::optim::AdamWOptions o;
    o.lr = 1e-4;
    opt = std::make_unique<tz::optim::AdamW>(train_model->parameters(), o);
    // 15% of the positions carry a label (the token itself); the rest are ignored (-100).
    std::vector<int64_t> ids = in.input_ids.to_vector<int64_t>(), labels(ids.size(), -100);
    for (size_t i = 0; i < ids.size(); ++i)
      if (gen.uniform() < 0.15) labels[i] = ids[i];
    in.labels = tz::raw::from_vector(labels, {B, S});
    in.mlm_logits_at_labels_only = !p.get_flag("full-mlm-head");
    run_once = [&](int64_t i) {
      auto t0 = Clock::now();
      // Dropout draws per example, as `train mlm` does (nn/per_example_rng.h).
      tz::nn::PerExampleRngScope rng(seed, static_cast<uint64_t>(i), 0);
      opt->zero_grad();
      tz::models::Output out = train_model->forward(in);
      const size_t after_forward = tz::allocated_bytes();
      out.loss.backward();
      opt->step();
      const double s = seconds_since(t0);
      std::cerr << "    loss " << out.loss.item() << "; tensor memory after forward " << mb(after_forward)
                << " MB, peak " << mb(tz::peak_allocated_bytes()) << " MB\n";
      return s;
    };
  }

  // With --paired-scaling every run index times one run at 1 thread and one at T threads, in
  // alternating order, so a slow spell of the machine lands on both sides of a pair.
  std::vector<double> times, times_1t;
  for (int64_t i = 0; i < warmup + reps; ++i) {
    const bool timed = i >= warmup;
    const char* what = timed ? (train ? "step" : "run") : "warm-up";
    if (!paired) {
      const double s = run_once(i);
      if (timed) times.push_back(s);
      std::cerr << "  " << what << " " << i << ": " << s << " s\n";
      continue;
    }
    for (int k = 0; k < 2; ++k) {
      const bool one = (k == 0) == (i % 2 == 1);
      tz::set_num_threads(one ? 1 : static_cast<int>(threads));
      const double s = run_once(i);
      if (timed) (one ? times_1t : times).push_back(s);
      std::cerr << "  " << what << " " << i << " at " << (one ? 1 : threads) << " thread" << (one ? "" : "s") << ": "
                << s << " s\n";
    }
  }
  tz::set_num_threads(static_cast<int>(threads));
  const double tensor_peak = mb(tz::peak_allocated_bytes());
  const double rss = peak_rss_mb();  // before the sgemm probe, whose buffers are not the model's
  std::vector<double> speedups;  // per pair: 1-thread time / T-thread time
  for (size_t i = 0; i < times_1t.size(); ++i) speedups.push_back(times_1t[i] / times[i]);
  std::sort(times.begin(), times.end());
  const double median = median_of(times);
  const double flops = (infer_model ? infer_model : train_model)->forward_flops(B, S);
  std::cerr << "bench: measuring raw sgemm [1024x768]x[768x3072] at " << threads << " threads\n";
  const double gemm = sgemm_gflops();

  nlohmann::json j;
  j["system"] = "tensorzoo";
  j["arch"] = c.model_type;
  j["config"] = p.get("config");
  j["batch"] = B;
  j["seq"] = S;
  j["threads"] = threads;
  j["mode"] = train ? "train" : "infer";
  j["median_s"] = median;
  j["min_s"] = times.front();
  j["max_s"] = times.back();
  j["peak_rss_mb"] = rss;
  j["peak_tensor_mb"] = tensor_peak;  // peak bytes of live tensors (tensor/storage.h allocated_bytes)
  j["gflops"] = flops / median / 1e9;  // forward FLOPs per second, also for --train (one count for every row)
  j["blas_core"] = tz::kernels::blas_core_name();
  j["cpu"] = cpu_model();
  j["sgemm_gflops"] = gemm;
  j["layers"] = c.num_hidden_layers;
  j["path"] = train ? "autograd" : (tz::models::inference_path_enabled() ? "inference" : "plain");
  if (paired) {
    j["median_s_1t"] = median_of(times_1t);
    j["paired_speedup"] = median_of(speedups);  // median over pairs of (1-thread time / T-thread time)
  }
  std::cout << j.dump() << std::endl;
  return 0;
}

tz::cli::Command reg{"bench", "time a model's inference or a training step; prints one JSON line", run_bench};

}  // namespace
