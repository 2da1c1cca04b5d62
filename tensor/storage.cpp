// Storage: aligned allocation and external-memory wrapping; see storage.h.
#include "tensor/storage.h"

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <utility>
#include <vector>

namespace tz {

static constexpr size_t kAlignment = 64;

// GCC defines __SANITIZE_ADDRESS__ under -fsanitize=address; clang reports it via __has_feature.
#if defined(__SANITIZE_ADDRESS__)
#define TZ_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TZ_ASAN 1
#endif
#endif

namespace {

// aligned_alloc needs a size that is a multiple of the alignment (and not zero).
size_t rounded_size(size_t nbytes) {
  const size_t rounded = (nbytes + kAlignment - 1) / kAlignment * kAlignment;
  return rounded == 0 ? kAlignment : rounded;
}

void* allocate(size_t rounded) {
  void* p = std::aligned_alloc(kAlignment, rounded);
  if (!p) throw std::bad_alloc();
  return p;
}

// Live and peak owned bytes (allocated_bytes()). Relaxed atomics: the peak is a diagnostic.
std::atomic<size_t> g_allocated{0};
std::atomic<size_t> g_peak{0};

void count_allocation(size_t bytes) {
  const size_t now = g_allocated.fetch_add(bytes, std::memory_order_relaxed) + bytes;
  size_t peak = g_peak.load(std::memory_order_relaxed);
  while (now > peak && !g_peak.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
  }
}

// Uninitialised allocations filled with 0xFF (see storage.h): always in sanitizer builds, else
// from TZ_POISON_UNINITIALIZED=1 or set_poison_uninitialized.
std::atomic<bool>& poison_flag() {
#ifdef TZ_ASAN
  static std::atomic<bool> flag{true};
#else
  static std::atomic<bool> flag{[] {
    const char* env = std::getenv("TZ_POISON_UNINITIALIZED");
    return env != nullptr && std::strcmp(env, "1") == 0;
  }()};
#endif
  return flag;
}

}  // namespace

size_t allocated_bytes() { return g_allocated.load(std::memory_order_relaxed); }

size_t peak_allocated_bytes() { return g_peak.load(std::memory_order_relaxed); }
void reset_peak_allocated_bytes() { g_peak.store(g_allocated.load(std::memory_order_relaxed), std::memory_order_relaxed); }
void set_poison_uninitialized(bool on) { poison_flag().store(on, std::memory_order_relaxed); }
bool poison_uninitialized() { return poison_flag().load(std::memory_order_relaxed); }

// Large blocks (1 MB and up) come straight from mmap and, when freed, go to a cache of mapped
// blocks instead of back to the kernel; the next request of that size (or up to 1/4 smaller)
// takes one from there. A training step allocates and frees the same large activations and
// gradients every time. Without the cache each was a fresh mapping (or glibc's, which maps and
// trims as it likes), so every step paid a page fault per 4 KB page touched and, on munmap, a TLB
// shootdown on every core that had touched it. Measured on ConvBERT-small 8x128 training at 2
// threads: 46K page faults and 0.20 s of system time per step before, 0.5K and 0.04 s after
// (bench/README.md).
// The cache must not cost resident memory: a step's peak comes at the start of the backward pass,
// when every activation is alive, and the gradients freed by zero_grad() waiting in the cache
// meanwhile would add their size to it (340 MB on ConvBERT-base 8x128). So live plus cached
// blocks are held to the highest live total seen: a miss first unmaps the cached blocks whose
// size was asked for longest ago. New mappings are 2 MB aligned and ask for transparent huge
// pages, so the blocks that do get mapped again fault once per 2 MB (base 8x128 training at 2
// threads: 400K faults per step with 4 KB pages, 75K with huge pages).
// A fresh mapping is zero already; a reused block is zeroed with memset when zeroed memory is
// asked for. The cache keeps at most TZ_ALLOC_CACHE_MB (default 512) MB; a block that would
// overflow it is unmapped. Sanitizer builds keep the malloc path, which ASan tracks.
#ifndef TZ_ASAN
namespace {

constexpr size_t kLargeBlockBytes = size_t{1} << 20;
constexpr size_t kPageBytes = 4096;

class LargeBlockCache {
 public:
  static LargeBlockCache& instance() {
    static auto* cache = new LargeBlockCache();  // never destroyed: storages may outlive statics
    return *cache;
  }

  /// A block of at least `bytes` (a page multiple): the smallest cached block of at most 1/4 more,
  /// or a fresh zero mapping (`fresh` is set then). Its size goes to `block_bytes`. Returns
  /// nullptr when mmap fails.
  void* take(size_t bytes, size_t& block_bytes, bool& fresh) {
    std::vector<std::pair<void*, size_t>> evicted;
    {
      std::lock_guard<std::mutex> lock(mu_);
      last_request_[bucket(bytes)] = ++clock_;
      auto it = blocks_.lower_bound(bytes);
      if (it != blocks_.end() && it->first <= bytes + bytes / 4) {
        void* p = it->second;
        block_bytes = it->first;
        blocks_.erase(it);
        cached_ -= block_bytes;
        live_ += block_bytes;
        fresh = false;
        return p;
      }
      // A miss maps a new block. Cached blocks are unmapped first as far as needed to keep live
      // plus cached memory at or below the highest live total so far: the cache then never
      // raises the peak resident memory, it only reuses what the program had at its peak.
      live_ += bytes;
      high_water_ = std::max(high_water_, live_);
      while (live_ + cached_ > high_water_ && !blocks_.empty()) {
        auto victim = least_wanted();
        evicted.emplace_back(victim->second, victim->first);
        cached_ -= victim->first;
        blocks_.erase(victim);
      }
    }
    for (auto& [p, n] : evicted) munmap(p, n);
    void* p = map_block(bytes);
    if (p == nullptr) {
      std::lock_guard<std::mutex> lock(mu_);
      live_ -= bytes;
      return nullptr;
    }
    block_bytes = bytes;
    fresh = true;
    return p;  // page-aligned, so 64-byte aligned
  }

  /// Keeps a block for reuse, or unmaps it when the cache would exceed its limit.
  void give(void* p, size_t bytes) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      live_ -= bytes;
      if (cached_ + bytes <= limit_) {
        blocks_.emplace(bytes, p);
        cached_ += bytes;
        return;
      }
    }
    munmap(p, bytes);
  }

  void release_all() {
    std::multimap<size_t, void*> blocks;
    {
      std::lock_guard<std::mutex> lock(mu_);
      blocks.swap(blocks_);
      cached_ = 0;
      high_water_ = live_;  // the footprint bound starts over from here
    }
    for (auto& [bytes, p] : blocks) munmap(p, bytes);
  }

  size_t cached_bytes() {
    std::lock_guard<std::mutex> lock(mu_);
    return cached_;
  }

 private:
  LargeBlockCache() {
    // TZ_ALLOC_CACHE_MB caps the bytes kept for reuse (0 turns the cache off).
    if (const char* env = std::getenv("TZ_ALLOC_CACHE_MB")) {
      char* end = nullptr;
      const unsigned long long mb = std::strtoull(env, &end, 10);
      if (end != env && *end == '\0') limit_ = static_cast<size_t>(mb) << 20;
    }
  }

  /// A fresh zero mapping of `bytes`, starting on a 2 MB boundary so that the kernel can back it
  /// with transparent huge pages (asked for with MADV_HUGEPAGE): one page fault per 2 MB instead of
  /// one per 4 KB. nullptr when mmap fails.
  static void* map_block(size_t bytes) {
    constexpr size_t kHuge = size_t{2} << 20;
    const size_t span = bytes >= kHuge ? bytes + kHuge : bytes;
    void* raw = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return nullptr;
    if (span == bytes) return raw;
    char* base = static_cast<char*>(raw);
    char* start = reinterpret_cast<char*>((reinterpret_cast<uintptr_t>(base) + kHuge - 1) & ~(kHuge - 1));
    if (start > base) munmap(base, static_cast<size_t>(start - base));
    char* end = start + bytes;
    if (base + span > end) munmap(end, static_cast<size_t>(base + span - end));
    madvise(start, bytes, MADV_HUGEPAGE);
    return start;
  }

  /// Sizes in buckets of 1/8 of a power of two: 1 MB, 1.125 MB, ..., 2 MB, 2.25 MB, ...
  static int bucket(size_t bytes) {
    const int log2 = 63 - __builtin_clzll(bytes);
    return log2 * 8 + static_cast<int>((bytes >> (log2 - 3)) & 7);
  }

  /// The cached block whose size was asked for longest ago. A training step asks for the same
  /// sizes in the same order every time, so a size not asked for lately (the gradients' sizes
  /// during the forward pass, say) is the one least likely to be needed next.
  std::multimap<size_t, void*>::iterator least_wanted() {
    auto victim = blocks_.begin();
    uint64_t victim_time = UINT64_MAX;
    for (auto it = blocks_.begin(); it != blocks_.end(); ++it) {
      auto r = last_request_.find(bucket(it->first));
      const uint64_t t = r == last_request_.end() ? 0 : r->second;
      if (t < victim_time) victim = it, victim_time = t;
    }
    return victim;
  }

  std::mutex mu_;
  std::multimap<size_t, void*> blocks_;  // size -> block
  std::map<int, uint64_t> last_request_;  // size bucket -> clock_ at its last request
  uint64_t clock_ = 0;
  size_t cached_ = 0;      // bytes in blocks_
  size_t live_ = 0;        // bytes of large blocks handed out and not yet given back
  size_t high_water_ = 0;  // the most live_ has been
  size_t limit_ = size_t{512} << 20;
};

/// A large block for `bytes`: from the cache (zeroed when asked), else a fresh zero mapping.
/// Sets data and release; returns false when mmap fails (the caller falls back to malloc).
bool allocate_large(size_t bytes, bool zeroed, void*& data, std::function<void()>& release) {
  const size_t mapped_bytes = (bytes + kPageBytes - 1) / kPageBytes * kPageBytes;
  size_t block_bytes = 0;
  bool fresh = false;
  void* p = LargeBlockCache::instance().take(mapped_bytes, block_bytes, fresh);
  if (!p) return false;
  if (zeroed && !fresh) std::memset(p, 0, block_bytes);
  data = p;
  release = [p, block_bytes] { LargeBlockCache::instance().give(p, block_bytes); };
  return true;
}

}  // namespace
#endif

void release_cached_blocks() {
#ifndef TZ_ASAN
  LargeBlockCache::instance().release_all();
#endif
}

size_t cached_block_bytes() {
#ifndef TZ_ASAN
  return LargeBlockCache::instance().cached_bytes();
#else
  return 0;
#endif
}

Storage::Storage(size_t nbytes) : nbytes_(nbytes), counted_(true) {
  const size_t rounded = rounded_size(nbytes);
#ifndef TZ_ASAN
  if (rounded >= kLargeBlockBytes && allocate_large(rounded, true, data_, release_)) {
    count_allocation(rounded);
    return;
  }
#endif
  data_ = allocate(rounded);
  count_allocation(rounded);
  std::memset(data_, 0, rounded);
}

Storage::Storage(size_t nbytes, Uninitialized) : nbytes_(nbytes), counted_(true) {
  const size_t rounded = rounded_size(nbytes);
#ifndef TZ_ASAN
  if (rounded >= kLargeBlockBytes && allocate_large(rounded, false, data_, release_)) {
    count_allocation(rounded);
    if (poison_uninitialized()) std::memset(data_, 0xFF, rounded);
    return;
  }
#endif
  data_ = allocate(rounded);
  count_allocation(rounded);
  if (poison_uninitialized()) std::memset(data_, 0xFF, rounded);
}

Storage::Storage(void* data, size_t nbytes, std::function<void()> release)
    : data_(data), nbytes_(nbytes), release_(std::move(release)) {}

Storage::~Storage() {
  if (counted_) g_allocated.fetch_sub(rounded_size(nbytes_), std::memory_order_relaxed);
  if (release_)
    release_();
  else
    std::free(data_);
}

}  // namespace tz
