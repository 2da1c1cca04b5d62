// Token embeddings; see embeddings.h. HF: modeling_bert.py BertEmbeddings (and its copies in
// modeling_electra.py, modeling_convbert.py; modeling_distilbert.py Embeddings).
#include "models/blocks/embeddings.h"

#include "autograd/ops.h"
#include "core/error.h"

namespace tz::blocks {

EmbeddingsOptions EmbeddingsOptions::from(const models::PretrainedConfig& c, int64_t embedding_size) {
  EmbeddingsOptions o;
  o.vocab_size = c.vocab_size;
  o.embedding_size = embedding_size;
  o.max_position_embeddings = c.max_position_embeddings;
  o.type_vocab_size = c.type_vocab_size;
  o.pad_token_id = c.pad_token_id;
  o.layer_norm_eps = c.layer_norm_eps;
  o.dropout = c.hidden_dropout_prob;
  return o;
}

Embeddings::Embeddings(const EmbeddingsOptions& o) : options(o) {
  const int64_t E = o.embedding_size;
  word_embeddings = register_module("word_embeddings", std::make_shared<nn::Embedding>(o.vocab_size, E, o.pad_token_id));
  position_embeddings = register_module("position_embeddings", std::make_shared<nn::Embedding>(o.max_position_embeddings, E));
  if (o.type_vocab_size > 0)
    token_type_embeddings = register_module("token_type_embeddings", std::make_shared<nn::Embedding>(o.type_vocab_size, E));
  layer_norm = register_module("LayerNorm", std::make_shared<nn::LayerNorm>(E, o.layer_norm_eps));
  dropout = register_module("dropout", std::make_shared<nn::Dropout>(o.dropout));
  position_ids = register_buffer("position_ids", raw::reshape(raw::arange(o.max_position_embeddings), {1, -1}),
                                 o.position_ids_persistent);
}

Tensor Embeddings::forward(const Tensor& input_ids, const Tensor& token_type_ids, const Tensor& position_ids_in,
                           const Tensor& inputs_embeds) {
  const Tensor& shape_src = input_ids.defined() ? input_ids : inputs_embeds;
  TZ_CHECK(shape_src.defined() && shape_src.dim() >= 2, "embeddings: expected input_ids [batch, seq] or inputs_embeds "
           "[batch, seq, ", options.embedding_size, "]");
  const int64_t B = shape_src.size(0), T = shape_src.size(1);
  TZ_CHECK(T <= options.max_position_embeddings, "embeddings: sequence length ", T,
           " exceeds max_position_embeddings ", options.max_position_embeddings);
  Tensor pos = position_ids_in.defined() ? position_ids_in : raw::slice(position_ids, 1, 0, T);
  Tensor e = inputs_embeds.defined() ? inputs_embeds : word_embeddings->forward(input_ids);
  if (!token_type_embeddings) {
    e = add(e, position_embeddings->forward(pos));
  } else {
    Tensor types = token_type_ids.defined() ? token_type_ids : raw::zeros({B, T}, DType::Int64);
    if (options.positions_before_token_types)
      e = add(add(e, position_embeddings->forward(pos)), token_type_embeddings->forward(types));
    else
      e = add(add(e, token_type_embeddings->forward(types)), position_embeddings->forward(pos));
  }
  return dropout->forward(layer_norm->forward(e));
}

std::shared_ptr<Embeddings> same_shaped_embeddings(const std::shared_ptr<nn::Module>& layer, const Embeddings& current,
                                                   const std::string& who) {
  auto e = std::dynamic_pointer_cast<Embeddings>(layer);
  TZ_CHECK(e, who, ": the shared embedding layer must be a BERT-style embedding layer");
  auto shapes = [](const Embeddings& x) {
    std::string s = "word " + shape_str(x.word_embeddings->weight.shape()) + ", position " +
                    shape_str(x.position_embeddings->weight.shape());
    if (x.token_type_embeddings) s += ", token type " + shape_str(x.token_type_embeddings->weight.shape());
    return s;
  };
  TZ_CHECK(shapes(*e) == shapes(current), who, ": the shared embedding layer's tables (", shapes(*e),
           ") do not match this model's (", shapes(current), ")");
  return e;
}

}  // namespace tz::blocks
