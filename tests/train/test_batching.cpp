// Dynamic padding, the seeded epoch sampler (coverage, determinism, resumable state) and
// length bucketing.
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>

#include "train/batching.h"

using namespace tz::train;

TEST_CASE("pad_batch pads to the longest example of the batch", "[train][batching]") {
  TokenizedExample a{{101, 7, 102}, {}}, b{{101, 5, 6, 8, 102}, {0, 0, 0, 1, 1}};
  Batch batch = pad_batch({&a, &b}, 0);
  CHECK(batch.input_ids.shape() == tz::Shape{2, 5});
  CHECK(batch.input_ids.to_vector<int64_t>() == std::vector<int64_t>{101, 7, 102, 0, 0, 101, 5, 6, 8, 102});
  CHECK(batch.attention_mask.to_vector<int64_t>() == std::vector<int64_t>{1, 1, 1, 0, 0, 1, 1, 1, 1, 1});
  CHECK(batch.token_type_ids.to_vector<int64_t>() == std::vector<int64_t>{0, 0, 0, 0, 0, 0, 0, 0, 1, 1});
  CHECK(batch.real_tokens == 8);
  CHECK(pad_batch({&a}, 0).input_ids.shape() == tz::Shape{1, 3});  // no padding beyond the batch
}

TEST_CASE("BatchSampler: each epoch covers every example once, order depends on seed and epoch",
          "[train][batching]") {
  std::vector<int64_t> lengths(23, 5);
  BatchSampler s(lengths, {.batch_size = 5, .seed = 7});
  CHECK(s.batches_per_epoch() == 5);  // 4 full + one of 3
  std::vector<size_t> epoch0, epoch1;
  for (int i = 0; i < 5; ++i) {
    auto b = s.next();
    CHECK(b.size() == (i < 4 ? 5u : 3u));
    epoch0.insert(epoch0.end(), b.begin(), b.end());
  }
  for (int i = 0; i < 5; ++i) {
    auto b = s.next();
    epoch1.insert(epoch1.end(), b.begin(), b.end());
  }
  CHECK(s.epoch() == 1);
  std::vector<size_t> sorted0 = epoch0, sorted1 = epoch1;
  std::sort(sorted0.begin(), sorted0.end());
  std::sort(sorted1.begin(), sorted1.end());
  for (size_t i = 0; i < 23; ++i) CHECK((sorted0[i] == i && sorted1[i] == i));
  CHECK(epoch0 != epoch1);  // reshuffled each epoch

  BatchSampler same(lengths, {.batch_size = 5, .seed = 7}), other(lengths, {.batch_size = 5, .seed = 8});
  CHECK(same.next() == std::vector<size_t>(epoch0.begin(), epoch0.begin() + 5));
  CHECK(other.next() != std::vector<size_t>(epoch0.begin(), epoch0.begin() + 5));

  BatchSampler ordered(lengths, {.batch_size = 5, .seed = 7, .shuffle = false, .drop_last = true});
  CHECK(ordered.batches_per_epoch() == 4);
  CHECK(ordered.next() == std::vector<size_t>{0, 1, 2, 3, 4});
}

TEST_CASE("BatchSampler state resumes the exact sequence", "[train][batching]") {
  std::vector<int64_t> lengths(17, 3);
  BatchSampler a(lengths, {.batch_size = 4, .seed = 3});
  for (int i = 0; i < 7; ++i) a.next();  // into the second epoch
  nlohmann::json state = a.state();
  BatchSampler b(lengths, {.batch_size = 4, .seed = 3});
  b.load_state(state);
  for (int i = 0; i < 12; ++i) CHECK(a.next() == b.next());
  nlohmann::json bad = {{"epoch", 0}, {"position", 99}};
  CHECK_THROWS_WITH(b.load_state(bad), Catch::Contains("beyond the 5 batches"));
}

TEST_CASE("length bucketing puts similar lengths together and keeps coverage", "[train][batching]") {
  std::vector<int64_t> lengths;
  for (int i = 0; i < 200; ++i) lengths.push_back(1 + (i * 37) % 100);
  auto padding_of = [&](BatchSampler& s) {
    int64_t pad = 0;
    std::set<size_t> seen;
    for (int64_t b = 0; b < s.batches_per_epoch(); ++b) {
      auto idx = s.next();
      int64_t longest = 0;
      for (size_t i : idx) longest = std::max(longest, lengths[i]), seen.insert(i);
      for (size_t i : idx) pad += longest - lengths[i];
    }
    CHECK(seen.size() == lengths.size());
    return pad;
  };
  BatchSampler plain(lengths, {.batch_size = 8, .seed = 1});
  BatchSampler bucketed(lengths, {.batch_size = 8, .seed = 1, .bucket_by_length = true});
  int64_t p_plain = padding_of(plain), p_bucketed = padding_of(bucketed);
  INFO(p_plain << " vs " << p_bucketed);
  CHECK(p_bucketed * 5 < p_plain);
}
