// A small persistent thread pool behind parallel_for; see parallel.h.
// Design: a parallel_for publishes one job (a function and a chunk count); every participant (the
// caller included) claims chunks from one atomic ticket and the caller returns once all chunks
// are done. Exceptions in chunks are rethrown in the caller.
//
// Waiting: a worker that finds no job spins for a short while (kSpinBudget) before it sleeps on a
// condition variable, and so does the caller waiting for the last chunk. Waking a sleeping thread
// costs about 20 us on this project's VMs, and an inference forward runs hundreds of short
// parallel regions; a bounded spin keeps each hand-over under a microsecond, while a pool with
// nothing to do still goes quiet within the budget, so it never keeps a core busy for long.
//
// The ticket holds (job number << 32 | next chunk): a worker that picked up job j can claim a
// chunk only while job j is still the published one, so a late worker can never run a chunk of a
// later job with the function of an earlier one, nor call a function whose job has returned.
#include "tensor/parallel.h"

#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "core/error.h"

namespace tz {
namespace {

thread_local bool t_in_parallel = false;

constexpr auto kSpinBudget = std::chrono::microseconds(100);

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  std::this_thread::yield();
#endif
}

// Spins until ready() or the budget is spent; returns ready()'s last value.
template <class Ready>
bool spin_until(Ready ready) {
  if (ready()) return true;
  const auto deadline = std::chrono::steady_clock::now() + kSpinBudget;
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      cpu_relax();
      if (ready()) return true;
    }
    if (std::chrono::steady_clock::now() >= deadline) return ready();
  }
}

class ThreadPool {
 public:
  explicit ThreadPool(int n) { resize(n); }
  ~ThreadPool() { stop_workers(); }

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  void resize(int n) {
    stop_workers();
    stop_.store(false);
    for (int i = 1; i < n; ++i) workers_.emplace_back([this] { worker_loop(); });
  }

  void run(int64_t chunks, const std::function<void(int64_t)>& fn) {
    TZ_CHECK(chunks < (int64_t{1} << 31), "parallel_for: too many chunks (", chunks, ")");
    std::unique_lock<std::mutex> job_lock(job_mutex_);  // one parallel job at a time
    Job job;
    {
      std::lock_guard<std::mutex> lk(m_);
      job.number = ++job_number_;
      job.fn = &fn;
      job.chunks = chunks;
      job_ = job;
      done_.store(0);
      error_ = nullptr;
      ticket_.store(job.number << 32);
    }
    cv_.notify_all();
    work(job);
    if (!spin_until([&] { return done_.load(std::memory_order_acquire) == chunks; })) {
      std::unique_lock<std::mutex> lk(m_);
      done_cv_.wait(lk, [&] { return done_.load() == chunks; });
    }
    std::lock_guard<std::mutex> lk(m_);
    job_.fn = nullptr;
    if (error_) std::rethrow_exception(error_);
  }

 private:
  struct Job {
    uint64_t number = 0;
    const std::function<void(int64_t)>* fn = nullptr;
    int64_t chunks = 0;
  };

  // Claims and runs chunks of `job` until none is left (or a newer job has replaced it).
  void work(const Job& job) {
    bool was = t_in_parallel;
    t_in_parallel = true;
    int64_t finished = 0;
    uint64_t t = ticket_.load();
    for (;;) {
      if ((t >> 32) != job.number || static_cast<int64_t>(t & 0xffffffffu) >= job.chunks) break;
      if (!ticket_.compare_exchange_weak(t, t + 1)) continue;  // t now holds the current ticket
      try {
        (*job.fn)(static_cast<int64_t>(t & 0xffffffffu));
      } catch (...) {
        std::lock_guard<std::mutex> lk(m_);
        if (!error_) error_ = std::current_exception();
      }
      ++finished;
      t = ticket_.load();
    }
    t_in_parallel = was;
    if (finished && done_.fetch_add(finished, std::memory_order_acq_rel) + finished == job.chunks) {
      std::lock_guard<std::mutex> lk(m_);  // the caller may be between its check and its wait
      done_cv_.notify_all();
    }
  }

  void worker_loop() {
    uint64_t seen = 0;
    for (;;) {
      spin_until([&] { return stop_.load() || (ticket_.load(std::memory_order_acquire) >> 32) != seen; });
      Job job;
      {
        std::unique_lock<std::mutex> lk(m_);
        cv_.wait(lk, [&] { return stop_.load() || job_number_ != seen; });
        if (stop_.load()) return;
        seen = job_number_;
        job = job_;
      }
      if (job.fn) work(job);
    }
  }

  void stop_workers() {
    {
      std::lock_guard<std::mutex> lk(m_);
      stop_.store(true);
    }
    cv_.notify_all();
    for (auto& w : workers_) w.join();
    workers_.clear();
  }

  std::vector<std::thread> workers_;
  std::mutex job_mutex_, m_;
  std::condition_variable cv_, done_cv_;
  Job job_;                       // the published job (guarded by m_)
  uint64_t job_number_ = 0;       // guarded by m_
  std::atomic<uint64_t> ticket_{0};
  std::atomic<int64_t> done_{0};
  std::atomic<bool> stop_{false};
  std::exception_ptr error_;
};

int default_threads() {
  if (const char* env = std::getenv("TZ_NUM_THREADS")) {
    int n = std::atoi(env);
    if (n >= 1) return n;
  }
  unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

ThreadPool& pool() {
  static ThreadPool p([] {
    // OpenBLAS runs single-threaded for good: large products are split over this pool instead
    // (kernels::sgemm_parallel), so one set of threads does all the work and none spin idle.
    openblas_set_num_threads(1);
    return default_threads();
  }());
  return p;
}

}  // namespace

void set_num_threads(int n) {
  TZ_CHECK(n >= 1, "set_num_threads: expected n >= 1, got ", n);
  if (pool().size() != n) pool().resize(n);
}

int get_num_threads() { return pool().size(); }

bool in_parallel_region() { return t_in_parallel; }

void parallel_for(int64_t begin, int64_t end, int64_t grain,
                  const std::function<void(int64_t, int64_t)>& fn) {
  if (end <= begin) return;
  int64_t n = end - begin;
  grain = std::max<int64_t>(grain, 1);
  int threads = t_in_parallel ? 1 : get_num_threads();
  int64_t chunks = std::min<int64_t>(threads, (n + grain - 1) / grain);
  if (chunks <= 1) {
    fn(begin, end);
    return;
  }
  int64_t step = (n + chunks - 1) / chunks;
  std::function<void(int64_t)> chunk_fn = [&](int64_t c) {
    int64_t b = begin + c * step, e = std::min(end, b + step);
    if (b < e) fn(b, e);
  };
  pool().run(chunks, chunk_fn);
}

}  // namespace tz
