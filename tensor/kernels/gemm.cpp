// GEMM kernels; see gemm.h. The only file that talks to cblas for matrix products.
#include "tensor/kernels/gemm.h"

#include <cblas.h>

#include <algorithm>

#include "tensor/kernels/kernel_mode.h"
#include "tensor/parallel.h"

namespace tz::kernels {

void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
           int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  static_cast<void>(get_num_threads());  // starts the pool, which pins OpenBLAS to one thread
  if (use_reference()) {
    sgemm_reference(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
              static_cast<blasint>(M), static_cast<blasint>(N), static_cast<blasint>(K), alpha, A,
              static_cast<blasint>(lda), B, static_cast<blasint>(ldb), beta, C, static_cast<blasint>(ldc));
}

void sgemm_reference(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                     const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
                     int64_t ldc) {
  for (int64_t i = 0; i < M; ++i) {
    for (int64_t j = 0; j < N; ++j) {
      double acc = 0.0;
      for (int64_t p = 0; p < K; ++p) {
        const float a = trans_a ? A[p * lda + i] : A[i * lda + p];
        const float b = trans_b ? B[j * ldb + p] : B[p * ldb + j];
        acc += static_cast<double>(a) * b;
      }
      float& c = C[i * ldc + j];
      // beta == 0 must not read C (BLAS contract: C may hold garbage).
      c = static_cast<float>(alpha * acc + (beta == 0.f ? 0.0 : static_cast<double>(beta) * c));
    }
  }
}

// Below this many multiply-adds a product stays on the calling thread: waking a worker costs a
// few microseconds, about what 2^20 multiply-adds take on one core.
constexpr int64_t kParallelMacs = int64_t{1} << 20;
// Bands are multiples of this many rows/columns, so no thread gets a ragged micro-kernel edge
// it would not have had anyway (OpenBLAS's sgemm micro-tiles are at most 16 wide).
constexpr int64_t kBandAlign = 16;

void sgemm_parallel(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                    int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  const int64_t threads = get_num_threads();
  const bool split_rows = M >= N || N < 2 * kBandAlign;
  const int64_t extent = split_rows ? M : N;
  const int64_t bands = std::min<int64_t>(threads, extent / kBandAlign);
  if (bands <= 1 || in_parallel_region() || use_reference() || M * N * K < kParallelMacs) {
    sgemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  const int64_t step = (extent / bands + kBandAlign - 1) / kBandAlign * kBandAlign;
  parallel_for(0, bands, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t lo = b * step, hi = std::min(extent, lo + step);
      if (lo >= hi) continue;
      if (split_rows)  // rows lo..hi of op(A) and C
        sgemm(trans_a, trans_b, hi - lo, N, K, alpha, trans_a ? A + lo : A + lo * lda, lda, B, ldb, beta,
              C + lo * ldc, ldc);
      else  // columns lo..hi of op(B) and C
        sgemm(trans_a, trans_b, M, hi - lo, K, alpha, A, lda, trans_b ? B + lo * ldb : B + lo, ldb, beta,
              C + lo, ldc);
    }
  });
}

OpenBlasThreadsScope::OpenBlasThreadsScope(int n) { openblas_set_num_threads(n); }

OpenBlasThreadsScope::~OpenBlasThreadsScope() { openblas_set_num_threads(1); }

const char* blas_core_name() { return openblas_get_corename(); }

}  // namespace tz::kernels
