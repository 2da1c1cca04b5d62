// The ELECTRA task heads; see heads.h. HF: modeling_electra.py, ElectraDiscriminatorPredictions,
// ElectraGeneratorPredictions, ElectraClassificationHead and the ElectraFor* classes.
#include "models/electra/heads.h"

#include <vector>

#include "autograd/ops.h"
#include "models/blocks/inputs.h"
#include "models/blocks/task_losses.h"

namespace tz::electra {

using models::Inputs;
using models::Output;

// ---- the discriminator ------------------------------------------------------------------------------
DiscriminatorPredictions::DiscriminatorPredictions(const ElectraConfig& c) {
  dense = register_module("dense", std::make_shared<nn::Linear>(c.hidden_size, c.hidden_size));
  dense_prediction = register_module("dense_prediction", std::make_shared<nn::Linear>(c.hidden_size, 1));
  act = nn::activation(c.hidden_act);
}

Tensor DiscriminatorPredictions::forward(const Tensor& h) {
  return squeeze(dense_prediction->forward(act(dense->forward(h))), -1);
}

ForPreTraining::ForPreTraining(const ElectraConfig& c) {
  electra = register_module("electra", std::make_shared<ElectraModel>(c));
  discriminator_predictions = register_module("discriminator_predictions", std::make_shared<DiscriminatorPredictions>(c));
}

Output ForPreTraining::forward(const Inputs& in) {
  Output out = electra->forward(in);
  out.logits = discriminator_predictions->forward(out.last_hidden_state);  // [B, T]
  if (!in.labels.defined()) return out;
  TZ_CHECK(in.labels.shape() == out.logits.shape(), "electra: replaced-token labels must have shape ",
           shape_str(out.logits.shape()), ", got ", shape_str(in.labels.shape()));
  Tensor labels = raw::to_dtype(raw::contiguous(in.labels), DType::Float32);
  if (!in.attention_mask.defined()) {
    out.loss = bce_with_logits(out.logits, labels);
    return out;
  }
  // HF keeps the positions whose mask is exactly 1 (a boolean index) and averages over them.
  std::vector<float> mask = raw::to_dtype(raw::contiguous(in.attention_mask), DType::Float32).to_vector<float>();
  std::vector<float> y = labels.to_vector<float>(), kept_labels;
  std::vector<int64_t> rows;
  for (size_t i = 0; i < mask.size(); ++i)
    if (mask[i] == 1.f) rows.push_back(static_cast<int64_t>(i)), kept_labels.push_back(y[i]);
  const int64_t n = static_cast<int64_t>(rows.size());
  // A row gather whose backward scatter-adds: embedding() over the logits as [B*T, 1].
  Tensor kept = reshape(embedding(reshape(out.logits, {-1, 1}), raw::from_vector(rows, {n})), {n});
  out.loss = bce_with_logits(kept, raw::from_vector(kept_labels, {n}));
  return out;
}

// ---- the generator ----------------------------------------------------------------------------------
ForMaskedLM::ForMaskedLM(const ElectraConfig& c) {
  electra = register_module("electra", std::make_shared<ElectraModel>(c));
  generator_predictions = register_module(
      "generator_predictions", std::make_shared<blocks::PredictionTransform>(
                                   blocks::generator_predictions_options(c.hidden_size, c.embedding_size, c.layer_norm_eps)));
  generator_lm_head = register_module("generator_lm_head", std::make_shared<nn::Linear>(c.embedding_size, c.vocab_size));
  tie_weights();
}

std::vector<std::pair<std::string, std::string>> ForMaskedLM::tied_weights() const {
  if (!config().tie_word_embeddings) return {};
  return {{"generator_lm_head.weight", "electra.embeddings.word_embeddings.weight"}};
}

void ForMaskedLM::tie_weights() {
  if (config().tie_word_embeddings) generator_lm_head->tie_weight(electra->embeddings->word_embeddings->weight);
}

Output ForMaskedLM::forward(const Inputs& in) {
  Output out = electra->forward(in);
  blocks::masked_lm_outputs(
      out, in, config().vocab_size,
      [&](const Tensor& h) { return generator_lm_head->forward(generator_predictions->forward(h)); }, "electra");
  return out;
}

// ---- fine-tuning heads ------------------------------------------------------------------------------
ForSequenceClassification::ForSequenceClassification(const ElectraConfig& c) {
  electra = register_module("electra", std::make_shared<ElectraModel>(c));
  // HF: gelu (the erf form) whatever hidden_act says; not BERT's tanh pooler.
  classifier = register_module("classifier", std::make_shared<blocks::ClassificationHead>(
                                                  c.hidden_size, c.num_labels(), c.classifier_dropout_prob(), "gelu"));
}

Output ForSequenceClassification::forward(const Inputs& in) {
  Output out = electra->forward(in);
  out.logits = classifier->forward(out.last_hidden_state);
  if (in.labels.defined()) out.loss = blocks::sequence_classification_loss(config(), out.logits, in.labels, "electra");
  return out;
}

ForMultipleChoice::ForMultipleChoice(const ElectraConfig& c) {
  electra = register_module("electra", std::make_shared<ElectraModel>(c));
  sequence_summary = register_module("sequence_summary", std::make_shared<blocks::SequenceSummary>(c.summary_options()));
  classifier = register_module("classifier", std::make_shared<nn::Linear>(c.hidden_size, 1));
}

Output ForMultipleChoice::forward(const Inputs& in) {
  int64_t C = 0;
  Output out = electra->forward(blocks::flatten_choices(in, "electra", &C));
  out.logits = reshape(classifier->forward(sequence_summary->forward(out.last_hidden_state)), {-1, C});
  if (in.labels.defined()) out.loss = blocks::flat_cross_entropy(out.logits, in.labels, "electra");
  return out;
}

ForTokenClassification::ForTokenClassification(const ElectraConfig& c) {
  electra = register_module("electra", std::make_shared<ElectraModel>(c));
  dropout = register_module("dropout", std::make_shared<nn::Dropout>(c.classifier_dropout_prob()));
  classifier = register_module("classifier", std::make_shared<nn::Linear>(c.hidden_size, c.num_labels()));
}

Output ForTokenClassification::forward(const Inputs& in) {
  Output out = electra->forward(in);
  out.logits = classifier->forward(dropout->forward(out.last_hidden_state));
  if (in.labels.defined()) out.loss = blocks::flat_cross_entropy(out.logits, in.labels, "electra");
  return out;
}

ForQuestionAnswering::ForQuestionAnswering(const ElectraConfig& c) {
  TZ_CHECK(c.num_labels() == 2, "electra: question answering needs num_labels 2 (start, end), got ", c.num_labels());
  electra = register_module("electra", std::make_shared<ElectraModel>(c));
  qa_outputs = register_module("qa_outputs", std::make_shared<nn::Linear>(c.hidden_size, c.num_labels()));
}

Output ForQuestionAnswering::forward(const Inputs& in) {
  Output out = electra->forward(in);
  blocks::span_outputs(qa_outputs->forward(out.last_hidden_state), in, out, "electra");
  return out;
}

}  // namespace tz::electra
