// `tensorzoo train token-cls | qa | multiple-choice`: fine-tuning (or training from scratch) the
// token-classification, extractive-QA and multiple-choice heads with the loop of train/trainer.h
// and the task glue of train/token_classification.h, question_answering.h, multiple_choice.h.
// For any family of the zoo. Same outputs as `train classify` (cli/train_common.h's run_fine_tuning):
// OUT/model (best on dev), checkpoints, metrics.jsonl, loss.svg, and with --test,
// test_metrics.json plus `test_<metric>=<value>` as the last line of stdout.
#include <filesystem>

#include "cli/args.h"
#include "cli/train_common.h"
#include "train/multiple_choice.h"
#include "train/question_answering.h"
#include "train/token_classification.h"

namespace {

namespace fs = std::filesystem;
using tz::cli::ArgParser;
using namespace tz::cli::training;
namespace models = tz::models;
namespace tr = tz::train;

int64_t pad_id_of(const tz::tokenizer::WordPiece& tok) { return tok.pad_id() >= 0 ? tok.pad_id() : 0; }

}  // namespace

// ---- train token-cls ----------------------------------------------------------------------------

int run_train_token_cls(const std::vector<std::string>& args) {
  ArgParser p("tensorzoo train token-cls",
              "Fine-tune (or train from scratch) a model of any family for token classification (tags, named entities).\n"
              "Data: JSONL with \"tokens\" and \"ner_tags\" (or \"tags\"), strings or ints, or CoNLL text\n"
              "(\"word ... tag\" per line, a blank line between sentences). The first piece of each word is\n"
              "labelled, as HF's guide does. Tags become ids (sorted) stored in config.json's id2label.\n"
              "Dev metrics: f1, precision, recall (seqeval, entity level, micro) and token accuracy.");
  add_fine_tuning_options(p);
  p.flag("label-all-pieces", "label every piece of a word, not just the first (B-X becomes I-X after the first)");
  add_common_options(p);
  if (!p.parse(args)) return p.exit_code();
  Common c = read_common(p);
  auto tok = tz::tokenizer::WordPiece::from_pretrained(c.tokenizer_path);

  std::vector<std::string> config_labels;
  if (!c.model_dir.empty())
    config_labels = models::load_config(c.model_dir)->id2label;
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

  FineTuning t;
  t.name = "token-cls";
  t.task = models::Task::TokenClassification;
  t.metric = "f1";
  t.set_head = [&](models::PretrainedConfig& config) { config.id2label = tags.names(); };
  for (const auto& f : train_f) t.train_lengths.push_back(static_cast<int64_t>(f.input_ids.size()));
  t.collate_train = [&](const std::vector<size_t>& idx) { return tr::collate_token_classification(train_f, idx, pad); };
  t.count_labelled_tokens = true;
  t.evaluate_dev = [&](models::PreTrainedModel& m) { return tr::evaluate_token_classification(m, dev_f, tags, bs, pad); };
  if (!p.get("test").empty())
    t.evaluate_test = [&](models::PreTrainedModel& m) { return tr::evaluate_token_classification(m, test_f, tags, bs, pad); };
  t.summary = std::to_string(train_f.size()) + " training / " + std::to_string(dev_f.size()) + " dev sentences, " +
              std::to_string(tags.size()) + " tags";
  return run_fine_tuning(p, c, tok, t);
}

// ---- train qa -----------------------------------------------------------------------------------

int run_train_qa(const std::vector<std::string>& args) {
  ArgParser p("tensorzoo train qa",
              "Fine-tune (or train from scratch) a model of any family for extractive question answering, as HF's guide:\n"
              "question first, context second, contexts longer than --max-length split into windows\n"
              "overlapping by --doc-stride tokens; a window without the answer points at [CLS].\n"
              "Data: SQuAD JSON (v1.1, v2) or JSONL (id, question, context, answers{text, answer_start}).\n"
              "Dev metrics: exact_match and f1 (SQuAD's normalisation, percent).");
  add_fine_tuning_options(p);
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

  FineTuning t;
  t.name = "qa";
  t.task = models::Task::QuestionAnswering;
  t.metric = "f1";
  t.set_head = [](models::PretrainedConfig& config) { config.set_num_labels(2); };
  t.max_length = static_cast<int64_t>(qo.max_length);
  for (const auto& f : train_f) t.train_lengths.push_back(static_cast<int64_t>(f.size()));
  t.collate_train = [&](const std::vector<size_t>& idx) { return tr::collate_qa(train_f, idx, pad, true); };
  t.evaluate_dev = [&](models::PreTrainedModel& m) { return tr::evaluate_qa(m, dev_ex, dev_f, bs, pad, post); };
  if (!p.get("test").empty())
    t.evaluate_test = [&](models::PreTrainedModel& m) { return tr::evaluate_qa(m, test_ex, test_f, bs, pad, post); };
  t.summary = std::to_string(train_ex.size()) + " training questions in " + std::to_string(train_f.size()) +
              " windows / " + std::to_string(dev_ex.size()) + " dev questions in " + std::to_string(dev_f.size());
  return run_fine_tuning(p, c, tok, t);
}

// ---- train multiple-choice ----------------------------------------------------------------------

int run_train_multiple_choice(const std::vector<std::string>& args) {
  ArgParser p("tensorzoo train multiple-choice",
              "Fine-tune (or train from scratch) a model of any family for multiple choice, as HF's SWAG guide: each\n"
              "choice is the pair (context, start + ending), batched as [B, N, S].\n"
              "Data: SWAG CSV/JSONL (sent1, sent2, ending0.., label) or JSONL (context, start?, endings, label).\n"
              "Dev metric: accuracy.");
  add_fine_tuning_options(p);
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

  FineTuning t;
  t.name = "multiple-choice";
  t.task = models::Task::MultipleChoice;
  t.metric = "accuracy";
  t.set_head = [](models::PretrainedConfig&) {};
  for (const auto& f : train_f) {
    size_t longest = 0;
    for (const auto& ids : f.input_ids) longest = std::max(longest, ids.size());
    t.train_lengths.push_back(static_cast<int64_t>(longest));
  }
  t.collate_train = [&](const std::vector<size_t>& idx) { return tr::collate_multiple_choice(train_f, idx, pad); };
  t.evaluate_dev = [&](models::PreTrainedModel& m) { return tr::evaluate_multiple_choice(m, dev_f, bs, pad); };
  if (!p.get("test").empty())
    t.evaluate_test = [&](models::PreTrainedModel& m) { return tr::evaluate_multiple_choice(m, test_f, bs, pad); };
  t.summary = std::to_string(train_f.size()) + " training / " + std::to_string(dev_f.size()) + " dev examples of " +
              std::to_string(choices) + " choices";
  return run_fine_tuning(p, c, tok, t);
}
