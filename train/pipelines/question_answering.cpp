// HF's question-answering pipeline; see question_answering.h.
#include "train/pipelines/question_answering.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "core/error.h"
#include "tensor/ops.h"
#include "train/pipelines/pipeline.h"
#include "train/question_answering.h"

namespace tz::pipelines {
namespace {

// The softmax HF's select_starts_ends takes: disallowed positions at -10000 first.
std::vector<double> masked_softmax(std::span<const float> logits, std::span<const uint8_t> allowed) {
  std::vector<float> z(logits.begin(), logits.end());
  for (std::size_t t = 0; t < z.size(); ++t)
    if (!allowed[t]) z[t] = -10000.0f;
  return softmax(z);
}

// HF's get_indices: character span of tokens s..e of the context, widened to whole words.
std::pair<std::size_t, std::size_t> answer_chars(const tokenizer::Encoding& w, std::size_t s, std::size_t e,
                                                 bool align_to_words) {
  if (align_to_words && w.word_ids[s] >= 0 && w.word_ids[e] >= 0 && w.sequence_ids[s] == 1 && w.sequence_ids[e] == 1) {
    // word_to_chars on the window: the first and last token of each word that the window holds.
    std::size_t begin = w.char_offsets[s].begin, end = w.char_offsets[e].end;
    for (std::size_t t = 0; t < w.size(); ++t) {
      if (w.sequence_ids[t] != 1) continue;
      if (w.word_ids[t] == w.word_ids[s]) begin = std::min(begin, w.char_offsets[t].begin);
      if (w.word_ids[t] == w.word_ids[e]) end = std::max(end, w.char_offsets[t].end);
    }
    return {begin, end};
  }
  return {w.char_offsets[s].begin, w.char_offsets[e].end};
}

}  // namespace

std::vector<SpanScore> best_spans(std::span<const float> start_logits, std::span<const float> end_logits,
                                  std::span<const uint8_t> allowed, std::size_t top_k, std::size_t max_answer_len,
                                  double* null_score) {
  const std::size_t T = allowed.size();
  TZ_CHECK(start_logits.size() >= T && end_logits.size() >= T && T > 0, "question-answering: ", start_logits.size(),
           " start and ", end_logits.size(), " end logits for ", T, " tokens");
  TZ_CHECK(top_k >= 1 && max_answer_len >= 1, "question-answering: top_k and max_answer_len must be >= 1");
  std::vector<double> start = masked_softmax(start_logits.first(T), allowed);
  std::vector<double> end = masked_softmax(end_logits.first(T), allowed);
  if (null_score) *null_score = std::min(*null_score, start[0] * end[0]);
  start[0] = end[0] = 0.0;
  // decode_spans: the band s <= e < s + max_answer_len of the outer product, best first (ties in
  // row-major order), top_k of them, then only spans whose both ends may be in an answer.
  std::vector<SpanScore> band;
  for (std::size_t s = 0; s < T; ++s)
    for (std::size_t e = s; e < T && e < s + max_answer_len; ++e) band.push_back({s, e, start[s] * end[e]});
  const std::size_t k = std::min(top_k, band.size());
  std::partial_sort(band.begin(), band.begin() + static_cast<std::ptrdiff_t>(k), band.end(),
                    [&](const SpanScore& a, const SpanScore& b) {
                      if (a.score != b.score) return a.score > b.score;
                      return a.start != b.start ? a.start < b.start : a.end < b.end;
                    });
  band.resize(k);
  std::erase_if(band, [&](const SpanScore& c) { return !allowed[c.start] || !allowed[c.end]; });
  return band;
}

std::vector<QAAnswer> answers_from_windows(const std::string& context,
                                           std::span<const tokenizer::Encoding* const> windows,
                                           std::span<const std::vector<float>> start_logits,
                                           std::span<const std::vector<float>> end_logits, int64_t cls_token_id,
                                           const QuestionAnsweringOptions& options) {
  TZ_CHECK(windows.size() == start_logits.size() && windows.size() == end_logits.size(), "question-answering: ",
           windows.size(), " windows but ", start_logits.size(), " start and ", end_logits.size(), " end logit rows");
  double null_score = 1000000;  // HF's "large and positive" start
  std::vector<QAAnswer> answers;
  for (std::size_t k = 0; k < windows.size(); ++k) {
    const tokenizer::Encoding& w = *windows[k];
    TZ_CHECK(w.char_offsets.size() == w.size(), "question-answering: windows need char_offsets");
    // HF's p_mask: only context tokens (and [CLS]) may be in an answer; padding never.
    std::vector<uint8_t> allowed(w.size());
    for (std::size_t t = 0; t < w.size(); ++t)
      allowed[t] = (w.sequence_ids[t] == 1 || w.ids[t] == cls_token_id) && w.attention_mask[t] != 0;
    for (const SpanScore& span : best_spans(start_logits[k], end_logits[k], allowed, options.top_k,
                                            options.max_answer_len, options.handle_impossible_answer ? &null_score : nullptr)) {
      auto [begin, end] = answer_chars(w, span.start, span.end, options.align_to_words);
      const std::size_t b = train::byte_offset_of_code_point(context, begin), e = train::byte_offset_of_code_point(context, end);
      const std::string text = context.substr(b, e > b ? e - b : 0);
      const std::string key = python_lower(text);
      auto same = std::find_if(answers.begin(), answers.end(), [&](const QAAnswer& a) { return python_lower(a.answer) == key; });
      if (same != answers.end())
        same->score += span.score;
      else
        answers.push_back({span.score, begin, end, text});
    }
  }
  if (options.handle_impossible_answer) answers.push_back({null_score, 0, 0, ""});
  std::stable_sort(answers.begin(), answers.end(), [](const QAAnswer& a, const QAAnswer& b) { return a.score > b.score; });
  if (answers.size() > options.top_k) answers.resize(options.top_k);
  return answers;
}

std::vector<tokenizer::Encoding> question_windows(const tokenizer::WordPiece& tok, const QAInput& input,
                                                  std::size_t max_seq_len, std::size_t doc_stride) {
  tokenizer::EncodeOptions o;
  o.char_offsets = true;
  o.truncation = tokenizer::Truncation{max_seq_len, tokenizer::TruncationStrategy::OnlySecond, doc_stride};
  tokenizer::Encoding e = tok.encode_pair(input.question, input.context, o);
  // A question that fills max_seq_len leaves windows without context: nothing to answer from.
  const bool has_context = std::find(e.sequence_ids.begin(), e.sequence_ids.end(), 1) != e.sequence_ids.end();
  TZ_CHECK(has_context || input.context.empty() || std::all_of(input.context.begin(), input.context.end(), [](char c) {
             return std::isspace(static_cast<unsigned char>(c)) != 0;
           }),
           "question-answering: the question and the special tokens take all ", max_seq_len,
           " tokens of max_seq_len, leaving none for the context; raise --max-length or shorten the question");
  std::vector<tokenizer::Encoding> windows;
  std::vector<tokenizer::Encoding> rest = std::move(e.overflowing);
  e.overflowing.clear();
  windows.push_back(std::move(e));
  for (auto& w : rest) windows.push_back(std::move(w));
  return windows;
}

std::vector<std::vector<QAAnswer>> answer_questions(models::PreTrainedModel& model, const tokenizer::WordPiece& tok,
                                                    const std::vector<QAInput>& inputs,
                                                    const QuestionAnsweringOptions& options) {
  TZ_CHECK(options.top_k >= 1, "question-answering: top_k parameter should be >= 1 (got ", options.top_k, ")");
  TZ_CHECK(options.max_answer_len >= 1, "question-answering: max_answer_len parameter should be >= 1 (got ",
           options.max_answer_len, ")");
  const std::size_t max_seq_len = input_limit(tok, model.config(), options.max_seq_len > 0 ? options.max_seq_len : 384);
  const std::size_t doc_stride = options.doc_stride.value_or(std::min<std::size_t>(max_seq_len / 2, 128));
  TZ_CHECK(doc_stride <= max_seq_len, "question-answering: doc_stride (", doc_stride, ") is larger than max_seq_len (",
           max_seq_len, ")");
  std::vector<tokenizer::Encoding> windows;
  std::vector<std::size_t> first_window;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    TZ_CHECK(!inputs[i].question.empty(), "question-answering: input ", i + 1, ": `question` cannot be empty");
    TZ_CHECK(!inputs[i].context.empty(), "question-answering: input ", i + 1, ": `context` cannot be empty");
    first_window.push_back(windows.size());
    try {
      for (auto& w : question_windows(tok, inputs[i], max_seq_len, doc_stride)) windows.push_back(std::move(w));
    } catch (const Error& e) {
      throw Error(detail::concat("question-answering: input ", i + 1, ": ", e.what()));
    }
  }
  first_window.push_back(windows.size());

  std::vector<const tokenizer::Encoding*> ptrs;
  for (const auto& w : windows) ptrs.push_back(&w);
  std::vector<std::vector<float>> starts(windows.size()), ends(windows.size());
  for_each_batch(model, ptrs, options.batch_size, [&](std::span<const std::size_t> indices, const models::Output& out) {
    TZ_CHECK(out.start_logits.defined() && out.end_logits.defined(), "question-answering: ", model.architecture(),
             " gives no start/end logits");
    std::vector<float> s = raw::contiguous(out.start_logits).to_vector<float>();
    std::vector<float> e = raw::contiguous(out.end_logits).to_vector<float>();
    const std::size_t T = static_cast<std::size_t>(out.start_logits.size(1));
    for (std::size_t b = 0; b < indices.size(); ++b) {
      starts[indices[b]].assign(s.begin() + static_cast<std::ptrdiff_t>(b * T), s.begin() + static_cast<std::ptrdiff_t>((b + 1) * T));
      ends[indices[b]].assign(e.begin() + static_cast<std::ptrdiff_t>(b * T), e.begin() + static_cast<std::ptrdiff_t>((b + 1) * T));
    }
  });

  const int64_t cls_id = tok.token_to_id(tok.config().cls_token);
  std::vector<std::vector<QAAnswer>> results;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const std::size_t w0 = first_window[i], n = first_window[i + 1] - w0;
    results.push_back(answers_from_windows(inputs[i].context, std::span(ptrs).subspan(w0, n),
                                           std::span(starts).subspan(w0, n), std::span(ends).subspan(w0, n), cls_id, options));
  }
  return results;
}

}  // namespace tz::pipelines
