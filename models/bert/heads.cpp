// The BERT task heads; see heads.h. HF: modeling_bert.py, BertLMPredictionHead, BertOnlyMLMHead,
// BertPreTrainingHeads, BertOnlyNSPHead and the BertFor* classes.
#include "models/bert/heads.h"

#include "autograd/ops.h"
#include "models/blocks/inputs.h"
#include "models/blocks/task_losses.h"

namespace tz::bert {

using models::Inputs;
using models::Output;

// ---- the "cls" module -------------------------------------------------------------------------------
LMPredictionHead::LMPredictionHead(const BertConfig& c) {
  blocks::PredictionTransformOptions t;
  t.in = t.out = c.hidden_size;
  t.activation = c.hidden_act;
  t.layer_norm_eps = c.layer_norm_eps;
  transform = register_module("transform", std::make_shared<blocks::PredictionTransform>(t));
  decoder = register_module("decoder", std::make_shared<nn::Linear>(c.hidden_size, c.vocab_size, /*bias=*/false));
  bias = register_parameter("bias", raw::zeros({c.vocab_size}));
  decoder->bias = decoder->register_parameter("bias", bias);
}

Tensor LMPredictionHead::forward(const Tensor& h) { return decoder->forward(transform->forward(h)); }

ClsHeads::ClsHeads(const BertConfig& c, bool masked_lm, bool next_sentence) {
  if (masked_lm) predictions = register_module("predictions", std::make_shared<LMPredictionHead>(c));
  if (next_sentence) seq_relationship = register_module("seq_relationship", std::make_shared<nn::Linear>(c.hidden_size, 2));
}

std::vector<std::pair<std::string, std::string>> WithLMHead::tied_weights() const {
  std::vector<std::pair<std::string, std::string>> tied{{"cls.predictions.decoder.bias", "cls.predictions.bias"}};
  if (config().tie_word_embeddings)
    tied.emplace_back("cls.predictions.decoder.weight", "bert.embeddings.word_embeddings.weight");
  return tied;
}

void WithLMHead::tie_weights() {
  LMPredictionHead& p = *cls->predictions;
  p.decoder->bias = p.decoder->register_parameter("bias", p.bias);
  if (config().tie_word_embeddings) p.decoder->tie_weight(bert->embeddings->word_embeddings->weight);
}

// ---- pretraining heads ------------------------------------------------------------------------------
ForMaskedLM::ForMaskedLM(const BertConfig& c) {
  bert = register_module("bert", std::make_shared<BertModel>(c, /*add_pooling_layer=*/false));
  cls = register_module("cls", std::make_shared<ClsHeads>(c, true, false));
  tie_weights();
}

Output ForMaskedLM::forward(const Inputs& in) {
  Output out = bert->forward(in);
  blocks::masked_lm_outputs(out, in, config().vocab_size, [&](const Tensor& h) { return cls->predictions->forward(h); },
                            "bert");
  return out;
}

ForPreTraining::ForPreTraining(const BertConfig& c) {
  bert = register_module("bert", std::make_shared<BertModel>(c));
  cls = register_module("cls", std::make_shared<ClsHeads>(c, true, true));
  tie_weights();
}

Output ForPreTraining::forward(const Inputs& in) {
  Output out = bert->forward(in);
  out.prediction_logits = cls->predictions->forward(out.last_hidden_state);
  out.seq_relationship_logits = cls->seq_relationship->forward(out.pooler_output);
  if (in.labels.defined() && in.next_sentence_label.defined())
    out.loss = add(blocks::flat_cross_entropy(out.prediction_logits, in.labels, "bert"),
                   blocks::flat_cross_entropy(out.seq_relationship_logits, in.next_sentence_label, "bert"));
  return out;
}

ForNextSentencePrediction::ForNextSentencePrediction(const BertConfig& c) {
  bert = register_module("bert", std::make_shared<BertModel>(c));
  cls = register_module("cls", std::make_shared<ClsHeads>(c, false, true));
}

Output ForNextSentencePrediction::forward(const Inputs& in) {
  Output out = bert->forward(in);
  out.logits = cls->seq_relationship->forward(out.pooler_output);
  const Tensor& labels = in.labels.defined() ? in.labels : in.next_sentence_label;
  if (labels.defined()) out.loss = blocks::flat_cross_entropy(out.logits, labels, "bert");
  return out;
}

// ---- fine-tuning heads ------------------------------------------------------------------------------
ForSequenceClassification::ForSequenceClassification(const BertConfig& c) {
  bert = register_module("bert", std::make_shared<BertModel>(c));
  dropout = register_module("dropout", std::make_shared<nn::Dropout>(c.classifier_dropout_prob()));
  classifier = register_module("classifier", std::make_shared<nn::Linear>(c.hidden_size, c.num_labels()));
}

Output ForSequenceClassification::forward(const Inputs& in) {
  Output out = bert->forward(in);
  out.logits = classifier->forward(dropout->forward(out.pooler_output));
  if (in.labels.defined()) out.loss = blocks::sequence_classification_loss(config(), out.logits, in.labels, "bert");
  return out;
}

ForMultipleChoice::ForMultipleChoice(const BertConfig& c) {
  bert = register_module("bert", std::make_shared<BertModel>(c));
  dropout = register_module("dropout", std::make_shared<nn::Dropout>(c.classifier_dropout_prob()));
  classifier = register_module("classifier", std::make_shared<nn::Linear>(c.hidden_size, 1));
}

Output ForMultipleChoice::forward(const Inputs& in) {
  int64_t C = 0;
  Output out = bert->forward(blocks::flatten_choices(in, "bert", &C));
  out.logits = reshape(classifier->forward(dropout->forward(out.pooler_output)), {-1, C});
  if (in.labels.defined()) out.loss = blocks::flat_cross_entropy(out.logits, in.labels, "bert");
  return out;
}

ForTokenClassification::ForTokenClassification(const BertConfig& c) {
  bert = register_module("bert", std::make_shared<BertModel>(c, /*add_pooling_layer=*/false));
  dropout = register_module("dropout", std::make_shared<nn::Dropout>(c.classifier_dropout_prob()));
  classifier = register_module("classifier", std::make_shared<nn::Linear>(c.hidden_size, c.num_labels()));
}

Output ForTokenClassification::forward(const Inputs& in) {
  Output out = bert->forward(in);
  out.logits = classifier->forward(dropout->forward(out.last_hidden_state));
  if (in.labels.defined()) out.loss = blocks::flat_cross_entropy(out.logits, in.labels, "bert");
  return out;
}

ForQuestionAnswering::ForQuestionAnswering(const BertConfig& c) {
  TZ_CHECK(c.num_labels() == 2, "bert: question answering needs num_labels 2 (start, end), got ", c.num_labels());
  bert = register_module("bert", std::make_shared<BertModel>(c, /*add_pooling_layer=*/false));
  qa_outputs = register_module("qa_outputs", std::make_shared<nn::Linear>(c.hidden_size, c.num_labels()));
}

Output ForQuestionAnswering::forward(const Inputs& in) {
  Output out = bert->forward(in);
  blocks::span_outputs(qa_outputs->forward(out.last_hidden_state), in, out, "bert");
  return out;
}

}  // namespace tz::bert
