// Dynamic padding and the epoch sampler; see batching.h.
#include "train/batching.h"

#include <algorithm>
#include <numeric>

#include "core/error.h"
#include "tensor/ops.h"
#include "tensor/random.h"

namespace tz::train {

Batch pad_batch(const std::vector<const TokenizedExample*>& examples, int64_t pad_id) {
  TZ_CHECK(!examples.empty(), "pad_batch: empty batch");
  size_t T = 0;
  for (const auto* e : examples) T = std::max(T, e->ids.size());
  const auto B = static_cast<int64_t>(examples.size());
  std::vector<int64_t> ids(B * T, pad_id), mask(B * T, 0), types(B * T, 0);
  Batch batch;
  for (int64_t b = 0; b < B; ++b) {
    const auto& e = *examples[b];
    for (size_t t = 0; t < e.ids.size(); ++t) {
      ids[b * T + t] = e.ids[t];
      mask[b * T + t] = 1;
      if (!e.type_ids.empty()) types[b * T + t] = e.type_ids[t];
    }
    batch.real_tokens += static_cast<int64_t>(e.ids.size());
  }
  const Shape shape{B, static_cast<int64_t>(T)};
  batch.input_ids = raw::from_vector(ids, shape);
  batch.attention_mask = raw::from_vector(mask, shape);
  batch.token_type_ids = raw::from_vector(types, shape);
  return batch;
}

BatchSampler::BatchSampler(std::vector<int64_t> lengths, BatchSamplerOptions options)
    : lengths_(std::move(lengths)), o_(options) {
  TZ_CHECK(o_.batch_size > 0, "BatchSampler: batch_size must be positive, got ", o_.batch_size);
  TZ_CHECK(!lengths_.empty(), "BatchSampler: no examples");
  TZ_CHECK(!o_.drop_last || static_cast<int64_t>(lengths_.size()) >= o_.batch_size, "BatchSampler: ",
           lengths_.size(), " examples are fewer than one batch of ", o_.batch_size, " with drop_last");
  plan_epoch();
}

void BatchSampler::plan_epoch() {
  const size_t n = lengths_.size(), bs = static_cast<size_t>(o_.batch_size);
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  // A fresh generator per epoch: epoch e's order is a function of (seed, e) alone.
  Generator gen(o_.seed * 1000003ULL + static_cast<uint64_t>(epoch_));
  auto shuffle = [&](auto& v) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[gen.randint(0, static_cast<int64_t>(i))]);
  };
  if (o_.shuffle) shuffle(order);
  if (o_.bucket_by_length) {
    const size_t window = bs * 50;
    for (size_t start = 0; start < n; start += window) {
      auto end = order.begin() + static_cast<std::ptrdiff_t>(std::min(n, start + window));
      std::stable_sort(order.begin() + static_cast<std::ptrdiff_t>(start), end,
                       [&](size_t a, size_t b) { return lengths_[a] > lengths_[b]; });
    }
  }
  plan_.clear();
  for (size_t start = 0; start < n; start += bs) {
    if (o_.drop_last && start + bs > n) break;
    plan_.emplace_back(order.begin() + static_cast<std::ptrdiff_t>(start),
                       order.begin() + static_cast<std::ptrdiff_t>(std::min(n, start + bs)));
  }
  if (o_.bucket_by_length && o_.shuffle) shuffle(plan_);
}

std::vector<size_t> BatchSampler::next() {
  if (position_ >= plan_.size()) {
    ++epoch_;
    position_ = 0;
    plan_epoch();
  }
  return plan_[position_++];
}

nlohmann::json BatchSampler::state() const { return {{"epoch", epoch_}, {"position", position_}}; }

void BatchSampler::load_state(const nlohmann::json& state) {
  // Checked before conversion: a float such as 1e300 converted to an integer is undefined behaviour.
  auto count = [&](const char* key) {
    TZ_CHECK(state.is_object() && state.contains(key) && state[key].is_number_integer() &&
                 (state[key].is_number_unsigned() || state[key].get<int64_t>() >= 0),
             "BatchSampler: saved state must hold a non-negative integer \"", key, "\", got ", state.dump());
    return state[key].get<uint64_t>();
  };
  const uint64_t epoch = count("epoch");
  const uint64_t position = count("position");
  TZ_CHECK(epoch <= uint64_t{1} << 40, "BatchSampler: bad epoch ", epoch, " in saved state");
  epoch_ = static_cast<int64_t>(epoch);
  plan_epoch();
  TZ_CHECK(position <= plan_.size(), "BatchSampler: saved position ", position, " is beyond the ", plan_.size(),
           " batches of an epoch (was the data changed?)");
  position_ = position;
}

}  // namespace tz::train
