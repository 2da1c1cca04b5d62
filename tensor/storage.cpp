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
// gradients every time. Without the cache each would be a fresh mapping (or glibc's, which maps
// and trims as it likes), so every step would pay a page fault per 4 KB page touched and, on
// munmap, a TLB shootdown on every core that had touched it.
// The cache must not cost resident memory: a step's peak comes at the start of the backward pass,
// when every activation is alive, and the gradients freed by zero_grad() waiting in the cache
// meanwhile would add their size to it (340 MB on ConvBERT-base 8x128). So live plus cached
// blocks are held to the highest live total seen: a miss first evicts as much of the cached blocks
// whose size was asked for longest ago, and the new block takes over their whole 2 MB pages
// (mremap moves page tables; nothing is copied, zeroed or faulted in again; see move_pages_into).
// The rest is fresh. New mappings are 2 MB aligned and ask for transparent huge pages, so the
// fresh part faults once per 2 MB instead of once per 4 KB.
// A fresh mapping is zero already; a reused block, or the taken-over part of a new one, is zeroed
// with memset when zeroed memory is asked for. The cache keeps at most TZ_ALLOC_CACHE_MB (default 512) MB; a block that would
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
  /// or a new mapping that holds the pages of the blocks evicted to make room for it. Its size goes
  /// to `block_bytes`; `dirty_bytes` says how many of its leading bytes may hold old data (the rest
  /// are fresh zero pages). Returns nullptr when mmap fails.
  void* take(size_t bytes, size_t& block_bytes, size_t& dirty_bytes) {
    std::vector<Span> evicted;  // the evicted blocks' mappings
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
        dirty_bytes = block_bytes;
        return p;
      }
      // A miss maps a new block. Cached blocks are evicted first as far as needed to keep live
      // plus cached memory at or below the highest live total so far: the cache then never
      // raises the peak resident memory, it only reuses what the program had at its peak.
      live_ += bytes;
      high_water_ = std::max(high_water_, live_);
      while (live_ + cached_ > high_water_ && !blocks_.empty()) evict(live_ + cached_ - high_water_, evicted);
    }
    char* p = static_cast<char*>(map_block(bytes));
    if (p == nullptr) {
      for (const Span& m : evicted) munmap(m.at, m.n);
      std::lock_guard<std::mutex> lock(mu_);
      live_ -= bytes;
      return nullptr;
    }
    std::vector<size_t> cuts;
    dirty_bytes = move_pages_into(p, bytes, evicted, cuts);
    if (!cuts.empty()) {
      std::lock_guard<std::mutex> lock(mu_);
      cuts_[p] = std::move(cuts);
    }
    block_bytes = bytes;
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
      cuts_.erase(p);
    }
    munmap(p, bytes);
  }

  void release_all() {
    std::multimap<size_t, void*> blocks;
    {
      std::lock_guard<std::mutex> lock(mu_);
      blocks.swap(blocks_);
      for (auto& [bytes, p] : blocks) cuts_.erase(p);
      cached_ = 0;
      high_water_ = live_;  // the footprint bound starts over from here
    }
    for (auto& [bytes, p] : blocks) munmap(p, bytes);
  }

  size_t cached_bytes() {
    std::lock_guard<std::mutex> lock(mu_);
    return cached_;
  }

  size_t limit() const { return limit_; }  // set once, in the constructor

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

  /// A range of address space that is one kernel mapping (what mremap can move in one call).
  struct Span {
    char* at;
    size_t n;
  };

  /// Evicts `over` bytes or more from the least wanted cached block, appending its mappings to
  /// `out`. A block larger than that by 1 MB or more gives up only its first `over` bytes (rounded
  /// up to 2 MB, to keep the rest aligned for huge pages) and stays cached with the rest: evicting
  /// an 89 MB gradient block to make room for 3 MB would throw away pages the next misses could
  /// have used. Called under mu_.
  void evict(size_t over, std::vector<Span>& out) {
    constexpr size_t kHuge = size_t{2} << 20;
    auto victim = least_wanted();
    char* at = static_cast<char*>(victim->second);
    const size_t n = victim->first;
    std::vector<size_t> cuts;
    if (auto it = cuts_.find(at); it != cuts_.end()) {
      cuts = std::move(it->second);
      cuts_.erase(it);
    }
    blocks_.erase(victim);
    const size_t part = (over + kHuge - 1) / kHuge * kHuge;
    const size_t taken = part + kLargeBlockBytes <= n ? part : n;
    // The mappings of [0, taken) go out; cuts past it belong to the rest, which starts a block.
    size_t begin = 0;
    std::vector<size_t> rest_cuts;
    for (size_t cut : cuts) {
      if (cut < taken) {
        out.push_back({at + begin, cut - begin});
        begin = cut;
      } else if (cut > taken) {
        rest_cuts.push_back(cut - taken);
      }
    }
    out.push_back({at + begin, taken - begin});
    cached_ -= taken;
    if (taken < n) {
      blocks_.emplace(n - taken, at + taken);
      if (!rest_cuts.empty()) cuts_[at + taken] = std::move(rest_cuts);
    }
  }

  /// Moves the whole 2 MB pages of the evicted blocks' mappings to the front of the new block
  /// `dest` (mremap: the page tables move; the memory is neither copied nor zeroed), unmaps the
  /// rest, and returns how many bytes were filled that way. `cuts` gets the offsets where a new
  /// mapping starts inside `dest`, so that a later eviction can move it piece by piece.
  /// Why: a training step asks for its sizes in one order in the forward pass and in another in
  /// the backward pass, so most misses evict about as much as they map. Unmapping every evicted
  /// byte would make the kernel fault in and zero every new one again. Only 2 MB-aligned pieces
  /// move, to 2 MB-aligned places, so transparent huge pages move as they are. The unaligned
  /// remainders are unmapped rather than moved: a 4 KB page moved by mremap can cost more at its
  /// next touch than a fresh one (on paravirtualised machines in particular).
  /// A block is made of at most kMaxMappings pieces (the process has a limit on mappings).
  static size_t move_pages_into(char* dest, size_t bytes, const std::vector<Span>& evicted, std::vector<size_t>& cuts) {
    constexpr size_t kHuge = size_t{2} << 20;
    constexpr size_t kMaxMappings = 16;
    std::vector<Span> aligned;
    for (const Span& m : evicted) {
      const size_t lead = reinterpret_cast<uintptr_t>(m.at) % kHuge == 0 ? m.n / kHuge * kHuge : 0;
      if (lead > 0) aligned.push_back({m.at, lead});
      if (m.n > lead) munmap(m.at + lead, m.n - lead);
    }
    std::sort(aligned.begin(), aligned.end(), [](const Span& a, const Span& b) { return a.n > b.n; });
    size_t filled = 0;
    for (Span& m : aligned) {
      const size_t n = std::min(m.n, (bytes - filled) / kHuge * kHuge);
      if (n > 0 && cuts.size() + 2 <= kMaxMappings &&
          mremap(m.at, n, n, MREMAP_MAYMOVE | MREMAP_FIXED, dest + filled) != MAP_FAILED) {
        if (filled > 0) cuts.push_back(filled);
        filled += n;
        m.at += n;
        m.n -= n;
      }
      if (m.n > 0) munmap(m.at, m.n);
    }
    if (filled > 0 && filled < bytes) cuts.push_back(filled);  // the fresh tail is a mapping too
    return filled;
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
  std::map<void*, std::vector<size_t>> cuts_;  // block -> offsets where another mapping starts in it
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
  size_t dirty_bytes = 0;
  void* p = LargeBlockCache::instance().take(mapped_bytes, block_bytes, dirty_bytes);
  if (!p) return false;
  if (zeroed && dirty_bytes > 0) std::memset(p, 0, dirty_bytes);
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

bool block_cache_enabled() {
#ifndef TZ_ASAN
  return LargeBlockCache::instance().limit() > 0;
#else
  return false;
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
