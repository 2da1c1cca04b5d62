// The training loop: a run resumed from a checkpoint reproduces the uninterrupted run bit for bit
// (losses compared with ==, then every parameter), a save that dies between write and rename
// leaves the previous checkpoint loadable, early stopping, and the run's files.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "models/convbert/config.h"
#include "models/registry.h"
#include "nn/lr_schedule.h"
#include "nn/optim.h"
#include "tensor/random.h"
#include "train/checkpoint_dir.h"
#include "train/metrics_log.h"
#include "train/mlm_collator.h"
#include "train/trainer.h"

using namespace tz::train;
namespace fs = std::filesystem;
namespace cb = tz::convbert;

namespace {

// Removes this process's temporary folder when the test program exits.
struct TempCleanup {
  ~TempCleanup() {
    std::error_code ec;
    std::filesystem::remove_all(std::filesystem::temp_directory_path() / ("tz_trainer_" + std::to_string(::getpid())), ec);
  }
} temp_cleanup;


cb::ConvBertConfig tiny_config() {
  cb::ConvBertConfig c;
  c.vocab_size = 60;
  c.hidden_size = c.embedding_size = 32;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.intermediate_size = 64;
  c.max_position_embeddings = 32;
  c.conv_kernel_size = 3;
  c.pad_token_id = 0;
  return c;  // dropout 0.1 stays on: resume must reproduce the dropout masks too
}

std::vector<TokenizedExample> toy_examples() {
  tz::Generator g(5);
  std::vector<TokenizedExample> ex;
  for (int i = 0; i < 24; ++i) {
    TokenizedExample e;
    e.ids.push_back(1);
    int64_t n = 6 + g.randint(0, 10);
    for (int64_t t = 0; t < n; ++t) e.ids.push_back(g.randint(5, 60));
    e.ids.push_back(2);
    ex.push_back(std::move(e));
  }
  return ex;
}

// Everything a run owns, built fresh as a new process would.
struct Run {
  std::vector<TokenizedExample> examples = toy_examples();
  std::shared_ptr<tz::models::PreTrainedModel> model;
  std::unique_ptr<tz::optim::AdamW> opt;
  std::unique_ptr<tz::optim::LRScheduler> sched;
  std::unique_ptr<BatchSampler> sampler;
  tz::Generator gen{77};
  MlmCollator collator{3, 0, 60, {1, 2, 4}, {.mlm_probability = 0.3}};

  explicit Run(int64_t total_steps) {
    tz::manual_seed(11);
    model = tz::models::create(tiny_config(), "ConvBertForMaskedLM", 3);
    opt = std::make_unique<tz::optim::AdamW>(tz::optim::param_groups_like_hf(*model, 0.01),
                                             tz::optim::AdamWOptions{.lr = 3e-3});
    sched = std::make_unique<tz::optim::LinearWarmupDecay>(*opt, 2, total_steps);
    std::vector<int64_t> lengths;
    for (const auto& e : examples) lengths.push_back(static_cast<int64_t>(e.ids.size()));
    sampler = std::make_unique<BatchSampler>(lengths, BatchSamplerOptions{.batch_size = 4, .seed = 9});
  }

  TrainCallbacks callbacks() {
    TrainCallbacks c;
    c.micro_batch_loss = [this] {
      std::vector<const TokenizedExample*> ptrs;
      for (size_t i : sampler->next()) ptrs.push_back(&examples[i]);
      Batch b = collator(ptrs, gen);
      tz::models::Inputs in;
      in.input_ids = b.input_ids;
      in.attention_mask = b.attention_mask;
      in.labels = b.labels;
      return MicroBatchLoss{model->forward(in).loss, b.real_tokens};
    };
    c.save_model = [this](const std::string& dir) { tz::models::save_pretrained(*model, dir); };
    c.load_model = [this](const std::string& dir) {
      auto loaded = tz::models::from_pretrained(dir, {.architecture = "ConvBertForMaskedLM", .strict = true, .verbose = false});
      std::map<std::string, tz::Tensor> state;
      for (auto& [k, v] : loaded->state_dict()) state[k] = v;
      model->load_state_dict(state, true);
    };
    c.data_state = [this] {
      auto s = gen.state();
      return nlohmann::json{{"sampler", sampler->state()}, {"gen", std::vector<uint64_t>(s.begin(), s.end())}};
    };
    c.load_data_state = [this](const nlohmann::json& j) {
      sampler->load_state(j.at("sampler"));
      auto g = j.at("gen").get<std::vector<uint64_t>>();
      gen.set_state({g[0], g[1], g[2], g[3], g[4], g[5]});
    };
    return c;
  }

  TrainResult train(const std::string& out, int64_t steps, int64_t save_every, bool resume,
                    std::function<void(const std::string&)> hook = {}) {
    TrainOptions o;
    o.steps = steps;
    o.grad_accum = 2;
    o.max_grad_norm = 1.0;
    o.log_every = 2;
    o.save_every = save_every;
    o.out_dir = out;
    o.resume = resume;
    o.quiet = true;
    o.before_checkpoint_rename = std::move(hook);
    Trainer t(*model, *opt, *sched, callbacks(), o);
    return t.run();
  }
};

std::string fresh_dir(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("tz_trainer_" + std::to_string(::getpid())) / name;
  fs::remove_all(p);
  return p.string();
}

void check_same_params(const tz::models::PreTrainedModel& a, const tz::models::PreTrainedModel& b) {
  auto pa = a.named_parameters(), pb = b.named_parameters();
  REQUIRE(pa.size() == pb.size());
  for (size_t i = 0; i < pa.size(); ++i) {
    INFO(pa[i].first);
    CHECK(pa[i].second.to_vector<float>() == pb[i].second.to_vector<float>());
  }
}

}  // namespace

TEST_CASE("a resumed run reproduces the uninterrupted run bit for bit", "[train][trainer]") {
  const int64_t N = 8;
  Run straight(N);
  TrainResult full = straight.train(fresh_dir("straight"), N, 0, false);
  REQUIRE(full.losses.size() == N);
  CHECK(full.losses.back() < full.losses.front());  // it learns something

  std::string out = fresh_dir("interrupted");
  {
    Run first(N);
    TrainResult half = first.train(out, N / 2, N / 2, false);
    REQUIRE(half.losses.size() == N / 2);
    for (int64_t i = 0; i < N / 2; ++i) CHECK(half.losses[i] == full.losses[i]);
  }
  REQUIRE(fs::exists(fs::path(out) / "checkpoints" / "step-4" / "trainer_state.json"));
  REQUIRE(fs::exists(fs::path(out) / "checkpoints" / "step-4" / "optimizer.safetensors"));
  REQUIRE(fs::exists(fs::path(out) / "checkpoints" / "step-4" / "config.json"));
  // A "new process": Run reseeds the default generator (dropout) as at step 0; only the
  // checkpoint can bring it to where the straight run was at step 4.
  Run second(N);
  TrainResult rest = second.train(out, N, N / 2, true);
  CHECK(rest.start_step == N / 2);
  REQUIRE(rest.losses.size() == N / 2);
  for (int64_t i = 0; i < N / 2; ++i) {
    INFO("step " << N / 2 + i + 1);
    CHECK(rest.losses[i] == full.losses[N / 2 + i]);
  }
  check_same_params(*second.model, *straight.model);

  // metrics.jsonl reads as one run: every log step once, in order.
  std::vector<int64_t> steps;
  for (const auto& r : read_metrics_log((fs::path(out) / "metrics.jsonl").string()))
    if (r.contains("loss")) steps.push_back(r["step"].get<int64_t>());
  CHECK(steps == std::vector<int64_t>{2, 4, 6, 8});
  std::ifstream svg(fs::path(out) / "loss.svg");
  std::string text((std::istreambuf_iterator<char>(svg)), std::istreambuf_iterator<char>());
  CHECK(text.rfind("<svg", 0) == 0);
  CHECK(text.find("<polyline") != std::string::npos);
  CHECK(fs::exists(fs::path(out) / "model" / "model.safetensors"));
}

TEST_CASE("a save killed between write and rename leaves the previous checkpoint loadable", "[train][trainer]") {
  const int64_t N = 6;
  Run straight(N);
  TrainResult full = straight.train(fresh_dir("straight2"), N, 0, false);

  std::string out = fresh_dir("killed");
  {
    Run crashing(N);
    auto hook = [](const std::string& tmp) {
      if (tmp.find("step-4.tmp-") != std::string::npos) throw std::runtime_error("simulated crash");
    };
    CHECK_THROWS_WITH(crashing.train(out, N, 2, false, hook), "simulated crash");
  }
  CheckpointDir ckpts((fs::path(out) / "checkpoints").string());
  CHECK(ckpts.complete_steps() == std::vector<int64_t>{2});
  CHECK(ckpts.latest() == ckpts.path_for(2));
  bool tmp_left = false;
  for (const auto& e : fs::directory_iterator(ckpts.root())) tmp_left |= e.path().string().find(".tmp-") != std::string::npos;
  CHECK_FALSE(tmp_left);  // a save that fails removes its half-written folder (a killed one: test_kill_save)
  // The previous checkpoint is a loadable HF directory...
  auto loaded = tz::models::from_pretrained(ckpts.path_for(2), {.architecture = "ConvBertForMaskedLM", .strict = true, .verbose = false});
  CHECK(loaded->architecture() == "ConvBertForMaskedLM");
  // ... and resuming from it gives the uninterrupted run's losses.
  Run again(N);
  TrainResult rest = again.train(out, N, 2, true);
  CHECK(rest.start_step == 2);
  REQUIRE(rest.losses.size() == 4);
  for (int i = 0; i < 4; ++i) CHECK(rest.losses[i] == full.losses[2 + i]);
  // Only the newest two checkpoints remain, and no temporary folders.
  CHECK(ckpts.complete_steps() == std::vector<int64_t>{4, 6});
  for (const auto& e : fs::directory_iterator(ckpts.root())) CHECK(e.path().string().find(".tmp-") == std::string::npos);
}

TEST_CASE("early stopping and best-model selection", "[train][trainer]") {
  Run run(20);
  std::string out = fresh_dir("early");
  // Scripted dev metric: improves twice, then never again.
  std::vector<double> scores = {0.5, 0.7, 0.6, 0.65, 0.69, 0.9};
  size_t calls = 0;
  TrainCallbacks c = run.callbacks();
  c.evaluate = [&] { return Metrics{{"accuracy", scores.at(calls++)}, {"eval_loss", 1.0}}; };
  TrainOptions o;
  o.steps = 20;
  o.eval_every = 2;
  o.early_stop_patience = 3;
  o.metric = "accuracy";
  o.greater_is_better = true;
  o.out_dir = out;
  o.quiet = true;
  Trainer t(*run.model, *run.opt, *run.sched, c, o);
  TrainResult r = t.run();
  CHECK(r.stopped_early);
  CHECK(r.steps_done == 10);  // evaluations at 2 (0.5), 4 (0.7, best), 6, 8, 10 -> 3 without improvement
  CHECK(r.best_step == 4);
  CHECK(r.best_metric == 0.7);
  CHECK(calls == 5);
  CHECK(fs::exists(fs::path(out) / "model" / "config.json"));
  int evals = 0;
  for (const auto& rec : read_metrics_log((fs::path(out) / "metrics.jsonl").string())) evals += rec.contains("accuracy");
  CHECK(evals == 5);
}
