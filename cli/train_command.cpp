// `tensorzoo train mlm | classify`: pretraining with masked-LM and fine-tuning for sentence (pair)
// classification / regression, on top of the training loop in train/trainer.h.
//   OUT/model/            the final (classify: best-on-dev) model as an HF directory
//   OUT/checkpoints/step-N/  HF directory + optimizer.safetensors + trainer_state.json (--resume)
//   OUT/metrics.jsonl     one record per log / eval event;  OUT/loss.svg  the loss curves
#include <malloc.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include "autograd/grad_mode.h"
#include "cli/args.h"
#include "cli/command.h"
#include "cli/train_common.h"
#include "distributed/communicator.h"
#include "models/convbert/pretrained.h"
#include "nn/lr_schedule.h"
#include "nn/optim.h"
#include "nn/per_example_rng.h"
#include "tensor/io/checkpoint.h"
#include "tensor/ops.h"
#include "tensor/parallel.h"
#include "tensor/random.h"
#include "tokenizer/wordpiece.h"
#include "train/batching.h"
#include "train/classification_dataset.h"
#include "train/metrics.h"
#include "train/mlm_collator.h"
#include "train/mlm_data.h"
#include "train/text_dataset.h"
#include "train/trainer.h"

namespace tz::cli::training {

namespace fs = std::filesystem;
using tz::cli::ArgParser;
namespace cb = tz::convbert;
namespace tr = tz::train;

void add_common_options(ArgParser& p) {
  p.option("model", "DIR", "continue from this HF model directory (instead of --config)", "");
  p.option("config", "NAME|PATH", "new model: small, medium-small, base, or a config.json / model directory", "");
  p.option("num-layers", "N", "override num_hidden_layers of --config", "0");
  p.option("tokenizer", "PATH", "vocab.txt, tokenizer.json or a directory (default: --model)", "");
  p.option("out", "DIR", "output directory", "", true);
  p.option("steps", "N", "optimizer steps (0: classify: from --epochs; mlm: 1000)", "0");
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
  p.option("eval-every", "N", "steps between evaluations (0: classify: once per epoch; mlm: at the end)", "0");
  p.option("save-every", "N", "steps between checkpoints (0: same as --eval-every for classify, 1000 for mlm)", "0");
  p.option("keep-checkpoints", "N", "newest checkpoints kept", "2");
  p.option("early-stop", "PATIENCE", "stop after PATIENCE evaluations without improvement (0: never)", "0");
  p.flag("bucket-by-length", "batch examples of similar length together (less padding)");
  p.flag("resume", "continue from the newest complete checkpoint in OUT/checkpoints");
  p.flag("quiet", "no progress output");
  p.flag("distributed", "join an MPI job (automatic under mpirun): --batch-size is then the global batch");
  p.option("stop-after", "N", "end the run after step N as if interrupted (to test --resume)", "0");
}

// The directory whose tokenizer files save_pretrained copies next to the model.
std::string tokenizer_dir_of(const std::string& path) {
  return fs::is_directory(path) ? path : fs::path(path).parent_path().string();
}

cb::ConvBertConfig config_from_option(const std::string& spec) {
  if (spec == "small" || spec == "medium-small" || spec == "base") return cb::ConvBertConfig::named(spec);
  TZ_CHECK(fs::exists(spec), "train: --config '", spec, "' is neither small, medium-small, base nor an existing file");
  if (fs::is_directory(spec)) return cb::ConvBertConfig::load((fs::path(spec) / "config.json").string());
  return cb::ConvBertConfig::load(spec);
}

Common read_common(const ArgParser& p) {
  Common c;
  c.out = p.get("out");
  c.model_dir = p.get("model");
  c.config_spec = p.get("config");
  c.tokenizer_path = p.get("tokenizer").empty() ? c.model_dir : p.get("tokenizer");
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
  TZ_CHECK(c.batch_size > 0, "train: --batch-size must be positive, got ", c.batch_size);
  TZ_CHECK(c.grad_accum > 0, "train: --grad-accum must be positive, got ", c.grad_accum);
  TZ_CHECK(c.batch_size % tz::dist::world_size() == 0, "train: --batch-size ", c.batch_size,
           " is the global batch and must divide by the number of processes (", tz::dist::world_size(), ")");
  if (!tz::dist::is_main_process()) c.quiet = true;  // rank 0 alone reports
  TZ_CHECK(c.seq_len >= 8, "train: --seq-len must be at least 8, got ", c.seq_len);
  TZ_CHECK(c.lr > 0, "train: --lr must be positive, got ", c.lr);
  TZ_CHECK(c.steps >= 0, "train: --steps must be >= 0, got ", c.steps);
  if (c.threads > 0) tz::set_num_threads(c.threads);
  tz::manual_seed(c.seed);  // dropout draws from the default generator
  return c;
}

// A fresh model of `architecture` from --config, sized for the tokenizer.
std::shared_ptr<cb::PreTrainedModel> new_model(const Common& c, const tz::tokenizer::WordPiece& tok,
                                               const std::string& architecture,
                                               const std::function<void(cb::ConvBertConfig&)>& adjust) {
  cb::ConvBertConfig config = config_from_option(c.config_spec);
  config.vocab_size = static_cast<int64_t>(tok.vocab_size());
  if (tok.pad_id() >= 0) config.pad_token_id = tok.pad_id();
  if (c.num_layers > 0) config.num_hidden_layers = c.num_layers;
  adjust(config);
  config.validate();
  auto model = cb::create_model(config, architecture);
  cb::init_weights(*model, c.seed);
  return model;
}

// Loads a model directory's weights into `model`: keys with or without the "convbert." prefix;
// head weights whose shape differs (a new label set) keep their fresh initialisation.
void load_weights(cb::PreTrainedModel& model, const std::string& dir, bool quiet) {
  std::string file = cb::find_weights_file(dir);
  TZ_CHECK(!file.empty(), "train: no model.safetensors or pytorch_model.bin in '", dir, "'");
  tz::io::Checkpoint ckpt = tz::io::load_checkpoint(file);
  bool prefixed = false;
  for (const auto& n : ckpt.names) prefixed |= n.rfind("convbert.", 0) == 0;
  std::map<std::string, tz::Tensor> own;
  for (auto& [name, t] : model.state_dict()) own[name] = t;
  std::map<std::string, tz::Tensor> state;
  std::vector<std::string> skipped;
  for (const auto& name : ckpt.names) {
    std::string key = prefixed ? name : "convbert." + name;
    auto it = own.find(key);
    if (it == own.end()) continue;  // e.g. the MLM head when fine-tuning a classifier
    if (it->second.shape() != ckpt.tensors.at(name).shape()) {
      TZ_CHECK(key.rfind("convbert.", 0) != 0, "train: '", file, "': ", name, " has shape ",
               tz::shape_str(ckpt.tensors.at(name).shape()), ", the model expects ", tz::shape_str(it->second.shape()));
      skipped.push_back(key);
      continue;
    }
    state[key] = ckpt.tensors.at(name);
  }
  for (const auto& [alias, canonical] : model.tied_weights()) state.erase(alias);
  tz::NoGradGuard ng;
  auto report = model.load_state_dict(state, /*strict=*/false);
  size_t new_weights = 0;
  for (const auto& k : report.missing)
    if (k.find("position_ids") == std::string::npos && k.rfind("convbert.", 0) != 0) ++new_weights;
  if (!quiet && (new_weights > 0 || !skipped.empty()))
    std::cerr << "note: " << new_weights << " head weights are newly initialised (not in " << file << ")\n";
}

std::unique_ptr<tz::optim::LRScheduler> make_schedule(const Common& c, tz::optim::Optimizer& opt, int64_t steps) {
  int64_t warmup = c.warmup >= 0 ? c.warmup : static_cast<int64_t>(std::ceil(c.warmup_ratio * static_cast<double>(steps)));
  return tz::optim::make_scheduler(c.schedule, opt, warmup, steps);
}

tr::TrainOptions train_options(const Common& c, int64_t steps, int64_t eval_every, int64_t save_every) {
  tr::TrainOptions o;
  o.steps = steps;
  o.grad_accum = c.grad_accum;
  o.max_grad_norm = c.max_grad_norm;
  o.log_every = c.log_every;
  o.eval_every = eval_every;
  o.save_every = save_every;
  o.keep_checkpoints = c.keep;
  o.early_stop_patience = c.patience;
  o.out_dir = c.out;
  o.resume = c.resume;
  o.quiet = c.quiet;
  o.stop_after = c.stop_after;
  return o;
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

std::vector<const tr::TokenizedExample*> pick(const std::vector<tr::TokenizedExample>& all,
                                              const std::vector<size_t>& idx) {
  std::vector<const tr::TokenizedExample*> out;
  for (size_t i : idx) out.push_back(&all[i]);
  return out;
}

tz::convbert::Inputs inputs_of(const tr::Batch& b) {
  tz::convbert::Inputs in;
  in.input_ids = b.input_ids;
  in.attention_mask = b.attention_mask;
  in.token_type_ids = b.token_type_ids;
  in.labels = b.labels;
  return in;
}

// Data parallelism (distributed/): every process builds the same global micro-batch (same data
// order, same masks, padded to the global longest: padding changes ConvBERT's results) and keeps
// rows [rank*B/N, (rank+1)*B/N). Dropout inside forward_shard draws per example, keyed by the
// global micro-batch number and the row's index in it, so N processes draw what one would.
struct Shard {
  tr::Batch batch;
  int64_t first_row = 0;
};

Shard shard_of(const tr::Batch& b) {
  const int64_t world = tz::dist::world_size(), rank = tz::dist::rank(), rows = b.size();
  if (world == 1) return {b, 0};
  const int64_t begin = rank * rows / world, end = (rank + 1) * rows / world;
  auto rows_of = [&](const tz::Tensor& t) {
    return t.defined() ? tz::raw::contiguous(tz::raw::narrow(t, 0, begin, end - begin)) : t;
  };
  Shard s;
  s.first_row = begin;
  s.batch.input_ids = rows_of(b.input_ids);
  s.batch.attention_mask = rows_of(b.attention_mask);
  s.batch.token_type_ids = rows_of(b.token_type_ids);
  s.batch.labels = rows_of(b.labels);
  s.batch.real_tokens = 0;
  if (end > begin)
    for (int64_t m : s.batch.attention_mask.to_vector<int64_t>()) s.batch.real_tokens += m != 0;
  return s;
}

/// The loss of this process's shard of a global micro-batch, with per-example dropout streams.
/// `count` is the number of terms the loss averages (labelled tokens, or rows).
tr::MicroBatchLoss forward_shard(cb::PreTrainedModel& model, const tr::Batch& global, uint64_t seed, int64_t draw,
                                 bool count_labelled_tokens) {
  Shard s = shard_of(global);
  tr::MicroBatchLoss out;
  out.tokens = s.batch.real_tokens;
  const int64_t rows = s.batch.size();
  if (count_labelled_tokens) {
    out.count = 0;
    if (rows > 0)
      for (int64_t l : s.batch.labels.to_vector<int64_t>()) out.count += l != -100;
  } else {
    out.count = rows;
  }
  if (out.count == 0) return out;
  tz::nn::PerExampleRngScope scope(seed, static_cast<uint64_t>(draw), s.first_row);
  tz::convbert::Inputs in = inputs_of(s.batch);
  in.mlm_logits_at_labels_only = count_labelled_tokens;  // same loss, the LM head at masked positions only
  out.loss = model.forward(in).loss;
  return out;
}

void print_corpus_report(const tr::TextCorpus& corpus, const std::vector<std::string>& files) {
  std::cerr << "corpus: " << corpus.lines.size() << " lines from " << files.size() << " file(s)";
  if (corpus.invalid_lines > 0) std::cerr << "; skipped " << corpus.invalid_lines << " lines with invalid UTF-8";
  std::cerr << "\n";
}

}  // namespace tz::cli::training

namespace {

using namespace tz::cli::training;
namespace fs = std::filesystem;
using tz::cli::ArgParser;
namespace cb = tz::convbert;
namespace tr = tz::train;

// ---- train mlm ------------------------------------------------------------------------------

int run_mlm(const std::vector<std::string>& args) {
  ArgParser p("tensorzoo train mlm",
              "Pretrain ConvBERT with masked-LM (HF's rule: 15% of non-special tokens; 80% [MASK], 10% random,\n"
              "10% kept) from scratch (--config) or continuing from --model DIR. Corpus: UTF-8 text, one\n"
              "document or sentence per line; lines with invalid UTF-8 are counted and skipped.");
  p.multi_option("corpus", "FILE", "training text (repeat for several files)");
  p.multi_option("dev", "FILE", "held-out text for eval_loss (optional)");
  p.option("mlm-probability", "X", "fraction of tokens chosen for prediction", "0.15");
  p.flag("line-by-line", "one example per line (truncated) instead of packing lines into full blocks");
  add_common_options(p);
  if (!p.parse(args)) return p.exit_code();
  auto files = p.get_all("corpus");
  TZ_CHECK(!files.empty(), "train mlm: give at least one --corpus FILE");
  Common c = read_common(p);

  auto tok = tz::tokenizer::WordPiece::from_pretrained(c.tokenizer_path);
  tr::TextCorpus corpus = tr::read_text_corpus(files);
  if (!c.quiet) print_corpus_report(corpus, files);
  TZ_CHECK(!corpus.lines.empty(), "train mlm: the corpus has no usable lines");
  const bool line_by_line = p.get_flag("line-by-line");
  const unsigned tok_threads = c.threads > 0 ? static_cast<unsigned>(c.threads) : 0;
  std::vector<tr::TokenizedExample> examples = tr::make_mlm_examples(corpus.lines, tok, c.seq_len, line_by_line, tok_threads);
  std::vector<tr::TokenizedExample> dev_examples;
  if (!p.get_all("dev").empty()) {
    tr::TextCorpus dev = tr::read_text_corpus(p.get_all("dev"));
    dev_examples = tr::make_mlm_examples(dev.lines, tok, c.seq_len, line_by_line, tok_threads);
  }

  std::shared_ptr<cb::PreTrainedModel> model;
  if (!c.model_dir.empty()) {
    cb::ConvBertConfig config = cb::ConvBertConfig::load((fs::path(c.model_dir) / "config.json").string());
    model = cb::create_model(config, "ConvBertForMaskedLM");
    cb::init_weights(*model, c.seed);
    load_weights(*model, c.model_dir, c.quiet);
  } else {
    model = new_model(c, tok, "ConvBertForMaskedLM", [](cb::ConvBertConfig&) {});
  }
  TZ_CHECK(c.seq_len <= model->config().max_position_embeddings, "train mlm: --seq-len ", c.seq_len,
           " exceeds the model's max_position_embeddings ", model->config().max_position_embeddings);
  TZ_CHECK(static_cast<int64_t>(tok.vocab_size()) <= model->config().vocab_size, "train mlm: the tokenizer has ",
           tok.vocab_size(), " tokens but the model's vocab_size is ", model->config().vocab_size);

  tr::MlmCollatorOptions mo;
  mo.mlm_probability = p.get_double("mlm-probability");
  tr::MlmCollator collator(tok.token_to_id(tok.config().mask_token), tok.pad_id(),
                           static_cast<int64_t>(tok.vocab_size()), tr::special_token_ids(tok), mo);

  std::vector<int64_t> lengths;
  for (const auto& e : examples) lengths.push_back(static_cast<int64_t>(e.ids.size()));
  tr::BatchSamplerOptions so;
  so.batch_size = c.batch_size;
  so.seed = c.seed;
  so.bucket_by_length = c.bucket;
  DataStream data{tr::BatchSampler(lengths, so), tz::Generator(c.seed + 1)};

  const int64_t steps = c.steps > 0 ? c.steps : 1000;
  tz::optim::AdamWOptions ao;
  ao.lr = c.lr;
  ao.weight_decay = c.weight_decay;
  tz::optim::AdamW opt(tz::optim::param_groups_like_hf(*model, c.weight_decay), ao);
  auto sched = make_schedule(c, opt, steps);

  tr::TrainCallbacks cbs;
  cbs.micro_batch_loss = [&] {
    // A batch in which no token was chosen has no loss (HF would train on a NaN): draw the next
    // one instead. Still a function of the data state alone, so resuming reproduces it.
    for (int attempt = 0;; ++attempt) {
      tr::Batch b = collator(pick(examples, data.sampler.next()), data.gen);
      const auto labels = b.labels.to_vector<int64_t>();
      bool any = std::any_of(labels.begin(), labels.end(), [](int64_t l) { return l != -100; });
      TZ_CHECK(any || attempt < 100, "train mlm: 100 batches in a row without a masked token (corpus too short?)");
      const int64_t draw = data.draws++;
      if (any) return forward_shard(*model, b, c.seed, draw, /*count_labelled_tokens=*/true);
    }
  };
  if (!dev_examples.empty()) {
    cbs.evaluate = [&] {
      tz::Generator gen(c.seed + 2);  // the same masks at every evaluation, training RNG untouched
      double total = 0;
      int64_t n = 0;
      for (size_t start = 0; start < dev_examples.size(); start += static_cast<size_t>(c.batch_size)) {
        std::vector<size_t> idx;
        for (size_t i = start; i < std::min(dev_examples.size(), start + static_cast<size_t>(c.batch_size)); ++i)
          idx.push_back(i);
        tr::Batch b = collator(pick(dev_examples, idx), gen);
        double loss = model->forward(inputs_of(b)).loss.item();
        if (std::isfinite(loss)) total += loss * static_cast<double>(b.size()), n += b.size();
      }
      return tr::Metrics{{"eval_loss", n ? total / static_cast<double>(n) : 0.0}};
    };
  }
  const std::string tokdir = tokenizer_dir_of(c.tokenizer_path);
  cbs.save_model = [&](const std::string& dir) { cb::save_pretrained(*model, dir, tokdir); };
  cbs.load_model = [&](const std::string& dir) { load_weights(*model, dir, true); };
  cbs.data_state = [&] { return data.state(); };
  cbs.load_data_state = [&](const nlohmann::json& j) { data.load_state(j); };

  int64_t eval_every = c.eval_every;
  int64_t save_every = c.save_every > 0 ? c.save_every : 1000;
  tr::TrainOptions o = train_options(c, steps, eval_every, save_every);
  o.title = "tensorzoo train mlm";
  if (!c.quiet)
    std::cerr << "train mlm: " << examples.size() << " examples of up to " << c.seq_len << " tokens, " << steps
              << " steps of " << c.batch_size * c.grad_accum << "\n";
  tr::Trainer trainer(*model, opt, *sched, cbs, o);
  tr::TrainResult r = trainer.run();
  if (!tz::dist::is_main_process()) return 0;  // rank 0 reports
  if (r.interrupted) {
    std::cout << "stopped_after=" << r.steps_done << "\n";
    return 0;
  }
  // Without a dev set the final model is OUT/model; with one, OUT/model is the best by eval_loss.
  std::cout << "steps=" << r.steps_done << "\n";
  if (!r.losses.empty()) std::cout << "final_loss=" << r.losses.back() << "\n";
  std::cout << "model=" << (fs::path(c.out) / "model").string() << "\n";
  return 0;
}

// ---- train classify -------------------------------------------------------------------------

struct ClassificationSet {
  std::vector<tr::TokenizedExample> examples;
  std::vector<int64_t> label_ids;
  std::vector<float> label_values;
};

ClassificationSet encode_set(const tr::LabelledTexts& data, const tr::LabelSpace& labels,
                             const tz::tokenizer::WordPiece& tok, int64_t seq_len, unsigned threads) {
  ClassificationSet set;
  tz::tokenizer::EncodeOptions opt;
  opt.truncation = tz::tokenizer::Truncation{static_cast<size_t>(seq_len)};
  opt.num_threads = threads;
  opt.lenient_utf8 = true;
  std::vector<tz::tokenizer::Encoding> enc;
  if (data.has_pairs()) {
    std::vector<std::pair<std::string, std::string>> pairs;
    for (size_t i = 0; i < data.size(); ++i) pairs.emplace_back(data.texts[i], data.text_pairs[i]);
    enc = tok.encode_batch_pairs(pairs, opt);
  } else {
    enc = tok.encode_batch(data.texts, opt);
  }
  for (auto& e : enc) set.examples.push_back(tr::TokenizedExample{std::move(e.ids), std::move(e.type_ids)});
  if (labels.regression) set.label_values = labels.values(data);
  else set.label_ids = labels.ids(data);
  return set;
}

tz::Tensor labels_tensor(const ClassificationSet& set, const std::vector<size_t>& idx, bool regression) {
  const auto B = static_cast<int64_t>(idx.size());
  if (regression) {
    std::vector<float> v;
    for (size_t i : idx) v.push_back(set.label_values[i]);
    return tz::raw::from_vector(v, {B});
  }
  std::vector<int64_t> v;
  for (size_t i : idx) v.push_back(set.label_ids[i]);
  return tz::raw::from_vector(v, {B});
}

// Loss and metrics of `model` on a whole set, in order.
tr::Metrics evaluate_set(cb::PreTrainedModel& model, const ClassificationSet& set, bool regression, int64_t batch_size,
                         int64_t pad_id) {
  tz::NoGradGuard ng;
  double total_loss = 0;
  std::vector<int64_t> preds;
  std::vector<double> scores;
  for (size_t start = 0; start < set.examples.size(); start += static_cast<size_t>(batch_size)) {
    std::vector<size_t> idx;
    for (size_t i = start; i < std::min(set.examples.size(), start + static_cast<size_t>(batch_size)); ++i) idx.push_back(i);
    tr::Batch b = tr::pad_batch(pick(set.examples, idx), pad_id);
    b.labels = labels_tensor(set, idx, regression);
    cb::Output out = model.forward(inputs_of(b));
    total_loss += out.loss.item() * static_cast<double>(idx.size());
    if (regression) {
      for (float v : tz::raw::contiguous(out.logits).to_vector<float>()) scores.push_back(v);
    } else {
      for (int64_t v : tz::raw::argmax(out.logits, -1).to_vector<int64_t>()) preds.push_back(v);
    }
  }
  tr::Metrics m;
  const auto n = static_cast<double>(std::max<size_t>(1, set.examples.size()));
  m["eval_loss"] = total_loss / n;
  if (regression) {
    std::vector<double> gold(set.label_values.begin(), set.label_values.end());
    m["pearson"] = tr::pearson(gold, scores);
    m["spearman"] = tr::spearman(gold, scores);
  } else {
    m["accuracy"] = tr::accuracy(set.label_ids, preds);
    m["macro_f1"] = tr::macro_f1(set.label_ids, preds);
    m["matthews_corrcoef"] = tr::matthews_corrcoef(set.label_ids, preds);
  }
  return m;
}

int run_classify(const std::vector<std::string>& args) {
  ArgParser p("tensorzoo train classify",
              "Fine-tune (or train from scratch) ConvBERT for sentence or sentence-pair classification.\n"
              "Data: TSV/CSV with a header (sentence | sentence1, sentence2, label) or JSONL (text,\n"
              "text_pair, label). String labels become ids (sorted) stored in config.json's id2label;\n"
              "non-integer numeric labels (or --regression) train a regression head.\n"
              "Dev metrics: accuracy, macro_f1, matthews_corrcoef (regression: pearson, spearman).");
  p.option("train", "FILE", "training data", "", true);
  p.option("dev", "FILE", "development data (evaluation, best model, early stopping)", "", true);
  p.option("test", "FILE", "evaluate OUT/model on FILE at the end; prints test_<metric>=... last", "");
  p.option("epochs", "N", "epochs when --steps is 0", "3");
  p.option("metric", "NAME", "dev metric selecting the best model (eval_loss: lower is better)", "accuracy");
  p.flag("regression", "treat labels as real numbers (one output, MSE loss)");
  add_common_options(p);
  if (!p.parse(args)) return p.exit_code();
  Common c = read_common(p);
  const unsigned tok_threads = c.threads > 0 ? static_cast<unsigned>(c.threads) : 0;

  tr::LabelledTexts train_data = tr::read_labelled_texts(p.get("train"));
  tr::LabelledTexts dev_data = tr::read_labelled_texts(p.get("dev"));
  TZ_CHECK(train_data.size() > 0, "train classify: '", p.get("train"), "' has no examples");
  TZ_CHECK(dev_data.size() > 0, "train classify: '", p.get("dev"), "' has no examples");
  TZ_CHECK(train_data.has_pairs() == dev_data.has_pairs(), "train classify: '", p.get("train"), "' and '",
           p.get("dev"), "' disagree on sentence pairs (one has a second text column, the other not)");
  tr::LabelSpace labels = tr::LabelSpace::from_labels(train_data.labels, p.get_flag("regression"));
  auto tok = tz::tokenizer::WordPiece::from_pretrained(c.tokenizer_path);
  ClassificationSet train_set = encode_set(train_data, labels, tok, c.seq_len, tok_threads);
  ClassificationSet dev_set = encode_set(dev_data, labels, tok, c.seq_len, tok_threads);
  ClassificationSet test_set;
  if (!p.get("test").empty()) {
    tr::LabelledTexts test_data = tr::read_labelled_texts(p.get("test"));
    test_set = encode_set(test_data, labels, tok, c.seq_len, tok_threads);
  }

  auto set_labels = [&](cb::ConvBertConfig& config) {
    if (labels.regression) {
      config.set_num_labels(1);
      config.problem_type = "regression";
    } else {
      config.id2label = labels.names;
      config.problem_type = "single_label_classification";
    }
  };
  const std::string arch = "ConvBertForSequenceClassification";
  std::shared_ptr<cb::PreTrainedModel> model;
  if (!c.model_dir.empty()) {
    cb::ConvBertConfig config = cb::ConvBertConfig::load((fs::path(c.model_dir) / "config.json").string());
    set_labels(config);
    model = cb::create_model(config, arch);
    cb::init_weights(*model, c.seed);
    load_weights(*model, c.model_dir, c.quiet);
  } else {
    model = new_model(c, tok, arch, set_labels);
  }
  TZ_CHECK(c.seq_len <= model->config().max_position_embeddings, "train classify: --seq-len ", c.seq_len,
           " exceeds the model's max_position_embeddings ", model->config().max_position_embeddings);

  std::vector<int64_t> lengths;
  for (const auto& e : train_set.examples) lengths.push_back(static_cast<int64_t>(e.ids.size()));
  tr::BatchSamplerOptions so;
  so.batch_size = c.batch_size;
  so.seed = c.seed;
  so.bucket_by_length = c.bucket;
  DataStream data{tr::BatchSampler(lengths, so), tz::Generator(c.seed + 1)};
  const int64_t steps_per_epoch = (data.sampler.batches_per_epoch() + c.grad_accum - 1) / c.grad_accum;
  const int64_t steps = c.steps > 0 ? c.steps : std::max<int64_t>(1, p.get_int("epochs") * steps_per_epoch);
  const int64_t eval_every = c.eval_every > 0 ? c.eval_every : steps_per_epoch;
  const int64_t save_every = c.save_every > 0 ? c.save_every : eval_every;

  tz::optim::AdamWOptions ao;
  ao.lr = c.lr;
  ao.weight_decay = c.weight_decay;
  tz::optim::AdamW opt(tz::optim::param_groups_like_hf(*model, c.weight_decay), ao);
  auto sched = make_schedule(c, opt, steps);
  const int64_t pad_id = tok.pad_id() >= 0 ? tok.pad_id() : 0;

  tr::TrainCallbacks cbs;
  cbs.micro_batch_loss = [&] {
    std::vector<size_t> idx = data.sampler.next();
    tr::Batch b = tr::pad_batch(pick(train_set.examples, idx), pad_id);
    b.labels = labels_tensor(train_set, idx, labels.regression);
    return forward_shard(*model, b, c.seed, data.draws++, /*count_labelled_tokens=*/false);
  };
  cbs.evaluate = [&] { return evaluate_set(*model, dev_set, labels.regression, c.batch_size, pad_id); };
  const std::string tokdir = tokenizer_dir_of(c.tokenizer_path);
  cbs.save_model = [&](const std::string& dir) { cb::save_pretrained(*model, dir, tokdir); };
  cbs.load_model = [&](const std::string& dir) { load_weights(*model, dir, true); };
  cbs.data_state = [&] { return data.state(); };
  cbs.load_data_state = [&](const nlohmann::json& j) { data.load_state(j); };

  tr::TrainOptions o = train_options(c, steps, eval_every, save_every);
  std::string metric = p.get("metric");
  if (labels.regression && metric == "accuracy") metric = "pearson";
  o.metric = metric;
  o.greater_is_better = metric.find("loss") == std::string::npos;
  o.title = "tensorzoo train classify";
  if (!c.quiet)
    std::cerr << "train classify: " << train_set.examples.size() << " training / " << dev_set.examples.size()
              << " dev examples, " << (labels.regression ? std::string("regression")
                                                         : std::to_string(labels.names.size()) + " labels")
              << ", " << steps << " steps\n";
  tr::Trainer trainer(*model, opt, *sched, cbs, o);
  tr::TrainResult r = trainer.run();
  if (!tz::dist::is_main_process()) return 0;  // rank 0 reports
  if (r.interrupted) {
    std::cout << "stopped_after=" << r.steps_done << "\n";
    return 0;
  }
  std::cout << "steps=" << r.steps_done << "\n";
  std::cout << "best_" << metric << "=" << r.best_metric << " (step " << r.best_step << ")\n";
  std::cout << "model=" << (fs::path(c.out) / "model").string() << "\n";

  if (!p.get("test").empty()) {
    cb::LoadOptions lo;
    lo.architecture = arch;
    lo.verbose = false;
    auto best = cb::from_pretrained((fs::path(c.out) / "model").string(), lo);
    best->eval();
    tr::Metrics m = evaluate_set(*best, test_set, labels.regression, c.batch_size, pad_id);
    nlohmann::json j;
    for (const auto& [k, v] : m) j[k == "eval_loss" ? "test_loss" : "test_" + k] = v;
    std::ofstream((fs::path(c.out) / "test_metrics.json").string()) << j.dump(2) << "\n";
    for (const auto& [k, v] : j.items()) std::cout << k << "=" << v.get<double>() << "\n";
  }
  return 0;
}

int run_train(const std::vector<std::string>& args) {
  const std::string usage =
      "usage: tensorzoo train <task> [options]\n\n"
      "tasks:\n"
      "  mlm        pretrain with masked-LM on plain text\n"
      "  classify   fine-tune for sentence (pair) classification or regression\n"
      "  token-cls  fine-tune for token classification (tags, named entities)\n"
      "  qa         fine-tune for extractive question answering (SQuAD)\n"
      "  multiple-choice  fine-tune for multiple choice (SWAG)\n\n"
      "Run 'tensorzoo train <task> --help' for a task's options.\n";
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::cout << usage;
    return args.empty() ? 2 : 0;
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
#ifdef __GLIBC__
  // Every step allocates and frees the same large buffers (MLM logits are B*T*vocab floats, far
  // above glibc's 32 MB mmap ceiling), and glibc maps and unmaps them each time: on conv-bert
  // dims the kernel time then equals the compute time. Serving them from the heap and keeping
  // freed memory cut system time ~10x in our measurement, for a higher peak RSS.
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
  if (args[0] == "mlm") return run_mlm(rest);
  if (args[0] == "classify") return run_classify(rest);
  if (args[0] == "token-cls") return run_train_token_cls(rest);
  if (args[0] == "qa") return run_train_qa(rest);
  if (args[0] == "multiple-choice") return run_train_multiple_choice(rest);
  std::cerr << "error: unknown task '" << args[0] << "'\n\n" << usage;
  return 2;
}

tz::cli::Command reg{"train", "train a model: masked-LM pretraining or fine-tuning (classify, token-cls, qa, multiple-choice)", run_train};

}  // namespace
