// Storage: aligned allocation and external-memory wrapping; see storage.h.
#include "tensor/storage.h"

#include <sys/mman.h>

#include <cstdlib>
#include <cstring>
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

// Large zeroed blocks come straight from mmap: fresh anonymous pages are zero already, and a page
// is only materialised when first touched. A [30522, 256] embedding gradient (31 MB, of which a
// step writes a few hundred rows) then costs page faults for those rows instead of a 31 MB memset
// (about 20 ms per step). Sanitizer builds keep the malloc path, which ASan tracks.
#ifndef TZ_ASAN
static constexpr size_t kMmapZeroedBytes = size_t{1} << 20;
#endif

Storage::Storage(size_t nbytes) : nbytes_(nbytes) {
  const size_t rounded = rounded_size(nbytes);
#ifndef TZ_ASAN
  if (rounded >= kMmapZeroedBytes) {
    void* p = mmap(nullptr, rounded, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED) {  // page-aligned, so 64-byte aligned
      data_ = p;
      release_ = [p, rounded] { munmap(p, rounded); };
      return;
    }
  }
#endif
  data_ = allocate(rounded);
  std::memset(data_, 0, rounded);
}

Storage::Storage(size_t nbytes, Uninitialized) : nbytes_(nbytes) {
  const size_t rounded = rounded_size(nbytes);
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
