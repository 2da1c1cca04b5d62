// HF's fill-mask pipeline (transformers.pipelines.FillMaskPipeline) for masked-LM models of any
// family: for every mask token of a text, the top_k tokens by the softmax over the vocabulary.
//   - targets: only those tokens are scored. A target that is not a vocabulary token is tokenized
//     and its first piece used instead, with a warning (a target with no piece is dropped, with a
//     warning); duplicates count once; top_k is capped at the number of targets. Scores stay the
//     probabilities of the full softmax (not renormalised over the targets), as HF.
//   - several masks in one text: each mask is predicted independently from the same forward pass;
//     a prediction's `sequence` then keeps the special tokens and the other masks (HF decodes with
//     skip_special_tokens only when the text has a single mask).
//   - token_str is decode([token]); sequence is the text's ids with the mask replaced, decoded.
// Texts are truncated to the model's limit; a mask cut off by truncation is an error, as a text
// without a mask is (HF: "No mask_token found on the input").
// Not here: batching (pipeline.h), the model (models/).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "models/model.h"
#include "tokenizer/wordpiece.h"

namespace tz::pipelines {

struct FillMaskOptions {
  std::size_t top_k = 5;
  std::vector<std::string> targets;  ///< empty: the whole vocabulary
  std::size_t max_length = 0;        ///< tokens per text (0: the model's limit)
  std::size_t batch_size = 32;
};

/// One candidate for one mask, with HF's field names.
struct FillMaskPrediction {
  double score = 0;       ///< softmax probability over the whole vocabulary
  int64_t token = 0;      ///< the token id
  std::string token_str;  ///< decode([token])
  std::string sequence;   ///< the text with the mask replaced, decoded
};

/// Per mask of a text (in text order), its predictions, best first.
using FillMaskResult = std::vector<std::vector<FillMaskPrediction>>;

struct FillMaskTargets {
  std::vector<int64_t> ids;           ///< distinct, in the order first given
  std::vector<std::string> warnings;  ///< HF's warnings for targets that are not vocabulary tokens
};

/// HF's get_target_ids. Throws when no target is left.
FillMaskTargets fill_mask_target_ids(const tokenizer::WordPiece& tok, const std::vector<std::string>& targets);

/// The k most probable tokens of a softmax over `logits` (V values), restricted to `target_ids`
/// when not empty: (id, probability) pairs, best first, ties broken by the smaller id.
std::vector<std::pair<int64_t, double>> top_k_tokens(std::span<const float> logits, std::size_t k,
                                                     std::span<const int64_t> target_ids = {});

/// The predictions for every mask of one encoded text from its logits [T, V] (row-major).
FillMaskResult fill_mask_predictions(const tokenizer::WordPiece& tok, const tokenizer::Encoding& encoding,
                                     const float* logits, int64_t V, std::size_t top_k,
                                     std::span<const int64_t> target_ids = {});

/// Runs a masked-LM model (eval mode set by the caller) on every text. `warnings` receives the
/// target warnings when given.
std::vector<FillMaskResult> fill_mask(models::PreTrainedModel& model, const tokenizer::WordPiece& tok,
                                      const std::vector<std::string>& texts, const FillMaskOptions& options = {},
                                      std::vector<std::string>* warnings = nullptr);

}  // namespace tz::pipelines
