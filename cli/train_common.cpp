// The pieces every `tensorzoo train` task shares; see train_common.h.
#include "cli/train_common.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "autograd/grad_mode.h"
#include "cli/text_inputs.h"
#include "distributed/communicator.h"
#include "nn/per_example_rng.h"
#include "tensor/ops.h"
#include "tensor/parallel.h"

namespace tz::cli::training {

namespace fs = std::filesystem;
namespace tr = tz::train;

void add_common_options(ArgParser& p) {
  p.option("model", "DIR|NAME", "continue from this HF model directory or Hub name (org/name[@rev]) of any family (instead of --config)", "");
  p.option("config", "NAME|PATH",
           "new model: a named size of --arch's family, or a config.json / model directory of any family "
           "(its model_type decides)", "");
  p.option("arch", "FAMILY", "model family of a named --config size (tensorzoo info --list shows them)", "convbert");
  p.option("num-layers", "N", "override num_hidden_layers of --config", "0");
  p.option("tokenizer", "PATH", "vocab.txt, tokenizer.json or a directory (default: --model)", "");
  p.option("out", "DIR", "output directory", "", true);
  p.option("steps", "N", "optimizer steps (0: fine-tuning: from --epochs; mlm: 1000)", "0");
  p.option("batch-size", "N", "examples per micro-batch", "32");
  p.option("grad-accum", "N", "micro-batches per optimizer step", "1");
  p.option("seq-len", "N", "maximum tokens per example", "128");
  p.option("lr", "X", "peak learning rate (AdamW)", "5e-4");
  p.option("warmup", "N", "warmup steps (overrides --warmup-ratio)", "-1");
  p.option("warmup-ratio", "X", "warmup as a fraction of the steps", "0.06");
  p.option("schedule", "NAME", "linear, cosine, constant or constant_with_warmup", "linear");
  p.option("weight-decay", "X", "AdamW weight decay (not on biases and LayerNorm)", "0.01");
  p.option("max-grad-norm", "X", "clip the gradient norm to X (0: off)", "1.0");
  p.option("seed", "N", "seed for initialisation, data order, masking and dropout", "42");
  p.option("threads", "N", "compute threads (0: all cores)", "0");
  p.option("log-every", "N", "steps between log lines / metrics.jsonl records", "10");
  p.option("eval-every", "N", "steps between evaluations (0: fine-tuning: once per epoch; mlm: at the end)", "0");
  p.option("save-every", "N", "steps between checkpoints (0: fine-tuning: at each evaluation; mlm: 1000)", "0");
  p.option("keep-checkpoints", "N", "newest checkpoints kept", "2");
  p.option("early-stop", "PATIENCE", "stop after PATIENCE evaluations without improvement (0: never)", "0");
  p.flag("bucket-by-length", "batch examples of similar length together (less padding)");
  p.flag("resume", "continue from the newest complete checkpoint in OUT/checkpoints");
  p.flag("quiet", "no progress output");
  p.flag("distributed", "join an MPI job (automatic under mpirun): --batch-size is then the global batch");
  p.option("stop-after", "N", "end the run after step N as if interrupted (to test --resume)", "0");
}

std::string tokenizer_dir_of(const std::string& path) {
  return fs::is_directory(path) ? path : fs::path(path).parent_path().string();
}

Common read_common(const ArgParser& p) {
  Common c;
  c.out = p.get("out");
  c.model_dir = p.get("model").empty() ? "" : resolve_model_arg(p.get("model"), "train");
  c.config_spec = p.get("config");
  c.arch = p.get("arch");
  c.tokenizer_path = p.get("tokenizer").empty() ? c.model_dir : p.get("tokenizer");
  if (!c.tokenizer_path.empty() && !fs::exists(c.tokenizer_path)) c.tokenizer_path = resolve_model_arg(c.tokenizer_path, "train");
  c.steps = p.get_int("steps");
  c.stop_after = p.get_int("stop-after");
  c.batch_size = p.get_int("batch-size");
  c.grad_accum = p.get_int("grad-accum");
  c.seq_len = p.get_int("seq-len");
  c.warmup = p.get_int("warmup");
  c.num_layers = p.get_int("num-layers");
  c.log_every = p.get_int("log-every");
  c.eval_every = p.get_int("eval-every");
  c.save_every = p.get_int("save-every");
  c.patience = p.get_int("early-stop");
  c.lr = p.get_double("lr");
  c.warmup_ratio = p.get_double("warmup-ratio");
  c.weight_decay = p.get_double("weight-decay");
  c.max_grad_norm = p.get_double("max-grad-norm");
  c.seed = static_cast<uint64_t>(p.get_int("seed"));
  c.threads = static_cast<int>(p.get_int("threads"));
  c.keep = static_cast<int>(p.get_int("keep-checkpoints"));
  c.bucket = p.get_flag("bucket-by-length");
  c.resume = p.get_flag("resume");
  c.quiet = p.get_flag("quiet");
  c.schedule = p.get("schedule");
  TZ_CHECK(c.model_dir.empty() != c.config_spec.empty(), "train: give exactly one of --model DIR or --config NAME|PATH");
  TZ_CHECK(!c.tokenizer_path.empty(), "train: --tokenizer PATH is required with --config");
  models::family(c.arch);  // an unknown --arch fails here, naming the known families
  TZ_CHECK(c.batch_size > 0, "train: --batch-size must be positive, got ", c.batch_size);
  TZ_CHECK(c.grad_accum > 0, "train: --grad-accum must be positive, got ", c.grad_accum);
  TZ_CHECK(c.batch_size % tz::dist::world_size() == 0, "train: --batch-size ", c.batch_size,
           " is the global batch and must divide by the number of processes (", tz::dist::world_size(), ")");
  if (!tz::dist::is_main_process()) c.quiet = true;  // rank 0 alone reports
  TZ_CHECK(c.seq_len >= 8, "train: --seq-len must be at least 8, got ", c.seq_len);
  TZ_CHECK(c.lr > 0, "train: --lr must be positive, got ", c.lr);
  TZ_CHECK(c.steps >= 0, "train: --steps must be >= 0, got ", c.steps);
  TZ_CHECK(c.num_layers >= 0, "train: --num-layers must be >= 0, got ", c.num_layers);
  if (c.threads > 0) tz::set_num_threads(c.threads);
  tz::manual_seed(c.seed);  // dropout draws from the default generator
  return c;
}

std::shared_ptr<models::PretrainedConfig> base_config(const Common& c) {
  if (!c.model_dir.empty()) return models::load_config(c.model_dir);
  const models::Family& fam = models::family(c.arch);
  for (const auto& size : fam.sizes)
    if (size == c.config_spec) return models::named_config(c.arch, size);
  std::string sizes;
  for (const auto& size : fam.sizes) sizes += (sizes.empty() ? "" : ", ") + size;
  TZ_CHECK(fs::exists(c.config_spec), "train: --config '", c.config_spec, "' is neither ", sizes, " (named sizes of ",
           fam.model_type, ") nor an existing file or directory");
  return models::load_config(c.config_spec);
}

std::shared_ptr<models::PreTrainedModel> make_model(const Common& c, const tokenizer::WordPiece& tok, models::Task task,
                                                    const std::function<void(models::PretrainedConfig&)>& adjust) {
  std::shared_ptr<models::PretrainedConfig> config = base_config(c);
  const std::string head = models::architecture_for(models::family(config->model_type), task);
  if (c.model_dir.empty()) {
    config->vocab_size = static_cast<int64_t>(tok.vocab_size());
    if (tok.pad_id() >= 0) config->pad_token_id = tok.pad_id();
    if (c.num_layers > 0) config->num_hidden_layers = c.num_layers;
    if (adjust) adjust(*config);
    config->validate();
    return models::create(*config, head, c.seed);
  }
  if (adjust) adjust(*config);
  config->validate();
  models::LoadOptions lo;
  lo.precision = tz::nn::Precision::Float32;  // training runs float32 (a quantized directory loads as its float values)
  lo.architecture = head;
  lo.config = config;
  lo.ignore_mismatched_sizes = true;  // a new label set gives the head new shapes
  lo.seed = c.seed;
  lo.verbose = false;
  models::LoadReport report;
  auto model = models::from_pretrained(c.model_dir, lo, &report);
  const std::string prefix = model->base_model_prefix() + ".";
  for (const auto& m : report.mismatched)
    TZ_CHECK(m.rfind(prefix, 0) != 0, "train: '", report.weights_file, "' does not fit the model: ", m);
  size_t fresh = report.mismatched.size();
  for (const auto& k : report.missing) fresh += k.rfind(prefix, 0) != 0;
  if (!c.quiet && fresh > 0)
    std::cerr << "note: " << fresh << " head weights are newly initialised (not in " << report.weights_file << ")\n";
  return model;
}

nlohmann::json DataStream::state() const {
  auto s = gen.state();
  return {{"sampler", sampler.state()}, {"generator", std::vector<uint64_t>(s.begin(), s.end())}, {"draws", draws}};
}

void DataStream::load_state(const nlohmann::json& j) {
  sampler.load_state(j.at("sampler"));
  const nlohmann::json draws_json = j.value("draws", nlohmann::json(0));
  TZ_CHECK(draws_json.is_number_integer() && draws_json.get<int64_t>() >= 0,
           "train: the checkpoint's data state has draws ", draws_json.dump(), " (expected a non-negative integer)");
  draws = draws_json.get<int64_t>();
  gen.set_state(tr::generator_state_from_json(j.at("generator"), "train: the checkpoint's data generator"));
}

Setup make_setup(const Common& c, nn::Module& model, const std::vector<int64_t>& lengths, int64_t epochs) {
  tr::BatchSamplerOptions so;
  so.batch_size = c.batch_size;
  so.seed = c.seed;
  so.bucket_by_length = c.bucket;
  Setup s{DataStream{tr::BatchSampler(lengths, so), Generator(c.seed + 1)}, 0, 0, 0, nullptr, nullptr};
  if (epochs > 0) {
    const int64_t steps_per_epoch = (s.data.sampler.batches_per_epoch() + c.grad_accum - 1) / c.grad_accum;
    s.steps = c.steps > 0 ? c.steps : std::max<int64_t>(1, epochs * steps_per_epoch);
    s.eval_every = c.eval_every > 0 ? c.eval_every : steps_per_epoch;
    s.save_every = c.save_every > 0 ? c.save_every : s.eval_every;
  } else {
    s.steps = c.steps > 0 ? c.steps : 1000;
    s.eval_every = c.eval_every;
    s.save_every = c.save_every > 0 ? c.save_every : 1000;
  }
  optim::AdamWOptions ao;
  ao.lr = c.lr;
  ao.weight_decay = c.weight_decay;
  s.optimizer = std::make_unique<optim::AdamW>(optim::param_groups_like_hf(model, c.weight_decay), ao);
  const int64_t warmup =
      c.warmup >= 0 ? c.warmup : static_cast<int64_t>(std::ceil(c.warmup_ratio * static_cast<double>(s.steps)));
  s.scheduler = optim::make_scheduler(c.schedule, *s.optimizer, warmup, s.steps);
  return s;
}

void add_model_io(tr::TrainCallbacks& cbs, models::PreTrainedModel& model, const Common& c) {
  const std::string tokdir = tokenizer_dir_of(c.tokenizer_path);
  cbs.save_model = [&model, tokdir](const std::string& dir) { models::save_pretrained(model, dir, tokdir); };
  cbs.load_model = [&model](const std::string& dir) {
    models::LoadOptions lo;
    lo.precision = tz::nn::Precision::Float32;  // training runs float32 (a quantized directory loads as its float values)
    lo.verbose = false;
    models::load_weights(model, dir, lo);
  };
}

tr::TrainOptions train_options(const Common& c, const Setup& s) {
  tr::TrainOptions o;
  o.steps = s.steps;
  o.grad_accum = c.grad_accum;
  o.max_grad_norm = c.max_grad_norm;
  o.log_every = c.log_every;
  o.eval_every = s.eval_every;
  o.save_every = s.save_every;
  o.keep_checkpoints = c.keep;
  o.early_stop_patience = c.patience;
  o.out_dir = c.out;
  o.resume = c.resume;
  o.quiet = c.quiet;
  o.stop_after = c.stop_after;
  return o;
}

tr::MicroBatchLoss forward_shard(models::PreTrainedModel& model, const models::Inputs& global, uint64_t seed,
                                 int64_t draw, bool count_labelled_tokens) {
  const int64_t world = tz::dist::world_size(), rank = tz::dist::rank(), rows = global.input_ids.size(0);
  const int64_t begin = rank * rows / world, end = (rank + 1) * rows / world;
  models::Inputs s = global;
  if (world > 1) {
    auto rows_of = [&](const Tensor& t) { return t.defined() ? raw::contiguous(raw::narrow(t, 0, begin, end - begin)) : t; };
    s.input_ids = rows_of(global.input_ids);
    s.attention_mask = rows_of(global.attention_mask);
    s.token_type_ids = rows_of(global.token_type_ids);
    s.labels = rows_of(global.labels);
    s.next_sentence_label = rows_of(global.next_sentence_label);
    s.start_positions = rows_of(global.start_positions);
    s.end_positions = rows_of(global.end_positions);
  }
  tr::MicroBatchLoss out;
  out.tokens = 0;
  if (end > begin)
    for (int64_t m : s.attention_mask.to_vector<int64_t>()) out.tokens += m != 0;
  if (count_labelled_tokens) {
    out.count = 0;
    if (end > begin)
      for (int64_t l : s.labels.to_vector<int64_t>()) out.count += l != -100;
  } else {
    out.count = end - begin;
  }
  if (out.count == 0) return out;
  nn::PerExampleRngScope scope(seed, static_cast<uint64_t>(draw), begin);
  out.loss = model.forward(s).loss;
  return out;
}

void add_fine_tuning_options(ArgParser& p) {
  p.option("train", "FILE", "training data", "", true);
  p.option("dev", "FILE", "development data (evaluation, best model, early stopping)", "", true);
  p.option("test", "FILE", "evaluate OUT/model on FILE at the end; prints test_<metric>=... last", "");
  p.option("epochs", "N", "epochs when --steps is 0", "3");
}

int run_fine_tuning(const ArgParser& p, const Common& c, const tokenizer::WordPiece& tok, FineTuning& t) {
  TZ_CHECK(!t.train_lengths.empty(), "train ", t.name, ": '", p.get("train"), "' has no examples");
  auto model = make_model(c, tok, t.task, t.set_head);
  const int64_t max_length = t.max_length > 0 ? t.max_length : c.seq_len;
  TZ_CHECK(max_length <= model->config().max_position_embeddings, "train ", t.name, ": ",
           t.max_length > 0 ? "--max-length " : "--seq-len ", max_length, " exceeds the model's max_position_embeddings ",
           model->config().max_position_embeddings);
  Setup s = make_setup(c, *model, t.train_lengths, p.get_int("epochs"));

  tr::TrainCallbacks cbs;
  cbs.micro_batch_loss = [&] {
    models::Inputs b = t.collate_train(s.data.sampler.next());
    return forward_shard(*model, b, c.seed, s.data.draws++, t.count_labelled_tokens);
  };
  cbs.evaluate = [&] {
    NoGradGuard ng;
    return t.evaluate_dev(*model);
  };
  add_model_io(cbs, *model, c);
  cbs.data_state = [&] { return s.data.state(); };
  cbs.load_data_state = [&](const nlohmann::json& j) { s.data.load_state(j); };

  tr::TrainOptions o = train_options(c, s);
  o.metric = t.metric;
  o.greater_is_better = t.greater_is_better;
  o.title = "tensorzoo train " + t.name;
  if (!c.quiet) std::cerr << "train " << t.name << ": " << t.summary << ", " << s.steps << " steps\n";
  tr::Trainer trainer(*model, *s.optimizer, *s.scheduler, cbs, o);
  tr::TrainResult r = trainer.run();
  if (!tz::dist::is_main_process()) return 0;  // rank 0 reports
  if (r.interrupted) {
    std::cout << "stopped_after=" << r.steps_done << "\n";
    return 0;
  }
  std::cout << "steps=" << r.steps_done << "\n";
  std::cout << "best_" << t.metric << "=" << r.best_metric << " (step " << r.best_step << ")\n";
  std::cout << "model=" << (fs::path(c.out) / "model").string() << "\n";

  if (t.evaluate_test) {
    models::LoadOptions lo;
    lo.precision = tz::nn::Precision::Float32;  // training runs float32 (a quantized directory loads as its float values)
    lo.architecture = model->architecture();
    lo.verbose = false;
    auto best = models::from_pretrained((fs::path(c.out) / "model").string(), lo);
    best->eval();
    NoGradGuard ng;
    tr::Metrics m = t.evaluate_test(*best);
    nlohmann::json j;
    for (const auto& [k, v] : m) j[k == "eval_loss" ? "test_loss" : "test_" + k] = v;
    std::ofstream((fs::path(c.out) / "test_metrics.json").string()) << j.dump(2) << "\n";
    // The main metric last, so that scripts can take the final line.
    const std::string main = t.metric == "eval_loss" ? "test_loss" : "test_" + t.metric;
    for (const auto& [k, v] : j.items())
      if (k != main) std::cout << k << "=" << v.get<double>() << "\n";
    if (j.contains(main)) std::cout << main << "=" << j.at(main).get<double>() << "\n";
  }
  return 0;
}

}  // namespace tz::cli::training
