// Multiple choice (SWAG-style) as HF's multiple-choice guide does it:
//   (a) readers: SWAG CSV / JSONL (`sent1` context, `sent2` start of the second sentence,
//       `ending0..endingN-1`, `label`) and a simpler JSONL form (`context`, optional `start`,
//       `endings` list, `label`);
//   (b) preprocessing: each choice is the pair (context, start + " " + ending), truncated
//       longest-first to max_length; a batch is padded to its longest choice and shaped [B, N, S]
//       as ConvBertForMultipleChoice expects (DataCollatorForMultipleChoice);
//   (c) post-processing: softmax over the N choice logits;
//   (d) the metric: accuracy of the argmax choice.
// Beware (HF does the same): ConvBertForMultipleChoice scores a choice from its LAST position
// (SequenceSummary "last"), which is a padding token for every choice shorter than the batch's
// longest, so a choice's logit depends on how the batch was padded.
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

struct MultipleChoiceExample {
  std::string context;  ///< sent1
  std::string start;    ///< sent2: the beginning of every choice's second sentence (may be empty)
  std::vector<std::string> endings;
  int64_t label = -1;   ///< index of the right ending; -1 when unknown
};

/// CSV with a header row naming sent1, sent2 (optional), ending0.. and label (optional); quoted
/// fields may hold commas, doubled quotes and newlines (RFC 4180). Errors name the file and row.
std::vector<MultipleChoiceExample> read_multiple_choice_csv(const std::filesystem::path& path);
/// JSONL, each line either the SWAG fields or {"context", "start"?, "endings": [...], "label"?}.
std::vector<MultipleChoiceExample> read_multiple_choice_jsonl(const std::filesystem::path& path);
/// .csv -> CSV, anything else -> JSONL.
std::vector<MultipleChoiceExample> read_multiple_choice(const std::filesystem::path& path);

/// The second sequence of one choice: start + " " + ending (HF's f"{header} {ending}"), or just the
/// ending when there is no start.
std::string choice_text(const MultipleChoiceExample& example, std::size_t choice);

/// One example: N encoded choices (unpadded) and its label.
struct MultipleChoiceFeature {
  std::vector<std::vector<int64_t>> input_ids, token_type_ids, attention_mask;  // [N][len]
  int64_t label = -1;
};

MultipleChoiceFeature make_multiple_choice_feature(const tokenizer::WordPiece& tok, const MultipleChoiceExample& example,
                                                   std::size_t max_length = 512);
std::vector<MultipleChoiceFeature> make_multiple_choice_features(const tokenizer::WordPiece& tok,
                                                                 const std::vector<MultipleChoiceExample>& examples,
                                                                 std::size_t max_length = 512);

/// The rows `indices` as int64 [B, N, S] (S = the longest choice in the batch; input_ids padded with
/// pad_id, masks and type ids with 0) and labels [B] when every example has one. All examples of a
/// batch must have the same number of choices.
models::Inputs collate_multiple_choice(const std::vector<MultipleChoiceFeature>& features,
                                         std::span<const std::size_t> indices, int64_t pad_id);

/// softmax over one example's N choice logits.
std::vector<float> choice_probabilities(std::span<const float> logits);
/// Fraction of rows of logits [B, N] (row-major) whose argmax equals labels[b].
double choice_accuracy(std::span<const float> logits, std::size_t num_choices, std::span<const int64_t> labels);

/// Evaluation: the model (eval mode set by the caller, no gradients) over labelled `features`,
/// batch_size examples at a time; returns "eval_loss" (averaged over examples) and "accuracy".
std::map<std::string, double> evaluate_multiple_choice(models::PreTrainedModel& model,
                                                       const std::vector<MultipleChoiceFeature>& features,
                                                       std::size_t batch_size, int64_t pad_id);

/// Runs a ForMultipleChoice model on (context, start + ending) for every ending; returns the
/// probability of each ending.
std::vector<float> choose(models::PreTrainedModel& model, const tokenizer::WordPiece& tok, const std::string& context,
                          const std::vector<std::string>& endings, const std::string& start = "",
                          std::size_t max_length = 512);

}  // namespace tz::train
