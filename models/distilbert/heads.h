// The task heads HF has for DistilBERT, each a DistilBertModel under the name "distilbert" plus a
// small head, with HF's losses when labels are given:
//   ForMaskedLM                vocab_transform -> activation -> vocab_layer_norm -> vocab_projector
//                              (weight tied to the word embeddings, bias its own)
//   ForSequenceClassification  h[:, 0] -> pre_classifier -> ReLU (always) -> dropout
//                              (seq_classif_dropout) -> classifier; HF's problem_type rule
//   ForMultipleChoice          [B, C, T]; the same head with classifier(dim, 1)
//   ForTokenClassification     dropout (dropout) + classifier on every position
//   ForQuestionAnswering       dropout (qa_dropout) + qa_outputs -> start/end logits, positions clamped
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "models/distilbert/model.h"

namespace tz::distilbert {

class ForMaskedLM : public DistilBertPreTrainedModel {
 public:
  explicit ForMaskedLM(const DistilBertConfig& config);
  /// logits [B, T, vocab_size]; with labels [B, T] (int64, -100 = not counted) the mean
  /// cross-entropy as `loss` (Inputs::mlm_logits_at_labels_only: the head at labelled rows only).
  models::Output forward(const models::Inputs& inputs) override;
  std::string architecture() const override { return "DistilBertForMaskedLM"; }
  models::Task task() const override { return models::Task::MaskedLM; }
  const DistilBertConfig& config() const override { return distilbert->config(); }
  /// vocab_projector.weight -> distilbert.embeddings.word_embeddings.weight (tie_word_embeddings).
  std::vector<std::pair<std::string, std::string>> tied_weights() const override;
  void tie_weights() override;

  std::shared_ptr<DistilBertModel> distilbert;
  std::shared_ptr<nn::Linear> vocab_transform;
  std::shared_ptr<nn::LayerNorm> vocab_layer_norm;
  std::shared_ptr<nn::Linear> vocab_projector;
  nn::Activation act;
};

/// h[:, 0] -> pre_classifier -> ReLU -> dropout -> classifier: the sequence-classification and
/// multiple-choice heads' computation (their layers are members of the head models, as in HF).
Tensor classify_first_token(const Tensor& h, nn::Linear& pre_classifier, nn::Dropout& dropout, nn::Linear& classifier);

class ForSequenceClassification : public DistilBertPreTrainedModel {
 public:
  explicit ForSequenceClassification(const DistilBertConfig& config);
  /// logits [B, num_labels]; `loss` by HF's problem_type rule (blocks::sequence_classification_loss).
  models::Output forward(const models::Inputs& inputs) override;
  std::string architecture() const override { return "DistilBertForSequenceClassification"; }
  models::Task task() const override { return models::Task::SequenceClassification; }
  const DistilBertConfig& config() const override { return distilbert->config(); }

  std::shared_ptr<DistilBertModel> distilbert;
  std::shared_ptr<nn::Linear> pre_classifier, classifier;
  std::shared_ptr<nn::Dropout> dropout;
};

class ForMultipleChoice : public DistilBertPreTrainedModel {
 public:
  explicit ForMultipleChoice(const DistilBertConfig& config);
  /// Inputs [B, C, T]; logits [B, C]; labels [B].
  models::Output forward(const models::Inputs& inputs) override;
  std::string architecture() const override { return "DistilBertForMultipleChoice"; }
  models::Task task() const override { return models::Task::MultipleChoice; }
  const DistilBertConfig& config() const override { return distilbert->config(); }

  std::shared_ptr<DistilBertModel> distilbert;
  std::shared_ptr<nn::Linear> pre_classifier, classifier;  // classifier: dim -> 1
  std::shared_ptr<nn::Dropout> dropout;
};

class ForTokenClassification : public DistilBertPreTrainedModel {
 public:
  explicit ForTokenClassification(const DistilBertConfig& config);
  /// logits [B, T, num_labels]; labels [B, T] (int64, -100 = not counted) give `loss`.
  models::Output forward(const models::Inputs& inputs) override;
  std::string architecture() const override { return "DistilBertForTokenClassification"; }
  models::Task task() const override { return models::Task::TokenClassification; }
  const DistilBertConfig& config() const override { return distilbert->config(); }

  std::shared_ptr<DistilBertModel> distilbert;
  std::shared_ptr<nn::Dropout> dropout;
  std::shared_ptr<nn::Linear> classifier;
};

class ForQuestionAnswering : public DistilBertPreTrainedModel {
 public:
  explicit ForQuestionAnswering(const DistilBertConfig& config);
  /// start_logits, end_logits [B, T]; with start/end positions the clamped span `loss`.
  models::Output forward(const models::Inputs& inputs) override;
  std::string architecture() const override { return "DistilBertForQuestionAnswering"; }
  models::Task task() const override { return models::Task::QuestionAnswering; }
  const DistilBertConfig& config() const override { return distilbert->config(); }

  std::shared_ptr<DistilBertModel> distilbert;
  std::shared_ptr<nn::Linear> qa_outputs;
  std::shared_ptr<nn::Dropout> dropout;
};

}  // namespace tz::distilbert
