// Shared pipeline plumbing; see pipeline.h.
#include "train/pipelines/pipeline.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "autograd/grad_mode.h"
#include "core/error.h"
#include "tensor/ops.h"
#include "tokenizer/unicode.h"

namespace tz::pipelines {

std::vector<std::vector<std::size_t>> equal_length_batches(std::span<const std::size_t> lengths, std::size_t batch_size) {
  TZ_CHECK(batch_size > 0, "pipeline: batch_size must be positive");
  std::vector<std::vector<std::size_t>> batches;
  std::map<std::size_t, std::size_t> open;  // length -> index of the batch still taking inputs
  for (std::size_t i = 0; i < lengths.size(); ++i) {
    auto it = open.find(lengths[i]);
    if (it == open.end() || batches[it->second].size() == batch_size) {
      open[lengths[i]] = batches.size();
      batches.push_back({i});
    } else {
      batches[it->second].push_back(i);
    }
  }
  return batches;
}

models::Inputs stack_encodings(std::span<const tokenizer::Encoding* const> batch, bool with_token_types) {
  TZ_CHECK(!batch.empty(), "stack_encodings: empty batch");
  const int64_t B = static_cast<int64_t>(batch.size()), T = static_cast<int64_t>(batch[0]->size());
  std::vector<int64_t> ids, mask, types;
  ids.reserve(static_cast<std::size_t>(B * T));
  for (const tokenizer::Encoding* e : batch) {
    TZ_CHECK(static_cast<int64_t>(e->size()) == T, "stack_encodings: encodings of ", e->size(), " and ", T,
             " tokens in one batch");
    ids.insert(ids.end(), e->ids.begin(), e->ids.end());
    mask.insert(mask.end(), e->attention_mask.begin(), e->attention_mask.end());
    if (with_token_types) types.insert(types.end(), e->type_ids.begin(), e->type_ids.end());
  }
  models::Inputs in;
  in.input_ids = raw::from_vector(ids, {B, T});
  in.attention_mask = raw::from_vector(mask, {B, T});
  if (with_token_types) in.token_type_ids = raw::from_vector(types, {B, T});
  return in;
}

void for_each_batch(models::PreTrainedModel& model, std::span<const tokenizer::Encoding* const> encodings,
                    std::size_t batch_size,
                    const std::function<void(std::span<const std::size_t>, const models::Output&)>& consume) {
  std::vector<std::size_t> lengths;
  lengths.reserve(encodings.size());
  for (const tokenizer::Encoding* e : encodings) {
    TZ_CHECK(!e->empty(), "pipeline: an input has no tokens");
    lengths.push_back(e->size());
  }
  NoGradGuard no_grad;
  for (const std::vector<std::size_t>& indices : equal_length_batches(lengths, batch_size)) {
    std::vector<const tokenizer::Encoding*> batch;
    for (std::size_t i : indices) batch.push_back(encodings[i]);
    consume(indices, model.forward(stack_encodings(batch, model.takes_token_type_ids())));
  }
}

std::size_t input_limit(const tokenizer::WordPiece& tok, const models::PretrainedConfig& config,
                        std::size_t max_length) {
  std::size_t limit = std::min<std::size_t>(tok.config().model_max_length,
                                            static_cast<std::size_t>(std::max<int64_t>(config.max_position_embeddings, 0)));
  return max_length > 0 ? std::min(limit, max_length) : limit;
}

std::vector<double> softmax(std::span<const float> logits) {
  TZ_CHECK(!logits.empty(), "softmax: empty row");
  double max = logits[0];
  for (float z : logits) max = std::max<double>(max, z);
  std::vector<double> p(logits.size());
  double sum = 0;
  for (std::size_t i = 0; i < logits.size(); ++i) sum += p[i] = std::exp(static_cast<double>(logits[i]) - max);
  for (double& v : p) v /= sum;
  return p;
}

std::string python_lower(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    std::size_t len = 1;
    const int32_t cp = tokenizer::unicode::decode(s.data(), s.size(), i, len);
    if (cp < 0) {
      out.append(s, i, len);
    } else {
      char32_t low[3];
      const int n = tokenizer::unicode::to_lower_full(static_cast<char32_t>(cp), low);
      for (int k = 0; k < n; ++k) tokenizer::unicode::append_utf8(out, low[k]);
    }
    i += len;
  }
  return out;
}

std::string python_strip(const std::string& s) {
  // Code point boundaries of the first and last non-space characters.
  std::size_t begin = s.size(), end = 0;
  for (std::size_t i = 0; i < s.size();) {
    std::size_t len = 1;
    const int32_t cp = tokenizer::unicode::decode(s.data(), s.size(), i, len);
    if (cp < 0 || !tokenizer::unicode::is_white_space(static_cast<char32_t>(cp))) {
      begin = std::min(begin, i);
      end = i + len;
    }
    i += len;
  }
  return begin < end ? s.substr(begin, end - begin) : std::string();
}

}  // namespace tz::pipelines
