// The encoder sizes of models/config.h as config.json spells them in the families that use HF's
// common names (BERT, ELECTRA, ConvBERT): reading them with HF's defaults kept for absent keys,
// and writing them back. Not here: a family's own fields (models/<family>/config.*), DistilBERT's
// spelling (dim, n_layers, ...; models/distilbert/config.cpp).
#pragma once

#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "models/config.h"

namespace tz::blocks {

/// Reads vocab_size, hidden_size, num_hidden_layers, num_attention_heads, intermediate_size,
/// hidden_act, hidden_dropout_prob, attention_probs_dropout_prob, max_position_embeddings,
/// type_vocab_size, initializer_range and layer_norm_eps where present; adds them to `known`.
void read_encoder_sizes(const nlohmann::json& j, models::PretrainedConfig& config, std::set<std::string>& known);
/// Writes the same keys.
void write_encoder_sizes(const models::PretrainedConfig& config, nlohmann::json& j);

/// Throws when config.json turns the encoder into a decoder (is_decoder or add_cross_attention
/// true, kept in config.extra): HF then builds a causal mask and cross-attention, which the zoo
/// does not implement, and the numbers would silently differ.
void check_encoder_only(const models::PretrainedConfig& config);

}  // namespace tz::blocks
