// Bit-for-bit tensor equality for the tests that round-trip weights through files (checkpoint
// writers, tf_model.h5, `tensorzoo convert`): same shape, same dtype, same bytes (NaN payloads and
// the sign of zero included), which a tolerance or operator== on floats would not see.
#pragma once

#include <cstring>

#include "tensor/tensor.h"

namespace tz::test {

inline bool same_bits(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
  if (a.dtype() == DType::Int64) return a.to_vector<int64_t>() == b.to_vector<int64_t>();
  const auto x = a.to_vector<float>(), y = b.to_vector<float>();
  return x.empty() || std::memcmp(x.data(), y.data(), x.size() * sizeof(float)) == 0;
}

}  // namespace tz::test
