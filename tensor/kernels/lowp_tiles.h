// What the low-precision GEMMs (gemm_int8.cpp, gemm_bf16.cpp) share: the target attributes
// their x86 kernels are compiled with, the lane masks of their column edges, and the loop nest
// that walks a product tile by tile. Both pack a weight [N, K] in blocks of 16 output rows, each
// block one stream of 64-byte groups (16 outputs x 4 bytes of K), and both compute a tile of Mr
// rows of X against Nv blocks in registers, over the whole of K, then write it.
// Private to those two files (its partner lowp_tiles.cpp holds the split over threads): the
// public contracts are in gemm_int8.h and gemm_bf16.h.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <utility>

#include "core/error.h"
#include "tensor/kernels/fused.h"
#include "tensor/kernels/xsimd.h"

namespace tz::kernels::lowp {

// Function-level targets: the kernels are compiled for these instruction sets whatever the build's
// -march, and run only where cpu_features() reports them.
#define TZ_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define TZ_TARGET_AVX_VNNI __attribute__((target("avx2,fma,avxvnni")))
#define TZ_TARGET_AVX512 __attribute__((target("avx2,fma,avx512f,avx512bw,avx512dq,avx512vl")))
#define TZ_TARGET_AVX512_VNNI __attribute__((target("avx2,fma,avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")))
#define TZ_TARGET_AVX512_BF16 __attribute__((target("avx2,fma,avx512f,avx512bw,avx512dq,avx512vl,avx512bf16")))

/// Output rows of W per packed block: one AVX-512 vector of int32 or float lanes.
inline constexpr int64_t kBlock = 16;
/// Rows of X per band: a band is computed against every panel of W before the next band starts,
/// so its rows (192 x K bytes or floats) stay in L2 while W streams past them.
inline constexpr int64_t kBandRows = 192;

/// Bit l set when column col + l lies in [lo, hi), for l < lanes (at most 16).
inline uint32_t lane_bits(int64_t col, int64_t lo, int64_t hi, int64_t lanes) {
  const int64_t first = std::max<int64_t>(lo - col, 0), last = std::min<int64_t>(hi - col, lanes);
  if (first >= last) return 0;
  return ((1u << last) - 1u) & ~((1u << first) - 1u);
}

#if defined(__x86_64__)
/// lane_bits for a ymm of 8 columns, as the int32 lane mask maskload / maskstore take.
TZ_TARGET_AVX2 inline __m256i lane_mask8(int64_t col, int64_t lo, int64_t hi) {
  const __m256i sel = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
  const __m256i bits = _mm256_set1_epi32(static_cast<int>(lane_bits(col, lo, hi, 8)));
  return _mm256_cmpeq_epi32(_mm256_and_si256(bits, sel), sel);
}
#endif

/// Four bytes from anywhere, as one int32 (for broadcasting 4 bytes of a row of X).
inline int32_t load4(const void* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

/// The checks every entry point makes: a weight shape, and the columns and rows of a call.
inline void check_weight_shape(const char* op, int64_t N, int64_t K) {
  TZ_CHECK(N >= 0 && K >= 0, op, ": weight shape [", N, ", ", K, "] has a negative size");
}
inline void check_call(const char* op, int64_t M, int64_t n0, int64_t n1, int64_t N) {
  TZ_CHECK(0 <= n0 && n0 <= n1 && n1 <= N, op, ": columns [", n0, ", ", n1, ") are not within the weight's ", N,
           " output rows");
  TZ_CHECK(M >= 0, op, ": M = ", M, " rows is negative");
}

/// The first kernel of `order` (widest first) that the CPU runs, else `fallback`.
template <class Kernel, size_t n>
Kernel first_available(const Kernel (&order)[n], bool (*available)(Kernel), Kernel fallback) {
  for (Kernel k : order)
    if (available(k)) return k;
  return fallback;
}

/// Isa::tile<mr, nv> for every 1 <= mr <= Isa::Mr, 1 <= nv <= Isa::Nv, indexed (mr - 1) * Nv + nv - 1:
/// the full tiles and every smaller edge tile, each with its loops fully unrolled.
template <class Isa, class Job, size_t... I>
constexpr auto tile_table(std::index_sequence<I...>) {
  return std::array<void (*)(const Job&), sizeof...(I)>{
      &Isa::template tile<static_cast<int>(I) / Isa::Nv + 1, static_cast<int>(I) % Isa::Nv + 1>...};
}

/// Walks rows [0, M) x column blocks [b0, b1) in bands of kBandRows rows; within a band, in panels
/// of Isa::Nv blocks; within a panel, in tiles of Isa::Mr rows. For each tile, job(r, mr, p, nv)
/// gives the Job of rows r..r+mr and blocks p..p+nv, which the matching tile kernel computes; then
/// after(r, mr, p, nv) runs (the activation, on the tile just written, while it is in L1).
template <class Isa, class Job, class MakeJob, class After>
void for_each_tile(int64_t M, int64_t b0, int64_t b1, MakeJob&& job, After&& after) {
  static constexpr auto table = tile_table<Isa, Job>(std::make_index_sequence<Isa::Mr * Isa::Nv>{});
  for (int64_t m0 = 0; m0 < M; m0 += kBandRows) {
    const int64_t m1 = std::min(M, m0 + kBandRows);
    for (int64_t p = b0; p < b1; p += Isa::Nv) {
      const int64_t nv = std::min<int64_t>(Isa::Nv, b1 - p);
      for (int64_t r = m0; r < m1; r += Isa::Mr) {
        const int64_t mr = std::min<int64_t>(Isa::Mr, m1 - r);
        table[static_cast<size_t>((mr - 1) * Isa::Nv + nv - 1)](job(r, mr, p, nv));
        after(r, mr, p, nv);
      }
    }
  }
}

/// The activation on what a tile of rows r..r+mr and blocks p..p+nv just wrote to Y (columns
/// within [n0, n1)), while it is still in L1, with the vector code of the float path's epilogue
/// (bias_act_rows). Every element goes through the vector formula, the ragged end of a row through
/// a padded copy: the scalar tail would round differently, and an element's value would then
/// depend on where a split of the columns between calls put it.
inline void tile_activation(FusedAct act, int64_t r, int64_t mr, int64_t p, int64_t nv, int64_t n0, int64_t n1,
                            float* Y, int64_t ldy) {
  if (act == FusedAct::None) return;
  const int64_t lo = std::max(n0, p * kBlock), hi = std::min(n1, (p + nv) * kBlock);
  const int64_t whole = (hi - lo) / kBlock * kBlock;  // a multiple of every vector width (4, 8, 16)
  float* y = Y + r * ldy + lo;
  if (whole > 0) bias_act_rows(true, act, mr, whole, y, ldy, nullptr);
  if (whole == hi - lo) return;
  for (int64_t i = 0; i < mr; ++i) {
    float pad[kBlock] = {};
    std::copy(y + i * ldy + whole, y + i * ldy + (hi - lo), pad);
    bias_act_rows(true, act, 1, kBlock, pad, kBlock, nullptr);
    std::copy(pad, pad + (hi - lo - whole), y + i * ldy + whole);
  }
}

/// Splits a product Y[M, N] (K deep) over the thread pool (tensor/parallel.h): into bands of rows
/// (multiples of 48: whole tiles of 4 or 6 rows) when M >= N, else of columns (multiples of 64:
/// whole panels), at most one per thread, and calls band(r0, r1, n0, n1) for each, after prepare()
/// (when given; on the calling thread, which may itself use parallel_for). Returns false,
/// having done nothing, when the product should stay on the calling thread: one thread, a call
/// from inside a parallel_for chunk, or fewer than 2^20 multiply-adds (waking a worker costs
/// about what that many take).
bool parallel_bands(int64_t M, int64_t N, int64_t K,
                    const std::function<void(int64_t r0, int64_t r1, int64_t n0, int64_t n1)>& band,
                    const std::function<void()>& prepare = {});

}  // namespace tz::kernels::lowp
