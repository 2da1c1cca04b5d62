// GEMM kernels: C = alpha * op(A) op(B) + beta * C on row-major float matrices.
// `sgemm` hands the work to OpenBLAS (cblas_sgemm); `sgemm_reference` is the naive triple loop
// kept as the algorithmic definition, the test oracle and the fallback selected with the
// environment variable TZ_KERNELS=reference (kernel_mode.h). Shapes, batching and the choice of transposes
// live in the driver, tensor/matmul_ops.cpp.
#pragma once

#include <cstdint>

namespace tz::kernels {

/// op(A) [M, K], op(B) [K, N], C [M, N], all row-major with leading dims lda/ldb/ldc (elements).
/// op(X) is X^T when trans_x is true: then A is stored as [K, M] and B as [N, K].
/// With beta == 0, C is write-only (its old contents, even NaN, are ignored).
void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
           int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

/// The same contract, computed with double accumulators in plain loops.
void sgemm_reference(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                     const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
                     int64_t ldc);

/// The same product split over our thread pool (tensor/parallel.h): each thread runs one
/// single-threaded OpenBLAS call on a band of C's rows (or, for short C, of its columns). OpenBLAS
/// itself always runs single-threaded in this library (set_num_threads keeps it at 1): its own
/// worker threads spin between calls and would fight our pool for the same cores. Small products
/// and calls from inside a parallel_for chunk run as one plain sgemm. Every element of C gets the
/// same K-sum as one sgemm call would give it (the split is over M or N, never K).
void sgemm_parallel(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                    int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

/// Lets OpenBLAS use n threads of its own while alive (back to 1 after). Only for measuring raw
/// OpenBLAS as a reference figure (tensorzoo bench, bench/bench_gemm); the library never uses it.
class OpenBlasThreadsScope {
 public:
  explicit OpenBlasThreadsScope(int n);
  ~OpenBlasThreadsScope();
  OpenBlasThreadsScope(const OpenBlasThreadsScope&) = delete;
  OpenBlasThreadsScope& operator=(const OpenBlasThreadsScope&) = delete;
};

/// OpenBLAS's name for the CPU kernels it selected (e.g. "Haswell", "Zen").
const char* blas_core_name();

}  // namespace tz::kernels
