// `tensorzoo train`: the task dispatcher, and the two tasks defined here: masked-LM pretraining and
// sentence (pair) classification / regression, for any family of the zoo, on top of the training
// loop in train/trainer.h. The shared set-up is cli/train_common.h; token-cls, qa and
// multiple-choice are in train_tasks_command.cpp.
//   OUT/model/            the final (classify: best-on-dev) model as an HF directory
//   OUT/checkpoints/step-N/  HF directory + optimizer.safetensors + trainer_state.json (--resume)
//   OUT/metrics.jsonl     one record per log / eval event;  OUT/loss.svg  the loss curves
#include <malloc.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <memory>

#include "autograd/grad_mode.h"
#include "cli/args.h"
#include "cli/command.h"
#include "cli/train_common.h"
#include "distributed/communicator.h"
#include "tensor/ops.h"
#include "tensor/random.h"
#include "tokenizer/wordpiece.h"
#include "train/batching.h"
#include "train/classification_dataset.h"
#include "train/metrics.h"
#include "train/mlm_collator.h"
#include "train/mlm_data.h"
#include "train/text_dataset.h"
#include "train/trainer.h"

namespace {

using namespace tz::cli::training;
namespace fs = std::filesystem;
using tz::cli::ArgParser;
namespace models = tz::models;
namespace tr = tz::train;

std::vector<const tr::TokenizedExample*> pick(const std::vector<tr::TokenizedExample>& all,
                                              const std::vector<size_t>& idx) {
  std::vector<const tr::TokenizedExample*> out;
  for (size_t i : idx) out.push_back(&all[i]);
  return out;
}

models::Inputs inputs_of(const tr::Batch& b) {
  models::Inputs in;
  in.input_ids = b.input_ids;
  in.attention_mask = b.attention_mask;
  in.token_type_ids = b.token_type_ids;
  in.labels = b.labels;
  return in;
}

void print_corpus_report(const tr::TextCorpus& corpus, const std::vector<std::string>& files) {
  std::cerr << "corpus: " << corpus.lines.size() << " lines from " << files.size() << " file(s)";
  if (corpus.invalid_lines > 0) std::cerr << "; skipped " << corpus.invalid_lines << " lines with invalid UTF-8";
  std::cerr << "\n";
}

// ---- train mlm ------------------------------------------------------------------------------

int run_mlm(const std::vector<std::string>& args) {
  ArgParser p("tensorzoo train mlm",
              "Pretrain a masked-LM of any family (HF's rule: 15% of non-special tokens; 80% [MASK], 10%\n"
              "random, 10% kept) from scratch (--config, --arch) or continuing from --model DIR. Corpus:\n"
              "UTF-8 text, one document or sentence per line; lines with invalid UTF-8 are counted and skipped.");
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

  auto model = make_model(c, tok, models::Task::MaskedLM, {});
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
  Setup s = make_setup(c, *model, lengths, /*epochs=*/0);

  tr::TrainCallbacks cbs;
  cbs.micro_batch_loss = [&] {
    // A batch in which no token was chosen has no loss (HF would train on a NaN): draw the next
    // one instead. Still a function of the data state alone, so resuming reproduces it.
    for (int attempt = 0;; ++attempt) {
      tr::Batch b = collator(pick(examples, s.data.sampler.next()), s.data.gen);
      const auto labels = b.labels.to_vector<int64_t>();
      bool any = std::any_of(labels.begin(), labels.end(), [](int64_t l) { return l != -100; });
      TZ_CHECK(any || attempt < 100, "train mlm: 100 batches in a row without a masked token (corpus too short?)");
      const int64_t draw = s.data.draws++;
      if (any) {
        models::Inputs in = inputs_of(b);
        in.mlm_logits_at_labels_only = true;  // same loss, the LM head at masked positions only
        return forward_shard(*model, in, c.seed, draw, /*count_labelled_tokens=*/true);
      }
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
  add_model_io(cbs, *model, c);
  cbs.data_state = [&] { return s.data.state(); };
  cbs.load_data_state = [&](const nlohmann::json& j) { s.data.load_state(j); };

  tr::TrainOptions o = train_options(c, s);
  o.title = "tensorzoo train mlm";
  if (!c.quiet)
    std::cerr << "train mlm: " << model->architecture() << ", " << examples.size() << " examples of up to "
              << c.seq_len << " tokens, " << s.steps << " steps of " << c.batch_size * c.grad_accum << "\n";
  tr::Trainer trainer(*model, *s.optimizer, *s.scheduler, cbs, o);
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

models::Inputs collate(const ClassificationSet& set, const std::vector<size_t>& idx, bool regression, int64_t pad_id) {
  tr::Batch b = tr::pad_batch(pick(set.examples, idx), pad_id);
  b.labels = labels_tensor(set, idx, regression);
  return inputs_of(b);
}

// Loss and metrics of `model` on a whole set, in order.
tr::Metrics evaluate_set(models::PreTrainedModel& model, const ClassificationSet& set, bool regression,
                         int64_t batch_size, int64_t pad_id) {
  tz::NoGradGuard ng;
  double total_loss = 0;
  std::vector<int64_t> preds;
  std::vector<double> scores;
  for (size_t start = 0; start < set.examples.size(); start += static_cast<size_t>(batch_size)) {
    std::vector<size_t> idx;
    for (size_t i = start; i < std::min(set.examples.size(), start + static_cast<size_t>(batch_size)); ++i) idx.push_back(i);
    models::Output out = model.forward(collate(set, idx, regression, pad_id));
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
              "Fine-tune (or train from scratch) a model of any family for sentence or sentence-pair\n"
              "classification. Data: TSV/CSV with a header (sentence | sentence1, sentence2, label) or JSONL\n"
              "(text, text_pair, label). String labels become ids (sorted) stored in config.json's id2label;\n"
              "non-integer numeric labels (or --regression) train a regression head.\n"
              "Dev metrics: accuracy, macro_f1, matthews_corrcoef (regression: pearson, spearman).");
  add_fine_tuning_options(p);
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
  const int64_t pad_id = tok.pad_id() >= 0 ? tok.pad_id() : 0;
  const bool regression = labels.regression;

  FineTuning t;
  t.name = "classify";
  t.task = models::Task::SequenceClassification;
  t.metric = p.get("metric");
  if (regression && t.metric == "accuracy") t.metric = "pearson";
  t.greater_is_better = t.metric.find("loss") == std::string::npos;
  t.set_head = [&](models::PretrainedConfig& config) {
    if (regression) {
      config.set_num_labels(1);
      config.problem_type = "regression";
    } else {
      config.id2label = labels.names;
      config.problem_type = "single_label_classification";
    }
  };
  for (const auto& e : train_set.examples) t.train_lengths.push_back(static_cast<int64_t>(e.ids.size()));
  t.collate_train = [&](const std::vector<size_t>& idx) { return collate(train_set, idx, regression, pad_id); };
  t.evaluate_dev = [&](models::PreTrainedModel& m) { return evaluate_set(m, dev_set, regression, c.batch_size, pad_id); };
  if (!p.get("test").empty())
    t.evaluate_test = [&](models::PreTrainedModel& m) {
      return evaluate_set(m, test_set, regression, c.batch_size, pad_id);
    };
  t.summary = std::to_string(train_set.examples.size()) + " training / " + std::to_string(dev_set.examples.size()) +
              " dev examples, " + (regression ? std::string("regression") : std::to_string(labels.names.size()) + " labels");
  return run_fine_tuning(p, c, tok, t);
}

int run_train(const std::vector<std::string>& args) {
  const std::string usage =
      "usage: tensorzoo train <task> [options]\n\n"
      "tasks:\n"
      "  mlm        pretrain with masked-LM on plain text\n"
      "  rtd        pretrain with replaced-token detection (ELECTRA; the ConvBERT paper's recipe)\n"
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
  if (args[0] == "rtd") return run_train_rtd_task(rest);
  if (args[0] == "classify") return run_classify(rest);
  if (args[0] == "token-cls") return run_train_token_cls(rest);
  if (args[0] == "qa") return run_train_qa(rest);
  if (args[0] == "multiple-choice") return run_train_multiple_choice(rest);
  std::cerr << "error: unknown task '" << args[0] << "'\n\n" << usage;
  return 2;
}

tz::cli::Command reg{"train", "train a model: pretraining (mlm, rtd) or fine-tuning (classify, token-cls, qa, multiple-choice)", run_train};

}  // namespace
