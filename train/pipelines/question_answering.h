// HF's question-answering pipeline (transformers.pipelines.QuestionAnsweringPipeline) for
// extractive QA models of any family, many questions per call.
//   - preprocessing: (question, context) encoded as a pair, only the context truncated, to
//     max_seq_len tokens (default: the smaller of 384 and the model's limit), overflowing windows
//     sharing doc_stride tokens (default: min(max_seq_len / 2, 128)); every window is kept.
//   - per window (HF's select_starts_ends + decode_spans): start and end logits outside the context
//     (question, special tokens; [CLS] excepted) are set to -10000, each softmaxed over the window;
//     with handle_impossible_answer the null score is start_p[0] * end_p[0] (the smallest over the
//     windows); position 0 is then zeroed; a span (s, e) scores start_p[s] * end_p[e] for
//     s <= e < s + max_answer_len; the top_k spans of the window are kept when both ends may be in
//     an answer.
//   - across windows: a span's characters are widened to whole words (align_to_words: the first and
//     last word of the span, as far as the window holds them); a span whose text equals, ignoring
//     case, an answer found already adds its score to that answer instead; with
//     handle_impossible_answer the empty answer {score: null score, start 0, end 0} joins; the
//     answers are sorted by score (stable) and cut to top_k.
// Scores are probabilities (products of the two softmaxes), not the logit sums of run_qa's
// post-processing (train/question_answering.h, used for SQuAD evaluation). Windows are run without
// padding (pipeline.h), as HF runs each window on its own.
// start / end are code-point offsets into the context.
// Not here: batching (pipeline.h), QA training data and SQuAD post-processing (train/question_answering.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "models/model.h"
#include "tokenizer/wordpiece.h"

namespace tz::pipelines {

struct QuestionAnsweringOptions {
  std::size_t top_k = 1;
  std::size_t max_answer_len = 15;           ///< in tokens
  std::size_t max_seq_len = 0;               ///< tokens per window; 0: min(384, the model's limit)
  std::optional<std::size_t> doc_stride;     ///< unset: min(max_seq_len / 2, 128)
  bool handle_impossible_answer = false;
  bool align_to_words = true;
  std::size_t batch_size = 32;               ///< windows per forward pass (across questions)
};

struct QAInput {
  std::string question, context;
};

/// One answer, with HF's field names.
struct QAAnswer {
  double score = 0;
  std::size_t start = 0, end = 0;  ///< code points into the context
  std::string answer;
};

/// A span of one window: token positions and start_p * end_p.
struct SpanScore {
  std::size_t start = 0, end = 0;
  double score = 0;
};

/// HF's select_starts_ends + decode_spans on one window. `allowed[t]` is nonzero where a token may
/// be part of an answer (the context's tokens and [CLS]). `null_score`, when given, is lowered to
/// start_p[0] * end_p[0] when that is smaller (HF's min_null_score; start it at 1e6).
std::vector<SpanScore> best_spans(std::span<const float> start_logits, std::span<const float> end_logits,
                                  std::span<const uint8_t> allowed, std::size_t top_k, std::size_t max_answer_len,
                                  double* null_score = nullptr);

/// HF's postprocess: the answers of one question from its windows (encoded with char_offsets) and
/// each window's start / end logits. Tokens of the context (sequence id 1) and tokens with id
/// cls_token_id may be part of an answer.
std::vector<QAAnswer> answers_from_windows(const std::string& context,
                                           std::span<const tokenizer::Encoding* const> windows,
                                           std::span<const std::vector<float>> start_logits,
                                           std::span<const std::vector<float>> end_logits, int64_t cls_token_id,
                                           const QuestionAnsweringOptions& options);

/// The windows HF's preprocessing makes for one question (max_seq_len and doc_stride resolved by
/// the caller): the pair encoding and its overflowing windows, flattened, with char_offsets.
std::vector<tokenizer::Encoding> question_windows(const tokenizer::WordPiece& tok, const QAInput& input,
                                                  std::size_t max_seq_len, std::size_t doc_stride);

/// The answers of every question, best first (eval mode set by the caller). Throws on an empty
/// question or context, as HF.
std::vector<std::vector<QAAnswer>> answer_questions(models::PreTrainedModel& model, const tokenizer::WordPiece& tok,
                                                    const std::vector<QAInput>& inputs,
                                                    const QuestionAnsweringOptions& options = {});

}  // namespace tz::pipelines
