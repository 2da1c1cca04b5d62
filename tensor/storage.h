// Storage: a reference-counted block of bytes that tensors view. Owned blocks are 64-byte aligned
// (one cache line, and wide enough for AVX-512 loads); a Storage can also wrap memory owned by
// someone else (a memory-mapped checkpoint) and keep that owner alive.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

namespace tz {

class Storage {
 public:
  /// Tag for the constructor that skips zeroing.
  struct Uninitialized {};

  /// Allocates `nbytes` of zeroed, 64-byte aligned memory.
  explicit Storage(size_t nbytes);
  /// Allocates `nbytes` of 64-byte aligned memory and leaves it as it is: for op outputs that the
  /// op overwrites completely (zeroing first would cost a full extra pass over the memory).
  /// Sanitizer builds, and any build while set_poison_uninitialized(true) is in effect, fill it
  /// with 0xFF bytes instead (NaN floats, -1 int64s), so an op that forgets to write an element
  /// produces a value tests notice rather than whatever the memory held before.
  Storage(size_t nbytes, Uninitialized);
  /// Wraps external memory; `release` runs when the last tensor using it is gone.
  Storage(void* data, size_t nbytes, std::function<void()> release);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() { return data_; }
  const void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  /// False for read-only external memory (e.g. a mapped file opened read-only).
  bool writable() const { return writable_; }
  void set_writable(bool w) { writable_ = w; }

 private:
  void* data_ = nullptr;
  size_t nbytes_ = 0;
  bool writable_ = true;
  bool counted_ = false;           // owned memory, counted in allocated_bytes()
  std::function<void()> release_;  // empty for owned memory that came from malloc
};

/// Blocks of 1 MB and more are mapped from the kernel and, once freed, kept in a process-wide
/// cache for the next allocation of about the same size (up to TZ_ALLOC_CACHE_MB, default 512 MB;
/// 0 turns it off): see storage.cpp. Live plus cached large blocks never exceed the highest live
/// total so far, so the cache does not raise peak memory; a request that no cached block fits
/// evicts some and takes over their pages rather than faulting in fresh ones. This hands the cached blocks back to the
/// kernel, e.g. after training when an embedding application wants its memory back, and restarts
/// that bound from the memory live now.
void release_cached_blocks();
/// Bytes currently held in that cache (0 in sanitizer builds, which do not cache).
size_t cached_block_bytes();
/// False in sanitizer builds (AddressSanitizer must see every block through malloc) and when
/// TZ_ALLOC_CACHE_MB=0 turned the cache off; true otherwise.
bool block_cache_enabled();

/// Debugging aid: while on, every uninitialised allocation (Storage(n, Uninitialized), behind
/// Tensor::uninitialized) is filled with 0xFF bytes, NaN as float32, as sanitizer builds always do.
/// An op that leaves part of its output unwritten then yields NaN every time, instead of stale
/// values that change from run to run. Starts on when the environment sets
/// TZ_POISON_UNINITIALIZED=1. Costs one pass over each such allocation.
void set_poison_uninitialized(bool on);
bool poison_uninitialized();

/// Bytes of tensor memory the library owns right now (every live owned Storage, rounded to its
/// allocation size; external memory such as a mapped checkpoint is not counted, nor is the cache
/// above). A diagnostic for memory work: what a training step keeps alive, where its peak is.
size_t allocated_bytes();
/// The highest allocated_bytes() since the start or the last reset_peak_allocated_bytes().
size_t peak_allocated_bytes();
/// Starts a new peak from the current allocated_bytes().
void reset_peak_allocated_bytes();

}  // namespace tz
