// The ConvBERT task heads; see heads.h. HF: modeling_convbert.py, ConvBertFor* classes.
#include "models/convbert/heads.h"

#include "autograd/ops.h"

namespace tz::convbert {

using models::Inputs;
using models::Output;

namespace {
Output run_base(ConvBertModel& base, const Inputs& in) { return base.forward(in); }

// The 2-D view of [N..., C] logits and [N...] labels that CrossEntropyLoss sees.
Tensor flat_cross_entropy(const Tensor& logits, const Tensor& labels, int64_t classes, int64_t ignore_index = -100) {
  TZ_CHECK(labels.dtype() == DType::Int64, "convbert: labels must be int64 class ids, got ", dtype_name(labels.dtype()));
  return cross_entropy(reshape(logits, {-1, classes}), raw::reshape(labels, {-1}), ignore_index);
}
}  // namespace

// ---- masked LM -------------------------------------------------------------------------------------
ForMaskedLM::ForMaskedLM(const ConvBertConfig& c) {
  convbert = register_module("convbert", std::make_shared<ConvBertModel>(c));
  generator_predictions = register_module(
      "generator_predictions", std::make_shared<blocks::PredictionTransform>(
                                   blocks::generator_predictions_options(c.hidden_size, c.embedding_size, c.layer_norm_eps)));
  generator_lm_head = register_module("generator_lm_head", std::make_shared<nn::Linear>(c.embedding_size, c.vocab_size));
  tie_weights();
}

void ForMaskedLM::tie_weights() {
  if (config().tie_word_embeddings) generator_lm_head->tie_weight(convbert->embeddings->word_embeddings->weight);
}

std::vector<std::pair<std::string, std::string>> ForMaskedLM::tied_weights() const {
  if (!config().tie_word_embeddings) return {};
  return {{"generator_lm_head.weight", "convbert.embeddings.word_embeddings.weight"}};
}

Output ForMaskedLM::forward(const Inputs& in) {
  Output out = run_base(*convbert, in);
  if (in.labels.defined() && in.mlm_logits_at_labels_only) {
    TZ_CHECK(in.labels.dtype() == DType::Int64, "convbert: labels must be int64 class ids, got ",
             dtype_name(in.labels.dtype()));
    std::vector<int64_t> labels = raw::contiguous(in.labels).to_vector<int64_t>(), rows, targets;
    for (size_t i = 0; i < labels.size(); ++i) {
      if (labels[i] != -100) rows.push_back(static_cast<int64_t>(i)), targets.push_back(labels[i]);
    }
    if (!rows.empty()) {
      const int64_t n = static_cast<int64_t>(rows.size()), h = out.last_hidden_state.size(-1);
      // Row gather with a scatter-add backward: embedding() over the flattened hidden states.
      Tensor picked = embedding(reshape(out.last_hidden_state, {-1, h}), raw::from_vector(rows, {n}));
      out.logits = generator_lm_head->forward(generator_predictions->forward(picked));
      out.loss = cross_entropy(out.logits, raw::from_vector(targets, {n}), -100);
      return out;
    }
  }
  out.logits = generator_lm_head->forward(generator_predictions->forward(out.last_hidden_state));
  if (in.labels.defined()) out.loss = flat_cross_entropy(out.logits, in.labels, config().vocab_size);
  return out;
}

// ---- sequence classification -----------------------------------------------------------------------
ForSequenceClassification::ForSequenceClassification(const ConvBertConfig& c) {
  convbert = register_module("convbert", std::make_shared<ConvBertModel>(c));
  classifier = register_module("classifier", std::make_shared<blocks::ClassificationHead>(
                                                  c.hidden_size, c.num_labels(), c.classifier_dropout_prob(), c.hidden_act));
}

std::string ForSequenceClassification::problem_type_for(const Tensor& labels) const {
  if (config().problem_type) return *config().problem_type;
  if (config().num_labels() == 1) return "regression";
  return labels.dtype() == DType::Int64 ? "single_label_classification" : "multi_label_classification";
}

Output ForSequenceClassification::forward(const Inputs& in) {
  Output out = run_base(*convbert, in);
  out.logits = classifier->forward(out.last_hidden_state);  // [B, L]
  if (in.labels.defined()) {
    const int64_t L = config().num_labels();
    std::string problem = problem_type_for(in.labels);
    if (problem == "regression") {
      Tensor y = raw::to_dtype(in.labels, DType::Float32);
      // HF squeezes both sides when there is one label; flattening gives the same numbers.
      out.loss = L == 1 ? mse_loss(reshape(out.logits, {-1}), raw::reshape(y, {-1})) : mse_loss(out.logits, y);
    } else if (problem == "single_label_classification") {
      out.loss = flat_cross_entropy(out.logits, in.labels, L);
    } else {
      TZ_CHECK(in.labels.shape() == out.logits.shape(), "convbert: multi-label labels must have shape ",
               shape_str(out.logits.shape()), ", got ", shape_str(in.labels.shape()));
      out.loss = bce_with_logits(out.logits, raw::to_dtype(in.labels, DType::Float32));
    }
  }
  return out;
}

// ---- multiple choice -------------------------------------------------------------------------------
ForMultipleChoice::ForMultipleChoice(const ConvBertConfig& c) {
  convbert = register_module("convbert", std::make_shared<ConvBertModel>(c));
  // HF's SequenceSummary with a ConvBertConfig has no parameters (summary_type "last", no projection).
  classifier = register_module("classifier", std::make_shared<nn::Linear>(c.hidden_size, 1));
}

Output ForMultipleChoice::forward(const Inputs& in) {
  const Tensor& ref = in.input_ids.defined() ? in.input_ids : in.inputs_embeds;
  TZ_CHECK(ref.dim() == (in.input_ids.defined() ? 3 : 4), "convbert: multiple choice expects inputs "
           "[batch, num_choices, seq], got ", shape_str(ref.shape()));
  const int64_t C = ref.size(1);
  auto flat = [](const Tensor& t) { return t.defined() ? raw::reshape(t, {-1, t.size(-1)}) : Tensor(); };
  Inputs f = in;
  f.input_ids = flat(in.input_ids);
  f.attention_mask = flat(in.attention_mask);
  f.token_type_ids = flat(in.token_type_ids);
  f.position_ids = flat(in.position_ids);
  if (in.inputs_embeds.defined()) f.inputs_embeds = reshape(in.inputs_embeds, {-1, in.inputs_embeds.size(-2), in.inputs_embeds.size(-1)});
  Output out = run_base(*convbert, f);
  const int64_t T = out.last_hidden_state.size(1);
  // HF quirk: the summary takes the LAST position, which is padding on short rows.
  Tensor pooled = select(out.last_hidden_state, 1, T - 1);
  out.logits = reshape(classifier->forward(pooled), {-1, C});
  if (in.labels.defined()) out.loss = flat_cross_entropy(out.logits, in.labels, C);
  return out;
}

// ---- token classification --------------------------------------------------------------------------
ForTokenClassification::ForTokenClassification(const ConvBertConfig& c) {
  convbert = register_module("convbert", std::make_shared<ConvBertModel>(c));
  dropout = register_module("dropout", std::make_shared<nn::Dropout>(c.classifier_dropout_prob()));
  classifier = register_module("classifier", std::make_shared<nn::Linear>(c.hidden_size, c.num_labels()));
}

Output ForTokenClassification::forward(const Inputs& in) {
  Output out = run_base(*convbert, in);
  out.logits = classifier->forward(dropout->forward(out.last_hidden_state));
  if (in.labels.defined()) out.loss = flat_cross_entropy(out.logits, in.labels, config().num_labels());
  return out;
}

// ---- question answering ----------------------------------------------------------------------------
ForQuestionAnswering::ForQuestionAnswering(const ConvBertConfig& c) {
  TZ_CHECK(c.num_labels() == 2, "convbert: question answering needs num_labels 2 (start, end), got ", c.num_labels());
  convbert = register_module("convbert", std::make_shared<ConvBertModel>(c));
  qa_outputs = register_module("qa_outputs", std::make_shared<nn::Linear>(c.hidden_size, c.num_labels()));
}

Output ForQuestionAnswering::forward(const Inputs& in) {
  Output out = run_base(*convbert, in);
  Tensor logits = qa_outputs->forward(out.last_hidden_state);  // [B, T, 2]
  out.start_logits = contiguous(select(logits, -1, 0));
  out.end_logits = contiguous(select(logits, -1, 1));
  if (in.start_positions.defined() && in.end_positions.defined()) {
    const int64_t T = out.start_logits.size(1);
    // HF clamps positions into [0, T] and ignores T: positions outside the input drop out.
    auto clamp = [T](const Tensor& p) {
      TZ_CHECK(p.dtype() == DType::Int64, "convbert: start/end positions must be int64");
      std::vector<int64_t> v = raw::contiguous(p).to_vector<int64_t>();
      for (auto& x : v) x = std::min<int64_t>(std::max<int64_t>(x, 0), T);
      return raw::from_vector(v, {static_cast<int64_t>(v.size())});
    };
    Tensor start_loss = cross_entropy(out.start_logits, clamp(in.start_positions), T);
    Tensor end_loss = cross_entropy(out.end_logits, clamp(in.end_positions), T);
    out.loss = div(add(start_loss, end_loss), raw::scalar(2.f));
  }
  return out;
}

}  // namespace tz::convbert
