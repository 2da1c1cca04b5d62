// HF's text-classification pipeline; see text_classification.h.
#include "train/pipelines/text_classification.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "tensor/ops.h"
#include "train/pipelines/pipeline.h"

namespace tz::pipelines {
namespace {

std::vector<std::vector<LabelScore>> classify_encodings(models::PreTrainedModel& model,
                                                        const std::vector<tokenizer::Encoding>& enc,
                                                        const TextClassificationOptions& options) {
  const models::PretrainedConfig& config = model.config();
  const ClassificationFunction f = options.function_to_apply.value_or(default_classification_function(config));
  std::vector<const tokenizer::Encoding*> ptrs;
  for (const auto& e : enc) ptrs.push_back(&e);
  std::vector<std::vector<LabelScore>> results(enc.size());
  for_each_batch(model, ptrs, options.batch_size, [&](std::span<const std::size_t> indices, const models::Output& out) {
    const int64_t L = config.num_labels();
    TZ_CHECK(out.logits.defined() && out.logits.dim() == 2 && out.logits.size(1) == L, "text-classification: ",
             model.architecture(), " gives no logits [B, ", L, "]");
    Tensor logits = raw::contiguous(out.logits);
    for (std::size_t b = 0; b < indices.size(); ++b)
      results[indices[b]] = label_scores(
          std::span<const float>(logits.data<float>() + static_cast<int64_t>(b) * L, static_cast<std::size_t>(L)),
          config, f);
  });
  return results;
}

tokenizer::EncodeOptions encode_options(const models::PreTrainedModel& model, const tokenizer::WordPiece& tok,
                                        const TextClassificationOptions& options) {
  tokenizer::EncodeOptions o;
  o.truncation = tokenizer::Truncation{input_limit(tok, model.config(), options.max_length)};
  return o;
}

}  // namespace

ClassificationFunction classification_function_from_name(const std::string& name) {
  if (name == "sigmoid") return ClassificationFunction::Sigmoid;
  if (name == "softmax") return ClassificationFunction::Softmax;
  if (name == "none") return ClassificationFunction::None;
  throw Error(detail::concat("text-classification: unknown function_to_apply '", name,
                             "' (expected sigmoid, softmax or none)"));
}

const char* classification_function_name(ClassificationFunction f) {
  switch (f) {
    case ClassificationFunction::Sigmoid: return "sigmoid";
    case ClassificationFunction::Softmax: return "softmax";
    case ClassificationFunction::None: return "none";
  }
  return "none";
}

ClassificationFunction default_classification_function(const models::PretrainedConfig& config) {
  const std::string problem = config.problem_type.value_or("");
  if (problem == "regression") return ClassificationFunction::None;
  if (problem == "multi_label_classification" || config.num_labels() == 1) return ClassificationFunction::Sigmoid;
  return ClassificationFunction::Softmax;
}

std::vector<double> apply_classification_function(std::span<const float> logits, ClassificationFunction f) {
  if (f == ClassificationFunction::Softmax) return softmax(logits);
  std::vector<double> out(logits.begin(), logits.end());
  if (f == ClassificationFunction::Sigmoid)
    for (double& z : out) z = 1.0 / (1.0 + std::exp(-z));
  return out;
}

std::vector<LabelScore> label_scores(std::span<const float> logits, const models::PretrainedConfig& config,
                                     ClassificationFunction f) {
  TZ_CHECK(static_cast<int64_t>(logits.size()) == config.num_labels(), "text-classification: ", logits.size(),
           " logits for ", config.num_labels(), " labels");
  std::vector<double> scores = apply_classification_function(logits, f);
  std::vector<LabelScore> out;
  for (std::size_t l = 0; l < scores.size(); ++l) out.push_back({config.id2label[l], scores[l]});
  return out;
}

std::vector<LabelScore> top_labels(std::vector<LabelScore> scores, std::size_t top_k) {
  std::stable_sort(scores.begin(), scores.end(), [](const LabelScore& a, const LabelScore& b) { return a.score > b.score; });
  if (top_k > 0 && scores.size() > top_k) scores.resize(top_k);
  return scores;
}

std::vector<std::vector<LabelScore>> classify_texts(models::PreTrainedModel& model, const tokenizer::WordPiece& tok,
                                                    const std::vector<std::string>& texts,
                                                    const TextClassificationOptions& options) {
  return classify_encodings(model, tok.encode_batch(texts, encode_options(model, tok, options)), options);
}

std::vector<std::vector<LabelScore>> classify_pairs(models::PreTrainedModel& model, const tokenizer::WordPiece& tok,
                                                    const std::vector<std::pair<std::string, std::string>>& pairs,
                                                    const TextClassificationOptions& options) {
  return classify_encodings(model, tok.encode_batch_pairs(pairs, encode_options(model, tok, options)), options);
}

}  // namespace tz::pipelines
