// ELECTRA's table for HF's TF weights; see tf_weights.h.
// The layer names per head are those of transformers' modeling_tf_electra.py (the classes'
// attributes in construction order). The sequence classifier's dropout sits inside its
// "classifier" layer and the multiple-choice head's inside "sequence_summary", so only the
// token-classification head has a top-level Dropout; before it come one Dropout in the embeddings
// and three per layer (self-attention, self-output, output).
#include "models/electra/tf_weights.h"

namespace tz::electra {

const models::TfWeightsTable& tf_weights_table() {
  static const models::TfWeightsTable table = [] {
    models::TfWeightsTable t;
    t.base_prefix = "electra";
    t.main_layer = "electra";
    t.base_architecture = "ElectraModel";
    t.heads = {
        {"ElectraModel", "tf_electra_model", {"electra"}, "", {}},
        {"ElectraForPreTraining", "tf_electra_for_pre_training", {"electra", "discriminator_predictions"}, "", {}},
        {"ElectraForMaskedLM", "tf_electra_for_masked_lm", {"electra", "generator_predictions", "generator_lm_head"},
         "generator_lm_head", {}},
        {"ElectraForSequenceClassification", "tf_electra_for_sequence_classification", {"electra", "classifier"}, "",
         {}},
        {"ElectraForMultipleChoice", "tf_electra_for_multiple_choice", {"electra", "sequence_summary", "classifier"},
         "", {}},
        {"ElectraForTokenClassification", "tf_electra_for_token_classification",
         {"electra", "{dropout}", "classifier"}, "", {}},
        {"ElectraForQuestionAnswering", "tf_electra_for_question_answering", {"electra", "qa_outputs"}, "", {}},
    };
    t.pytorch_only = {"position_ids", "generator_lm_head.weight"};
    t.dropouts_outside_layers = 1;
    t.dropouts_per_layer = 3;
    return t;
  }();
  return table;
}

}  // namespace tz::electra
