// ConvBertModel (the base model) and the inputs/outputs every ConvBERT head shares.
// Heads: heads.h. Loading and saving HF model directories: pretrained.h.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "models/convbert/config.h"
#include "models/convbert/embeddings.h"
#include "models/convbert/encoder.h"
#include "nn/layers.h"
#include "nn/module.h"

namespace tz::convbert {

/// What a forward pass takes; every tensor but one of input_ids / inputs_embeds is optional.
/// Shapes are [B, T] ([B, C, T] for multiple choice), int64 except where noted.
struct Inputs {
  Tensor input_ids;
  Tensor attention_mask;   // 1 = real token, 0 = padding (int64 or float32); default all ones
  Tensor token_type_ids;   // default zeros
  Tensor position_ids;     // default 0..T-1
  Tensor inputs_embeds;    // float32 [B, T, embedding_size], instead of input_ids
  Tensor head_mask;        // float32 [heads] or [num_layers, heads]; 1 keeps a head, 0 drops it
  // Labels (heads compute their loss when given)
  Tensor labels;           // MLM/token-cls [B, T]; seq-cls [B] (int64) or [B, L] (float, multi-label) or [B] float (regression); MC [B]
  Tensor start_positions;  // QA [B]
  Tensor end_positions;    // QA [B]
  bool output_hidden_states = false;
  bool output_attentions = false;
  /// Masked LM with labels: run the prediction head only at the labelled positions (labels !=
  /// -100). The loss is HF's (the same per-position terms, the same mean) at a fraction of the
  /// head's cost and memory (15% of positions in pretraining); Output::logits is then [N, V] over
  /// those positions in row-major order. A training option; HF always computes all positions.
  bool mlm_logits_at_labels_only = false;
};

/// What every head returns (fields a head does not produce stay undefined).
struct Output {
  Tensor loss;               // 0-dim, when labels were given
  Tensor logits;             // head output ([B, T, V], [B, L], [B, C], [B, T, L]); base model: undefined
  Tensor start_logits, end_logits;  // QA [B, T]
  Tensor last_hidden_state;  // [B, T, H]
  std::vector<Tensor> hidden_states;  // embeddings output + each layer's output (output_hidden_states)
  std::vector<Tensor> attentions;     // [B, heads, T, T] per layer (output_attentions)
};

/// What every ConvBERT class (base model and heads) offers: one forward over Inputs, the HF
/// architecture name it stands for, and its config.
class PreTrainedModel : public nn::Module {
 public:
  virtual Output forward(const Inputs& inputs) = 0;
  /// HF class name: "ConvBertModel", "ConvBertForMaskedLM", ...
  virtual std::string architecture() const = 0;
  virtual const ConvBertConfig& config() const = 0;
  /// Parameters that share storage with another one under a different name (tied weights), as
  /// {alias name, canonical name}; save_pretrained leaves the aliases out, as HF does.
  virtual std::vector<std::pair<std::string, std::string>> tied_weights() const { return {}; }
};

class ConvBertModel : public PreTrainedModel {
 public:
  explicit ConvBertModel(const ConvBertConfig& config);
  /// Checks the inputs, fills HF's defaults and runs embeddings -> (embeddings_project) -> encoder.
  /// Two implementations of that math: with grad mode off, the model in eval mode and only the last
  /// hidden state asked for, it takes the graph-free path (inference.h: can_use_inference_path has
  /// the full list of conditions; set_inference_path_enabled(false) or TZ_INFERENCE_PATH=0 turn it
  /// off); otherwise the modules below run op by op, recording a graph when grad mode is on. The two
  /// agree to float rounding (tests/models/test_inference_path.cpp).
  Output forward(const Inputs& inputs) override;
  std::string architecture() const override { return "ConvBertModel"; }
  const ConvBertConfig& config() const override { return config_; }

  std::shared_ptr<Embeddings> embeddings;
  std::shared_ptr<nn::Linear> embeddings_project;  // only when embedding_size != hidden_size
  std::shared_ptr<Encoder> encoder;

 private:
  ConvBertConfig config_;
};

/// HF's extended attention mask: (1 - mask) * finfo(float32).min, shaped [B, 1, 1, T].
Tensor additive_attention_mask(const Tensor& attention_mask);

}  // namespace tz::convbert
