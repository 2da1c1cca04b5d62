// Storage: aligned allocation and external-memory wrapping; see storage.h.
#include "tensor/storage.h"

#include <cstdlib>
#include <cstring>
#include <new>

namespace tz {

static constexpr size_t kAlignment = 64;

Storage::Storage(size_t nbytes) : nbytes_(nbytes) {
  size_t rounded = (nbytes + kAlignment - 1) / kAlignment * kAlignment;
  if (rounded == 0) rounded = kAlignment;
  data_ = std::aligned_alloc(kAlignment, rounded);
  if (!data_) throw std::bad_alloc();
  std::memset(data_, 0, rounded);
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
