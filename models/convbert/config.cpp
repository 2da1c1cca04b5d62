// ConvBertConfig parsing, validation and writing; see config.h.
#include "models/convbert/config.h"

#include <set>

#include "core/error.h"
#include "models/blocks/config_fields.h"

namespace tz::convbert {

using nlohmann::json;

ConvBertConfig::ConvBertConfig() {
  model_type = "convbert";
  pad_token_id = 1;  // HF's ConvBertConfig default (not 0)
  bos_token_id = 0;
  eos_token_id = 2;
}

int64_t ConvBertConfig::attention_heads() const {
  int64_t h = num_attention_heads / head_ratio;
  return h < 1 ? 1 : h;
}

int64_t ConvBertConfig::attention_head_size() const { return hidden_size / num_attention_heads; }

void ConvBertConfig::validate() const {
  models::PretrainedConfig::validate();
  auto positive = [](const char* name, int64_t v) {
    TZ_CHECK(v >= 1, "config: ", name, " must be >= 1, got ", v);
    TZ_CHECK(v <= models::kMaxConfigSize, "config: ", name, " ", v, " is larger than ", models::kMaxConfigSize,
             " (the model would not fit in memory)");
  };
  positive("embedding_size", embedding_size);
  positive("type_vocab_size", type_vocab_size);
  positive("head_ratio", head_ratio);
  positive("conv_kernel_size", conv_kernel_size);
  positive("num_groups", num_groups);
  TZ_CHECK(classifier_dropout_prob() >= 0.0 && classifier_dropout_prob() < 1.0,
           "config: classifier_dropout must be in [0, 1), got ", classifier_dropout_prob());
  TZ_CHECK(hidden_size % num_attention_heads == 0, "config: hidden_size ", hidden_size,
           " is not divisible by num_attention_heads ", num_attention_heads);
  // HF concatenates the attention half and the conv half (2 * all_head_size features) and feeds
  // them to a hidden_size x hidden_size dense layer: that only works when the effective head ratio
  // is 2. HF itself fails with a shape error otherwise; we refuse the config up front.
  int64_t effective_ratio = num_attention_heads / head_ratio < 1 ? num_attention_heads : head_ratio;
  TZ_CHECK(effective_ratio == 2 && 2 * all_head_size() == hidden_size, "config: num_attention_heads ",
           num_attention_heads, " with head_ratio ", head_ratio, " gives an effective head ratio of ",
           effective_ratio, " and ", attention_heads(), " attention heads of size ", attention_head_size(),
           "; HF ConvBERT only runs when attention and convolution halves each have hidden_size/2 = ",
           hidden_size / 2, " features (effective head ratio 2)");
  TZ_CHECK(conv_kernel_size % 2 == 1, "config: conv_kernel_size must be odd (HF's unfold padding "
           "assumes it), got ", conv_kernel_size);
  TZ_CHECK(hidden_size % num_groups == 0 && intermediate_size % num_groups == 0, "config: num_groups ",
           num_groups, " must divide hidden_size ", hidden_size, " and intermediate_size ", intermediate_size);
}

double ConvBertConfig::min_weight_count() const {
  // Factorised word embeddings (embedding_size wide) and a grouped feed-forward.
  const double H = static_cast<double>(hidden_size), I = static_cast<double>(intermediate_size);
  return static_cast<double>(embedding_size) * static_cast<double>(vocab_size) +
         static_cast<double>(num_hidden_layers) * (H * H + 2.0 * H * I / static_cast<double>(num_groups));
}

ConvBertConfig ConvBertConfig::from_json(const json& j) {
  ConvBertConfig c;
  std::set<std::string> known;
  c.read_common(j, known);
  TZ_CHECK(c.model_type == "convbert" || c.model_type == "conv_bert", "config.json: model_type '",
           c.model_type, "' is not ConvBERT (expected 'convbert' or 'conv_bert')");
  blocks::read_encoder_sizes(j, c, known);
  models::read_field(j, "embedding_size", c.embedding_size, known);
  models::read_field(j, "head_ratio", c.head_ratio, known);
  models::read_field(j, "conv_kernel_size", c.conv_kernel_size, known);
  models::read_field(j, "num_groups", c.num_groups, known);
  models::read_field(j, "classifier_dropout", c.classifier_dropout, known);
  c.keep_unknown_keys(j, known);
  return c;
}

json ConvBertConfig::to_json() const {
  json j = extra;
  write_common(j);
  blocks::write_encoder_sizes(*this, j);
  j["classifier_dropout"] = classifier_dropout ? json(*classifier_dropout) : json(nullptr);
  j["conv_kernel_size"] = conv_kernel_size;
  j["embedding_size"] = embedding_size;
  j["head_ratio"] = head_ratio;
  j["num_groups"] = num_groups;
  return j;
}

ConvBertConfig ConvBertConfig::load(const std::string& path) {
  ConvBertConfig c = from_json(models::read_json_file(path));
  c.validate();
  return c;
}

ConvBertConfig ConvBertConfig::named(const std::string& name) {
  // Sizes of YituTech's conv-bert-small / medium-small / base checkpoints.
  ConvBertConfig c;
  c.vocab_size = 30522;
  c.num_hidden_layers = 12;
  c.head_ratio = 2;
  c.conv_kernel_size = 9;
  c.max_position_embeddings = 512;
  c.pad_token_id = 0;
  if (name == "small") {
    c.hidden_size = 256, c.embedding_size = 128, c.intermediate_size = 1024, c.num_attention_heads = 4, c.num_groups = 1;
  } else if (name == "medium-small") {
    c.hidden_size = 384, c.embedding_size = 128, c.intermediate_size = 1536, c.num_attention_heads = 8, c.num_groups = 2;
  } else if (name == "base") {
    c.hidden_size = 768, c.embedding_size = 768, c.intermediate_size = 3072, c.num_attention_heads = 12, c.num_groups = 1;
  } else {
    throw Error(detail::concat("config: unknown named config '", name, "' (expected small, medium-small or base)"));
  }
  return c;
}

}  // namespace tz::convbert
