// sentence-transformers model directories, as SentenceTransformer.save writes them, and the vectors
// sentence-transformers computes from them:
//
//   DIR/modules.json              [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
//                                  {"idx": 1, "name": "1", "path": "1_Pooling", "type": "...models.Pooling"},
//                                  {"idx": 2, "name": "2", "path": "2_Normalize", "type": "...models.Normalize"}]
//   DIR/<transformer path>/       an HF model directory (config.json, weights, tokenizer files) plus
//                                 sentence_bert_config.json {"max_seq_length": 128, "do_lower_case": false}
//   DIR/1_Pooling/config.json     {"word_embedding_dimension": 384, "pooling_mode_mean_tokens": true, ...}
//   DIR/2_Normalize/              (empty: its presence turns on unit-length vectors)
//
// The encoder is built through the registry (any family of the zoo); pooling reads the encoder's
// last_hidden_state masked by the attention mask, exactly as sentence_transformers.models.Pooling;
// Normalize divides by the L2 norm as torch.nn.functional.normalize.
//
//   auto st = tz::models::SentenceTransformer::from_pretrained("all-MiniLM-L6-v2");
//   tz::Tensor vectors = st.encode(inputs);   // [B, D] from input_ids / attention_mask / token_type_ids
//
// Not here: turning texts into those inputs (strip, lower case, truncation to max_seq_length, batches):
// train/pipelines/feature_extraction.h (encode_sentences). Module types other than Transformer,
// Pooling and Normalize (Dense, LayerNorm, ...) are refused by name.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "models/model.h"
#include "nn/low_precision.h"

namespace tz::models {

/// sentence-transformers' Pooling module: which poolings are on. With several, their vectors are
/// concatenated in Pooling.forward's order: cls, max, mean, mean_sqrt_len_tokens, weightedmean,
/// lasttoken.
struct PoolingConfig {
  bool cls_token = false;
  bool max_tokens = false;
  bool mean_tokens = true;
  bool mean_sqrt_len_tokens = false;
  bool weightedmean_tokens = false;
  bool lasttoken = false;
  int64_t word_embedding_dimension = 0;  ///< 0: not given (not checked against the encoder)

  /// One mode by sentence-transformers' name: "cls", "max", "mean", "mean_sqrt_len_tokens",
  /// "weightedmean", "lasttoken". Throws listing them.
  static PoolingConfig mode(const std::string& name);
  /// 1_Pooling/config.json: the pooling_mode_* booleans (their defaults as Pooling.__init__), or a
  /// "pooling_mode" string that overrides them. `where` names the file in errors.
  static PoolingConfig from_json(const nlohmann::json& j, const std::string& where);
  /// How many poolings are on (the output has that many times H values).
  int64_t num_modes() const;
  /// "cls", "mean", "cls+mean", ... (Pooling.get_pooling_mode_str).
  std::string name() const;
};

/// Sentence vectors [B, num_modes * H] from token_embeddings [B, T, H] (float32) and attention_mask
/// [B, T] (int64 or float32, nonzero = real token), as sentence_transformers.models.Pooling:
/// cls = position 0; max over real tokens (padding set to -1e9 first); mean = sum over real tokens /
/// max(count, 1e-9); mean_sqrt_len_tokens divides by sqrt of that; weightedmean weighs position t by
/// t + 1; lasttoken = the last real token (zeros when a row has none).
Tensor pool_tokens(const Tensor& token_embeddings, const Tensor& attention_mask, const PoolingConfig& config);

/// Each row of x [B, D] divided by max(||row||_2, 1e-12), as torch.nn.functional.normalize.
Tensor normalize_rows(const Tensor& x);

/// What a sentence-transformers directory asks for.
struct SentenceTransformerConfig {
  std::string transformer_dir;          ///< the HF model directory of the encoder (DIR or a subfolder)
  PoolingConfig pooling;
  bool normalize = false;               ///< a Normalize module follows the pooling
  std::optional<int64_t> max_seq_length;  ///< sentence_bert_config.json; unset: the tokenizer's and model's limit
  bool do_lower_case = false;           ///< texts are lower-cased before tokenization
};

/// Whether `dir` holds a modules.json.
bool is_sentence_transformers_dir(const std::string& dir);

/// Reads modules.json and the files of its modules. Throws tz::Error naming the file and the
/// module for anything it cannot honour (an unknown module type, a path leaving DIR, a second
/// Transformer, a Pooling before the Transformer, a missing file, a wrong JSON type).
SentenceTransformerConfig read_sentence_transformers_config(const std::string& dir);

class SentenceTransformer {
 public:
  /// Reads the directory and loads the encoder (its base model) through models::from_pretrained,
  /// with `precision` as LoadOptions::precision (unset: what the directory holds).
  static SentenceTransformer from_pretrained(const std::string& dir, std::optional<nn::Precision> precision = std::nullopt);

  /// Sentence vectors [B, D] for one batch of inputs (input_ids and attention_mask [B, T];
  /// token_type_ids when the encoder takes them): the encoder's last_hidden_state, pooled, then
  /// normalised when the directory says so. Runs without gradients.
  Tensor encode(const Inputs& inputs) const;

  const SentenceTransformerConfig& config() const { return config_; }
  PreTrainedModel& encoder() const { return *encoder_; }
  /// The vector size: num_modes * hidden_size.
  int64_t dimension() const;

 private:
  SentenceTransformerConfig config_;
  std::shared_ptr<PreTrainedModel> encoder_;
};

}  // namespace tz::models
