// The task heads HF has for ELECTRA, each an ElectraModel under the name "electra" plus a small
// head, with HF's losses when labels are given:
//   ForPreTraining             the discriminator: dense -> hidden_act -> dense_prediction, one logit
//                              per token; BCE over the attention_mask == 1 positions only
//   ForMaskedLM                the generator: generator_predictions (dense -> erf-GELU -> LayerNorm
//                              at embedding_size) + generator_lm_head (weight tied to the word
//                              embeddings, bias its own)
//   ForSequenceClassification  classifier: [CLS] -> dense -> erf-GELU -> out_proj (dropouts between)
//   ForMultipleChoice          [B, C, T]; sequence_summary (summary_* fields) + classifier(H, 1)
//   ForTokenClassification     dropout + classifier on every position
//   ForQuestionAnswering       qa_outputs -> start/end logits, positions clamped
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "models/blocks/heads.h"
#include "models/electra/model.h"

namespace tz::electra {

/// dense(H, H) -> hidden_act -> dense_prediction(H, 1), squeezed: [B, T, H] -> [B, T].
class DiscriminatorPredictions : public nn::Module {
 public:
  explicit DiscriminatorPredictions(const ElectraConfig& config);
  Tensor forward(const Tensor& h);

  std::shared_ptr<nn::Linear> dense, dense_prediction;
  nn::Activation act;
};

class ForPreTraining : public ElectraPreTrainedModel {
 public:
  explicit ForPreTraining(const ElectraConfig& config);
  /// logits [B, T] (> 0: replaced); with labels [B, T] (1 = replaced, 0 = original), `loss` is
  /// BCE-with-logits averaged over the positions where attention_mask == 1 (every position
  /// without a mask), as HF: labels at padding never count.
  models::Output forward(const models::Inputs& inputs) override;
  std::string architecture() const override { return "ElectraForPreTraining"; }
  models::Task task() const override { return models::Task::PreTraining; }
  const ElectraConfig& config() const override { return electra->config(); }

  std::shared_ptr<ElectraModel> electra;
  std::shared_ptr<DiscriminatorPredictions> discriminator_predictions;
};

class ForMaskedLM : public ElectraPreTrainedModel {
 public:
  explicit ForMaskedLM(const ElectraConfig& config);
  /// logits [B, T, vocab_size]; with labels [B, T] (int64, -100 = not counted) the mean
  /// cross-entropy as `loss` (Inputs::mlm_logits_at_labels_only: the head at labelled rows only).
  models::Output forward(const models::Inputs& inputs) override;
  std::string architecture() const override { return "ElectraForMaskedLM"; }
  models::Task task() const override { return models::Task::MaskedLM; }
  const ElectraConfig& config() const override { return electra->config(); }
  /// generator_lm_head.weight -> electra.embeddings.word_embeddings.weight (tie_word_embeddings).
  std::vector<std::pair<std::string, std::string>> tied_weights() const override;
  void tie_weights() override;

  std::shared_ptr<ElectraModel> electra;
  std::shared_ptr<blocks::PredictionTransform> generator_predictions;
  std::shared_ptr<nn::Linear> generator_lm_head;
};

class ForSequenceClassification : public ElectraPreTrainedModel {
 public:
  explicit ForSequenceClassification(const ElectraConfig& config);
  /// logits [B, num_labels]; `loss` by HF's problem_type rule (blocks::sequence_classification_loss).
  models::Output forward(const models::Inputs& inputs) override;
  std::string architecture() const override { return "ElectraForSequenceClassification"; }
  models::Task task() const override { return models::Task::SequenceClassification; }
  const ElectraConfig& config() const override { return electra->config(); }

  std::shared_ptr<ElectraModel> electra;
  std::shared_ptr<blocks::ClassificationHead> classifier;
};

class ForMultipleChoice : public ElectraPreTrainedModel {
 public:
  explicit ForMultipleChoice(const ElectraConfig& config);
  /// Inputs [B, C, T]; logits [B, C]; labels [B].
  models::Output forward(const models::Inputs& inputs) override;
  std::string architecture() const override { return "ElectraForMultipleChoice"; }
  models::Task task() const override { return models::Task::MultipleChoice; }
  const ElectraConfig& config() const override { return electra->config(); }

  std::shared_ptr<ElectraModel> electra;
  std::shared_ptr<blocks::SequenceSummary> sequence_summary;
  std::shared_ptr<nn::Linear> classifier;  // H -> 1
};

class ForTokenClassification : public ElectraPreTrainedModel {
 public:
  explicit ForTokenClassification(const ElectraConfig& config);
  /// logits [B, T, num_labels]; labels [B, T] (int64, -100 = not counted) give `loss`.
  models::Output forward(const models::Inputs& inputs) override;
  std::string architecture() const override { return "ElectraForTokenClassification"; }
  models::Task task() const override { return models::Task::TokenClassification; }
  const ElectraConfig& config() const override { return electra->config(); }

  std::shared_ptr<ElectraModel> electra;
  std::shared_ptr<nn::Dropout> dropout;
  std::shared_ptr<nn::Linear> classifier;
};

class ForQuestionAnswering : public ElectraPreTrainedModel {
 public:
  explicit ForQuestionAnswering(const ElectraConfig& config);
  /// start_logits, end_logits [B, T]; with start/end positions the clamped span `loss`.
  models::Output forward(const models::Inputs& inputs) override;
  std::string architecture() const override { return "ElectraForQuestionAnswering"; }
  models::Task task() const override { return models::Task::QuestionAnswering; }
  const ElectraConfig& config() const override { return electra->config(); }

  std::shared_ptr<ElectraModel> electra;
  std::shared_ptr<nn::Linear> qa_outputs;
};

}  // namespace tz::electra
