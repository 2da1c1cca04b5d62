// ElectraConfig parsing, validation, writing and named sizes; see config.h.
#include "models/electra/config.h"

#include <set>

#include "core/error.h"
#include "models/blocks/config_fields.h"
#include "nn/layers.h"

namespace tz::electra {

using nlohmann::json;

namespace {
struct Size {
  const char* name;
  int64_t embedding, hidden, layers, heads, intermediate;
};
// Sizes of Google's ELECTRA checkpoints on the Hub.
constexpr Size kSizes[] = {
    {"small", 128, 256, 12, 4, 1024},
    {"base", 768, 768, 12, 12, 3072},
    {"large", 1024, 1024, 24, 16, 4096},
    {"base-generator", 768, 256, 12, 4, 1024},
    {"large-generator", 1024, 256, 24, 4, 1024},
};
}  // namespace

ElectraConfig::ElectraConfig() {
  model_type = "electra";
  hidden_size = 256;
  num_attention_heads = 4;
  intermediate_size = 1024;
}

blocks::SequenceSummaryOptions ElectraConfig::summary_options() const {
  blocks::SequenceSummaryOptions o;
  o.hidden_size = hidden_size;
  o.num_labels = num_labels();
  o.summary_type = summary_type;
  o.use_proj = summary_use_proj;
  o.proj_to_labels = summary_proj_to_labels.value_or(false);
  o.activation = summary_activation;
  o.first_dropout = summary_first_dropout.value_or(0.0);
  o.last_dropout = summary_last_dropout;
  return o;
}

double ElectraConfig::min_weight_count() const {
  // The word embeddings are embedding_size wide (projected up to hidden_size when it differs).
  const double H = static_cast<double>(hidden_size), I = static_cast<double>(intermediate_size);
  return static_cast<double>(embedding_size) * static_cast<double>(vocab_size) +
         static_cast<double>(num_hidden_layers) * (H * H + 2.0 * H * I);
}

void ElectraConfig::validate() const {
  models::PretrainedConfig::validate();
  blocks::check_encoder_only(*this);
  TZ_CHECK(embedding_size >= 1, "config: embedding_size must be >= 1, got ", embedding_size);
  TZ_CHECK(embedding_size <= models::kMaxConfigSize, "config: embedding_size ", embedding_size, " is larger than ",
           models::kMaxConfigSize, " (the model would not fit in memory)");
  TZ_CHECK(type_vocab_size >= 1, "config: type_vocab_size must be >= 1, got ", type_vocab_size);
  TZ_CHECK(hidden_size % num_attention_heads == 0, "config: hidden_size ", hidden_size,
           " is not a multiple of num_attention_heads ", num_attention_heads);
  TZ_CHECK(position_embedding_type == "absolute", "config: position_embedding_type '", position_embedding_type,
           "' is not supported (only 'absolute'; the relative_key variants are not implemented)");
  TZ_CHECK(summary_type == "first" || summary_type == "last" || summary_type == "mean" || summary_type == "cls_index",
           "config: summary_type '", summary_type, "' is not one of first, last, mean, cls_index");
  if (!summary_activation.empty()) {
    try {
      nn::activation(summary_activation);
    } catch (const Error& e) {
      throw Error(detail::concat("config: summary_activation: ", e.what()));
    }
  }
  for (auto [name, p] : {std::pair{"classifier_dropout", classifier_dropout_prob()},
                         std::pair{"summary_last_dropout", summary_last_dropout},
                         std::pair{"summary_first_dropout", summary_first_dropout.value_or(0.0)}})
    TZ_CHECK(p >= 0.0 && p < 1.0, "config: ", name, " must be in [0, 1), got ", p);
}

ElectraConfig ElectraConfig::from_json(const json& j) {
  ElectraConfig c;
  std::set<std::string> known;
  c.read_common(j, known);
  TZ_CHECK(c.model_type == "electra", "config.json: model_type '", c.model_type, "' is not ELECTRA (expected 'electra')");
  blocks::read_encoder_sizes(j, c, known);
  models::read_field(j, "embedding_size", c.embedding_size, known);
  models::read_field(j, "summary_type", c.summary_type, known);
  models::read_field(j, "summary_use_proj", c.summary_use_proj, known);
  models::read_field(j, "summary_activation", c.summary_activation, known);
  if (j.contains("summary_activation") && j["summary_activation"].is_null()) c.summary_activation.clear();  // HF: none
  models::read_field(j, "summary_last_dropout", c.summary_last_dropout, known);
  models::read_field(j, "summary_first_dropout", c.summary_first_dropout, known);
  models::read_field(j, "summary_proj_to_labels", c.summary_proj_to_labels, known);
  models::read_field(j, "position_embedding_type", c.position_embedding_type, known);
  models::read_field(j, "classifier_dropout", c.classifier_dropout, known);
  c.keep_unknown_keys(j, known);
  return c;
}

json ElectraConfig::to_json() const {
  json j = extra;
  write_common(j);
  blocks::write_encoder_sizes(*this, j);
  j["embedding_size"] = embedding_size;
  j["summary_type"] = summary_type;
  j["summary_use_proj"] = summary_use_proj;
  j["summary_activation"] = summary_activation.empty() ? json(nullptr) : json(summary_activation);
  j["summary_last_dropout"] = summary_last_dropout;
  if (summary_first_dropout) j["summary_first_dropout"] = *summary_first_dropout;
  if (summary_proj_to_labels) j["summary_proj_to_labels"] = *summary_proj_to_labels;
  j["position_embedding_type"] = position_embedding_type;
  j["classifier_dropout"] = classifier_dropout ? json(*classifier_dropout) : json(nullptr);
  return j;
}

std::vector<std::string> ElectraConfig::size_names() {
  std::vector<std::string> names;
  for (const auto& s : kSizes) names.emplace_back(s.name);
  return names;
}

ElectraConfig ElectraConfig::named(const std::string& name) {
  std::string known;
  for (const auto& s : kSizes) {
    known += (known.empty() ? "" : ", ") + std::string(s.name);
    if (name != s.name) continue;
    ElectraConfig c;
    c.embedding_size = s.embedding;
    c.hidden_size = s.hidden;
    c.num_hidden_layers = s.layers;
    c.num_attention_heads = s.heads;
    c.intermediate_size = s.intermediate;
    return c;
  }
  throw Error(detail::concat("config: unknown named ELECTRA size '", name, "' (expected one of ", known, ")"));
}

}  // namespace tz::electra
