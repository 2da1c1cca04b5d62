// HF's token-classification ("ner") pipeline (transformers.pipelines.TokenClassificationPipeline)
// for token-classification models of any family.
//
// Every non-special token gets the softmax of its logits over the labels; then, by
// aggregation_strategy:
//   none     one row per token: {entity: its argmax label, score, index, word: the token ("##ing"),
//            start, end};
//   simple   the token rows grouped into entities: a token joins the previous group when its tag
//            (label without "B-"/"I-"; a label without those prefixes is its own tag, continuing like
//            "I-") equals the group's and it is not a "B-" label; {entity_group: the first label
//            after its first '-', score: mean of the rows' scores, word: the rows' tokens decoded,
//            start, end};
//   first    tokens first merged into words, then grouped as simple: a word takes the label and
//            score of its first token;
//   average  ... the argmax of the mean of its tokens' score vectors;
//   max      ... the label of its token with the highest score.
// Words follow HF's rule for WordPiece tokenizers: a token is a sub-word when the token's text
// ("##ing", 5 code points) is longer or shorter than the text under it ("ing", 3), and the unknown
// token is never a sub-word (its `word` is the text under it). Rows whose entity / entity_group is in
// ignore_labels (default {"O"}) are dropped. start / end are code-point offsets into the text.
//
// Long texts: without a stride, a text is truncated to the model's limit (as HF). With a stride,
// the text is cut into windows of the model's limit overlapping by `stride` tokens (the tokenizer's
// overflowing windows, as HF), and every token takes its scores from the window where it is most
// central (farthest from that window's edges); aggregation then runs once over the whole text, so
// `index` counts tokens of the whole text ([CLS] = 0). HF instead aggregates each window on its own
// and keeps, of overlapping entities, the longest (then the higher-scored) one, refuses a stride
// with strategy none, and pads its last window: results agree wherever the windows agree.
// Not here: batching (pipeline.h), training data and seqeval (train/token_classification.h).
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "models/model.h"
#include "tokenizer/wordpiece.h"

namespace tz::pipelines {

enum class AggregationStrategy { None, Simple, First, Average, Max };

/// "none", "simple", "first", "average", "max"; throws listing them.
AggregationStrategy aggregation_strategy_from_name(const std::string& name);

/// A token before aggregation (HF's pre_entity).
struct TokenScores {
  std::string word;                ///< the token, or the text under the unknown token
  std::vector<double> scores;      ///< softmax over the labels
  std::size_t start = 0, end = 0;  ///< code-point offsets into the text
  std::size_t index = 0;           ///< position in the encoding ([CLS] = 0)
  bool is_subword = false;
};

/// One result row, with HF's field names: `entity` is the label (strategy none) or the
/// entity_group (any other strategy); `index` is set for strategy none only.
struct TokenEntity {
  std::string entity;
  double score = 0;
  std::string word;
  std::size_t start = 0, end = 0;
  std::optional<std::size_t> index;
};

/// The non-special tokens of `encoding` (made with char_offsets) with their score rows: probs[t] is
/// the softmax row of token t (rows of special tokens are ignored).
std::vector<TokenScores> gather_token_scores(const tokenizer::WordPiece& tok, const std::string& text,
                                             const tokenizer::Encoding& encoding,
                                             const std::vector<std::vector<double>>& probs);

/// HF's aggregate (+ group_entities for every strategy but none). Labels are config id2label.
std::vector<TokenEntity> aggregate_tokens(const tokenizer::WordPiece& tok, const std::vector<TokenScores>& tokens,
                                          AggregationStrategy strategy, const std::vector<std::string>& id2label);

/// The rows whose entity is not one of `ignore_labels`.
std::vector<TokenEntity> drop_labels(std::vector<TokenEntity> rows, const std::vector<std::string>& ignore_labels);

/// For each of `num_tokens` tokens, the window it takes its scores from: window k covers tokens
/// [starts[k], starts[k] + lengths[k]); the chosen one maximises min(distance to its first token,
/// distance to its last token), the earlier window on ties. Throws when a token is in no window.
std::vector<std::size_t> most_central_windows(std::size_t num_tokens, std::span<const std::size_t> starts,
                                              std::span<const std::size_t> lengths);

struct TokenClassificationOptions {
  AggregationStrategy aggregation = AggregationStrategy::None;
  std::vector<std::string> ignore_labels{"O"};
  std::size_t max_length = 0;         ///< tokens per window (0: the model's limit)
  std::optional<std::size_t> stride;  ///< unset: truncate long texts; set: overlapping windows
  std::size_t batch_size = 32;
};

/// The rows of every text (eval mode set by the caller).
std::vector<std::vector<TokenEntity>> classify_tokens(models::PreTrainedModel& model, const tokenizer::WordPiece& tok,
                                                      const std::vector<std::string>& texts,
                                                      const TokenClassificationOptions& options = {});

}  // namespace tz::pipelines
