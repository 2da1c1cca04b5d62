// HF's text-classification pipeline (transformers.pipelines.TextClassificationPipeline) for
// sequence-classification models of any family, on texts or text pairs.
//   - function_to_apply: "sigmoid", "softmax" or "none"; by default from the config as HF:
//     problem_type regression -> none; multi_label_classification or a single label -> sigmoid;
//     otherwise (single_label_classification, several labels) -> softmax.
//   - top_k: the labels sorted by score, best first (stable: equal scores keep label order), cut to
//     k (0 = all). HF's default call (no top_k) returns only the best {label, score}, and its legacy
//     return_all_scores=True returns every label in label order, unsorted; both shapes are the
//     caller's choice from label_scores / top_labels.
// Texts are truncated to the model's limit (HF's pipeline does not truncate unless asked and fails
// on longer inputs instead).
// Not here: batching (pipeline.h), the model (models/).
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "models/model.h"
#include "tokenizer/wordpiece.h"

namespace tz::pipelines {

enum class ClassificationFunction { Sigmoid, Softmax, None };

/// "sigmoid", "softmax", "none"; throws listing them.
ClassificationFunction classification_function_from_name(const std::string& name);
const char* classification_function_name(ClassificationFunction f);
/// HF's default for a config (see above).
ClassificationFunction default_classification_function(const models::PretrainedConfig& config);

/// The function applied to one row of logits, in double.
std::vector<double> apply_classification_function(std::span<const float> logits, ClassificationFunction f);

struct LabelScore {
  std::string label;
  double score = 0;
};

/// Every label (config id2label) with its score, in label order (HF's return_all_scores shape).
std::vector<LabelScore> label_scores(std::span<const float> logits, const models::PretrainedConfig& config,
                                     ClassificationFunction f);
/// Sorted best first (stable), cut to top_k (0 = all): HF's top_k=k / top_k=None.
std::vector<LabelScore> top_labels(std::vector<LabelScore> scores, std::size_t top_k);

struct TextClassificationOptions {
  std::optional<ClassificationFunction> function_to_apply;  ///< unset: default_classification_function
  std::size_t max_length = 0;                               ///< tokens per input (0: the model's limit)
  std::size_t batch_size = 32;
};

/// Every label's score for each text, in label order (eval mode set by the caller).
std::vector<std::vector<LabelScore>> classify_texts(models::PreTrainedModel& model, const tokenizer::WordPiece& tok,
                                                    const std::vector<std::string>& texts,
                                                    const TextClassificationOptions& options = {});
/// The same for (text, text_pair) inputs, encoded as pairs (HF's {"text", "text_pair"} inputs).
std::vector<std::vector<LabelScore>> classify_pairs(models::PreTrainedModel& model, const tokenizer::WordPiece& tok,
                                                    const std::vector<std::pair<std::string, std::string>>& pairs,
                                                    const TextClassificationOptions& options = {});

}  // namespace tz::pipelines
