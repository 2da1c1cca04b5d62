// Row kernels for the indexing ops (embedding lookup and its scatter-add backward).
// Each has a scalar reference (`*_reference`) and an xsimd version; the xsimd one is used unless
// TZ_KERNELS=reference (kernel_mode.h). The drivers (shape checks, id validation, threading) are in
// tensor/index_ops.cpp.
#pragma once

#include <cstdint>

namespace tz::kernels {

/// dst [n] += src [n]   (both contiguous)
void add_row(float* dst, const float* src, int64_t n);
void add_row_reference(float* dst, const float* src, int64_t n);

/// out [N, C] row i = table row ids[i]; table rows are `row_stride` apart with unit column stride.
/// ids must already be validated against the table size.
void gather_rows(const float* table, int64_t row_stride, const int64_t* ids, int64_t N, int64_t C,
                 float* out);

}  // namespace tz::kernels
