// Vectors from texts: HF's feature-extraction pipeline (one vector per token: the encoder's
// last_hidden_state, special tokens included), sentence vectors pooled from it, and
// sentence-transformers' encode on the directories models/sentence_transformers.h reads.
//   - extract_features: per text, the [T, H] hidden states with each token and its code-point
//     offsets ([0, 0) for special tokens), as HF's pipeline returns them (it returns [1, T, H]).
//   - embed_texts: last_hidden_state pooled over the real tokens (models::pool_tokens: cls, mean,
//     max, ...), then scaled to unit length when asked.
//   - encode_sentences: what SentenceTransformer.encode computes for such a directory: each text
//     stripped (Python's str.strip) and, with do_lower_case, lower-cased; truncated to max_seq_length
//     (default: the smaller of the tokenizer's model_max_length and max_position_embeddings); the
//     directory's pooling and Normalize. sentence-transformers pads its length-sorted batches; here
//     nothing is padded (pipeline.h), which gives every family the numbers of a text encoded alone.
// Not here: the directory layout and pooling arithmetic (models/sentence_transformers.h), batching
// (pipeline.h).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "models/model.h"
#include "models/sentence_transformers.h"
#include "tokenizer/wordpiece.h"

namespace tz::pipelines {

struct EmbedOptions {
  std::size_t max_length = 0;  ///< tokens per text (0: the model's limit)
  std::size_t batch_size = 32;
};

/// One text's token vectors.
struct TokenVectors {
  Tensor vectors;                          ///< [T, H] float32
  std::vector<std::string> tokens;
  std::vector<tokenizer::Offset> offsets;  ///< code points into the text; [0, 0) for special tokens
};

/// HF's feature-extraction pipeline on every text (the base model of any checkpoint; eval mode set
/// by the caller).
std::vector<TokenVectors> extract_features(models::PreTrainedModel& model, const tokenizer::WordPiece& tok,
                                           const std::vector<std::string>& texts, const EmbedOptions& options = {});

/// Sentence vectors [N, D] (D = pooling.num_modes() * H), in text order.
Tensor embed_texts(models::PreTrainedModel& model, const tokenizer::WordPiece& tok, const std::vector<std::string>& texts,
                   const models::PoolingConfig& pooling, bool normalize, const EmbedOptions& options = {});

/// sentence-transformers' encode: vectors [N, st.dimension()] in text order. options.max_length,
/// when given, replaces the directory's max_seq_length.
Tensor encode_sentences(const models::SentenceTransformer& st, const tokenizer::WordPiece& tok,
                        const std::vector<std::string>& texts, const EmbedOptions& options = {});

}  // namespace tz::pipelines
