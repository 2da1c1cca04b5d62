// Shared by the fuzz targets: reads every element of every loaded tensor, so that AddressSanitizer
// sees any tensor whose shape claims more bytes than its storage holds.
#pragma once

#include <cstdint>

#include "tensor/io/checkpoint.h"

namespace tz::fuzz {

/// Reads every element of `t`; traps when its shape claims more bytes than its storage holds.
inline void touch(const tz::Tensor& t) {
  if (!t.defined() || t.numel() == 0) return;
  volatile double sink = 0;
  const auto n = static_cast<size_t>(t.numel());
  if (t.storage()->nbytes() < n * tz::dtype_size(t.dtype())) __builtin_trap();
  if (t.dtype() == tz::DType::Float32) {
    const float* p = t.data<float>();
    for (size_t i = 0; i < n; ++i) sink = sink + p[i];
  } else {
    const int64_t* p = t.data<int64_t>();
    for (size_t i = 0; i < n; ++i) sink = sink + static_cast<double>(p[i]);
  }
}

inline void touch(const tz::io::Checkpoint& ck) {
  for (const auto& [name, t] : ck.tensors) touch(t);
  if (ck.names.size() != ck.tensors.size()) __builtin_trap();  // names are unique
}

}  // namespace tz::fuzz
