// Token and sentence vectors; see feature_extraction.h.
#include "train/pipelines/feature_extraction.h"

#include <algorithm>

#include "core/error.h"
#include "tensor/ops.h"
#include "train/pipelines/pipeline.h"

namespace tz::pipelines {
namespace {

std::vector<tokenizer::Encoding> encode(const models::PreTrainedModel& model, const tokenizer::WordPiece& tok,
                                        const std::vector<std::string>& texts, std::size_t max_length) {
  tokenizer::EncodeOptions o;
  o.char_offsets = true;
  o.truncation = tokenizer::Truncation{input_limit(tok, model.config(), max_length)};
  return tok.encode_batch(texts, o);
}

std::vector<const tokenizer::Encoding*> pointers(const std::vector<tokenizer::Encoding>& enc) {
  std::vector<const tokenizer::Encoding*> p;
  for (const auto& e : enc) p.push_back(&e);
  return p;
}

Tensor hidden_states(const models::Output& out, const models::PreTrainedModel& model) {
  TZ_CHECK(out.last_hidden_state.defined() && out.last_hidden_state.dim() == 3, "feature-extraction: ",
           model.architecture(), " gives no last_hidden_state [B, T, H]");
  return raw::contiguous(out.last_hidden_state);
}

}  // namespace

std::vector<TokenVectors> extract_features(models::PreTrainedModel& model, const tokenizer::WordPiece& tok,
                                           const std::vector<std::string>& texts, const EmbedOptions& options) {
  const std::vector<tokenizer::Encoding> enc = encode(model, tok, texts, options.max_length);
  std::vector<TokenVectors> out(texts.size());
  for_each_batch(model, pointers(enc), options.batch_size, [&](std::span<const std::size_t> indices, const models::Output& o) {
    Tensor h = hidden_states(o, model);
    const int64_t T = h.size(1), H = h.size(2);
    for (std::size_t b = 0; b < indices.size(); ++b) {
      const float* x = h.data<float>() + static_cast<int64_t>(b) * T * H;
      TokenVectors& v = out[indices[b]];
      v.vectors = raw::from_vector(std::vector<float>(x, x + T * H), {T, H});
      v.tokens = enc[indices[b]].tokens;
      v.offsets = enc[indices[b]].char_offsets;
    }
  });
  return out;
}

Tensor embed_texts(models::PreTrainedModel& model, const tokenizer::WordPiece& tok, const std::vector<std::string>& texts,
                   const models::PoolingConfig& pooling, bool normalize, const EmbedOptions& options) {
  const std::vector<tokenizer::Encoding> enc = encode(model, tok, texts, options.max_length);
  const int64_t N = static_cast<int64_t>(texts.size()), D = pooling.num_modes() * model.config().hidden_size;
  std::vector<float> vectors(static_cast<std::size_t>(N * D));
  for_each_batch(model, pointers(enc), options.batch_size, [&](std::span<const std::size_t> indices, const models::Output& o) {
    Tensor h = hidden_states(o, model);
    const int64_t B = h.size(0), T = h.size(1);
    std::vector<int64_t> mask;
    for (std::size_t i : indices) mask.insert(mask.end(), enc[i].attention_mask.begin(), enc[i].attention_mask.end());
    Tensor pooled = models::pool_tokens(h, raw::from_vector(mask, {B, T}), pooling);
    if (normalize) pooled = models::normalize_rows(pooled);
    TZ_CHECK(pooled.size(1) == D, "embed_texts: pooled vectors of ", pooled.size(1), " values, expected ", D);
    const float* p = pooled.data<float>();
    for (std::size_t b = 0; b < indices.size(); ++b)
      std::copy(p + static_cast<int64_t>(b) * D, p + static_cast<int64_t>(b + 1) * D,
                vectors.begin() + static_cast<std::ptrdiff_t>(indices[b]) * D);
  });
  return raw::from_vector(vectors, {N, D});
}

Tensor encode_sentences(const models::SentenceTransformer& st, const tokenizer::WordPiece& tok,
                        const std::vector<std::string>& texts, const EmbedOptions& options) {
  std::vector<std::string> prepared;
  prepared.reserve(texts.size());
  for (const std::string& t : texts) prepared.push_back(st.config().do_lower_case ? python_lower(python_strip(t)) : python_strip(t));
  EmbedOptions o = options;
  if (o.max_length == 0 && st.config().max_seq_length) o.max_length = static_cast<std::size_t>(*st.config().max_seq_length);
  return embed_texts(st.encoder(), tok, prepared, st.config().pooling, st.config().normalize, o);
}

}  // namespace tz::pipelines
