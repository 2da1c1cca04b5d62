// Overflow-checked size arithmetic and little-endian field reads for the file parsers (internal).
// Every count read from a file goes through these before it sizes an allocation or an offset.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>

#include "tensor/shape.h"

namespace tz::io::detail {

/// a * b, or nullopt when it does not fit in int64 (inputs must be >= 0).
inline std::optional<int64_t> mul_nonneg(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) return std::nullopt;
  return r;
}

inline std::optional<int64_t> add_nonneg(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) return std::nullopt;
  return r;
}

/// Product of the sizes, or nullopt on overflow or a negative size.
inline std::optional<int64_t> checked_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t s : shape) {
    if (s < 0) return std::nullopt;
    auto m = mul_nonneg(n, s);
    if (!m) return std::nullopt;
    n = *m;
  }
  return n;
}

template <class T>
T read_le(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));  // host is little-endian (static_assert in stored_dtype.cpp)
  return v;
}

}  // namespace tz::io::detail
