// ConvBERT's table for HF's TF weights; see tf_weights.h.
// The layer names per head are those of transformers' modeling_tf_convbert.py (the classes'
// attributes in construction order); the Dropout numbering counts the Dropout layers Keras builds
// before the token-classification head's own: one in the embeddings and three per layer
// (self-attention, self-output, output).
#include "models/convbert/tf_weights.h"

namespace tz::convbert {

const models::TfWeightsTable& tf_weights_table() {
  static const models::TfWeightsTable table = [] {
    models::TfWeightsTable t;
    t.base_prefix = "convbert";
    t.main_layer = "convbert";
    t.base_architecture = "ConvBertModel";
    t.heads = {
        {"ConvBertModel", "tf_conv_bert_model", {"convbert"}, "", {}},
        {"ConvBertForMaskedLM", "tf_conv_bert_for_masked_lm",
         {"convbert", "generator_predictions", "generator_lm_head"}, "generator_lm_head", {}},
        {"ConvBertForSequenceClassification", "tf_conv_bert_for_sequence_classification", {"convbert", "classifier"},
         "", {}},
        {"ConvBertForMultipleChoice", "tf_conv_bert_for_multiple_choice",
         {"convbert", "sequence_summary", "classifier"}, "", {}},
        {"ConvBertForTokenClassification", "tf_conv_bert_for_token_classification",
         {"convbert", "{dropout}", "classifier"}, "", {}},
        {"ConvBertForQuestionAnswering", "tf_conv_bert_for_question_answering", {"convbert", "qa_outputs"}, "", {}},
    };
    t.pytorch_only = {"position_ids", "generator_lm_head.weight"};
    t.dropouts_outside_layers = 1;
    t.dropouts_per_layer = 3;
    return t;
  }();
  return table;
}

}  // namespace tz::convbert
