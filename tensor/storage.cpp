// Storage: aligned allocation and external-memory wrapping; see storage.h.
#include "tensor/storage.h"

#include <sys/mman.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <new>

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

}  // namespace

// Large blocks (1 MB and up) come straight from mmap and, when freed, go to a cache of mapped
// blocks instead of back to the kernel; the next request of that size (or up to 1/4 smaller)
// takes one from there. A training step allocates and frees the same large activations and
// gradients every time. Without the cache each was a fresh mapping (or glibc's, which maps and
// trims as it likes), so every step paid a page fault per 4 KB page touched and, on munmap, a TLB
// shootdown on every core that had touched it. Measured on ConvBERT-small 8x128 training at 2
// threads: 46K page faults and 0.20 s of system time per step before, 0.5K and 0.04 s after, at
// the same peak RSS (bench/README.md).
// A fresh mapping is zero already and only materialises the pages that get touched; a reused
// block is zeroed with memset when zeroed memory is asked for. The cache keeps at most
// TZ_ALLOC_CACHE_MB (default 512) MB; a block that would overflow it is unmapped.
// Sanitizer builds keep the malloc path, which ASan tracks.
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

  /// The smallest cached block of at least `bytes` and at most 1/4 more (its size goes to
  /// `block_bytes`), or nullptr.
  void* take(size_t bytes, size_t& block_bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = blocks_.lower_bound(bytes);
    if (it == blocks_.end() || it->first > bytes + bytes / 4) return nullptr;
    void* p = it->second;
    block_bytes = it->first;
    blocks_.erase(it);
    cached_ -= block_bytes;
    return p;
  }

  /// Keeps a block for reuse, or unmaps it when the cache would exceed its limit.
  void give(void* p, size_t bytes) {
    {
      std::lock_guard<std::mutex> lock(mu_);
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

  std::mutex mu_;
  std::multimap<size_t, void*> blocks_;  // size -> block
  size_t cached_ = 0;
  size_t limit_ = size_t{512} << 20;
};

/// A large block for `bytes`: from the cache (zeroed when asked), else a fresh zero mapping.
/// Sets data and release; returns false when mmap fails (the caller falls back to malloc).
bool allocate_large(size_t bytes, bool zeroed, void*& data, std::function<void()>& release) {
  size_t mapped = (bytes + kPageBytes - 1) / kPageBytes * kPageBytes;
  void* p = LargeBlockCache::instance().take(mapped, mapped);
  if (p) {
    if (zeroed) std::memset(p, 0, mapped);
  } else {
    p = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return false;  // page-aligned, so 64-byte aligned
  }
  data = p;
  release = [p, mapped] { LargeBlockCache::instance().give(p, mapped); };
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

Storage::Storage(size_t nbytes) : nbytes_(nbytes) {
  const size_t rounded = rounded_size(nbytes);
#ifndef TZ_ASAN
  if (rounded >= kLargeBlockBytes && allocate_large(rounded, true, data_, release_)) return;
#endif
  data_ = allocate(rounded);
  std::memset(data_, 0, rounded);
}

Storage::Storage(size_t nbytes, Uninitialized) : nbytes_(nbytes) {
  const size_t rounded = rounded_size(nbytes);
#ifndef TZ_ASAN
  if (rounded >= kLargeBlockBytes && allocate_large(rounded, false, data_, release_)) return;
#endif
  data_ = allocate(rounded);
#ifdef TZ_ASAN
  std::memset(data_, 0xFF, rounded);
#endif
}

Storage::Storage(void* data, size_t nbytes, std::function<void()> release)
    : data_(data), nbytes_(nbytes), release_(std::move(release)) {}

Storage::~Storage() {
  if (release_)
    release_();
  else
    std::free(data_);
}

}  // namespace tz
