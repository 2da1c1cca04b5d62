// DistilBertModel (embeddings -> transformer) and DistilBertPreTrainedModel, what every DistilBERT
// class shares: the config, the "distilbert" prefix, no token types, the sinusoidal position table.
//
// Inputs the model reads: input_ids (or inputs_embeds), attention_mask, head_mask. token_type_ids
// are ignored when given: DistilBERT has no token-type embeddings and HF's forward takes none, but
// the zoo's generic code (CLI, training) passes the type ids BERT tokenizers produce, so they are
// dropped here rather than refused. position_ids are refused (HF's forward has none; positions are
// 0..T-1). inputs_embeds go to the transformer directly, without positions or LayerNorm, as HF
// 4.19's DistilBertModel does.
// Heads: heads.h; the layer stack: transformer.h; registry entry: family.h.
#pragma once

#include <memory>
#include <string>

#include "models/blocks/embeddings.h"
#include "models/distilbert/config.h"
#include "models/distilbert/transformer.h"
#include "models/model.h"

namespace tz::distilbert {

/// HF's create_sinusoidal_embeddings: table[pos, j] = sin (even j) or cos (odd j) of
/// pos / 10000^(2 * (j / 2) / dim), computed in double and rounded to float32. table [n_pos, dim].
void fill_sinusoidal(const Tensor& table);

/// HF's DistilBertPreTrainedModel: the base of the base model and of every head.
class DistilBertPreTrainedModel : public models::PreTrainedModel {
 public:
  const DistilBertConfig& config() const override = 0;
  std::string base_model_prefix() const override { return "distilbert"; }
  bool takes_token_type_ids() const override { return false; }
  double forward_flops(int64_t B, int64_t T) const override;
  std::shared_ptr<nn::Module> embedding_layer() const override;
  void set_embedding_layer(std::shared_ptr<nn::Module> layer) override;

 protected:
  /// With sinusoidal_pos_embds, the position table is put back after the generic init drew it
  /// (HF 4.19 leaves the random values there, a bug later versions fixed; the draws still happen,
  /// so every other weight gets the same numbers as in HF).
  void init_family_module(const std::string& name, nn::Module& module, Generator& gen) override;
};

class DistilBertModel : public DistilBertPreTrainedModel {
 public:
  explicit DistilBertModel(const DistilBertConfig& config);
  /// last_hidden_state [B, T, dim] (+ hidden_states, entry 0 the embeddings output, and attentions
  /// when asked). Keys where attention_mask == 0 get score -inf before the softmax.
  models::Output forward(const models::Inputs& inputs) override;
  std::string architecture() const override { return "DistilBertModel"; }
  models::Task task() const override { return models::Task::Base; }
  const DistilBertConfig& config() const override { return config_; }

  std::shared_ptr<blocks::Embeddings> embeddings;  // no token types; position_ids not saved
  std::shared_ptr<Transformer> transformer;

 private:
  DistilBertConfig config_;
};

}  // namespace tz::distilbert
