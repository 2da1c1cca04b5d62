// DistilBERT's table for HF's TF weights; see tf_weights.h.
// The layer names per head are those of transformers' modeling_tf_distilbert.py (the classes'
// attributes in construction order: the sequence classifier builds its Dropout last, the
// question-answering head after qa_outputs). Dropout numbering: one Dropout in the embeddings and
// three per transformer block (the block's, the attention's, the feed-forward's) come before a
// head's own.
#include "models/distilbert/tf_weights.h"

namespace tz::distilbert {

const models::TfWeightsTable& tf_weights_table() {
  static const models::TfWeightsTable table = [] {
    models::TfWeightsTable t;
    t.base_prefix = "distilbert";
    t.main_layer = "distilbert";
    t.base_architecture = "DistilBertModel";
    t.heads = {
        {"DistilBertModel", "tf_distil_bert_model", {"distilbert"}, "", {}},
        {"DistilBertForMaskedLM", "tf_distil_bert_for_masked_lm",
         {"distilbert", "vocab_transform", "vocab_layer_norm", "vocab_projector"}, "vocab_projector", {}},
        {"DistilBertForSequenceClassification", "tf_distil_bert_for_sequence_classification",
         {"distilbert", "pre_classifier", "classifier", "{dropout}"}, "", {}},
        {"DistilBertForMultipleChoice", "tf_distil_bert_for_multiple_choice",
         {"distilbert", "{dropout}", "pre_classifier", "classifier"}, "", {}},
        {"DistilBertForTokenClassification", "tf_distil_bert_for_token_classification",
         {"distilbert", "{dropout}", "classifier"}, "", {}},
        {"DistilBertForQuestionAnswering", "tf_distil_bert_for_question_answering",
         {"distilbert", "qa_outputs", "{dropout}"}, "", {}},
    };
    t.pytorch_only = {"position_ids", "vocab_projector.weight"};
    t.dropouts_outside_layers = 1;
    t.dropouts_per_layer = 3;
    return t;
  }();
  return table;
}

}  // namespace tz::distilbert
