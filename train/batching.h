// Batching for training: which examples form each batch (BatchSampler: a seeded shuffle per
// epoch, optional length bucketing, resumable position) and how a batch becomes tensors
// (pad_batch: dynamic padding to the longest sequence in the batch).
// Not here: masking for MLM (mlm_collator.h); reading files (text_dataset.h, classification_dataset.h).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

#include "tensor/tensor.h"

namespace tz::train {

/// One tokenized example, special tokens included ([CLS] ... [SEP]).
struct TokenizedExample {
  std::vector<int64_t> ids;
  std::vector<int64_t> type_ids;  // empty: all zeros
};

/// Model inputs for one batch, [B, T] int64 (labels [B] or [B, T], int64 or float32).
struct Batch {
  Tensor input_ids, attention_mask, token_type_ids, labels;
  int64_t real_tokens = 0;  // non-padding tokens, for tokens/s
  int64_t size() const { return input_ids.defined() ? input_ids.size(0) : 0; }
};

/// Pads to the longest example (right padding with pad_id, attention 0, type 0). Labels are not set.
Batch pad_batch(const std::vector<const TokenizedExample*>& examples, int64_t pad_id);

struct BatchSamplerOptions {
  int64_t batch_size = 32;
  uint64_t seed = 42;
  bool shuffle = true;
  /// Group examples of similar length (within windows of 50 batches of the shuffled order) so
  /// that dynamic padding wastes less; the batch order is shuffled again afterwards.
  bool bucket_by_length = false;
  /// Drop the last, smaller batch of each epoch.
  bool drop_last = false;
};

/// Endless batches of example indices, epoch after epoch. The order of epoch e depends only on
/// (seed, e), so the resumable state is just the epoch and the position in it.
class BatchSampler {
 public:
  BatchSampler(std::vector<int64_t> lengths, BatchSamplerOptions options);
  /// The next batch's indices; moves to the next epoch after the last batch of one.
  std::vector<size_t> next();
  int64_t epoch() const { return epoch_; }
  int64_t batches_per_epoch() const { return static_cast<int64_t>(plan_.size()); }
  /// {"epoch", "position"}.
  nlohmann::json state() const;
  void load_state(const nlohmann::json& state);

 private:
  void plan_epoch();
  std::vector<int64_t> lengths_;
  BatchSamplerOptions o_;
  int64_t epoch_ = 0;
  size_t position_ = 0;
  std::vector<std::vector<size_t>> plan_;  // the batches of the current epoch
};

}  // namespace tz::train
