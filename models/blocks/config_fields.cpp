// Reading and writing the shared encoder sizes under HF's common names; see config_fields.h.
#include "models/blocks/config_fields.h"

#include "core/error.h"

namespace tz::blocks {

using nlohmann::json;

void read_encoder_sizes(const json& j, models::PretrainedConfig& c, std::set<std::string>& known) {
  models::read_field(j, "vocab_size", c.vocab_size, known);
  models::read_field(j, "hidden_size", c.hidden_size, known);
  models::read_field(j, "num_hidden_layers", c.num_hidden_layers, known);
  models::read_field(j, "num_attention_heads", c.num_attention_heads, known);
  models::read_field(j, "intermediate_size", c.intermediate_size, known);
  models::read_field(j, "hidden_act", c.hidden_act, known);
  models::read_field(j, "hidden_dropout_prob", c.hidden_dropout_prob, known);
  models::read_field(j, "attention_probs_dropout_prob", c.attention_probs_dropout_prob, known);
  models::read_field(j, "max_position_embeddings", c.max_position_embeddings, known);
  models::read_field(j, "type_vocab_size", c.type_vocab_size, known);
  models::read_field(j, "initializer_range", c.initializer_range, known);
  models::read_field(j, "layer_norm_eps", c.layer_norm_eps, known);
}

void write_encoder_sizes(const models::PretrainedConfig& c, json& j) {
  j["attention_probs_dropout_prob"] = c.attention_probs_dropout_prob;
  j["hidden_act"] = c.hidden_act;
  j["hidden_dropout_prob"] = c.hidden_dropout_prob;
  j["hidden_size"] = c.hidden_size;
  j["initializer_range"] = c.initializer_range;
  j["intermediate_size"] = c.intermediate_size;
  j["layer_norm_eps"] = c.layer_norm_eps;
  j["max_position_embeddings"] = c.max_position_embeddings;
  j["num_attention_heads"] = c.num_attention_heads;
  j["num_hidden_layers"] = c.num_hidden_layers;
  j["type_vocab_size"] = c.type_vocab_size;
  j["vocab_size"] = c.vocab_size;
}

void check_encoder_only(const models::PretrainedConfig& c) {
  for (const char* key : {"is_decoder", "add_cross_attention"}) {
    auto it = c.extra.find(key);
    TZ_CHECK(it == c.extra.end() || !it->is_boolean() || !it->get<bool>(), "config: ", key,
             " is true, but the zoo runs ", c.model_type, " as an encoder only (no causal mask or cross-attention)");
  }
}

}  // namespace tz::blocks
