// sentence-transformers directories and pooling; see sentence_transformers.h.
#include "models/sentence_transformers.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <vector>

#include "autograd/grad_mode.h"
#include "core/error.h"
#include "models/registry.h"
#include "tensor/ops.h"

namespace tz::models {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Pooling.forward's order of concatenation (not get_pooling_mode_str's, which puts mean before max).
struct Mode {
  const char* name;
  bool PoolingConfig::*flag;
  const char* key;
};
constexpr Mode kModes[] = {
    {"cls", &PoolingConfig::cls_token, "pooling_mode_cls_token"},
    {"max", &PoolingConfig::max_tokens, "pooling_mode_max_tokens"},
    {"mean", &PoolingConfig::mean_tokens, "pooling_mode_mean_tokens"},
    {"mean_sqrt_len_tokens", &PoolingConfig::mean_sqrt_len_tokens, "pooling_mode_mean_sqrt_len_tokens"},
    {"weightedmean", &PoolingConfig::weightedmean_tokens, "pooling_mode_weightedmean_tokens"},
    {"lasttoken", &PoolingConfig::lasttoken, "pooling_mode_lasttoken"},
};

std::string mode_list() {
  std::string s;
  for (const Mode& m : kModes) {
    if (!s.empty()) s += ", ";
    s += m.name;
  }
  return s;
}

// The mask as one float per token (nonzero = real token).
std::vector<float> mask_values(const Tensor& attention_mask, int64_t B, int64_t T) {
  TZ_CHECK(attention_mask.dim() == 2 && attention_mask.size(0) == B && attention_mask.size(1) == T,
           "pool_tokens: attention_mask ", attention_mask.to_string(0), " does not match [", B, ", ", T, "]");
  Tensor m = raw::contiguous(attention_mask);
  std::vector<float> out(static_cast<std::size_t>(B * T));
  if (m.dtype() == DType::Int64) {
    const int64_t* p = m.data<int64_t>();
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = p[i] != 0 ? 1.f : 0.f;
  } else {
    TZ_CHECK(m.dtype() == DType::Float32, "pool_tokens: attention_mask must be int64 or float32, got ",
             dtype_name(m.dtype()));
    const float* p = m.data<float>();
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = p[i] != 0.f ? 1.f : 0.f;
  }
  return out;
}

// A relative path inside the directory: modules.json is untrusted and must not point elsewhere.
fs::path module_dir(const fs::path& root, const std::string& path, const std::string& where) {
  fs::path p(path);
  TZ_CHECK(!p.is_absolute(), where, ": module path '", path, "' must be relative to the model directory");
  for (const auto& part : p)
    TZ_CHECK(part != "..", where, ": module path '", path, "' leaves the model directory");
  return path.empty() ? root : root / p;
}

// "sentence_transformers.models.Pooling" -> "Pooling"; "" for types from elsewhere.
std::string module_kind(const std::string& type) {
  if (type.rfind("sentence_transformers.", 0) != 0) return "";
  return type.substr(type.rfind('.') + 1);
}

}  // namespace

PoolingConfig PoolingConfig::mode(const std::string& name) {
  PoolingConfig c;
  c.mean_tokens = false;
  for (const Mode& m : kModes)
    if (name == m.name) {
      c.*(m.flag) = true;
      return c;
    }
  throw Error(detail::concat("pooling: unknown mode '", name, "' (expected one of ", mode_list(), ")"));
}

PoolingConfig PoolingConfig::from_json(const json& j, const std::string& where) {
  TZ_CHECK(j.is_object(), where, ": expected a JSON object, got ", j.dump());
  PoolingConfig c;
  auto read_bool = [&](const char* key, bool& out) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return;
    TZ_CHECK(it->is_boolean(), where, ": '", key, "' must be true or false, got ", it->dump());
    out = it->get<bool>();
  };
  for (const Mode& m : kModes) read_bool(m.key, c.*(m.flag));
  if (auto it = j.find("word_embedding_dimension"); it != j.end() && !it->is_null()) {
    TZ_CHECK(it->is_number_integer() && it->get<int64_t>() > 0, where,
             ": 'word_embedding_dimension' must be a positive integer, got ", it->dump());
    c.word_embedding_dimension = it->get<int64_t>();
  }
  if (auto it = j.find("pooling_mode"); it != j.end() && !it->is_null()) {
    TZ_CHECK(it->is_string(), where, ": 'pooling_mode' must be a string, got ", it->dump());
    std::string name = it->get<std::string>();
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char ch) { return std::tolower(ch); });
    int64_t dim = c.word_embedding_dimension;
    c = mode(name);
    c.word_embedding_dimension = dim;
  }
  TZ_CHECK(c.num_modes() > 0, where, ": no pooling mode is on (expected one of ", mode_list(), ")");
  return c;
}

int64_t PoolingConfig::num_modes() const {
  int64_t n = 0;
  for (const Mode& m : kModes) n += this->*(m.flag) ? 1 : 0;
  return n;
}

std::string PoolingConfig::name() const {
  // get_pooling_mode_str's order.
  static const char* const order[] = {"cls", "mean", "max", "mean_sqrt_len_tokens", "weightedmean", "lasttoken"};
  std::string s;
  for (const char* n : order)
    for (const Mode& m : kModes)
      if (std::string(n) == m.name && this->*(m.flag)) {
        if (!s.empty()) s += '+';
        s += n;
      }
  return s;
}

Tensor pool_tokens(const Tensor& token_embeddings, const Tensor& attention_mask, const PoolingConfig& config) {
  TZ_CHECK(token_embeddings.dim() == 3 && token_embeddings.dtype() == DType::Float32,
           "pool_tokens: token_embeddings must be float32 [B, T, H], got ", token_embeddings.to_string(0));
  TZ_CHECK(config.num_modes() > 0, "pool_tokens: no pooling mode is on");
  const int64_t B = token_embeddings.size(0), T = token_embeddings.size(1), H = token_embeddings.size(2);
  const std::vector<float> mask = mask_values(attention_mask, B, T);
  Tensor x_c = raw::contiguous(token_embeddings);
  const float* x = x_c.data<float>();  // (B, T, H)
  const int64_t D = config.num_modes() * H;
  std::vector<float> out(static_cast<std::size_t>(B * D));
  std::vector<double> acc(static_cast<std::size_t>(H));
  for (int64_t b = 0; b < B; ++b) {
    const float* xb = x + b * T * H;  // (T, H)
    const float* mb = mask.data() + b * T;
    float* o = out.data() + b * D;
    double count = 0, weight_sum = 0;
    int64_t last = -1;
    for (int64_t t = 0; t < T; ++t) {
      count += mb[t];
      weight_sum += mb[t] * static_cast<double>(t + 1);
      if (mb[t] != 0.f) last = t;
    }
    for (const Mode& m : kModes) {
      if (!(config.*(m.flag))) continue;
      const std::string name = m.name;
      if (name == "cls") {
        std::copy(xb, xb + H, o);
      } else if (name == "max") {
        // Pooling sets padded positions to -1e9 before the max, so an all-padding row gives -1e9.
        for (int64_t h = 0; h < H; ++h) {
          float best = -1e9f;
          for (int64_t t = 0; t < T; ++t) best = std::max(best, mb[t] != 0.f ? xb[t * H + h] : -1e9f);
          o[h] = best;
        }
      } else if (name == "lasttoken") {
        for (int64_t h = 0; h < H; ++h) o[h] = last < 0 ? 0.f : xb[last * H + h];
      } else {
        const bool weighted = name == "weightedmean";
        std::fill(acc.begin(), acc.end(), 0.0);
        for (int64_t t = 0; t < T; ++t) {
          if (mb[t] == 0.f) continue;
          const double w = weighted ? static_cast<double>(t + 1) : 1.0;
          for (int64_t h = 0; h < H; ++h) acc[static_cast<std::size_t>(h)] += w * xb[t * H + h];
        }
        double denom = std::max(weighted ? weight_sum : count, 1e-9);  // torch.clamp(sum_mask, min=1e-9)
        if (name == "mean_sqrt_len_tokens") denom = std::sqrt(denom);
        for (int64_t h = 0; h < H; ++h) o[h] = static_cast<float>(acc[static_cast<std::size_t>(h)] / denom);
      }
      o += H;
    }
  }
  return raw::from_vector(out, {B, D});
}

Tensor normalize_rows(const Tensor& x) {
  TZ_CHECK(x.dim() == 2 && x.dtype() == DType::Float32, "normalize_rows: expected float32 [B, D], got ",
           x.to_string(0));
  const int64_t B = x.size(0), D = x.size(1);
  std::vector<float> v = raw::contiguous(x).to_vector<float>();
  for (int64_t b = 0; b < B; ++b) {
    float* row = v.data() + b * D;
    double sq = 0;
    for (int64_t d = 0; d < D; ++d) sq += static_cast<double>(row[d]) * row[d];
    const double norm = std::max(std::sqrt(sq), 1e-12);
    for (int64_t d = 0; d < D; ++d) row[d] = static_cast<float>(row[d] / norm);
  }
  return raw::from_vector(v, {B, D});
}

bool is_sentence_transformers_dir(const std::string& dir) { return fs::is_regular_file(fs::path(dir) / "modules.json"); }

SentenceTransformerConfig read_sentence_transformers_config(const std::string& dir) {
  const fs::path root(dir);
  const std::string modules_path = (root / "modules.json").string();
  const json modules = read_json_file(modules_path);
  TZ_CHECK(modules.is_array(), modules_path, ": expected a list of modules, got ", modules.dump());
  SentenceTransformerConfig c;
  bool have_transformer = false, have_pooling = false;
  for (std::size_t i = 0; i < modules.size(); ++i) {
    const json& m = modules[i];
    const std::string where = modules_path + " module " + std::to_string(i);
    TZ_CHECK(m.is_object() && m.contains("type") && m["type"].is_string(), where,
             ": expected an object with a \"type\" string, got ", m.dump());
    std::string path;
    if (auto it = m.find("path"); it != m.end()) {
      TZ_CHECK(it->is_string(), where, ": \"path\" must be a string, got ", it->dump());
      path = it->get<std::string>();
    }
    const std::string type = m["type"].get<std::string>();
    const std::string kind = module_kind(type);
    const fs::path folder = module_dir(root, path, where);
    if (kind == "Transformer") {
      TZ_CHECK(!have_transformer, where, ": a second Transformer module (only one encoder is supported)");
      have_transformer = true;
      c.transformer_dir = folder.string();
      // Transformer.load_config tries these names in this order.
      for (const char* name : {"sentence_bert_config.json", "sentence_roberta_config.json",
                               "sentence_distilbert_config.json", "sentence_camembert_config.json",
                               "sentence_albert_config.json", "sentence_xlm-roberta_config.json",
                               "sentence_xlnet_config.json"}) {
        const fs::path file = folder / name;
        if (!fs::is_regular_file(file)) continue;
        const json s = read_json_file(file.string());
        TZ_CHECK(s.is_object(), file.string(), ": expected a JSON object, got ", s.dump());
        if (auto it = s.find("max_seq_length"); it != s.end() && !it->is_null()) {
          TZ_CHECK(it->is_number_integer() && it->get<int64_t>() > 0, file.string(),
                   ": 'max_seq_length' must be a positive integer, got ", it->dump());
          c.max_seq_length = it->get<int64_t>();
        }
        if (auto it = s.find("do_lower_case"); it != s.end() && !it->is_null()) {
          TZ_CHECK(it->is_boolean(), file.string(), ": 'do_lower_case' must be true or false, got ", it->dump());
          c.do_lower_case = it->get<bool>();
        }
        break;
      }
    } else if (kind == "Pooling") {
      TZ_CHECK(have_transformer, where, ": a Pooling module before the Transformer module");
      TZ_CHECK(!have_pooling, where, ": a second Pooling module");
      have_pooling = true;
      const fs::path file = folder / "config.json";
      TZ_CHECK(fs::is_regular_file(file), where, ": '", file.string(), "' does not exist");
      c.pooling = PoolingConfig::from_json(read_json_file(file.string()), file.string());
    } else if (kind == "Normalize") {
      TZ_CHECK(have_pooling, where, ": a Normalize module before the Pooling module");
      c.normalize = true;
    } else {
      throw Error(detail::concat(where, ": module type '", type,
                                 "' is not supported (supported: sentence_transformers.models.Transformer, "
                                 "Pooling, Normalize)"));
    }
  }
  TZ_CHECK(have_transformer, modules_path, ": no sentence_transformers.models.Transformer module");
  TZ_CHECK(have_pooling, modules_path, ": no sentence_transformers.models.Pooling module");
  return c;
}

SentenceTransformer SentenceTransformer::from_pretrained(const std::string& dir, std::optional<nn::Precision> precision) {
  SentenceTransformer st;
  st.config_ = read_sentence_transformers_config(dir);
  LoadOptions opt;
  opt.precision = precision;
  opt.architecture = task_name(Task::Base);
  opt.verbose = false;  // a head's weights beside the encoder are expected; missing encoder weights are not
  LoadReport report;
  st.encoder_ = models::from_pretrained(st.config_.transformer_dir, opt, &report);
  TZ_CHECK(report.missing.empty(), "sentence-transformers: '", st.config_.transformer_dir, "' lacks ",
           report.missing.size(), " encoder weights (first: ", report.missing.empty() ? "" : report.missing[0], ")");
  st.encoder_->eval();
  const int64_t H = st.encoder_->config().hidden_size;
  TZ_CHECK(st.config_.pooling.word_embedding_dimension == 0 || st.config_.pooling.word_embedding_dimension == H,
           "sentence-transformers: Pooling's word_embedding_dimension ", st.config_.pooling.word_embedding_dimension,
           " does not match the encoder's hidden_size ", H);
  return st;
}

Tensor SentenceTransformer::encode(const Inputs& inputs) const {
  TZ_CHECK(inputs.input_ids.defined() && inputs.input_ids.dim() == 2,
           "SentenceTransformer::encode: expected input_ids [B, T]");
  NoGradGuard no_grad;
  Inputs in = inputs;
  if (!encoder_->takes_token_type_ids()) in.token_type_ids = Tensor();
  Tensor mask = in.attention_mask.defined()
                    ? in.attention_mask
                    : raw::from_vector(std::vector<int64_t>(static_cast<std::size_t>(in.input_ids.numel()), 1),
                                       in.input_ids.shape());
  Tensor pooled = pool_tokens(encoder_->forward(in).last_hidden_state, mask, config_.pooling);
  return config_.normalize ? normalize_rows(pooled) : pooled;
}

int64_t SentenceTransformer::dimension() const { return config_.pooling.num_modes() * encoder_->config().hidden_size; }

}  // namespace tz::models
