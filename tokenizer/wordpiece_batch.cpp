// WordPiece: encoding batches on several threads. The texts are handed out in small chunks from one
// atomic counter to the calling thread and to pool workers that live as long as the process. A
// worker keeps its per-thread state warm from one call to the next: the word memo
// (word_cache.h), the normalizer's scratch buffers and malloc's per-thread cache. A thread started
// per call would begin each batch with an empty memo (every word walks the vocabulary trie), clear
// the 1.3 MB memo first, and take malloc's arena lock until its own cache fills: more than the
// second thread gains. Chunks rather than one fixed block per thread keep every thread busy to the
// end when one of them is slowed down by other work on the machine.
// Waking a sleeping thread takes a hundred microseconds or more (a futex wake, more in a virtual
// machine), a tenth of a 1000-line batch. So an idle worker, and a caller whose chunks are done,
// first poll for a while (kSpinWindow), yielding the core to any other runnable thread at each
// poll, and only then sleep: back-to-back batches find the worker awake, and the caller returns
// as soon as the last chunk is done.
// Not here: encoding one text (wordpiece_encode.cpp). Partner header: wordpiece.h.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "core/error.h"
#include "tokenizer/wordpiece.h"

namespace tz::tokenizer {

namespace {

constexpr auto kSpinWindow = std::chrono::microseconds(500);

/// Polls `ready` (yielding between polls) until it returns true or kSpinWindow has passed; returns
/// its last answer.
template <class Ready>
bool poll_briefly(Ready&& ready) {
  auto until = std::chrono::steady_clock::now() + kSpinWindow;
  while (!ready()) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::yield();
  }
  return true;
}

/// One parallel loop over [0, n), shared by the caller and the workers it asked for. Indices are
/// claimed a chunk at a time; a worker that arrives after the last chunk was claimed leaves at
/// once, so the caller never waits for a worker that is busy elsewhere.
struct Loop {
  alignas(64) std::atomic<std::size_t> next{0};  // first index not yet claimed (its own cache line)
  alignas(64) std::size_t n = 0, chunk = 1;
  const std::function<void(std::size_t)>* fn = nullptr;  // valid until every index is done
  std::atomic<bool> failed{false};
  std::atomic<std::size_t> done{0};  // indices finished or skipped
  std::mutex mutex;
  std::condition_variable finished;
  std::exception_ptr error;  // the first failure (under mutex)

  bool exhausted() const { return next.load(std::memory_order_relaxed) >= n; }

  void work() {
    for (;;) {
      std::size_t begin = next.fetch_add(chunk, std::memory_order_relaxed);
      if (begin >= n) return;
      std::size_t end = std::min(n, begin + chunk);
      std::exception_ptr failure;
      if (!failed.load(std::memory_order_relaxed)) {
        try {
          for (std::size_t i = begin; i < end; ++i) (*fn)(i);
        } catch (...) {
          failure = std::current_exception();
          failed = true;
        }
      }
      if (failure) {
        std::lock_guard<std::mutex> lock(mutex);
        if (!error) error = failure;
      }
      if (done.fetch_add(end - begin, std::memory_order_acq_rel) + (end - begin) == n) {
        // Taking the mutex orders this notification after the caller's check of `done`.
        std::lock_guard<std::mutex> lock(mutex);
        finished.notify_all();
      }
    }
  }

  bool all_done() const { return done.load(std::memory_order_acquire) == n; }
};

/// Threads that wait for loops to join. They start on first use and stop when the process ends.
class WorkerPool {
 public:
  static WorkerPool& instance() {
    static WorkerPool pool;
    return pool;
  }

  /// Asks `helpers` workers to join `loop`, starting workers until there are that many.
  void request(const std::shared_ptr<Loop>& loop, unsigned helpers) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      // Requests for loops that finished without a worker's help are stale.
      std::erase_if(queue_, [](const std::shared_ptr<Loop>& l) { return l->exhausted(); });
      while (workers_.size() < helpers) workers_.emplace_back([this] { serve(); });
      for (unsigned k = 0; k < helpers; ++k) queue_.push_back(loop);
      queued_.store(true, std::memory_order_release);
    }
    wake_.notify_all();
  }

  ~WorkerPool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    for (std::thread& t : workers_) t.join();
  }

 private:
  WorkerPool() = default;

  void serve() {
    for (;;) {
      std::shared_ptr<Loop> loop;
      poll_briefly([this] { return queued_.load(std::memory_order_acquire); });
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [this] { return stop_ || !queue_.empty(); });
        if (stop_) return;
        loop = std::move(queue_.front());
        queue_.pop_front();
        queued_.store(!queue_.empty(), std::memory_order_release);
      }
      loop->work();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<Loop>> queue_;
  std::atomic<bool> queued_{false};  // !queue_.empty(), readable without the mutex
  std::vector<std::thread> workers_;
  bool stop_ = false;
};

/// Runs fn(i) for every i in [0, n) on the calling thread and up to threads - 1 pool workers
/// (threads 0: one per core); rethrows the first failure once every index is done or skipped.
void parallel_for(std::size_t n, unsigned threads, const std::function<void(std::size_t)>& fn) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  threads = static_cast<unsigned>(std::min<std::size_t>({threads, n, 256}));
  if (threads <= 1) {
    for (std::size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  auto loop = std::make_shared<Loop>();
  loop->n = n;
  // About 16 chunks per thread: claims stay rare, and the last chunk is short enough that no
  // thread waits long for a slow one.
  loop->chunk = std::max<std::size_t>(1, n / (std::size_t{threads} * 16));
  loop->fn = &fn;
  WorkerPool::instance().request(loop, threads - 1);
  loop->work();
  if (!poll_briefly([&] { return loop->all_done(); })) {
    std::unique_lock<std::mutex> lock(loop->mutex);
    loop->finished.wait(lock, [&] { return loop->all_done(); });
  }
  std::lock_guard<std::mutex> lock(loop->mutex);
  if (loop->error) std::rethrow_exception(loop->error);
}

}  // namespace

void WordPiece::pad_batch(std::vector<Encoding>& batch, const EncodeOptions& options) const {
  if (!options.padding || batch.empty()) return;
  std::size_t longest = 0;
  for (const Encoding& e : batch) longest = std::max(longest, e.size());
  std::size_t length = detail::padding_length(*options.padding, longest);
  for (Encoding& e : batch) pad_to(e, length, *options.padding);
}

void WordPiece::encode_batch(const std::vector<std::string>& texts, const EncodeOptions& options,
                             std::vector<Encoding>& out) const {
  out.resize(texts.size());
  parallel_for(texts.size(), options.num_threads,
               [&](std::size_t i) { encode_into(texts[i], nullptr, options, false, out[i]); });
  pad_batch(out, options);
}

void WordPiece::encode_batch_pairs(const std::vector<std::pair<std::string, std::string>>& pairs,
                                   const EncodeOptions& options, std::vector<Encoding>& out) const {
  out.resize(pairs.size());
  parallel_for(pairs.size(), options.num_threads, [&](std::size_t i) {
    std::string_view b = pairs[i].second;
    encode_into(pairs[i].first, &b, options, false, out[i]);
  });
  pad_batch(out, options);
}

std::vector<Encoding> WordPiece::encode_batch(const std::vector<std::string>& texts,
                                              const EncodeOptions& options) const {
  std::vector<Encoding> out;
  encode_batch(texts, options, out);
  return out;
}

std::vector<Encoding> WordPiece::encode_batch_pairs(const std::vector<std::pair<std::string, std::string>>& pairs,
                                                    const EncodeOptions& options) const {
  std::vector<Encoding> out;
  encode_batch_pairs(pairs, options, out);
  return out;
}

}  // namespace tz::tokenizer
