// std::vector whose data starts on a 64-byte boundary (a cache line, one AVX-512 vector): for
// packed weights that the kernels read in 64-byte groups, which would otherwise straddle two cache
// lines whenever the allocator returned a 16-byte aligned block. Not here: tensor memory
// (tensor/storage.h, also 64-byte aligned).
#pragma once

#include <cstddef>
#include <new>
#include <vector>

namespace tz::kernels {

inline constexpr std::size_t kCacheLine = 64;

template <class T>
struct CacheAlignedAllocator {
  using value_type = T;
  CacheAlignedAllocator() = default;
  template <class U>
  CacheAlignedAllocator(const CacheAlignedAllocator<U>&) {}
  T* allocate(std::size_t n) {
    return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t{kCacheLine}));
  }
  void deallocate(T* p, std::size_t) { ::operator delete(p, std::align_val_t{kCacheLine}); }
  template <class U>
  bool operator==(const CacheAlignedAllocator<U>&) const { return true; }
};

template <class T>
using AlignedVector = std::vector<T, CacheAlignedAllocator<T>>;

}  // namespace tz::kernels
