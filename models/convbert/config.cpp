// ConvBertConfig parsing, validation and saving; see config.h.
#include "models/convbert/config.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <set>
#include <type_traits>

#include "core/error.h"

namespace tz::convbert {

using nlohmann::json;

namespace {
const std::set<std::string> kActivations{"gelu", "gelu_new", "relu", "silu", "swish", "tanh"};
constexpr int64_t kMaxLabels = int64_t{1} << 20;
constexpr int64_t kMaxSize = int64_t{1} << 30;

template <class T>
void read(const json& j, const char* key, T& out) {
  if (!j.contains(key) || j[key].is_null()) return;
  const json& v = j[key];
  if constexpr (std::is_same_v<T, int64_t>) {
    // An integer field may be written as a float (512.0) but must hold an integer in range:
    // converting a float such as 1e30 to int64 is undefined behaviour.
    const bool integral_float = v.is_number_float() && std::isfinite(v.get<double>()) &&
                                v.get<double>() == std::floor(v.get<double>()) && std::fabs(v.get<double>()) < 9.0e15;
    const bool fits = v.is_number_integer() && !(v.is_number_unsigned() && v.get<uint64_t>() > uint64_t{INT64_MAX});
    TZ_CHECK(fits || integral_float, "config.json: field '", key, "' must be an integer, got ", v.dump());
    out = integral_float ? static_cast<int64_t>(v.get<double>()) : v.get<int64_t>();
    return;
  }
  try {
    out = v.get<T>();
  } catch (const json::exception&) {
    throw Error(detail::concat("config.json: field '", key, "' has the wrong type (", v.dump(), ")"));
  }
}
}  // namespace

void ConvBertConfig::set_num_labels(int64_t n) {
  TZ_CHECK(n >= 1, "config: num_labels must be >= 1, got ", n);
  // Each label gets a name here, so an absurd count from a file would allocate without bound.
  TZ_CHECK(n <= kMaxLabels, "config: num_labels ", n, " is out of range (at most ", kMaxLabels, ")");
  id2label.clear();
  for (int64_t i = 0; i < n; ++i) id2label.push_back("LABEL_" + std::to_string(i));
}

int64_t ConvBertConfig::attention_heads() const {
  int64_t h = num_attention_heads / head_ratio;
  return h < 1 ? 1 : h;
}

int64_t ConvBertConfig::attention_head_size() const { return hidden_size / num_attention_heads; }

void ConvBertConfig::validate() const {
  // The upper bound keeps every product of two sizes (and 2 * all_head_size()) inside int64.
  auto positive = [](const char* name, int64_t v) {
    TZ_CHECK(v >= 1, "config: ", name, " must be >= 1, got ", v);
    TZ_CHECK(v <= kMaxSize, "config: ", name, " ", v, " is out of range (at most 2^30)");
  };
  positive("vocab_size", vocab_size);
  positive("hidden_size", hidden_size);
  positive("embedding_size", embedding_size);
  positive("num_hidden_layers", num_hidden_layers);
  positive("num_attention_heads", num_attention_heads);
  positive("intermediate_size", intermediate_size);
  positive("max_position_embeddings", max_position_embeddings);
  positive("type_vocab_size", type_vocab_size);
  positive("head_ratio", head_ratio);
  positive("conv_kernel_size", conv_kernel_size);
  positive("num_groups", num_groups);
  TZ_CHECK(kActivations.count(hidden_act), "config: hidden_act '", hidden_act,
           "' is not supported (expected one of gelu, gelu_new, relu, silu, swish, tanh)");
  for (auto [name, p] : {std::pair{"hidden_dropout_prob", hidden_dropout_prob},
                         std::pair{"attention_probs_dropout_prob", attention_probs_dropout_prob},
                         std::pair{"classifier_dropout", classifier_dropout_prob()}})
    TZ_CHECK(p >= 0.0 && p < 1.0, "config: ", name, " must be in [0, 1), got ", p);
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
  TZ_CHECK(pad_token_id >= 0 && pad_token_id < vocab_size, "config: pad_token_id ", pad_token_id,
           " outside the vocabulary [0, ", vocab_size, ")");
  TZ_CHECK(!id2label.empty(), "config: num_labels must be >= 1");
  if (problem_type)
    TZ_CHECK(*problem_type == "regression" || *problem_type == "single_label_classification" ||
                 *problem_type == "multi_label_classification",
             "config: problem_type '", *problem_type, "' is not one of regression, "
             "single_label_classification, multi_label_classification");
}

ConvBertConfig ConvBertConfig::from_json(const json& j) {
  TZ_CHECK(j.is_object(), "config.json: expected a JSON object, got ", j.type_name());
  ConvBertConfig c;
  read(j, "vocab_size", c.vocab_size);
  read(j, "hidden_size", c.hidden_size);
  read(j, "embedding_size", c.embedding_size);
  read(j, "num_hidden_layers", c.num_hidden_layers);
  read(j, "num_attention_heads", c.num_attention_heads);
  read(j, "intermediate_size", c.intermediate_size);
  read(j, "hidden_act", c.hidden_act);
  read(j, "hidden_dropout_prob", c.hidden_dropout_prob);
  read(j, "attention_probs_dropout_prob", c.attention_probs_dropout_prob);
  read(j, "max_position_embeddings", c.max_position_embeddings);
  read(j, "type_vocab_size", c.type_vocab_size);
  read(j, "initializer_range", c.initializer_range);
  read(j, "layer_norm_eps", c.layer_norm_eps);
  read(j, "pad_token_id", c.pad_token_id);
  read(j, "bos_token_id", c.bos_token_id);
  read(j, "eos_token_id", c.eos_token_id);
  read(j, "head_ratio", c.head_ratio);
  read(j, "conv_kernel_size", c.conv_kernel_size);
  read(j, "num_groups", c.num_groups);
  if (j.contains("classifier_dropout") && !j["classifier_dropout"].is_null()) {
    double d = 0;
    read(j, "classifier_dropout", d);
    c.classifier_dropout = d;
  }
  if (j.contains("problem_type") && !j["problem_type"].is_null()) {
    std::string p;
    read(j, "problem_type", p);
    c.problem_type = p;
  }
  read(j, "architectures", c.architectures);
  read(j, "model_type", c.model_type);
  TZ_CHECK(c.model_type == "convbert" || c.model_type == "conv_bert", "config.json: model_type '",
           c.model_type, "' is not ConvBERT (expected 'convbert' or 'conv_bert')");
  read(j, "tie_word_embeddings", c.tie_word_embeddings);
  if (j.contains("id2label") && j["id2label"].is_object() && !j["id2label"].empty()) {
    const auto& m = j["id2label"];
    c.id2label.assign(m.size(), "");
    for (auto it = m.begin(); it != m.end(); ++it) {
      size_t idx = 0;
      try {
        idx = std::stoul(it.key());
      } catch (...) {
        throw Error(detail::concat("config.json: id2label key '", it.key(), "' is not an integer"));
      }
      TZ_CHECK(idx < m.size() && it.value().is_string(), "config.json: id2label must map 0..",
               m.size() - 1, " to strings, got key ", it.key());
      c.id2label[idx] = it.value().get<std::string>();
    }
  } else if (j.contains("num_labels")) {
    int64_t n = 2;
    read(j, "num_labels", n);
    c.set_num_labels(n);
  }
  static const std::set<std::string> known{
      "vocab_size", "hidden_size", "embedding_size", "num_hidden_layers", "num_attention_heads",
      "intermediate_size", "hidden_act", "hidden_dropout_prob", "attention_probs_dropout_prob",
      "max_position_embeddings", "type_vocab_size", "initializer_range", "layer_norm_eps",
      "pad_token_id", "bos_token_id", "eos_token_id", "head_ratio", "conv_kernel_size", "num_groups",
      "classifier_dropout", "problem_type", "architectures", "model_type", "tie_word_embeddings",
      "id2label", "label2id", "num_labels"};
  for (auto it = j.begin(); it != j.end(); ++it)
    if (!known.count(it.key())) c.extra[it.key()] = it.value();
  return c;
}

json ConvBertConfig::to_json() const {
  json j = extra;
  if (!architectures.empty()) j["architectures"] = architectures;
  j["attention_probs_dropout_prob"] = attention_probs_dropout_prob;
  j["bos_token_id"] = bos_token_id;
  j["classifier_dropout"] = classifier_dropout ? json(*classifier_dropout) : json(nullptr);
  j["conv_kernel_size"] = conv_kernel_size;
  j["embedding_size"] = embedding_size;
  j["eos_token_id"] = eos_token_id;
  j["head_ratio"] = head_ratio;
  j["hidden_act"] = hidden_act;
  j["hidden_dropout_prob"] = hidden_dropout_prob;
  j["hidden_size"] = hidden_size;
  bool default_labels = id2label == std::vector<std::string>{"LABEL_0", "LABEL_1"};
  if (!default_labels) {
    json id2 = json::object(), l2i = json::object();
    for (size_t i = 0; i < id2label.size(); ++i) {
      id2[std::to_string(i)] = id2label[i];
      l2i[id2label[i]] = i;
    }
    j["id2label"] = id2;
    j["label2id"] = l2i;
  }
  j["initializer_range"] = initializer_range;
  j["intermediate_size"] = intermediate_size;
  j["layer_norm_eps"] = layer_norm_eps;
  j["max_position_embeddings"] = max_position_embeddings;
  j["model_type"] = model_type;
  j["num_attention_heads"] = num_attention_heads;
  j["num_groups"] = num_groups;
  j["num_hidden_layers"] = num_hidden_layers;
  j["pad_token_id"] = pad_token_id;
  if (problem_type) j["problem_type"] = *problem_type;
  if (!tie_word_embeddings) j["tie_word_embeddings"] = false;
  j["type_vocab_size"] = type_vocab_size;
  j["vocab_size"] = vocab_size;
  return j;
}

ConvBertConfig ConvBertConfig::load(const std::string& path) {
  std::ifstream f(path);
  TZ_CHECK(f, "config: cannot open '", path, "'");
  json j;
  try {
    j = json::parse(f);
  } catch (const json::exception& e) {
    throw Error(detail::concat("config: '", path, "' is not valid JSON: ", e.what()));
  }
  ConvBertConfig c = from_json(j);
  c.validate();
  return c;
}

void ConvBertConfig::save(const std::string& path) const {
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp);
    TZ_CHECK(f, "config: cannot write '", tmp, "'");
    f << to_json().dump(2) << "\n";
    TZ_CHECK(f.good(), "config: write to '", tmp, "' failed");
  }
  TZ_CHECK(std::rename(tmp.c_str(), path.c_str()) == 0, "config: cannot rename '", tmp, "' to '", path, "'");
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
