// Head layers several families share, with HF's parameter names:
//   PredictionTransform  dense -> activation -> LayerNorm: BERT's cls.predictions.transform,
//                        ELECTRA's and ConvBERT's generator_predictions
//   ClassificationHead   [CLS] -> dropout -> dense -> activation -> dropout -> out_proj: ELECTRA's
//                        and ConvBERT's sequence classifier
//   SequenceSummary      HF's SequenceSummary (modeling_utils.py), configured by summary_* fields:
//                        ELECTRA's and ConvBERT's multiple-choice pooling
// Not here: BERT's pooler and heads (models/bert/), DistilBERT's heads (models/distilbert/), the
// losses (task_losses.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "nn/layers.h"
#include "nn/module.h"

namespace tz::blocks {

struct PredictionTransformOptions {
  int64_t in = 768, out = 768;
  std::string activation = "gelu";  // an HF activation name (nn::activation)
  double layer_norm_eps = 1e-12;
  /// ELECTRA and ConvBERT register LayerNorm before dense (visible in named_parameters() and in the
  /// order initialisation draws); BERT registers dense first.
  bool layer_norm_first = false;
};

/// The generator's prediction transform of ELECTRA and ConvBERT (HF's *GeneratorPredictions):
/// hidden -> embedding size, the erf GELU whatever hidden_act says, LayerNorm registered first.
PredictionTransformOptions generator_predictions_options(int64_t hidden_size, int64_t embedding_size,
                                                         double layer_norm_eps);

class PredictionTransform : public nn::Module {
 public:
  explicit PredictionTransform(const PredictionTransformOptions& options);
  /// [..., in] -> [..., out]
  Tensor forward(const Tensor& x);

  std::shared_ptr<nn::Linear> dense;
  std::shared_ptr<nn::LayerNorm> layer_norm;  // HF name "LayerNorm"
  nn::Activation act;
};

class ClassificationHead : public nn::Module {
 public:
  ClassificationHead(int64_t hidden_size, int64_t num_labels, double dropout, const std::string& activation);
  /// h [B, T, H] (position 0 is read) -> logits [B, num_labels].
  Tensor forward(const Tensor& h);

  std::shared_ptr<nn::Linear> dense, out_proj;
  std::shared_ptr<nn::Dropout> dropout;
  nn::Activation act;
};

struct SequenceSummaryOptions {
  int64_t hidden_size = 768;
  int64_t num_labels = 2;
  /// "last", "first", "mean" or "cls_index" (without an index HF takes the last position too);
  /// "attn" is not implemented in HF either.
  std::string summary_type = "last";
  bool use_proj = false;         // summary: Linear(hidden, hidden or num_labels)
  bool proj_to_labels = false;   // the projection goes to num_labels
  std::string activation;        // "" : none
  double first_dropout = 0, last_dropout = 0;
};

class SequenceSummary : public nn::Module {
 public:
  explicit SequenceSummary(const SequenceSummaryOptions& options);
  /// h [B, T, H] -> [B, H] (or [B, num_labels] with proj_to_labels).
  Tensor forward(const Tensor& h);

  SequenceSummaryOptions options;
  std::shared_ptr<nn::Linear> summary;                     // null without use_proj
  std::shared_ptr<nn::Dropout> first_dropout, last_dropout;  // null when their probability is 0
  nn::Activation act;                                        // empty without an activation
};

}  // namespace tz::blocks
