// HF's masking rule; see mlm_collator.h.
#include "train/mlm_collator.h"

#include <algorithm>

#include "core/error.h"
#include "tensor/ops.h"

namespace tz::train {

MlmCollator::MlmCollator(int64_t mask_id, int64_t pad_id, int64_t vocab_size, std::vector<int64_t> special_ids,
                         MlmCollatorOptions options)
    : mask_id_(mask_id), pad_id_(pad_id), vocab_size_(vocab_size), special_ids_(std::move(special_ids)), o_(options) {
  TZ_CHECK(mask_id >= 0 && mask_id < vocab_size, "MlmCollator: mask id ", mask_id, " is not in the vocabulary of ",
           vocab_size, " (does the tokenizer have a [MASK] token?)");
  TZ_CHECK(o_.mlm_probability > 0 && o_.mlm_probability < 1, "MlmCollator: mlm_probability must be in (0, 1), got ",
           o_.mlm_probability);
  TZ_CHECK(o_.mask_replace_prob >= 0 && o_.random_replace_prob >= 0 &&
               o_.mask_replace_prob + o_.random_replace_prob <= 1,
           "MlmCollator: mask and random replacement probabilities must be >= 0 and sum to at most 1");
  special_ids_.push_back(pad_id);
  special_ids_.push_back(mask_id);
  std::sort(special_ids_.begin(), special_ids_.end());
}

bool MlmCollator::is_special(int64_t id) const {
  return std::binary_search(special_ids_.begin(), special_ids_.end(), id);
}

std::vector<int64_t> MlmCollator::mask_tokens(std::vector<int64_t>& ids, Generator& gen) const {
  std::vector<int64_t> labels(ids.size(), -100);
  // HF draws the "random" decision among the tokens not sent to [MASK]: with 0.8 / 0.1 that is
  // bernoulli(0.1 / (1 - 0.8)) = 0.5, which we reproduce.
  const double random_given_not_mask =
      o_.mask_replace_prob < 1 ? o_.random_replace_prob / (1 - o_.mask_replace_prob) : 0.0;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (is_special(ids[i])) continue;
    if (gen.uniform_double() >= o_.mlm_probability) continue;
    labels[i] = ids[i];
    if (gen.uniform_double() < o_.mask_replace_prob) {
      ids[i] = mask_id_;
    } else if (gen.uniform_double() < random_given_not_mask) {
      ids[i] = gen.randint(0, vocab_size_);
    }
  }
  return labels;
}

Batch MlmCollator::operator()(const std::vector<const TokenizedExample*>& examples, Generator& gen) const {
  Batch batch = pad_batch(examples, pad_id_);
  std::vector<int64_t> ids = batch.input_ids.to_vector<int64_t>();
  std::vector<int64_t> labels = mask_tokens(ids, gen);
  batch.input_ids = raw::from_vector(ids, batch.input_ids.shape());
  batch.labels = raw::from_vector(labels, batch.input_ids.shape());
  return batch;
}

}  // namespace tz::train
