// GEMM kernels: C = alpha * op(A) op(B) + beta * C on row-major float matrices.
// `sgemm` hands the work to OpenBLAS (cblas_sgemm, also callable as `sgemm_openblas`), except when
// OpenBLAS runs narrower vectors than this build (then `sgemm_direct`). `sgemm_nt_direct` is our own
// kernel, also used where OpenBLAS's packing does not pay (few rows against a large weight).
// `sgemm_reference` is the naive triple loop kept as the algorithmic definition, the test oracle
// and the fallback selected with the environment variable TZ_KERNELS=reference (kernel_mode.h).
// Shapes, batching and the choice of transposes live in the driver, tensor/matmul_ops.cpp.
#pragma once

#include <cstdint>

namespace tz::kernels {

/// op(A) [M, K], op(B) [K, N], C [M, N], all row-major with leading dims lda/ldb/ldc (elements).
/// op(X) is X^T when trans_x is true: then A is stored as [K, M] and B as [N, K].
/// With beta == 0, C is write-only (its old contents, even NaN, are ignored).
void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
           int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

/// The same contract, always computed by OpenBLAS (cblas_sgemm), whatever sgemm would choose: the
/// raw figure `tensorzoo bench` and bench/ measure against.
void sgemm_openblas(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
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

/// C [M, N] = A [M, K] B [N, K]^T, plus bias [N] on every row when bias is not null (C is
/// write-only): a Linear layer's product, for a short A (few token rows) against a weight B that
/// is read once per call. OpenBLAS first copies B into packed panels; with few rows of A to reuse
/// them, that copy is a large share of the product, and it is one more pass over a weight that
/// comes from memory. This kernel reads B in place instead: it packs only A, broadcasts B's
/// elements straight from its rows, and prefetches the next rows of B while it works on the
/// current ones. Each element of C is one sequential fused multiply-add chain over k = 0..K-1,
/// then + bias, so it does not depend on how C's columns or rows are split between calls. A taller
/// A is taken in bands of 128 rows, each against the whole of B (B is then read once per band: 64
/// flops per byte of B, so it can come from L3 or memory). Single-threaded; TZ_KERNELS=reference
/// runs sgemm_reference. OpenBLAS stays the reference in the tests (tests/tensor/test_matmul.cpp).
/// With accumulate, C is read and the product (plus bias) added onto it, as sgemm with beta = 1.
void sgemm_nt_direct(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb,
                     const float* bias, float* C, int64_t ldc, bool accumulate = false);

/// sgemm_nt_direct for any transposes (op(A) [M, K] op(B) [K, N], same storage conventions as
/// sgemm). With trans_a, a chunk of A is packed by plain copies; without trans_b, each chunk of six
/// columns of B is first copied into rows (Nr x 256 floats, reused by every tile of A). sgemm
/// comes here for every product with alpha 1 and beta 0 or 1 when blas_vectors_narrower().
void sgemm_direct(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
                  const float* B, int64_t ldb, const float* bias, float* C, int64_t ldc, bool accumulate = false);

/// Whether this build's vectors are wider than those of the kernels OpenBLAS selected: an AVX-512
/// build (-march=native on an AVX-512 host) while OpenBLAS runs AVX2 code, because its core was
/// forced to an AVX2 one (OPENBLAS_CORETYPE=Haswell, as some machines of this kind set it; the
/// library never sets or unsets it) or because it does not know the CPU. Decided once, from
/// blas_core_name().
bool blas_vectors_narrower();

/// Whether sgemm_nt_direct is the faster choice for C [M, N] against a weight [N, K]:
/// - M <= 160 rows: with more rows to share it, OpenBLAS's packed copy of the weight pays for itself
///   (bench_gemm BM_direct_paired: direct is ahead at 128 rows, behind at 256);
/// - N >= 384 weight rows per call and K >= 512 columns: against shorter or narrower weights (small's
///   products) the kernel's fixed costs per product, packing A and writing C transposed, outweigh
///   the packing of B it saves;
/// - or any shape when blas_vectors_narrower(): the kernel then runs twice OpenBLAS's vector width.
/// The same rule holds with OpenBLAS's own AVX-512 kernels (blas_vectors_narrower() false).
inline bool sgemm_nt_direct_pays(int64_t M, int64_t N, int64_t K) {
  return (M <= 160 && N >= 384 && K >= 512) || blas_vectors_narrower();
}

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
