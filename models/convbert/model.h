// ConvBertModel (the base model) and ConvBertPreTrainedModel, what every ConvBERT class shares:
// the config, the "convbert" prefix, HF's initialisation of ConvBERT's own layers and the FLOP
// count. Heads: heads.h. The family's registry entry: family.h.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "models/convbert/config.h"
#include "models/blocks/embeddings.h"
#include "models/convbert/encoder.h"
#include "models/model.h"
#include "nn/layers.h"

namespace tz::convbert {

class ConvBertModel;

/// HF's ConvBertPreTrainedModel: the base of the base model and of every head.
class ConvBertPreTrainedModel : public models::PreTrainedModel {
 public:
  const ConvBertConfig& config() const override = 0;
  std::string base_model_prefix() const override { return "convbert"; }
  bool ignorable_unexpected_key(const std::string& key) const override;
  double forward_flops(int64_t B, int64_t T) const override;
  std::shared_ptr<nn::Module> embedding_layer() const override;
  void set_embedding_layer(std::shared_ptr<nn::Module> layer) override;
  /// GroupedLinear (normal weights, zero bias), SeparableConv1D (zero bias) and its depthwise and
  /// pointwise convolutions (normal weights, as HF's SeparableConv1D draws them when built).
  void init_family_module(const std::string& name, nn::Module& module, Generator& gen) override;

};

class ConvBertModel : public ConvBertPreTrainedModel {
 public:
  explicit ConvBertModel(const ConvBertConfig& config);
  /// Checks the inputs, fills HF's defaults and runs embeddings -> (embeddings_project) -> encoder.
  /// Two implementations of that math: with grad mode off, the model in eval mode and only the last
  /// hidden state asked for, it takes the graph-free path (inference.h: can_use_inference_path has
  /// the full list of conditions; models::set_inference_path_enabled(false), TZ_INFERENCE_PATH=0
  /// or the CLI's --plain-path turn it off); otherwise the modules below run op by op, recording a graph when grad mode is on. The two
  /// agree to float rounding (tests/models/test_inference_path.cpp).
  models::Output forward(const models::Inputs& inputs) override;
  std::string architecture() const override { return "ConvBertModel"; }
  models::Task task() const override { return models::Task::Base; }
  const ConvBertConfig& config() const override { return config_; }

  std::shared_ptr<blocks::Embeddings> embeddings;  // BERT's, at embedding_size, positions added before token types
  std::shared_ptr<nn::Linear> embeddings_project;  // only when embedding_size != hidden_size
  std::shared_ptr<Encoder> encoder;

 private:
  ConvBertConfig config_;
};

}  // namespace tz::convbert
