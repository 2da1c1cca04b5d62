// GEMM kernels; see gemm.h. The only file that talks to cblas for matrix products.
#include "tensor/kernels/gemm.h"

#include <cblas.h>

#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

#include "tensor/kernels/fma.h"
#include "tensor/kernels/kernel_mode.h"
#include "tensor/kernels/simd.h"
#include "tensor/kernels/xsimd.h"
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
  // When OpenBLAS's vectors are narrower than ours, our kernel is about twice as fast (gemm.h,
  // sgemm_nt_direct_pays), for every transpose: it takes alpha 1 and beta 0 or 1.
  if (alpha == 1.f && (beta == 0.f || beta == 1.f) && blas_vectors_narrower()) {
    sgemm_direct(trans_a, trans_b, M, N, K, A, lda, B, ldb, nullptr, C, ldc, beta == 1.f);
    return;
  }
  sgemm_openblas(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void sgemm_openblas(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                    int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
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
  // The band width: extent / bands rounded up, then up to a multiple of kBandAlign, so the bands
  // always cover the whole extent (rounding the quotient down lost the last rows when it was
  // already a multiple of 16: 321 rows on 2 threads made bands of 160 and 160).
  const int64_t per_band = (extent + bands - 1) / bands;
  const int64_t step = (per_band + kBandAlign - 1) / kBandAlign * kBandAlign;
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

// ---- sgemm_nt_direct ---------------------------------------------------------------------------
// Blocking: K in chunks of kDirectKc. For each chunk, A's rows are packed into tiles of kDirectMr
// rows, k-major (tile t holds A[t*Mr .. t*Mr+Mr)[k] at xp[k * Mr + i]), so one k step of a tile is
// two vector loads. B is walked kDirectNr rows at a time (an "n-block"); its chunk of those rows
// (Nr x 256 floats, 6 KB) stays in L1 while every A tile passes over it. A tile's running sums
// (Nr x Mr) live in registers during a chunk and in `sums` between chunks; after the last chunk
// they are written to C transposed (rows of C are m, the sums are vectors along m).
namespace {
using simd::Vec;
constexpr int64_t kDirectMr = 2 * simd::kWidth;  // 16 rows on AVX2, 32 on AVX-512, 8 on SSE2
constexpr int64_t kDirectNr = 6;                 // 12 vector sums + 2 A vectors + 1 broadcast
constexpr int64_t kDirectKc = 256;
constexpr int64_t kDirectBand = 128;  // rows of A per pass over B (a multiple of kDirectMr)
constexpr int64_t kDirectColumns = 3072;  // columns of C per pass (a multiple of kDirectNr)
constexpr int64_t kCacheLineFloats = 16;
alignas(64) const float kZeroRow[kDirectKc] = {};  // stands in for B's missing rows in the last n-block

// One tile x one n-block x one K chunk: sums[j][i] (+)= sum_k xp[k][i] * b[j][k]. When prefetch
// is given (the first tile of an n-block passes the next n-block's rows), it also asks for one
// cache line of each of those rows every 16 k steps, into L2: the next block then comes from L2,
// not from memory. One block ahead into L2 is enough: prefetching into L1 or further ahead gains
// nothing over it (bench_gemm BM_direct_paired).
void direct_tile(int64_t kc, const float* xp, const float* const* b, const float* const* prefetch, float* sums,
                 bool resume) {
  constexpr int64_t Mv = kDirectMr / simd::kWidth;
  Vec c[kDirectNr][Mv];
#pragma GCC unroll 8
  for (int64_t j = 0; j < kDirectNr; ++j)
#pragma GCC unroll 4
    for (int64_t v = 0; v < Mv; ++v)
      c[j][v] = resume ? simd::load(sums + j * kDirectMr + v * simd::kWidth) : Vec(0.f);
  for (int64_t k0 = 0; k0 < kc; k0 += kCacheLineFloats) {
    if (prefetch)
#pragma GCC unroll 8
      for (int64_t j = 0; j < kDirectNr; ++j) __builtin_prefetch(prefetch[j] + k0, 0, 2);
    const int64_t k1 = std::min(kc, k0 + kCacheLineFloats);
    for (int64_t k = k0; k < k1; ++k) {
      Vec a[Mv];
#pragma GCC unroll 4
      for (int64_t v = 0; v < Mv; ++v) a[v] = simd::load(xp + k * kDirectMr + v * simd::kWidth);
#pragma GCC unroll 8
      for (int64_t j = 0; j < kDirectNr; ++j) {
        const Vec bj(b[j][k]);
#pragma GCC unroll 4
        for (int64_t v = 0; v < Mv; ++v) c[j][v] = kernels::fma(a[v], bj, c[j][v]);
      }
    }
  }
#pragma GCC unroll 8
  for (int64_t j = 0; j < kDirectNr; ++j)
#pragma GCC unroll 4
    for (int64_t v = 0; v < Mv; ++v) simd::store(sums + j * kDirectMr + v * simd::kWidth, c[j][v]);
}

#if defined(__AVX__)
// r[i][j] -> r[j][i] for an 8 x 8 block of floats held in eight registers. Packing A and writing
// C are both transposes, and element by element they would be a visible share of a short
// product. Builds without AVX (the portable one) keep the scalar loops.
inline void transpose8x8(__m256 r[8]) {
  __m256 t[8], u[8];
  for (int i = 0; i < 8; i += 2) {  // interleave pairs of rows within each 128-bit lane
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {  // then pairs of pairs: each lane now holds 4 x 4 transposed
    u[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int i = 0; i < 4; ++i) {  // and the two lanes: rows 0-3 from the low halves, 4-7 from the high
    r[i] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
    r[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
  }
}
#endif

// xp[t][k][i] = A[t * Mr + i][k] for k < kc (A already offset to the chunk), 0 for rows past M.
// With trans_a, A is stored [K, M] (element (i, k) at A[k * lda + i]): each k is then a plain copy.
void pack_a_chunk(bool trans_a, int64_t M, int64_t kc, const float* A, int64_t lda, float* xp) {
  const int64_t tiles = (M + kDirectMr - 1) / kDirectMr;
  for (int64_t t = 0; t < tiles; ++t) {
    float* dst = xp + t * kc * kDirectMr;
    const int64_t m0 = t * kDirectMr, mr = std::min(kDirectMr, M - m0);
    if (trans_a) {
      for (int64_t k = 0; k < kc; ++k) {
        std::copy_n(A + k * lda + m0, mr, dst + k * kDirectMr);
        std::fill(dst + k * kDirectMr + mr, dst + (k + 1) * kDirectMr, 0.f);
      }
      continue;
    }
    int64_t k_done = 0;
#if defined(__AVX__)
    if (mr == kDirectMr)
      for (; k_done + 8 <= kc; k_done += 8)
        for (int64_t g = 0; g < kDirectMr; g += 8) {
          __m256 r[8];
          for (int64_t i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(A + (m0 + g + i) * lda + k_done);
          transpose8x8(r);
          for (int64_t j = 0; j < 8; ++j) _mm256_storeu_ps(dst + (k_done + j) * kDirectMr + g, r[j]);
        }
#endif
    for (int64_t i = 0; i < mr; ++i) {
      const float* src = A + (m0 + i) * lda;
      for (int64_t k = k_done; k < kc; ++k) dst[k * kDirectMr + i] = src[k];
    }
    for (int64_t i = mr; i < kDirectMr; ++i)
      for (int64_t k = 0; k < kc; ++k) dst[k * kDirectMr + i] = 0.f;
  }
}

// C[i][j] = sums[j][i] (+ bias[j]) for the first mr rows and nr columns of one tile; with
// accumulate, C[i][j] += that instead.
void store_tile(int64_t mr, int64_t nr, const float* sums, const float* bias, float* C, int64_t ldc,
                bool accumulate) {
#if defined(__AVX__)
  static_assert(kDirectNr <= 8 && kDirectMr % 8 == 0);
  alignas(32) float bias8[8] = {};
  alignas(32) int32_t lanes[8] = {};
  for (int64_t j = 0; j < nr; ++j) {
    bias8[j] = bias ? bias[j] : 0.f;
    lanes[j] = -1;
  }
  const __m256 b = _mm256_load_ps(bias8);
  const __m256i keep = _mm256_load_si256(reinterpret_cast<const __m256i*>(lanes));
  for (int64_t g = 0; g < mr; g += 8) {
    __m256 r[8];
    for (int64_t j = 0; j < 8; ++j) r[j] = j < kDirectNr ? _mm256_loadu_ps(sums + j * kDirectMr + g) : _mm256_setzero_ps();
    transpose8x8(r);
    for (int64_t i = 0; i < std::min<int64_t>(8, mr - g); ++i) {
      float* c = C + (g + i) * ldc;
      __m256 v = _mm256_add_ps(r[i], b);
      if (accumulate) v = _mm256_add_ps(_mm256_maskload_ps(c, keep), v);
      _mm256_maskstore_ps(c, keep, v);  // lanes >= nr untouched
    }
  }
#else
  for (int64_t i = 0; i < mr; ++i)
    for (int64_t j = 0; j < nr; ++j) {
      const float v = sums[j * kDirectMr + i] + (bias ? bias[j] : 0.f);
      C[i * ldc + j] = accumulate ? C[i * ldc + j] + v : v;
    }
#endif
}

// sgemm_nt_direct on at most kDirectBand rows of A: per K chunk, pack the chunk of A, then run
// every n-block of B over every tile of A, keeping the partial sums of all of C in `sums`.
// With trans_b false, B is stored [K, N]: the n-block's columns of each chunk are first copied into
// rows (bt, Nr x 256 floats), which every tile then reads as it reads B's rows otherwise.
void direct_band(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
                 const float* B, int64_t ldb, const float* bias, float* C, int64_t ldc, bool accumulate) {
  const int64_t tiles = (M + kDirectMr - 1) / kDirectMr, blocks = (N + kDirectNr - 1) / kDirectNr;
  const int64_t tile_floats = kDirectNr * kDirectMr;
  // Scratch kept per thread and only grown: a steady stream of same-sized products allocates nothing.
  thread_local std::vector<float> xp_buf, sums_buf;
  if (xp_buf.size() < static_cast<size_t>(tiles * kDirectMr * kDirectKc))
    xp_buf.resize(static_cast<size_t>(tiles * kDirectMr * kDirectKc));
  if (sums_buf.size() < static_cast<size_t>(blocks * tiles * tile_floats))
    sums_buf.resize(static_cast<size_t>(blocks * tiles * tile_floats));
  float* xp = xp_buf.data();
  float* sums = sums_buf.data();
  alignas(64) float bt[kDirectNr * kDirectKc];

  for (int64_t k0 = 0; k0 < K; k0 += kDirectKc) {
    const int64_t kc = std::min(kDirectKc, K - k0);
    pack_a_chunk(trans_a, M, kc, trans_a ? A + k0 * lda : A + k0, lda, xp);
    for (int64_t nb = 0; nb < blocks; ++nb) {
      const float* rows[kDirectNr];
      const float* next[kDirectNr] = {};
      const int64_t n0 = nb * kDirectNr, nr = std::min(kDirectNr, N - n0);
      if (trans_b) {
        for (int64_t j = 0; j < kDirectNr; ++j) {
          const int64_t n = n0 + j, n_next = n + kDirectNr;
          rows[j] = n < N ? B + n * ldb + k0 : kZeroRow;
          next[j] = n_next < N ? B + n_next * ldb + k0 : kZeroRow;
        }
      } else {
        for (int64_t k = 0; k < kc; ++k) {
          const float* src = B + (k0 + k) * ldb + n0;
          for (int64_t j = 0; j < nr; ++j) bt[j * kc + k] = src[j];
        }
        for (int64_t j = 0; j < kDirectNr; ++j) rows[j] = j < nr ? bt + j * kc : kZeroRow;
      }
      for (int64_t t = 0; t < tiles; ++t)
        direct_tile(kc, xp + t * kc * kDirectMr, rows, t == 0 && trans_b ? next : nullptr,
                    sums + (nb * tiles + t) * tile_floats, k0 > 0);
    }
  }
  for (int64_t nb = 0; nb < blocks; ++nb) {
    const int64_t n0 = nb * kDirectNr, nr = std::min(kDirectNr, N - n0);
    for (int64_t t = 0; t < tiles; ++t) {
      const int64_t m0 = t * kDirectMr;
      store_tile(std::min(kDirectMr, M - m0), nr, sums + (nb * tiles + t) * tile_floats, bias ? bias + n0 : nullptr,
                 C + m0 * ldc + n0, ldc, accumulate);
    }
  }
}
}  // namespace

void sgemm_direct(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
                  const float* B, int64_t ldb, const float* bias, float* C, int64_t ldc, bool accumulate) {
  if (M == 0 || N == 0) return;
  if (use_reference() || K == 0) {
    sgemm_reference(trans_a, trans_b, M, N, K, 1.f, A, lda, B, ldb, accumulate ? 1.f : 0.f, C, ldc);
    if (bias)
      for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < N; ++j) C[i * ldc + j] += bias[j];
    return;
  }
  // Columns in slices of kDirectColumns, so the running sums of a band (128 rows x slice) stay
  // bounded for a vocabulary-wide B.
  for (int64_t n0 = 0; n0 < N; n0 += kDirectColumns) {
    const int64_t nc = std::min(kDirectColumns, N - n0);
    for (int64_t m0 = 0; m0 < M; m0 += kDirectBand) {
      const int64_t mb = std::min(kDirectBand, M - m0);
      direct_band(trans_a, trans_b, mb, nc, K, trans_a ? A + m0 : A + m0 * lda, lda, trans_b ? B + n0 * ldb : B + n0,
                  ldb, bias ? bias + n0 : nullptr, C + m0 * ldc + n0, ldc, accumulate);
    }
  }
}

void sgemm_nt_direct(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb,
                     const float* bias, float* C, int64_t ldc, bool accumulate) {
  sgemm_direct(false, true, M, N, K, A, lda, B, ldb, bias, C, ldc, accumulate);
}

OpenBlasThreadsScope::OpenBlasThreadsScope(int n) { openblas_set_num_threads(n); }

OpenBlasThreadsScope::~OpenBlasThreadsScope() { openblas_set_num_threads(1); }

const char* blas_core_name() { return openblas_get_corename(); }

bool blas_vectors_narrower() {
#if defined(__AVX512F__)
  // OpenBLAS's cores with AVX-512 sgemm kernels, as openblas_get_corename() spells them (0.3.21:
  // "SkylakeX", "Cooperlake", "SapphireRapids"); every other x86 core it picks runs AVX2 or less.
  static const bool narrower = [] {
    std::string core = blas_core_name();
    std::transform(core.begin(), core.end(), core.begin(), [](unsigned char c) { return std::tolower(c); });
    return core != "skylakex" && core != "cooperlake" && core != "sapphirerapids";
  }();
  return narrower;
#else
  return false;  // our vectors are at most AVX2's: OpenBLAS's are as wide or wider
#endif
}

}  // namespace tz::kernels
