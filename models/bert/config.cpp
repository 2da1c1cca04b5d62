// BertConfig parsing, validation, writing and named sizes; see config.h.
#include "models/bert/config.h"

#include <set>

#include "core/error.h"
#include "models/blocks/config_fields.h"

namespace tz::bert {

using nlohmann::json;

namespace {
struct Size {
  const char* name;
  int64_t layers, hidden, heads, intermediate;
};
// Google's miniatures (google/bert_uncased_L-<layers>_H-<hidden>_A-<heads>) and the originals;
// MiniLM-L6 is sentence-transformers/all-MiniLM-L6-v2 (6 x 384, 12 heads of 32).
constexpr Size kSizes[] = {
    {"tiny", 2, 128, 2, 512},    {"mini", 4, 256, 4, 1024},   {"small", 4, 512, 8, 2048},
    {"medium", 8, 512, 8, 2048}, {"base", 12, 768, 12, 3072}, {"large", 24, 1024, 16, 4096},
    {"minilm-l6", 6, 384, 12, 1536},
};
}  // namespace

void BertConfig::validate() const {
  models::PretrainedConfig::validate();
  blocks::check_encoder_only(*this);
  TZ_CHECK(type_vocab_size >= 1, "config: type_vocab_size must be >= 1, got ", type_vocab_size);
  TZ_CHECK(hidden_size % num_attention_heads == 0, "config: hidden_size ", hidden_size,
           " is not a multiple of num_attention_heads ", num_attention_heads);
  TZ_CHECK(position_embedding_type == "absolute", "config: position_embedding_type '", position_embedding_type,
           "' is not supported (only 'absolute'; the relative_key variants are not implemented)");
  TZ_CHECK(classifier_dropout_prob() >= 0.0 && classifier_dropout_prob() < 1.0,
           "config: classifier_dropout must be in [0, 1), got ", classifier_dropout_prob());
}

BertConfig BertConfig::from_json(const json& j) {
  BertConfig c;
  std::set<std::string> known;
  c.read_common(j, known);
  TZ_CHECK(c.model_type == "bert", "config.json: model_type '", c.model_type, "' is not BERT (expected 'bert')");
  blocks::read_encoder_sizes(j, c, known);
  models::read_field(j, "position_embedding_type", c.position_embedding_type, known);
  models::read_field(j, "classifier_dropout", c.classifier_dropout, known);
  c.keep_unknown_keys(j, known);
  return c;
}

json BertConfig::to_json() const {
  json j = extra;
  write_common(j);
  blocks::write_encoder_sizes(*this, j);
  j["classifier_dropout"] = classifier_dropout ? json(*classifier_dropout) : json(nullptr);
  j["position_embedding_type"] = position_embedding_type;
  return j;
}

std::vector<std::string> BertConfig::size_names() {
  std::vector<std::string> names;
  for (const auto& s : kSizes) names.emplace_back(s.name);
  return names;
}

BertConfig BertConfig::named(const std::string& name) {
  std::string known;
  for (const auto& s : kSizes) {
    known += (known.empty() ? "" : ", ") + std::string(s.name);
    if (name != s.name) continue;
    BertConfig c;
    c.num_hidden_layers = s.layers;
    c.hidden_size = s.hidden;
    c.num_attention_heads = s.heads;
    c.intermediate_size = s.intermediate;
    return c;
  }
  throw Error(detail::concat("config: unknown named BERT size '", name, "' (expected one of ", known, ")"));
}

}  // namespace tz::bert
