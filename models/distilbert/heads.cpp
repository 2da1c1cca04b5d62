// The DistilBERT task heads; see heads.h. HF: modeling_distilbert.py, the DistilBertFor* classes.
#include "models/distilbert/heads.h"

#include "autograd/ops.h"
#include "models/blocks/inputs.h"
#include "models/blocks/task_losses.h"

namespace tz::distilbert {

using models::Inputs;
using models::Output;

namespace {
constexpr double kLayerNormEps = 1e-12;  // DistilBERT has no layer_norm_eps: HF hard-codes it
}  // namespace

// ---- masked LM --------------------------------------------------------------------------------------
ForMaskedLM::ForMaskedLM(const DistilBertConfig& c) {
  act = nn::activation(c.hidden_act);
  distilbert = register_module("distilbert", std::make_shared<DistilBertModel>(c));
  vocab_transform = register_module("vocab_transform", std::make_shared<nn::Linear>(c.hidden_size, c.hidden_size));
  vocab_layer_norm = register_module("vocab_layer_norm", std::make_shared<nn::LayerNorm>(c.hidden_size, kLayerNormEps));
  vocab_projector = register_module("vocab_projector", std::make_shared<nn::Linear>(c.hidden_size, c.vocab_size));
  tie_weights();
}

std::vector<std::pair<std::string, std::string>> ForMaskedLM::tied_weights() const {
  if (!config().tie_word_embeddings) return {};
  return {{"vocab_projector.weight", "distilbert.embeddings.word_embeddings.weight"}};
}

void ForMaskedLM::tie_weights() {
  if (config().tie_word_embeddings) vocab_projector->tie_weight(distilbert->embeddings->word_embeddings->weight);
}

Output ForMaskedLM::forward(const Inputs& in) {
  Output out = distilbert->forward(in);
  auto head = [&](const Tensor& h) {
    return vocab_projector->forward(vocab_layer_norm->forward(act(vocab_transform->forward(h))));
  };
  blocks::masked_lm_outputs(out, in, config().vocab_size, head, "distilbert");
  return out;
}

// ---- sequence classification and multiple choice ----------------------------------------------------
Tensor classify_first_token(const Tensor& h, nn::Linear& pre_classifier, nn::Dropout& dropout, nn::Linear& classifier) {
  return classifier.forward(dropout.forward(relu(pre_classifier.forward(select(h, 1, 0)))));
}

ForSequenceClassification::ForSequenceClassification(const DistilBertConfig& c) {
  distilbert = register_module("distilbert", std::make_shared<DistilBertModel>(c));
  pre_classifier = register_module("pre_classifier", std::make_shared<nn::Linear>(c.hidden_size, c.hidden_size));
  classifier = register_module("classifier", std::make_shared<nn::Linear>(c.hidden_size, c.num_labels()));
  dropout = register_module("dropout", std::make_shared<nn::Dropout>(c.seq_classif_dropout));
}

Output ForSequenceClassification::forward(const Inputs& in) {
  Output out = distilbert->forward(in);
  out.logits = classify_first_token(out.last_hidden_state, *pre_classifier, *dropout, *classifier);
  if (in.labels.defined())
    out.loss = blocks::sequence_classification_loss(config(), out.logits, in.labels, "distilbert");
  return out;
}

ForMultipleChoice::ForMultipleChoice(const DistilBertConfig& c) {
  distilbert = register_module("distilbert", std::make_shared<DistilBertModel>(c));
  pre_classifier = register_module("pre_classifier", std::make_shared<nn::Linear>(c.hidden_size, c.hidden_size));
  classifier = register_module("classifier", std::make_shared<nn::Linear>(c.hidden_size, 1));
  dropout = register_module("dropout", std::make_shared<nn::Dropout>(c.seq_classif_dropout));
}

Output ForMultipleChoice::forward(const Inputs& in) {
  int64_t C = 0;
  Output out = distilbert->forward(blocks::flatten_choices(in, "distilbert", &C));
  out.logits = reshape(classify_first_token(out.last_hidden_state, *pre_classifier, *dropout, *classifier), {-1, C});
  if (in.labels.defined()) out.loss = blocks::flat_cross_entropy(out.logits, in.labels, "distilbert");
  return out;
}

// ---- token classification and question answering ----------------------------------------------------
ForTokenClassification::ForTokenClassification(const DistilBertConfig& c) {
  distilbert = register_module("distilbert", std::make_shared<DistilBertModel>(c));
  dropout = register_module("dropout", std::make_shared<nn::Dropout>(c.hidden_dropout_prob));
  classifier = register_module("classifier", std::make_shared<nn::Linear>(c.hidden_size, c.num_labels()));
}

Output ForTokenClassification::forward(const Inputs& in) {
  Output out = distilbert->forward(in);
  out.logits = classifier->forward(dropout->forward(out.last_hidden_state));
  if (in.labels.defined()) out.loss = blocks::flat_cross_entropy(out.logits, in.labels, "distilbert");
  return out;
}

ForQuestionAnswering::ForQuestionAnswering(const DistilBertConfig& c) {
  TZ_CHECK(c.num_labels() == 2, "distilbert: question answering needs num_labels 2 (start, end), got ", c.num_labels());
  distilbert = register_module("distilbert", std::make_shared<DistilBertModel>(c));
  qa_outputs = register_module("qa_outputs", std::make_shared<nn::Linear>(c.hidden_size, c.num_labels()));
  dropout = register_module("dropout", std::make_shared<nn::Dropout>(c.qa_dropout));
}

Output ForQuestionAnswering::forward(const Inputs& in) {
  Output out = distilbert->forward(in);
  blocks::span_outputs(qa_outputs->forward(dropout->forward(out.last_hidden_state)), in, out, "distilbert");
  return out;
}

}  // namespace tz::distilbert
