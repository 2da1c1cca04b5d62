// The task heads HF has for ConvBERT, each a ConvBertModel under the name "convbert" plus a small
// head, with HF's losses when labels are given:
//   ForMaskedLM               generator_predictions + generator_lm_head (tied to word embeddings)
//   ForSequenceClassification classifier (dense, act, out_proj on [CLS]); regression / single /
//                             multi-label loss by HF's problem_type rule
//   ForMultipleChoice         [B, C, T] inputs; the LAST position's hidden state (HF quirk) -> Linear(H, 1)
//   ForTokenClassification    dropout + classifier on every position
//   ForQuestionAnswering      qa_outputs -> start/end logits; positions clamped as HF does
#pragma once

#include <memory>
#include <string>

#include "models/blocks/heads.h"
#include "models/convbert/model.h"

namespace tz::convbert {

class ForMaskedLM : public ConvBertPreTrainedModel {
 public:
  explicit ForMaskedLM(const ConvBertConfig& config);
  /// logits [B, T, vocab_size]; with labels [B, T] (int64, -100 = not counted) also the mean
  /// cross-entropy over the counted positions as `loss`.
  models::Output forward(const models::Inputs& inputs) override;
  std::string architecture() const override { return "ConvBertForMaskedLM"; }
  models::Task task() const override { return models::Task::MaskedLM; }
  const ConvBertConfig& config() const override { return convbert->config(); }
  std::vector<std::pair<std::string, std::string>> tied_weights() const override;
  /// Makes generator_lm_head.weight the same tensor as the word embeddings (HF's tie_weights),
  /// when config.tie_word_embeddings.
  void tie_weights() override;

  std::shared_ptr<ConvBertModel> convbert;
  /// dense(H -> E), erf-GELU (always, whatever hidden_act says, as HF), LayerNorm(E): the shared
  /// prediction transform, LayerNorm registered first as HF's ConvBertGeneratorPredictions does.
  std::shared_ptr<blocks::PredictionTransform> generator_predictions;
  std::shared_ptr<nn::Linear> generator_lm_head;
};


class ForSequenceClassification : public ConvBertPreTrainedModel {
 public:
  explicit ForSequenceClassification(const ConvBertConfig& config);
  /// logits [B, num_labels] from the [CLS] (first) position. With labels, `loss` by
  /// problem_type_for(labels): regression -> MSE (labels [B] with one label, else [B, num_labels];
  /// converted to float); single-label -> cross-entropy (labels int64 [B] in [0, num_labels));
  /// multi-label -> BCE-with-logits (labels [B, num_labels]). Throws tz::Error for labels of the
  /// wrong dtype or shape.
  models::Output forward(const models::Inputs& inputs) override;
  std::string architecture() const override { return "ConvBertForSequenceClassification"; }
  models::Task task() const override { return models::Task::SequenceClassification; }
  const ConvBertConfig& config() const override { return convbert->config(); }
  /// HF's rule when config.problem_type is unset: 1 label -> regression; int labels ->
  /// single_label_classification; float labels -> multi_label_classification.
  std::string problem_type_for(const Tensor& labels) const;

  std::shared_ptr<ConvBertModel> convbert;
  /// dropout -> dense(H, H) -> hidden_act -> dropout -> out_proj(H, num_labels), on position 0.
  std::shared_ptr<blocks::ClassificationHead> classifier;
};

class ForMultipleChoice : public ConvBertPreTrainedModel {
 public:
  explicit ForMultipleChoice(const ConvBertConfig& config);
  /// Inputs are [B, C, T]; logits [B, C].
  models::Output forward(const models::Inputs& inputs) override;
  std::string architecture() const override { return "ConvBertForMultipleChoice"; }
  models::Task task() const override { return models::Task::MultipleChoice; }
  const ConvBertConfig& config() const override { return convbert->config(); }

  std::shared_ptr<ConvBertModel> convbert;
  std::shared_ptr<nn::Linear> classifier;  // H -> 1
};

class ForTokenClassification : public ConvBertPreTrainedModel {
 public:
  explicit ForTokenClassification(const ConvBertConfig& config);
  /// logits [B, T, num_labels]; with labels [B, T] (int64, -100 = not counted), cross-entropy `loss`.
  models::Output forward(const models::Inputs& inputs) override;
  std::string architecture() const override { return "ConvBertForTokenClassification"; }
  models::Task task() const override { return models::Task::TokenClassification; }
  const ConvBertConfig& config() const override { return convbert->config(); }

  std::shared_ptr<ConvBertModel> convbert;
  std::shared_ptr<nn::Dropout> dropout;
  std::shared_ptr<nn::Linear> classifier;
};

class ForQuestionAnswering : public ConvBertPreTrainedModel {
 public:
  explicit ForQuestionAnswering(const ConvBertConfig& config);
  /// start_logits, end_logits [B, T]; with start_positions/end_positions [B] (int64; clamped to
  /// [0, T], T itself ignored, as HF), `loss` = (CE(start) + CE(end)) / 2.
  models::Output forward(const models::Inputs& inputs) override;
  std::string architecture() const override { return "ConvBertForQuestionAnswering"; }
  models::Task task() const override { return models::Task::QuestionAnswering; }
  const ConvBertConfig& config() const override { return convbert->config(); }

  std::shared_ptr<ConvBertModel> convbert;
  std::shared_ptr<nn::Linear> qa_outputs;
};

}  // namespace tz::convbert
