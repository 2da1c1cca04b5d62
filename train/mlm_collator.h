// Masked-LM batches with HuggingFace's rule (DataCollatorForLanguageModeling): of the tokens that
// are not special (special ids include padding), each is chosen with probability mlm_probability;
// of the chosen, 80% become [MASK], 10% a random token of the vocabulary, 10% stay as they are.
// Labels hold the original id at chosen positions and -100 everywhere else, so the loss sees only
// the chosen tokens. All randomness comes from the Generator passed in (resumable).
// Not here: building examples from a corpus (mlm_data.h); padding (batching.h).
#pragma once

#include <cstdint>
#include <vector>

#include "tensor/random.h"
#include "train/batching.h"

namespace tz::train {

struct MlmCollatorOptions {
  double mlm_probability = 0.15;
  double mask_replace_prob = 0.8;    // of the chosen tokens: become [MASK]
  double random_replace_prob = 0.1;  // of the chosen tokens: become a random token
};

class MlmCollator {
 public:
  /// special_ids: never chosen ([CLS], [SEP], [PAD], [MASK], [UNK] as HF's all_special_ids).
  MlmCollator(int64_t mask_id, int64_t pad_id, int64_t vocab_size, std::vector<int64_t> special_ids,
              MlmCollatorOptions options = {});

  /// Masks `ids` in place and returns the labels (-100 where not chosen).
  std::vector<int64_t> mask_tokens(std::vector<int64_t>& ids, Generator& gen) const;
  /// pad_batch + mask_tokens over the padded ids; labels [B, T].
  Batch operator()(const std::vector<const TokenizedExample*>& examples, Generator& gen) const;

  bool is_special(int64_t id) const;

 private:
  int64_t mask_id_, pad_id_, vocab_size_;
  std::vector<int64_t> special_ids_;
  MlmCollatorOptions o_;
};

}  // namespace tz::train
