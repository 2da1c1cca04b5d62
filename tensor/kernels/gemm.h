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

/// Makes OpenBLAS run single-threaded while alive (restores the previous count after). Used when
/// our own thread pool already parallelises over a batch of small products.
class BlasSingleThreadScope {
 public:
  BlasSingleThreadScope();
  ~BlasSingleThreadScope();
  BlasSingleThreadScope(const BlasSingleThreadScope&) = delete;
  BlasSingleThreadScope& operator=(const BlasSingleThreadScope&) = delete;

 private:
  int saved_;
};

/// OpenBLAS's name for the CPU kernels it selected (e.g. "Haswell", "Zen").
const char* blas_core_name();

}  // namespace tz::kernels
