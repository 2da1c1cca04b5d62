// `tensorzoo train token-cls | qa | multiple-choice`: fine-tuning (or training from scratch) the
// token-classification, extractive-QA and multiple-choice heads with the loop of train/trainer.h
// and the task glue of train/token_classification.h, question_answering.h, multiple_choice.h.
// Same outputs as `train classify`: OUT/model (best on dev), checkpoints, metrics.jsonl, loss.svg,
// and with --test, test_metrics.json plus `test_<metric>=<value>` as the last lines of stdout.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <numeric>

#include "autograd/grad_mode.h"
#include "cli/args.h"
#include "cli/train_common.h"
#include "distributed/communicator.h"
#include "nn/per_example_rng.h"
#include "tensor/ops.h"
#include "train/multiple_choice.h"
#include "train/question_answering.h"
#include "train/token_classification.h"

namespace {

namespace fs = std::filesystem;
using tz::cli::ArgParser;
using namespace tz::cli::training;
namespace cb = tz::convbert;
namespace tr = tz::train;

// Data parallelism as train_command.cpp's forward_shard, for any head's inputs: every process
// collates the same global micro-batch and keeps rows [rank*B/N, (rank+1)*B/N) of every row-indexed
// tensor (labels, QA positions; multiple choice's [B, N, S] rows are examples); dropout draws per
// example, keyed by the global micro-batch number and the row's index in it.
tr::MicroBatchLoss forward_inputs_shard(cb::PreTrainedModel& model, const cb::Inputs& global, uint64_t seed,
                                        int64_t draw, bool count_labelled_tokens) {
  const int64_t world = tz::dist::world_size(), rank = tz::dist::rank(), rows = global.input_ids.shape()[0];
  const int64_t begin = rank * rows / world, end = (rank + 1) * rows / world;
  cb::Inputs s = global;
  if (world > 1) {
    auto rows_of = [&](const tz::Tensor& t) {
      return t.defined() ? tz::raw::contiguous(tz::raw::narrow(t, 0, begin, end - begin)) : t;
    };
    s.input_ids = rows_of(global.input_ids);
    s.attention_mask = rows_of(global.attention_mask);
    s.token_type_ids = rows_of(global.token_type_ids);
    s.labels = rows_of(global.labels);
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
      for (int64_t l : s.labels.to_vector<int64_t>()) out.count += l != tr::kTokenClassificationIgnore;
  } else {
    out.count = end - begin;
  }
  if (out.count == 0) return out;
  tz::nn::PerExampleRngScope scope(seed, static_cast<uint64_t>(draw), begin);
  out.loss = model.forward(s).loss;
  return out;
}

// What differs between the three tasks; run_task does the rest.
struct Task {
  std::string name;          // "token-cls"
  std::string architecture;  // "ConvBertForTokenClassification"
  std::string metric;        // selects the best model (greater is better)
  std::function<void(cb::ConvBertConfig&)> set_head;
  std::vector<int64_t> train_lengths;  // one per training row (sampler, bucketing)
  std::function<cb::Inputs(const std::vector<size_t>&)> collate_train;
  bool count_labelled_tokens = false;
  bool uses_seq_len = true;  // qa has --max-length instead
  std::function<tr::Metrics(cb::PreTrainedModel&)> evaluate_dev, evaluate_test;  // evaluate_test empty: no --test
  std::string summary;  // for the progress line
};

void add_task_options(ArgParser& p) {
  p.option("train", "FILE", "training data", "", true);
  p.option("dev", "FILE", "development data (evaluation, best model, early stopping)", "", true);
  p.option("test", "FILE", "evaluate OUT/model on FILE at the end; prints test_<metric>=... last", "");
  p.option("epochs", "N", "epochs when --steps is 0", "3");
}

// The model for --model DIR (its weights, a new head where shapes differ) or --config.
std::shared_ptr<cb::PreTrainedModel> make_model(const Common& c, const tz::tokenizer::WordPiece& tok, const Task& t) {
  if (c.model_dir.empty()) return new_model(c, tok, t.architecture, t.set_head);
  cb::ConvBertConfig config = cb::ConvBertConfig::load((fs::path(c.model_dir) / "config.json").string());
  t.set_head(config);
  auto model = cb::create_model(config, t.architecture);
  cb::init_weights(*model, c.seed);
  load_weights(*model, c.model_dir, c.quiet);
  return model;
}

int run_task(const ArgParser& p, const Common& c, const tz::tokenizer::WordPiece& tok, Task& t,
             const std::function<void(cb::PreTrainedModel&)>& check_model = {}) {
  TZ_CHECK(!t.train_lengths.empty(), "train ", t.name, ": '", p.get("train"), "' has no examples");
  auto model = make_model(c, tok, t);
  TZ_CHECK(!t.uses_seq_len || c.seq_len <= model->config().max_position_embeddings, "train ", t.name, ": --seq-len ", c.seq_len,
           " exceeds the model's max_position_embeddings ", model->config().max_position_embeddings);
  if (check_model) check_model(*model);

  tr::BatchSamplerOptions so;
  so.batch_size = c.batch_size;
  so.seed = c.seed;
  so.bucket_by_length = c.bucket;
  DataStream data{tr::BatchSampler(t.train_lengths, so), tz::Generator(c.seed + 1)};
  const int64_t steps_per_epoch = (data.sampler.batches_per_epoch() + c.grad_accum - 1) / c.grad_accum;
  const int64_t steps = c.steps > 0 ? c.steps : std::max<int64_t>(1, p.get_int("epochs") * steps_per_epoch);
  const int64_t eval_every = c.eval_every > 0 ? c.eval_every : steps_per_epoch;
  const int64_t save_every = c.save_every > 0 ? c.save_every : eval_every;

  tz::optim::AdamWOptions ao;
  ao.lr = c.lr;
  ao.weight_decay = c.weight_decay;
  tz::optim::AdamW opt(tz::optim::param_groups_like_hf(*model, c.weight_decay), ao);
  auto sched = make_schedule(c, opt, steps);

  tr::TrainCallbacks cbs;
  cbs.micro_batch_loss = [&] {
    cb::Inputs b = t.collate_train(data.sampler.next());
    return forward_inputs_shard(*model, b, c.seed, data.draws++, t.count_labelled_tokens);
  };
  cbs.evaluate = [&] {
    tz::NoGradGuard ng;
    return t.evaluate_dev(*model);
  };
  const std::string tokdir = tokenizer_dir_of(c.tokenizer_path);
  cbs.save_model = [&](const std::string& dir) { cb::save_pretrained(*model, dir, tokdir); };
  cbs.load_model = [&](const std::string& dir) { load_weights(*model, dir, true); };
  cbs.data_state = [&] { return data.state(); };
  cbs.load_data_state = [&](const nlohmann::json& j) { data.load_state(j); };

  tr::TrainOptions o = train_options(c, steps, eval_every, save_every);
  o.metric = t.metric;
  o.greater_is_better = true;
  o.title = "tensorzoo train " + t.name;
  if (!c.quiet) std::cerr << "train " << t.name << ": " << t.summary << ", " << steps << " steps\n";
  tr::Trainer trainer(*model, opt, *sched, cbs, o);
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
    cb::LoadOptions lo;
    lo.architecture = t.architecture;
    lo.verbose = false;
    auto best = cb::from_pretrained((fs::path(c.out) / "model").string(), lo);
    best->eval();
    tz::NoGradGuard ng;
    tr::Metrics m = t.evaluate_test(*best);
    nlohmann::json j;
    for (const auto& [k, v] : m) j[k == "eval_loss" ? "test_loss" : "test_" + k] = v;
    std::ofstream((fs::path(c.out) / "test_metrics.json").string()) << j.dump(2) << "\n";
    // The main metric last, so that scripts can take the final line.
    for (const auto& [k, v] : j.items())
      if (k != "test_" + t.metric) std::cout << k << "=" << v.get<double>() << "\n";
    std::cout << "test_" << t.metric << "=" << j.at("test_" + t.metric).get<double>() << "\n";
  }
  return 0;
}

int64_t pad_id_of(const tz::tokenizer::WordPiece& tok) { return tok.pad_id() >= 0 ? tok.pad_id() : 0; }

}  // namespace

// ---- train token-cls ----------------------------------------------------------------------------

int run_train_token_cls(const std::vector<std::string>& args) {
  ArgParser p("tensorzoo train token-cls",
              "Fine-tune (or train from scratch) ConvBERT for token classification (tags, named entities).\n"
              "Data: JSONL with \"tokens\" and \"ner_tags\" (or \"tags\"), strings or ints, or CoNLL text\n"
              "(\"word ... tag\" per line, a blank line between sentences). The first piece of each word is\n"
              "labelled, as HF's guide does. Tags become ids (sorted) stored in config.json's id2label.\n"
              "Dev metrics: f1, precision, recall (seqeval, entity level, micro) and token accuracy.");
  add_task_options(p);
  p.flag("label-all-pieces", "label every piece of a word, not just the first (B-X becomes I-X after the first)");
  add_common_options(p);
  if (!p.parse(args)) return p.exit_code();
  Common c = read_common(p);
  auto tok = tz::tokenizer::WordPiece::from_pretrained(c.tokenizer_path);

  std::vector<std::string> config_labels;
  if (!c.model_dir.empty())
    config_labels = cb::ConvBertConfig::load((fs::path(c.model_dir) / "config.json").string()).id2label;
  auto train_ex = tr::read_token_classification(p.get("train"), config_labels);
  auto dev_ex = tr::read_token_classification(p.get("dev"), config_labels);
  TZ_CHECK(!train_ex.empty(), "train token-cls: '", p.get("train"), "' has no sentences");
  TZ_CHECK(!dev_ex.empty(), "train token-cls: '", p.get("dev"), "' has no sentences");
  tr::TagSet tags = tr::choose_labels(train_ex, config_labels);
  auto check_tags = [&](const std::vector<tr::TokenClassificationExample>& ex, const std::string& file) {
    for (size_t i = 0; i < ex.size(); ++i)
      for (const auto& tag : ex[i].tags)
        TZ_CHECK(tags.contains(tag), "train token-cls: '", file, "' sentence ", i + 1, " has the tag '", tag,
                 "', which the training data never uses");
  };
  check_tags(dev_ex, p.get("dev"));

  tr::TokenClassificationOptions to;
  to.max_length = static_cast<size_t>(c.seq_len);
  to.label_all_pieces = p.get_flag("label-all-pieces");
  auto train_f = tr::make_token_classification_features(tok, train_ex, tags, to);
  auto dev_f = tr::make_token_classification_features(tok, dev_ex, tags, to);
  std::vector<tr::TokenClassificationFeature> test_f;
  if (!p.get("test").empty()) {
    auto test_ex = tr::read_token_classification(p.get("test"), config_labels);
    check_tags(test_ex, p.get("test"));
    test_f = tr::make_token_classification_features(tok, test_ex, tags, to);
  }
  const int64_t pad = pad_id_of(tok);
  const size_t bs = static_cast<size_t>(c.batch_size);

  Task t;
  t.name = "token-cls";
  t.architecture = "ConvBertForTokenClassification";
  t.metric = "f1";
  t.set_head = [&](cb::ConvBertConfig& config) { config.id2label = tags.names(); };
  for (const auto& f : train_f) t.train_lengths.push_back(static_cast<int64_t>(f.input_ids.size()));
  t.collate_train = [&](const std::vector<size_t>& idx) { return tr::collate_token_classification(train_f, idx, pad); };
  t.count_labelled_tokens = true;
  t.evaluate_dev = [&](cb::PreTrainedModel& m) { return tr::evaluate_token_classification(m, dev_f, tags, bs, pad); };
  if (!p.get("test").empty())
    t.evaluate_test = [&](cb::PreTrainedModel& m) { return tr::evaluate_token_classification(m, test_f, tags, bs, pad); };
  t.summary = std::to_string(train_f.size()) + " training / " + std::to_string(dev_f.size()) + " dev sentences, " +
              std::to_string(tags.size()) + " tags";
  return run_task(p, c, tok, t);
}

// ---- train qa -----------------------------------------------------------------------------------

int run_train_qa(const std::vector<std::string>& args) {
  ArgParser p("tensorzoo train qa",
              "Fine-tune (or train from scratch) ConvBERT for extractive question answering, as HF's guide:\n"
              "question first, context second, contexts longer than --max-length split into windows\n"
              "overlapping by --doc-stride tokens; a window without the answer points at [CLS].\n"
              "Data: SQuAD JSON (v1.1, v2) or JSONL (id, question, context, answers{text, answer_start}).\n"
              "Dev metrics: exact_match and f1 (SQuAD's normalisation, percent).");
  add_task_options(p);
  p.option("max-length", "N", "tokens per window (question + context + specials)", "384");
  p.option("doc-stride", "N", "tokens shared by consecutive windows of a context", "128");
  p.option("max-answer-length", "N", "longest answer span in tokens", "30");
  p.option("n-best", "N", "start and end candidates per window", "20");
  p.flag("version-2-with-negative", "some questions have no answer (SQuAD v2): predict \"\" when the null score wins");
  add_common_options(p);
  if (!p.parse(args)) return p.exit_code();
  Common c = read_common(p);
  auto tok = tz::tokenizer::WordPiece::from_pretrained(c.tokenizer_path);

  tr::QAOptions qo;
  TZ_CHECK(p.get_int("max-length") >= 8, "train qa: --max-length must be at least 8, got ", p.get_int("max-length"));
  TZ_CHECK(p.get_int("doc-stride") >= 0 && p.get_int("doc-stride") < p.get_int("max-length"),
           "train qa: --doc-stride must be in [0, --max-length), got ", p.get_int("doc-stride"));
  qo.max_length = static_cast<size_t>(p.get_int("max-length"));
  qo.doc_stride = static_cast<size_t>(p.get_int("doc-stride"));
  tr::QAPostprocessOptions post;
  TZ_CHECK(p.get_int("max-answer-length") > 0, "train qa: --max-answer-length must be positive");
  TZ_CHECK(p.get_int("n-best") > 0, "train qa: --n-best must be positive");
  post.max_answer_length = static_cast<size_t>(p.get_int("max-answer-length"));
  post.n_best_size = static_cast<size_t>(p.get_int("n-best"));
  post.version_2_with_negative = p.get_flag("version-2-with-negative");

  auto train_ex = tr::read_qa(p.get("train"));
  auto dev_ex = tr::read_qa(p.get("dev"));
  TZ_CHECK(!dev_ex.empty(), "train qa: '", p.get("dev"), "' has no questions");
  if (!post.version_2_with_negative)
    for (const auto* set : {&train_ex, &dev_ex})
      for (const auto& e : *set)
        TZ_CHECK(!e.answer_texts.empty(), "train qa: question '", e.id,
                 "' has no answer; pass --version-2-with-negative for SQuAD v2 data");
  auto train_f = tr::prepare_qa_features(tok, train_ex, qo);
  auto dev_f = tr::prepare_qa_features(tok, dev_ex, qo);
  std::vector<tr::QAExample> test_ex;
  std::vector<tr::QAFeature> test_f;
  if (!p.get("test").empty()) {
    test_ex = tr::read_qa(p.get("test"));
    test_f = tr::prepare_qa_features(tok, test_ex, qo);
  }
  const int64_t pad = pad_id_of(tok);
  const size_t bs = static_cast<size_t>(c.batch_size);

  Task t;
  t.name = "qa";
  t.architecture = "ConvBertForQuestionAnswering";
  t.metric = "f1";
  t.set_head = [](cb::ConvBertConfig& config) { config.set_num_labels(2); };
  t.uses_seq_len = false;
  for (const auto& f : train_f) t.train_lengths.push_back(static_cast<int64_t>(f.size()));
  t.collate_train = [&](const std::vector<size_t>& idx) { return tr::collate_qa(train_f, idx, pad, true); };
  t.evaluate_dev = [&](cb::PreTrainedModel& m) { return tr::evaluate_qa(m, dev_ex, dev_f, bs, pad, post); };
  if (!p.get("test").empty())
    t.evaluate_test = [&](cb::PreTrainedModel& m) { return tr::evaluate_qa(m, test_ex, test_f, bs, pad, post); };
  t.summary = std::to_string(train_ex.size()) + " training questions in " + std::to_string(train_f.size()) +
              " windows / " + std::to_string(dev_ex.size()) + " dev questions in " + std::to_string(dev_f.size());
  auto check = [&](cb::PreTrainedModel& m) {
    TZ_CHECK(static_cast<int64_t>(qo.max_length) <= m.config().max_position_embeddings, "train qa: --max-length ",
             qo.max_length, " exceeds the model's max_position_embeddings ", m.config().max_position_embeddings);
  };
  return run_task(p, c, tok, t, check);
}

// ---- train multiple-choice ----------------------------------------------------------------------

int run_train_multiple_choice(const std::vector<std::string>& args) {
  ArgParser p("tensorzoo train multiple-choice",
              "Fine-tune (or train from scratch) ConvBERT for multiple choice, as HF's SWAG guide: each\n"
              "choice is the pair (context, start + ending), batched as [B, N, S].\n"
              "Data: SWAG CSV/JSONL (sent1, sent2, ending0.., label) or JSONL (context, start?, endings, label).\n"
              "Dev metric: accuracy.");
  add_task_options(p);
  add_common_options(p);
  if (!p.parse(args)) return p.exit_code();
  Common c = read_common(p);
  auto tok = tz::tokenizer::WordPiece::from_pretrained(c.tokenizer_path);

  auto train_ex = tr::read_multiple_choice(p.get("train"));
  auto dev_ex = tr::read_multiple_choice(p.get("dev"));
  TZ_CHECK(!dev_ex.empty(), "train multiple-choice: '", p.get("dev"), "' has no examples");
  std::vector<tr::MultipleChoiceExample> test_ex;
  if (!p.get("test").empty()) test_ex = tr::read_multiple_choice(p.get("test"));
  size_t choices = train_ex.empty() ? 0 : train_ex[0].endings.size();
  auto check_set = [&](const std::vector<tr::MultipleChoiceExample>& ex, const std::string& file) {
    for (size_t i = 0; i < ex.size(); ++i) {
      TZ_CHECK(ex[i].endings.size() == choices, "train multiple-choice: '", file, "' example ", i + 1, " has ",
               ex[i].endings.size(), " endings, the first training example ", choices);
      TZ_CHECK(ex[i].label >= 0 && ex[i].label < static_cast<int64_t>(choices), "train multiple-choice: '", file,
               "' example ", i + 1, " has label ", ex[i].label, ", expected 0..", choices - 1);
    }
  };
  check_set(train_ex, p.get("train"));
  check_set(dev_ex, p.get("dev"));
  check_set(test_ex, p.get("test"));
  const size_t max_len = static_cast<size_t>(c.seq_len);
  auto train_f = tr::make_multiple_choice_features(tok, train_ex, max_len);
  auto dev_f = tr::make_multiple_choice_features(tok, dev_ex, max_len);
  auto test_f = tr::make_multiple_choice_features(tok, test_ex, max_len);
  const int64_t pad = pad_id_of(tok);
  const size_t bs = static_cast<size_t>(c.batch_size);

  Task t;
  t.name = "multiple-choice";
  t.architecture = "ConvBertForMultipleChoice";
  t.metric = "accuracy";
  t.set_head = [](cb::ConvBertConfig&) {};
  for (const auto& f : train_f) {
    size_t longest = 0;
    for (const auto& ids : f.input_ids) longest = std::max(longest, ids.size());
    t.train_lengths.push_back(static_cast<int64_t>(longest));
  }
  t.collate_train = [&](const std::vector<size_t>& idx) { return tr::collate_multiple_choice(train_f, idx, pad); };
  t.evaluate_dev = [&](cb::PreTrainedModel& m) { return tr::evaluate_multiple_choice(m, dev_f, bs, pad); };
  if (!p.get("test").empty())
    t.evaluate_test = [&](cb::PreTrainedModel& m) { return tr::evaluate_multiple_choice(m, test_f, bs, pad); };
  t.summary = std::to_string(train_f.size()) + " training / " + std::to_string(dev_f.size()) + " dev examples of " +
              std::to_string(choices) + " choices";
  return run_task(p, c, tok, t);
}
