// ConvBertEmbeddings; see embeddings.h. HF: modeling_convbert.py, class ConvBertEmbeddings.
#include "models/convbert/embeddings.h"

#include "autograd/ops.h"

namespace tz::convbert {

Embeddings::Embeddings(const ConvBertConfig& c) {
  word_embeddings = register_module("word_embeddings",
                                    std::make_shared<nn::Embedding>(c.vocab_size, c.embedding_size, c.pad_token_id));
  position_embeddings = register_module("position_embeddings",
                                        std::make_shared<nn::Embedding>(c.max_position_embeddings, c.embedding_size));
  token_type_embeddings = register_module("token_type_embeddings",
                                          std::make_shared<nn::Embedding>(c.type_vocab_size, c.embedding_size));
  layer_norm = register_module("LayerNorm", std::make_shared<nn::LayerNorm>(c.embedding_size, c.layer_norm_eps));
  dropout = register_module("dropout", std::make_shared<nn::Dropout>(c.hidden_dropout_prob));
  position_ids = register_buffer("position_ids", raw::reshape(raw::arange(c.max_position_embeddings), {1, -1}));
}

Tensor Embeddings::forward(const Tensor& input_ids, const Tensor& token_type_ids, const Tensor& position_ids_in,
                           const Tensor& inputs_embeds) {
  const Tensor& shape_src = input_ids.defined() ? input_ids : inputs_embeds;
  const int64_t B = shape_src.size(0), T = shape_src.size(1);
  const int64_t max_pos = position_embeddings->weight.size(0);
  TZ_CHECK(T <= max_pos, "convbert: sequence length ", T, " exceeds max_position_embeddings ", max_pos);
  Tensor pos = position_ids_in.defined() ? position_ids_in : raw::slice(position_ids, 1, 0, T);
  Tensor types = token_type_ids.defined() ? token_type_ids : raw::zeros({B, T}, DType::Int64);
  Tensor embeds = inputs_embeds.defined() ? inputs_embeds : word_embeddings->forward(input_ids);
  // Same association order as HF: (inputs + positions) + token types.
  Tensor e = add(add(embeds, position_embeddings->forward(pos)), token_type_embeddings->forward(types));
  return dropout->forward(layer_norm->forward(e));
}

}  // namespace tz::convbert
