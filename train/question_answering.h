// Extractive question answering as HF's question-answering guide and run_qa.py / utils_qa.py do it:
//   (a) readers: SQuAD v1.1 / v2 JSON and the flat JSONL HF datasets export;
//   (b) preprocessing: question (left-stripped) first, context second, truncation only_second with
//       max_length and doc_stride, every overflowing window kept; the sequence ids find the context
//       part; start/end token positions from the answer's character offsets; a window that does not
//       hold the whole answer (or an unanswerable question) points both positions at [CLS];
//   (c) post-processing (postprocess_qa_predictions): per window the n_best_size top start and end
//       logits, spans outside the context, reversed or longer than max_answer_length skipped, score
//       start + end, best over windows, mapped back to the context through the offsets; SQuAD v2:
//       the null score is the smallest [CLS] start + end over the windows, and "" is predicted when
//       it beats the best span by more than the threshold;
//   (d) the metric: squad_metric.h.
// Character offsets are code points (Python string indices, as SQuAD's answer_start counts them).
// Deliberate differences from run_qa.py, both in corner cases only:
//   - start/end are searched inside the window's context tokens (the guide's bounded loops);
//     run_qa's unbounded loop runs into [SEP] when the answer starts on the window's last token;
//   - the top-n logits are taken over the feature's own tokens, not over padding (which can never
//     make a valid span, but in run_qa can take top-n slots depending on how the batch was padded).
// Not here: the training loop (trainer.h), the model heads (models/<family>/, through models/model.h).
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "models/model.h"
#include "tokenizer/wordpiece.h"

namespace tz::train {

struct QAExample {
  std::string id, question, context;
  std::vector<std::string> answer_texts;   ///< empty: unanswerable (SQuAD v2)
  std::vector<std::size_t> answer_starts;  ///< code-point offsets into context, one per text
};

/// SQuAD JSON ({"data": [{"paragraphs": [{"context", "qas": [...]}]}]}); v2's is_impossible questions
/// get no answers. Errors name the file and the question id.
std::vector<QAExample> read_squad_json(const std::filesystem::path& path);
/// One object per line: "id", "question", "context", "answers": {"text": [...], "answer_start": [...]}.
std::vector<QAExample> read_qa_jsonl(const std::filesystem::path& path);
/// A .json file whose top level is an object with "data" is SQuAD JSON; anything else is JSONL.
std::vector<QAExample> read_qa(const std::filesystem::path& path);

struct QAOptions {
  std::size_t max_length = 384;
  std::size_t doc_stride = 128;  ///< tokens shared by consecutive windows (the tokenizer's stride)
};

/// One window of one example (unpadded).
struct QAFeature {
  std::size_t example_index = 0;
  std::vector<int64_t> input_ids, token_type_ids, attention_mask;
  std::vector<tokenizer::Offset> offsets;  ///< code points into the context; meaningful where sequence_ids == 1
  std::vector<int32_t> sequence_ids;       ///< 0 question, 1 context, -1 special
  std::size_t cls_index = 0;
  int64_t start_position = 0, end_position = 0;  ///< training targets (cls_index when no answer here)

  std::size_t size() const { return input_ids.size(); }
};

/// All windows of all examples, in example order (HF's overflow_to_sample_mapping is example_index).
/// Examples without answers get positions at [CLS]; only the first answer is used for training, as
/// run_qa. Throws when an answer runs past its context, or when the question leaves no room for the
/// context (the tokenizer's error).
std::vector<QAFeature> prepare_qa_features(const tokenizer::WordPiece& tok, const std::vector<QAExample>& examples,
                                           const QAOptions& options = {});

/// The rows `indices` padded to the longest (input_ids with pad_id; masks, type ids with 0), int64
/// [B, T]; with_positions adds start_positions / end_positions [B].
models::Inputs collate_qa(const std::vector<QAFeature>& features, std::span<const std::size_t> indices,
                            int64_t pad_id, bool with_positions = true);

struct QAPostprocessOptions {
  std::size_t n_best_size = 20;
  std::size_t max_answer_length = 30;  ///< in tokens
  bool version_2_with_negative = false;
  double null_score_diff_threshold = 0.0;
};

struct QACandidate {
  std::string text;
  std::size_t begin = 0, end = 0;  ///< code points into the context; [0, 0) for the null answer
  double start_logit = 0, end_logit = 0, score = 0;
  double probability = 0;  ///< softmax of the scores over the n-best list
};

struct QAPrediction {
  std::string id;
  std::string text;                ///< "" when the null answer wins (v2)
  std::size_t begin = 0, end = 0;  ///< code points into the context
  double score = 0;                ///< start_logit + end_logit of the chosen span
  double probability = 0;
  double null_score = 0;           ///< v2: smallest [CLS] start + end over the windows
  double null_score_diff = 0;      ///< v2: null_score - best span's score (HF's scores_diff_json)
  std::vector<QACandidate> n_best;  ///< sorted by score, HF's nbest_predictions
};

/// Post-processes the windows of one example. start_logits[k] / end_logits[k] hold at least
/// features[k]->size() values.
QAPrediction postprocess_qa_example(const QAExample& example, std::span<const QAFeature* const> features,
                                    std::span<const float* const> start_logits, std::span<const float* const> end_logits,
                                    const QAPostprocessOptions& options = {});

/// All examples: features[k] goes with start_logits[k] / end_logits[k].
std::vector<QAPrediction> postprocess_qa_predictions(const std::vector<QAExample>& examples,
                                                     const std::vector<QAFeature>& features,
                                                     const std::vector<std::vector<float>>& start_logits,
                                                     const std::vector<std::vector<float>>& end_logits,
                                                     const QAPostprocessOptions& options = {});

/// id -> answer texts, the gold side of squad_scores.
std::map<std::string, std::vector<std::string>> squad_gold(const std::vector<QAExample>& examples);

/// Evaluation as run_qa reports it: every feature through the model (eval mode set by the caller,
/// no gradients) batch_size windows at a time, post-processed per example, scored with SQuAD EM / F1.
/// Returns "eval_loss" (the model's loss with the features' positions, averaged over windows),
/// "exact_match" and "f1" (percent; v2 adds "HasAns_exact", "HasAns_f1", "NoAns_exact", "NoAns_f1").
std::map<std::string, double> evaluate_qa(models::PreTrainedModel& model, const std::vector<QAExample>& examples,
                                          const std::vector<QAFeature>& features, std::size_t batch_size,
                                          int64_t pad_id, const QAPostprocessOptions& post = {},
                                          std::vector<QAPrediction>* predictions = nullptr);

/// Runs a ForQuestionAnswering model on every window of one (question, context) and post-processes.
QAPrediction answer_question(models::PreTrainedModel& model, const tokenizer::WordPiece& tok,
                             const std::string& question, const std::string& context, const QAOptions& options = {},
                             const QAPostprocessOptions& post = {});

/// Byte offset of code point `cp` in UTF-8 `text` (text.size() when past the end).
std::size_t byte_offset_of_code_point(const std::string& text, std::size_t cp);

}  // namespace tz::train
