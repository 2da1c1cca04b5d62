// Reduction kernels over one strided run, the building blocks of sum/mean/amax (and of the row
// statistics in softmax and layer norm). Two shapes of work cover every reduction:
//   reduce_run:     a run collapses to one value (the reduced dim is the contiguous one);
//   accumulate_run: a run is combined elementwise into an accumulator row (the reduced dims are
//                   outer, e.g. a bias gradient summing [N, C] rows into [C]).
// Max propagates NaN, like torch.amax. Scalar reference and xsimd loops sit side by side in
// reduce.cpp. Partner: tensor/reduce_ops.cpp (dims, keepdim, threads).
#pragma once

#include <cstdint>

namespace tz::kernels {

enum class ReduceOp { Sum, Max };

/// The identity of `op`: 0 for Sum, -inf for Max.
float reduce_identity(ReduceOp op);
/// Combines two partial results (a + b, or the NaN-propagating max).
float reduce_combine(ReduceOp op, float a, float b);

/// x [n] stride sx -> one value (the identity when n == 0).
/// The vector path keeps several partial sums, which also bounds rounding error growth.
float reduce_run(ReduceOp op, int64_t n, const float* x, int64_t sx);

/// x [n] stride sx, acc [n] stride sa: acc[i] = combine(acc[i], x[i]).
void accumulate_run(ReduceOp op, int64_t n, const float* x, int64_t sx, float* acc, int64_t sa);

/// accumulate_run over `rows` runs, row r starting at x + r * row_stride, in row order: the same
/// result as `rows` calls, but the vector path keeps a slice of acc in registers across all rows
/// (a bias gradient's column sums: one pass over [N, C] instead of N calls of C floats each).
void accumulate_rows(ReduceOp op, int64_t rows, int64_t n, const float* x, int64_t row_stride, int64_t sx,
                     float* acc, int64_t sa);

}  // namespace tz::kernels
