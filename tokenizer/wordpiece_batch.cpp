// WordPiece: encoding batches on several threads, one contiguous block of texts per thread.
// Not here: encoding one text (wordpiece_encode.cpp). Partner header: wordpiece.h.
#include <algorithm>
#include <exception>
#include <mutex>
#include <thread>

#include "core/error.h"
#include "tokenizer/wordpiece.h"

namespace tz::tokenizer {

namespace {

/// Runs fn(i) for i in [0, n) on up to `threads` std::threads; rethrows the first failure.
template <class Fn>
void run_parallel(std::size_t n, unsigned threads, Fn&& fn) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  threads = static_cast<unsigned>(std::min<std::size_t>(threads, n));
  if (threads <= 1) {
    for (std::size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  std::exception_ptr error;
  std::mutex error_mutex;
  std::vector<std::thread> pool;
  // Contiguous blocks keep each thread's inputs and outputs apart in memory.
  for (unsigned t = 0; t < threads; ++t) {
    std::size_t begin = n * t / threads, end = n * (t + 1) / threads;
    pool.emplace_back([&, begin, end] {
      try {
        for (std::size_t i = begin; i < end; ++i) fn(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
      }
    });
  }
  for (auto& th : pool) th.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace

void WordPiece::pad_batch(std::vector<Encoding>& batch, const EncodeOptions& options) const {
  if (!options.padding || batch.empty()) return;
  std::size_t longest = 0;
  for (const Encoding& e : batch) longest = std::max(longest, e.size());
  std::size_t length = detail::padding_length(*options.padding, longest);
  TZ_CHECK(model_->pad_id >= 0, "padding: the pad token '", model_->config.pad_token, "' has no id");
  for (Encoding& e : batch)
    detail::pad(e, length, model_->pad_id, 0, model_->config.pad_token, options.padding->direction);
}

std::vector<Encoding> WordPiece::encode_batch(const std::vector<std::string>& texts,
                                              const EncodeOptions& options) const {
  std::vector<Encoding> out(texts.size());
  run_parallel(texts.size(), options.num_threads,
               [&](std::size_t i) { out[i] = encode_one(texts[i], nullptr, options, false); });
  pad_batch(out, options);
  return out;
}

std::vector<Encoding> WordPiece::encode_batch_pairs(const std::vector<std::pair<std::string, std::string>>& pairs,
                                                    const EncodeOptions& options) const {
  std::vector<Encoding> out(pairs.size());
  run_parallel(pairs.size(), options.num_threads, [&](std::size_t i) {
    std::string_view b = pairs[i].second;
    out[i] = encode_one(pairs[i].first, &b, options, false);
  });
  pad_batch(out, options);
  return out;
}

}  // namespace tz::tokenizer
