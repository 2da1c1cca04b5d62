// BERT's table for HF's TF weights; see tf_weights.h.
// The layer names per head are those of transformers' modeling_tf_bert.py (the classes' attributes
// in construction order). TF has no decoder matrix: the masked-LM logits multiply by the word
// embeddings, and the output bias is the variable mlm___cls/predictions/bias. Dropout numbering:
// one Dropout in the embeddings and three per layer (self-attention, self-output, output) come
// before a head's own.
#include "models/bert/tf_weights.h"

namespace tz::bert {

const models::TfWeightsTable& tf_weights_table() {
  static const models::TfWeightsTable table = [] {
    models::TfWeightsTable t;
    t.base_prefix = "bert";
    t.main_layer = "bert";
    t.base_architecture = "BertModel";
    const std::pair<std::string, std::string> mlm{"cls.predictions", "mlm___cls"};
    const std::pair<std::string, std::string> nsp{"cls.seq_relationship", "nsp___cls"};
    t.heads = {
        {"BertModel", "tf_bert_model", {"bert"}, "", {}},
        {"BertForPreTraining", "tf_bert_for_pre_training", {"bert", "nsp___cls", "mlm___cls"}, "mlm___cls", {mlm, nsp}},
        {"BertForMaskedLM", "tf_bert_for_masked_lm", {"bert", "mlm___cls"}, "mlm___cls", {mlm}},
        {"BertForNextSentencePrediction", "tf_bert_for_next_sentence_prediction", {"bert", "nsp___cls"}, "", {nsp}},
        {"BertForSequenceClassification", "tf_bert_for_sequence_classification", {"bert", "{dropout}", "classifier"},
         "", {}},
        {"BertForMultipleChoice", "tf_bert_for_multiple_choice", {"bert", "{dropout}", "classifier"}, "", {}},
        {"BertForTokenClassification", "tf_bert_for_token_classification", {"bert", "{dropout}", "classifier"}, "", {}},
        {"BertForQuestionAnswering", "tf_bert_for_question_answering", {"bert", "qa_outputs"}, "", {}},
    };
    t.pytorch_only = {"position_ids", "cls.predictions.decoder.weight", "cls.predictions.decoder.bias"};
    t.dropouts_outside_layers = 1;
    t.dropouts_per_layer = 3;
    return t;
  }();
  return table;
}

}  // namespace tz::bert
