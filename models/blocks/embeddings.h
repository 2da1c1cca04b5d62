// Token embeddings as HF's BertEmbeddings computes them: word + token-type + position embeddings,
// LayerNorm, dropout, with the position_ids buffer HF keeps. BERT uses it at hidden_size, ELECTRA
// and ConvBERT at embedding_size (their projection to hidden_size follows, in their model.cpp),
// DistilBERT without token types and with a non-persistent buffer. Parameter names are HF's
// (word_embeddings, position_embeddings, token_type_embeddings, LayerNorm).
// Not here: DistilBERT's sinusoidal table (models/distilbert/), the encoder (encoder.h).
#pragma once

#include <cstdint>
#include <memory>

#include "models/config.h"
#include "models/model.h"
#include "nn/layers.h"
#include "nn/module.h"

namespace tz::blocks {

struct EmbeddingsOptions {
  int64_t vocab_size = 30522;
  int64_t embedding_size = 768;
  int64_t max_position_embeddings = 512;
  int64_t type_vocab_size = 2;  // 0: no token_type_embeddings (DistilBERT)
  int64_t pad_token_id = 0;     // padding_idx of word_embeddings
  double layer_norm_eps = 1e-12;
  double dropout = 0.1;
  /// BERT, ELECTRA and ConvBERT save position_ids in their state dict; DistilBERT does not.
  bool position_ids_persistent = true;
  /// The order of the float sum, which HF's families differ in (the last bit of the result
  /// depends on it): BERT and ELECTRA add (word + token type) + position, ConvBERT
  /// (word + position) + token type.
  bool positions_before_token_types = false;

  /// The shared config's sizes, at `embedding_size` features.
  static EmbeddingsOptions from(const models::PretrainedConfig& config, int64_t embedding_size);
};

class Embeddings : public nn::Module {
 public:
  explicit Embeddings(const EmbeddingsOptions& options);
  /// input_ids [B, T] int64 (or inputs_embeds [B, T, E] instead); token_type_ids and position_ids
  /// [B, T] int64 or undefined (zeros; 0..T-1). token_type_ids is ignored when the embeddings have
  /// no token types. Returns [B, T, E].
  Tensor forward(const Tensor& input_ids, const Tensor& token_type_ids, const Tensor& position_ids,
                 const Tensor& inputs_embeds);

  EmbeddingsOptions options;
  std::shared_ptr<nn::Embedding> word_embeddings, position_embeddings;
  std::shared_ptr<nn::Embedding> token_type_embeddings;  // null when type_vocab_size == 0
  std::shared_ptr<nn::LayerNorm> layer_norm;             // HF name "LayerNorm"
  std::shared_ptr<nn::Dropout> dropout;
  Tensor position_ids;  // int64 [1, max_position_embeddings]
};

/// `layer` as Embeddings when its tables have the shapes of `current`'s, for a model that takes
/// another model's embedding layer as its own (PreTrainedModel::set_embedding_layer); throws naming
/// `who` and both models' shapes otherwise.
std::shared_ptr<Embeddings> same_shaped_embeddings(const std::shared_ptr<nn::Module>& layer, const Embeddings& current,
                                                   const std::string& who);

/// PreTrainedModel::embedding_layer and set_embedding_layer for a family whose base model `Base`
/// holds these embeddings as its member `embeddings` (registered as "embeddings"); setting re-ties
/// the model's tied weights to the new tables.
template <class Base>
std::shared_ptr<nn::Module> embedding_layer_of(const models::PreTrainedModel& model) {
  return models::base_model_of<Base>(model).embeddings;
}
template <class Base>
void set_embedding_layer_of(models::PreTrainedModel& model, const std::shared_ptr<nn::Module>& layer) {
  Base& base = models::base_model_of<Base>(model);
  base.embeddings = base.register_module("embeddings", same_shaped_embeddings(layer, *base.embeddings, model.architecture()));
  model.tie_weights();
}

}  // namespace tz::blocks
