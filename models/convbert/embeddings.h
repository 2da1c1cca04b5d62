// ConvBertEmbeddings: word + position + token-type embeddings, LayerNorm, dropout. Mirrors HF's
// class of the same name, including the persistent `position_ids` buffer HF saves in its state dict.
#pragma once

#include <memory>

#include "models/convbert/config.h"
#include "nn/layers.h"
#include "nn/module.h"

namespace tz::convbert {

class Embeddings : public nn::Module {
 public:
  explicit Embeddings(const ConvBertConfig& config);
  /// input_ids [B, T] (or inputs_embeds [B, T, E]); token_type_ids / position_ids [B, T] or
  /// undefined (zeros / 0..T-1). Returns [B, T, embedding_size].
  Tensor forward(const Tensor& input_ids, const Tensor& token_type_ids, const Tensor& position_ids,
                 const Tensor& inputs_embeds);

  std::shared_ptr<nn::Embedding> word_embeddings, position_embeddings, token_type_embeddings;
  std::shared_ptr<nn::LayerNorm> layer_norm;  // HF name "LayerNorm"
  std::shared_ptr<nn::Dropout> dropout;
  Tensor position_ids;  // int64 [1, max_position_embeddings], persistent buffer
};

}  // namespace tz::convbert
