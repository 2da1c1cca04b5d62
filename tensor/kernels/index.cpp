// Indexing row kernels; see index.h. gather_rows is a memcpy per row (nothing to vectorise beyond
// what memcpy does); add_row is the one place where explicit SIMD pays (the embedding gradient
// adds up to B*T rows of C floats).
#include "tensor/kernels/index.h"

#include <cstring>

#include "tensor/kernels/kernel_mode.h"
#include "tensor/kernels/xsimd.h"

namespace tz::kernels {
namespace {

// The one definition of the element operation, for float and for xsimd batches.
template <class T>
T add_op(T a, T b) {
  return a + b;
}

}  // namespace

void add_row_reference(float* dst, const float* src, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = add_op(dst[i], src[i]);
}

void add_row(float* dst, const float* src, int64_t n) {
  if (use_reference()) return add_row_reference(dst, src, n);
  using B = xsimd::batch<float>;
  constexpr int64_t W = static_cast<int64_t>(B::size);
  int64_t i = 0;
  for (; i + W <= n; i += W)
    add_op(B::load_unaligned(dst + i), B::load_unaligned(src + i)).store_unaligned(dst + i);
  for (; i < n; ++i) dst[i] = add_op(dst[i], src[i]);
}

void gather_rows(const float* table, int64_t row_stride, const int64_t* ids, int64_t N, int64_t C,
                 float* out) {
  for (int64_t i = 0; i < N; ++i) std::memcpy(out + i * C, table + ids[i] * row_stride, C * sizeof(float));
}

}  // namespace tz::kernels
