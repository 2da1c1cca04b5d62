// Shared head layers; see heads.h. HF: modeling_bert.py BertPredictionHeadTransform,
// modeling_electra.py ElectraGeneratorPredictions and ElectraClassificationHead, modeling_utils.py
// SequenceSummary.
#include "models/blocks/heads.h"

#include "autograd/ops.h"
#include "core/error.h"

namespace tz::blocks {

PredictionTransformOptions generator_predictions_options(int64_t hidden_size, int64_t embedding_size,
                                                         double layer_norm_eps) {
  PredictionTransformOptions t;
  t.in = hidden_size;
  t.out = embedding_size;
  t.activation = "gelu";  // HF: the erf form, whatever hidden_act says
  t.layer_norm_eps = layer_norm_eps;
  t.layer_norm_first = true;
  return t;
}

PredictionTransform::PredictionTransform(const PredictionTransformOptions& o) {
  auto make_norm = [&] { layer_norm = register_module("LayerNorm", std::make_shared<nn::LayerNorm>(o.out, o.layer_norm_eps)); };
  if (o.layer_norm_first) make_norm();
  dense = register_module("dense", std::make_shared<nn::Linear>(o.in, o.out));
  if (!o.layer_norm_first) make_norm();
  act = nn::activation(o.activation);
}

Tensor PredictionTransform::forward(const Tensor& x) { return layer_norm->forward(act(dense->forward(x))); }

ClassificationHead::ClassificationHead(int64_t H, int64_t num_labels, double p, const std::string& activation) {
  dense = register_module("dense", std::make_shared<nn::Linear>(H, H));
  dropout = register_module("dropout", std::make_shared<nn::Dropout>(p));
  out_proj = register_module("out_proj", std::make_shared<nn::Linear>(H, num_labels));
  act = nn::activation(activation);
}

Tensor ClassificationHead::forward(const Tensor& h) {
  Tensor x = dropout->forward(select(h, 1, 0));  // the [CLS] position
  x = dropout->forward(act(dense->forward(x)));
  return out_proj->forward(x);
}

SequenceSummary::SequenceSummary(const SequenceSummaryOptions& o) : options(o) {
  const std::string& t = o.summary_type;
  TZ_CHECK(t == "last" || t == "first" || t == "mean" || t == "cls_index", "sequence summary: summary_type '", t,
           "' is not one of last, first, mean, cls_index (HF does not implement attn either)");
  if (o.use_proj)
    summary = register_module("summary", std::make_shared<nn::Linear>(
                                             o.hidden_size, o.proj_to_labels && o.num_labels > 0 ? o.num_labels : o.hidden_size));
  if (!o.activation.empty()) act = nn::activation(o.activation);
  if (o.first_dropout > 0) first_dropout = register_module("first_dropout", std::make_shared<nn::Dropout>(o.first_dropout));
  if (o.last_dropout > 0) last_dropout = register_module("last_dropout", std::make_shared<nn::Dropout>(o.last_dropout));
}

Tensor SequenceSummary::forward(const Tensor& h) {
  const std::string& t = options.summary_type;
  Tensor x = t == "first" ? select(h, 1, 0) : t == "mean" ? mean(h, {1}) : select(h, 1, h.size(1) - 1);
  if (first_dropout) x = first_dropout->forward(x);
  if (summary) x = summary->forward(x);
  if (act) x = act(x);
  if (last_dropout) x = last_dropout->forward(x);
  return x;
}

}  // namespace tz::blocks
