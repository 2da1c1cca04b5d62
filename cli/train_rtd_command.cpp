// `tensorzoo train rtd`: replaced-token-detection pretraining (ELECTRA's, and the ConvBERT paper's
// own recipe) of any family: a small masked-LM generator and a discriminator sharing one embedding
// layer, trained on generator loss + 50 x discriminator loss (train/replaced_token_detection.h) by
// the loop of train/trainer.h, with everything it does: accumulation, clipping, schedules,
// evaluation, checkpoints and exact resume, metrics.jsonl, loss.svg, MPI data parallelism.
//   OUT/discriminator/  the discriminator (ElectraForPreTraining for electra; other families: their
//                       encoder, loadable as <Family>Model in HF, plus discriminator_predictions.*)
//   OUT/generator/      the generator, a masked-LM directory
// Masks and Gumbel noise come from per-example streams keyed by (seed, micro-batch, row), so any
// process count draws what one process draws.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "cli/args.h"
#include "cli/text_inputs.h"
#include "cli/train_common.h"
#include "distributed/communicator.h"
#include "nn/optim.h"
#include "nn/per_example_rng.h"
#include "tensor/ops.h"
#include "tokenizer/wordpiece.h"
#include "train/batching.h"
#include "train/metrics.h"
#include "train/mlm_data.h"
#include "train/replaced_token_detection.h"
#include "train/text_dataset.h"

namespace {

namespace fs = std::filesystem;
namespace models = tz::models;
namespace tr = tz::train;
using tz::Tensor;
using tz::cli::ArgParser;
using namespace tz::cli::training;

std::vector<const tr::TokenizedExample*> pick(const std::vector<tr::TokenizedExample>& all, const std::vector<size_t>& idx) {
  std::vector<const tr::TokenizedExample*> out;
  for (size_t i : idx) out.push_back(&all[i]);
  return out;
}

struct RtdRun {
  tr::RtdModels& models;
  std::vector<int64_t> special_ids;
  double probability;
  tr::RtdOptions options;
  uint64_t seed;
};

// This process's share of one global micro-batch's loss: its rows' generator terms over the global
// number of masked positions plus 50 x its discriminator terms over the global number of real
// tokens, so the processes' losses add up to the one-process loss (MicroBatchLoss::summed).
tr::MicroBatchLoss shard_loss(RtdRun& run, const tr::Batch& global, int64_t draw) {
  const int64_t world = tz::dist::world_size(), rank = tz::dist::rank(), rows = global.input_ids.size(0);
  const int64_t begin = rank * rows / world, end = (rank + 1) * rows / world;
  // Every process draws the global batch's positions (cheap), for the global counts.
  const Tensor positions = tr::draw_rtd_positions(global.input_ids, global.attention_mask, run.special_ids,
                                                  run.probability, run.seed, draw, 0);
  int64_t masked_global = 0, real_global = 0;
  for (int64_t v : positions.to_vector<int64_t>()) masked_global += v != 0;
  for (int64_t v : global.attention_mask.to_vector<int64_t>()) real_global += v != 0;
  tr::MicroBatchLoss out;
  out.summed = true;
  out.count = end - begin;
  if (end == begin) return out;
  auto rows_of = [&](const Tensor& t) { return t.defined() ? tz::raw::contiguous(tz::raw::narrow(t, 0, begin, end - begin)) : t; };
  tr::RtdBatch b{rows_of(global.input_ids), rows_of(global.attention_mask), rows_of(global.token_type_ids),
                 rows_of(positions)};
  const int64_t V = run.models.generator->config().vocab_size;
  const Tensor noise = tr::draw_rtd_noise(b.mlm_positions_mask, V, run.seed, draw, begin);
  tz::nn::PerExampleRngScope dropout(run.seed, static_cast<uint64_t>(draw), begin);  // dropout per example
  tr::RtdOutput r = tr::rtd_forward(*run.models.generator, *run.models.discriminator, b, noise, run.options);
  int64_t real = 0;
  for (int64_t v : b.attention_mask.to_vector<int64_t>()) real += v != 0;
  out.tokens = real;
  const double gen_share = masked_global ? static_cast<double>(r.masked) / static_cast<double>(masked_global) : 0.0;
  const double disc_share = static_cast<double>(real) / static_cast<double>(std::max<int64_t>(1, real_global));
  Tensor gen = gen_share == 1.0 ? r.generator_loss : tz::mul(r.generator_loss, gen_share);
  Tensor disc = tz::mul(r.discriminator_loss, run.options.discriminator_weight * disc_share);
  out.loss = tz::add(gen, disc);
  return out;
}

// Held-out text with fixed masks and noise (the same at every evaluation; training streams untouched).
tr::Metrics evaluate(RtdRun& run, const std::vector<tr::TokenizedExample>& dev, int64_t batch_size, int64_t pad_id) {
  tz::NoGradGuard ng;
  double gen_loss = 0, disc_loss = 0, total = 0;
  int64_t batches = 0, gen_hits = 0, masked = 0;
  std::vector<int64_t> labels, preds;
  std::vector<double> scores;
  for (size_t start = 0; start < dev.size(); start += static_cast<size_t>(batch_size)) {
    std::vector<size_t> idx;
    for (size_t i = start; i < std::min(dev.size(), start + static_cast<size_t>(batch_size)); ++i) idx.push_back(i);
    tr::Batch b = tr::pad_batch(pick(dev, idx), pad_id);
    const int64_t key = static_cast<int64_t>(start);
    const Tensor positions =
        tr::draw_rtd_positions(b.input_ids, b.attention_mask, run.special_ids, run.probability, run.seed + 2, key, 0);
    tr::RtdBatch rb{b.input_ids, b.attention_mask, b.token_type_ids, positions};
    const int64_t V = run.models.generator->config().vocab_size;
    tr::RtdOutput r = tr::rtd_forward(*run.models.generator, *run.models.discriminator, rb,
                                      tr::draw_rtd_noise(positions, V, run.seed + 2, key, 0), run.options);
    if (r.masked == 0) continue;
    gen_loss += r.generator_loss.item(), disc_loss += r.discriminator_loss.item(), total += r.total_loss.item();
    ++batches;
    // The generator's argmax at the masked positions against the original tokens.
    const auto best = tz::raw::argmax(r.generator_logits, -1).to_vector<int64_t>();
    const auto ids = b.input_ids.to_vector<int64_t>(), chosen = positions.to_vector<int64_t>();
    size_t k = 0;
    for (size_t i = 0; i < ids.size(); ++i)
      if (chosen[i] != 0) gen_hits += best[k++] == ids[i], ++masked;
    // The discriminator on every real token.
    const auto logits = tz::raw::contiguous(r.discriminator_logits).to_vector<float>();
    const auto y = r.disc_labels.to_vector<float>();
    const auto am = b.attention_mask.to_vector<int64_t>();
    for (size_t i = 0; i < am.size(); ++i) {
      if (am[i] == 0) continue;
      labels.push_back(y[i] != 0.f);
      preds.push_back(logits[i] > 0.f);
      scores.push_back(logits[i]);
    }
  }
  TZ_CHECK(batches > 0, "train rtd: the dev text gives no batch with a masked position");
  const double n = static_cast<double>(batches);
  return {{"eval_loss", total / n},
          {"eval_generator_loss", gen_loss / n},
          {"eval_discriminator_loss", disc_loss / n},
          {"generator_accuracy", masked ? static_cast<double>(gen_hits) / static_cast<double>(masked) : 0.0},
          {"discriminator_accuracy", tr::accuracy(labels, preds)},
          {"discriminator_auc", tr::roc_auc(labels, scores)}};
}

int run_train_rtd(const std::vector<std::string>& args) {
  ArgParser p("tensorzoo train rtd",
              "Pretrain with replaced-token detection (ELECTRA; the ConvBERT paper's recipe) on plain text: a\n"
              "small masked-LM generator fills in 15% of the tokens (all [MASK]) by Gumbel-max sampling, the\n"
              "discriminator tags each real token as original or replaced; loss = generator loss + 50 x\n"
              "discriminator loss; the two share word, position and token-type embeddings and their LayerNorm.\n"
              "The discriminator comes from --config (or --model DIR: a previous run's OUT/discriminator),\n"
              "the generator from --generator-config, or from the discriminator's config scaled by\n"
              "--generator-size as ELECTRA's and ConvBERT's code do (hidden x size, 4 x hidden FFN, a head per\n"
              "64 features; default 0.25, ConvBERT's configure_pretraining.py). Writes OUT/discriminator and\n"
              "OUT/generator (HF model directories).");
  p.multi_option("corpus", "FILE", "training text (repeat for several files)");
  p.multi_option("dev", "FILE", "held-out text: generator accuracy, discriminator accuracy and AUC, losses");
  p.option("generator-config", "PATH", "the generator's config.json or model directory (of the discriminator's family)", "");
  p.option("generator-size", "FRACTION", "generator hidden size as a fraction of the discriminator's", "0.25");
  p.option("generator-model", "DIR", "with --model: the previous run's OUT/generator", "");
  p.option("mask-probability", "X", "fraction of the real, non-special tokens masked per example", "0.15");
  p.option("discriminator-weight", "W", "weight of the discriminator loss", "50");
  add_common_options(p);
  if (!p.parse(args)) return p.exit_code();
  const auto files = p.get_all("corpus");
  TZ_CHECK(!files.empty(), "train rtd: give at least one --corpus FILE");
  Common c = read_common(p);

  auto tok = tz::tokenizer::WordPiece::from_pretrained(c.tokenizer_path);
  tr::TextCorpus corpus = tr::read_text_corpus(files);
  TZ_CHECK(!corpus.lines.empty(), "train rtd: the corpus has no usable lines");
  const unsigned tok_threads = c.threads > 0 ? static_cast<unsigned>(c.threads) : 0;
  std::vector<tr::TokenizedExample> examples = tr::make_mlm_examples(corpus.lines, tok, c.seq_len, false, tok_threads);
  std::vector<tr::TokenizedExample> dev;
  if (!p.get_all("dev").empty()) dev = tr::make_mlm_examples(tr::read_text_corpus(p.get_all("dev")).lines, tok, c.seq_len, false, tok_threads);

  // The discriminator, then the generator: checked for sharing before any training.
  std::shared_ptr<models::PreTrainedModel> discriminator, generator;
  if (!c.model_dir.empty()) {
    TZ_CHECK(!p.get("generator-model").empty(), "train rtd: --model DIR (a discriminator) needs --generator-model DIR");
    models::LoadOptions lo;
    lo.architecture = "replaced-token-detection";
    lo.verbose = !c.quiet;
    lo.seed = c.seed;
    discriminator = models::from_pretrained(c.model_dir, lo);
    lo.architecture = "masked-lm";
    generator = models::from_pretrained(tz::cli::resolve_model_arg(p.get("generator-model"), "train rtd"), lo);
  } else {
    discriminator = make_model(c, tok, models::Task::ReplacedTokenDetection, {});
    std::shared_ptr<models::PretrainedConfig> gc;
    if (!p.get("generator-config").empty()) {
      gc = models::load_config(p.get("generator-config"));
      gc->vocab_size = discriminator->config().vocab_size;
      gc->pad_token_id = discriminator->config().pad_token_id;
    } else {
      gc = tr::generator_config(discriminator->config(), p.get_double("generator-size"));
    }
    generator = models::create(*gc, models::architecture_for(models::family(gc->model_type), models::Task::MaskedLM),
                               c.seed + 1);
  }
  tr::RtdModels pair(generator, discriminator);  // throws naming what cannot be shared
  TZ_CHECK(c.seq_len <= discriminator->config().max_position_embeddings, "train rtd: --seq-len ", c.seq_len,
           " exceeds the model's max_position_embeddings ", discriminator->config().max_position_embeddings);

  RtdRun run{pair, tr::special_token_ids(tok), p.get_double("mask-probability"), {}, c.seed};
  TZ_CHECK(run.probability > 0 && run.probability < 1, "train rtd: --mask-probability must be in (0, 1), got ",
           run.probability);
  run.options.mask_token_id = tok.token_to_id(tok.config().mask_token);
  TZ_CHECK(run.options.mask_token_id >= 0, "train rtd: the tokenizer has no mask token '", tok.config().mask_token, "'");
  run.options.discriminator_weight = p.get_double("discriminator-weight");
  const int64_t pad_id = tok.pad_id() >= 0 ? tok.pad_id() : 0;

  std::vector<int64_t> lengths;
  for (const auto& e : examples) lengths.push_back(static_cast<int64_t>(e.ids.size()));
  Setup s = make_setup(c, pair, lengths, /*epochs=*/0);

  tr::TrainCallbacks cbs;
  cbs.micro_batch_loss = [&] {
    tr::Batch b = tr::pad_batch(pick(examples, s.data.sampler.next()), pad_id);
    return shard_loss(run, b, s.data.draws++);
  };
  if (!dev.empty()) cbs.evaluate = [&] { return evaluate(run, dev, c.batch_size, pad_id); };
  const std::string tokdir = tokenizer_dir_of(c.tokenizer_path);
  cbs.save_model = [&](const std::string& dir) { pair.save(dir, tokdir); };
  cbs.load_model = [&](const std::string& dir) { pair.load(dir); };
  cbs.data_state = [&] { return s.data.state(); };
  cbs.load_data_state = [&](const nlohmann::json& j) { s.data.load_state(j); };

  tr::TrainOptions o = train_options(c, s);
  o.model_subdir = "";  // OUT/discriminator and OUT/generator
  o.title = "tensorzoo train rtd";
  if (!c.quiet)
    std::cerr << "train rtd: " << discriminator->architecture() << " (hidden " << discriminator->config().hidden_size
              << ") with a " << generator->architecture() << " generator (hidden " << generator->config().hidden_size
              << ", " << generator->config().num_hidden_layers << " layers), " << examples.size()
              << " examples of up to " << c.seq_len << " tokens, " << s.steps << " steps\n";
  tr::Trainer trainer(pair, *s.optimizer, *s.scheduler, cbs, o);
  tr::TrainResult r = trainer.run();
  if (!tz::dist::is_main_process()) return 0;
  if (r.interrupted) {
    std::cout << "stopped_after=" << r.steps_done << "\n";
    return 0;
  }
  std::cout << "steps=" << r.steps_done << "\n";
  if (!r.losses.empty()) std::cout << "final_loss=" << r.losses.back() << "\n";
  for (const auto& [k, v] : r.last_eval) std::cout << k << "=" << v << "\n";
  std::cout << "discriminator=" << (fs::path(c.out) / "discriminator").string() << "\n";
  std::cout << "generator=" << (fs::path(c.out) / "generator").string() << "\n";
  return 0;
}

}  // namespace

int run_train_rtd_task(const std::vector<std::string>& args) { return run_train_rtd(args); }
