// DistilBertConfig parsing, validation, writing and named sizes; see config.h.
#include "models/distilbert/config.h"

#include <set>

#include "core/error.h"

namespace tz::distilbert {

using nlohmann::json;

DistilBertConfig::DistilBertConfig() {
  model_type = "distilbert";
  num_hidden_layers = 6;
  type_vocab_size = 0;
  layer_norm_eps = 1e-12;
}

void DistilBertConfig::validate() const {
  models::PretrainedConfig::validate();
  TZ_CHECK(type_vocab_size == 0, "config: DistilBERT has no token types (type_vocab_size 0), got ", type_vocab_size);
  TZ_CHECK(hidden_size % num_attention_heads == 0, "config: n_heads ", num_attention_heads, " must divide dim ",
           hidden_size);
  for (auto [name, p] : {std::pair{"seq_classif_dropout", seq_classif_dropout}, std::pair{"qa_dropout", qa_dropout}})
    TZ_CHECK(p >= 0.0 && p < 1.0, "config: ", name, " must be in [0, 1), got ", p);
}

DistilBertConfig DistilBertConfig::from_json(const json& j) {
  DistilBertConfig c;
  std::set<std::string> known;
  c.read_common(j, known);
  TZ_CHECK(c.model_type == "distilbert", "config.json: model_type '", c.model_type,
           "' is not DistilBERT (expected 'distilbert')");
  models::read_field(j, "vocab_size", c.vocab_size, known);
  models::read_field(j, "max_position_embeddings", c.max_position_embeddings, known);
  models::read_field(j, "sinusoidal_pos_embds", c.sinusoidal_pos_embds, known);
  models::read_field(j, "n_layers", c.num_hidden_layers, known);
  models::read_field(j, "n_heads", c.num_attention_heads, known);
  models::read_field(j, "dim", c.hidden_size, known);
  models::read_field(j, "hidden_dim", c.intermediate_size, known);
  models::read_field(j, "dropout", c.hidden_dropout_prob, known);
  models::read_field(j, "attention_dropout", c.attention_probs_dropout_prob, known);
  models::read_field(j, "activation", c.hidden_act, known);
  models::read_field(j, "initializer_range", c.initializer_range, known);
  models::read_field(j, "qa_dropout", c.qa_dropout, known);
  models::read_field(j, "seq_classif_dropout", c.seq_classif_dropout, known);
  // HF's attribute_map: the common names set DistilBERT's fields (after them, so they win).
  models::read_field(j, "hidden_size", c.hidden_size, known);
  models::read_field(j, "num_attention_heads", c.num_attention_heads, known);
  models::read_field(j, "num_hidden_layers", c.num_hidden_layers, known);
  c.keep_unknown_keys(j, known);
  return c;
}

json DistilBertConfig::to_json() const {
  json j = extra;
  write_common(j);
  j["activation"] = hidden_act;
  j["attention_dropout"] = attention_probs_dropout_prob;
  j["dim"] = hidden_size;
  j["dropout"] = hidden_dropout_prob;
  j["hidden_dim"] = intermediate_size;
  j["initializer_range"] = initializer_range;
  j["max_position_embeddings"] = max_position_embeddings;
  j["n_heads"] = num_attention_heads;
  j["n_layers"] = num_hidden_layers;
  j["qa_dropout"] = qa_dropout;
  j["seq_classif_dropout"] = seq_classif_dropout;
  j["sinusoidal_pos_embds"] = sinusoidal_pos_embds;
  j["vocab_size"] = vocab_size;
  return j;
}

DistilBertConfig DistilBertConfig::named(const std::string& name) {
  TZ_CHECK(name == "base", "config: unknown named DistilBERT size '", name, "' (expected base)");
  return DistilBertConfig();  // HF's defaults are distilbert-base-uncased
}

}  // namespace tz::distilbert
