// The task heads HF has for BERT, each a BertModel under the name "bert" plus a small head, with
// HF's losses when labels are given:
//   ForMaskedLM                cls.predictions (transform + decoder tied to the word embeddings);
//                              no pooler
//   ForPreTraining             cls.predictions + cls.seq_relationship on the pooler; loss = MLM + NSP
//   ForNextSentencePrediction  cls.seq_relationship on the pooler
//   ForSequenceClassification  dropout + classifier on the pooler; HF's problem_type rule
//   ForMultipleChoice          [B, C, T] inputs; dropout + classifier(H, 1) on the pooler
//   ForTokenClassification     dropout + classifier on every position; no pooler
//   ForQuestionAnswering       qa_outputs -> start/end logits, positions clamped; no pooler
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "models/bert/model.h"
#include "models/blocks/heads.h"

namespace tz::bert {

/// cls.predictions: transform (dense -> hidden_act -> LayerNorm), then the decoder: the word
/// embeddings (tied) transposed, plus `bias`. decoder.bias IS `bias` (one tensor, two names).
class LMPredictionHead : public nn::Module {
 public:
  explicit LMPredictionHead(const BertConfig& config);
  /// h [..., H] -> logits [..., vocab_size]
  Tensor forward(const Tensor& h);

  Tensor bias;  // [vocab_size]
  std::shared_ptr<blocks::PredictionTransform> transform;
  std::shared_ptr<nn::Linear> decoder;
};

/// HF's "cls" module in its three forms: BertOnlyMLMHead (predictions), BertPreTrainingHeads
/// (predictions + seq_relationship) and BertOnlyNSPHead (seq_relationship).
class ClsHeads : public nn::Module {
 public:
  ClsHeads(const BertConfig& config, bool masked_lm, bool next_sentence);
  std::shared_ptr<LMPredictionHead> predictions;  // null without the masked-LM head
  std::shared_ptr<nn::Linear> seq_relationship;   // [H -> 2], null without the next-sentence head
};

/// What the two heads with cls.predictions share: the tied weights and tying them.
class WithLMHead : public BertPreTrainedModel {
 public:
  const BertConfig& config() const override { return bert->config(); }
  /// cls.predictions.decoder.bias -> cls.predictions.bias always; cls.predictions.decoder.weight ->
  /// bert.embeddings.word_embeddings.weight when config.tie_word_embeddings.
  std::vector<std::pair<std::string, std::string>> tied_weights() const override;
  void tie_weights() override;

  std::shared_ptr<BertModel> bert;
  std::shared_ptr<ClsHeads> cls;
};

class ForMaskedLM : public WithLMHead {
 public:
  explicit ForMaskedLM(const BertConfig& config);
  /// logits [B, T, vocab_size]; with labels [B, T] (int64, -100 = not counted) the mean
  /// cross-entropy as `loss` (Inputs::mlm_logits_at_labels_only: the head at labelled rows only).
  models::Output forward(const models::Inputs& inputs) override;
  std::string architecture() const override { return "BertForMaskedLM"; }
  models::Task task() const override { return models::Task::MaskedLM; }
};

class ForPreTraining : public WithLMHead {
 public:
  explicit ForPreTraining(const BertConfig& config);
  /// prediction_logits [B, T, V], seq_relationship_logits [B, 2]; with both labels and
  /// next_sentence_label, loss = CE(MLM, -100 ignored) + CE(next sentence), a plain sum.
  models::Output forward(const models::Inputs& inputs) override;
  std::string architecture() const override { return "BertForPreTraining"; }
  models::Task task() const override { return models::Task::PreTraining; }
};

class ForNextSentencePrediction : public BertPreTrainedModel {
 public:
  explicit ForNextSentencePrediction(const BertConfig& config);
  /// logits [B, 2] (0 = the second segment follows the first); labels [B] (or, as HF's deprecated
  /// spelling, next_sentence_label) give the cross-entropy `loss`.
  models::Output forward(const models::Inputs& inputs) override;
  std::string architecture() const override { return "BertForNextSentencePrediction"; }
  models::Task task() const override { return models::Task::NextSentencePrediction; }
  const BertConfig& config() const override { return bert->config(); }

  std::shared_ptr<BertModel> bert;
  std::shared_ptr<ClsHeads> cls;
};

class ForSequenceClassification : public BertPreTrainedModel {
 public:
  explicit ForSequenceClassification(const BertConfig& config);
  /// logits [B, num_labels] = classifier(dropout(pooler_output)); `loss` by HF's problem_type rule
  /// (blocks::sequence_classification_loss).
  models::Output forward(const models::Inputs& inputs) override;
  std::string architecture() const override { return "BertForSequenceClassification"; }
  models::Task task() const override { return models::Task::SequenceClassification; }
  const BertConfig& config() const override { return bert->config(); }

  std::shared_ptr<BertModel> bert;
  std::shared_ptr<nn::Dropout> dropout;
  std::shared_ptr<nn::Linear> classifier;
};

class ForMultipleChoice : public BertPreTrainedModel {
 public:
  explicit ForMultipleChoice(const BertConfig& config);
  /// Inputs [B, C, T]; logits [B, C] from each choice's pooler output; labels [B].
  models::Output forward(const models::Inputs& inputs) override;
  std::string architecture() const override { return "BertForMultipleChoice"; }
  models::Task task() const override { return models::Task::MultipleChoice; }
  const BertConfig& config() const override { return bert->config(); }

  std::shared_ptr<BertModel> bert;
  std::shared_ptr<nn::Dropout> dropout;
  std::shared_ptr<nn::Linear> classifier;  // H -> 1
};

class ForTokenClassification : public BertPreTrainedModel {
 public:
  explicit ForTokenClassification(const BertConfig& config);
  /// logits [B, T, num_labels]; labels [B, T] (int64, -100 = not counted) give `loss`.
  models::Output forward(const models::Inputs& inputs) override;
  std::string architecture() const override { return "BertForTokenClassification"; }
  models::Task task() const override { return models::Task::TokenClassification; }
  const BertConfig& config() const override { return bert->config(); }

  std::shared_ptr<BertModel> bert;
  std::shared_ptr<nn::Dropout> dropout;
  std::shared_ptr<nn::Linear> classifier;
};

class ForQuestionAnswering : public BertPreTrainedModel {
 public:
  explicit ForQuestionAnswering(const BertConfig& config);
  /// start_logits, end_logits [B, T]; with start/end positions the clamped span `loss`
  /// (blocks::span_outputs).
  models::Output forward(const models::Inputs& inputs) override;
  std::string architecture() const override { return "BertForQuestionAnswering"; }
  models::Task task() const override { return models::Task::QuestionAnswering; }
  const BertConfig& config() const override { return bert->config(); }

  std::shared_ptr<BertModel> bert;
  std::shared_ptr<nn::Linear> qa_outputs;
};

}  // namespace tz::bert
