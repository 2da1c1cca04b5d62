// Bf16-weight GEMM; see gemm_bf16.h for the contract. Here: the float <-> bfloat16 conversions,
// weight packing, the scalar reference, the tile kernels (AVX2 and AVX-512 widening the weights to
// float for FMA, AVX-512 BF16 with vdpbf16ps, AMX with tdpbf16ps), run-time dispatch and the
// threaded wrapper. The loop nests are lowp_tiles.h and amx_tiles.h; the tests are
// tests/tensor/test_gemm_bf16.cpp.
//
// Widening is two integer instructions per vector of 16 weights x 2 columns of K: a bfloat16 is
// the top half of a float, so the 32-bit lane (w[2p+1] << 16) | w[2p] gives column 2p by a left
// shift of 16 and column 2p + 1 by masking off the low half, both exactly.
#include "tensor/kernels/gemm_bf16.h"

#include <algorithm>
#include <bit>
#include <cmath>

#include "core/error.h"
#include "tensor/kernels/amx_tiles.h"
#include "tensor/kernels/cpu_features.h"
#include "tensor/kernels/kernel_mode.h"
#include "tensor/kernels/lowp_tiles.h"
#include "tensor/kernels/xsimd.h"

namespace tz::kernels {
namespace {

using lowp::kBlock;
constexpr int64_t kGroupValues = 32;  // one group: 16 output rows x 2 columns of K

Bf16Weight empty_weight(const char* op, int64_t N, int64_t K) {
  lowp::check_weight_shape(op, N, K);
  Bf16Weight w;
  w.N = N;
  w.K = K;
  w.packed.assign(static_cast<size_t>(w.blocks() * w.pairs() * kGroupValues), 0);
  return w;
}

size_t packed_index(const Bf16Weight& w, int64_t n, int64_t k) {
  return static_cast<size_t>(((n / kBlock) * w.pairs() + k / 2) * kGroupValues + (n % kBlock) * 2 + k % 2);
}

// Columns [n0, n1) of Y: double sums of x * bf16(w), rounded to float, plus the bias.
void linear_bf16_reference(int64_t M, const float* X, int64_t ldx, const Bf16Weight& w, const float* bias,
                           FusedAct act, float* Y, int64_t ldy, int64_t n0, int64_t n1) {
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = n0; n < n1; ++n) {
      double acc = 0;
      for (int64_t k = 0; k < w.K; ++k) acc += static_cast<double>(X[m * ldx + k]) * bf16_to_float(w.at(n, k));
      Y[m * ldy + n] = static_cast<float>(acc) + (bias ? bias[n] : 0.f);
    }
  if (act != FusedAct::None) bias_act_rows(false, act, M, n1 - n0, Y + n0, ldy, nullptr);
}

// Rows r..r+mr of X (float for the FMA kernels, bfloat16 pairs for the dot kernel; already
// offset), the panel of W starting at block p, and the columns [lo, hi) to write.
struct Bf16Job {
  const float* xf;
  const uint16_t* xh;
  int64_t ldx;
  const uint16_t* w;    // pair 0 of the panel's first block
  int64_t block_elems;  // from one block to the next
  int64_t K;
  int64_t col;          // the column of the panel's first lane
  int64_t lo, hi;
  const float* bias;    // [N] or null
  float* y;             // the tile's first row, column 0
  int64_t ldy;
};

#if defined(__x86_64__)
// Half v % 2 of the group's 64 bytes in block v / 2 (8 columns x 2 of K, as 32-bit lanes).
TZ_TARGET_AVX2 inline __m256i load_half(const uint16_t* w, int v, int64_t block_elems) {
  return _mm256_load_si256(reinterpret_cast<const __m256i*>(w + (v / 2) * block_elems + (v % 2) * 16));
}

// c[i][v] += x[i * ldx] * b[v] for a tile's rows: one column of X against one of W.
template <int M, int V>
TZ_TARGET_AVX2 inline void fma_column_avx2(__m256 (&c)[M][V], const float* x, int64_t ldx, const __m256 (&b)[V]) {
#pragma GCC unroll 8
  for (int i = 0; i < M; ++i) {
    const __m256 xi = _mm256_broadcast_ss(x + i * ldx);
#pragma GCC unroll 8
    for (int v = 0; v < V; ++v) c[i][v] = _mm256_fmadd_ps(xi, b[v], c[i][v]);
  }
}

// Widening FMA on AVX2: a tile is 6 rows x one block (two ymm of 8 columns): 12 sums, 2 weight
// vectors and the broadcast activation.
struct Bf16Avx2 {
  static constexpr int Mr = 6, Nv = 1;
  template <int M, int N>
  TZ_TARGET_AVX2 static void tile(const Bf16Job& j) {
    constexpr int V = 2 * N;
    __m256 c[M][V], b[V];
#pragma GCC unroll 8
    for (int i = 0; i < M; ++i)
#pragma GCC unroll 8
      for (int v = 0; v < V; ++v) c[i][v] = _mm256_setzero_ps();
    const __m256i high = _mm256_set1_epi32(static_cast<int>(0xFFFF0000u));
    for (int64_t k = 0; k < j.K; k += 2) {
      const uint16_t* w = j.w + k / 2 * kGroupValues;
#pragma GCC unroll 8
      for (int v = 0; v < V; ++v) b[v] = _mm256_castsi256_ps(_mm256_slli_epi32(load_half(w, v, j.block_elems), 16));
      fma_column_avx2(c, j.xf + k, j.ldx, b);
      if (k + 1 == j.K) break;  // odd K: the last pair's second column is padding (and X has none)
#pragma GCC unroll 8
      for (int v = 0; v < V; ++v) b[v] = _mm256_castsi256_ps(_mm256_and_si256(load_half(w, v, j.block_elems), high));
      fma_column_avx2(c, j.xf + k + 1, j.ldx, b);
    }
#pragma GCC unroll 8
    for (int v = 0; v < V; ++v) {
      const int64_t col = j.col + 8 * v;
      if (!lowp::lane_bits(col, j.lo, j.hi, 8)) continue;
      const __m256i keep = lowp::lane_mask8(col, j.lo, j.hi);
      const __m256 bias = j.bias ? _mm256_maskload_ps(j.bias + col, keep) : _mm256_setzero_ps();
#pragma GCC unroll 8
      for (int i = 0; i < M; ++i) _mm256_maskstore_ps(j.y + i * j.ldy + col, keep, _mm256_add_ps(c[i][v], bias));
    }
  }
};

// c[i][v] + bias to Y for an AVX-512 tile (v: blocks of 16 columns), masked to [lo, hi).
template <int M, int N>
TZ_TARGET_AVX512 inline void store_tile_avx512(const Bf16Job& j, __m512 (&c)[M][N]) {
#pragma GCC unroll 8
  for (int v = 0; v < N; ++v) {
    const int64_t col = j.col + kBlock * v;
    const __mmask16 keep = static_cast<__mmask16>(lowp::lane_bits(col, j.lo, j.hi, kBlock));
    if (!keep) continue;
    const __m512 bias = j.bias ? _mm512_maskz_loadu_ps(keep, j.bias + col) : _mm512_setzero_ps();
#pragma GCC unroll 8
    for (int i = 0; i < M; ++i) _mm512_mask_storeu_ps(j.y + i * j.ldy + col, keep, _mm512_add_ps(c[i][v], bias));
  }
}

// c[i][v] += x[i * ldx] * b[v] for a tile's rows: one column of X against one of W.
template <int M, int N>
TZ_TARGET_AVX512 inline void fma_column_avx512(__m512 (&c)[M][N], const float* x, int64_t ldx, const __m512 (&b)[N]) {
#pragma GCC unroll 8
  for (int i = 0; i < M; ++i) {
    const __m512 xi = _mm512_set1_ps(x[i * ldx]);
#pragma GCC unroll 8
    for (int v = 0; v < N; ++v) c[i][v] = _mm512_fmadd_ps(xi, b[v], c[i][v]);
  }
}

// Widening FMA on AVX-512: a tile is 6 rows x 4 blocks: 24 sums, 4 weight vectors (shifted for
// the even column, then reloaded and masked for the odd one) and the mask; the activations are
// broadcast from memory into the FMAs.
struct Bf16Avx512 {
  static constexpr int Mr = 6, Nv = 4;
  template <int M, int N>
  TZ_TARGET_AVX512 static void tile(const Bf16Job& j) {
    __m512 c[M][N], b[N];
#pragma GCC unroll 8
    for (int i = 0; i < M; ++i)
#pragma GCC unroll 8
      for (int v = 0; v < N; ++v) c[i][v] = _mm512_setzero_ps();
    const __m512i high = _mm512_set1_epi32(static_cast<int>(0xFFFF0000u));
    for (int64_t k = 0; k < j.K; k += 2) {
      const uint16_t* w = j.w + k / 2 * kGroupValues;
#pragma GCC unroll 8
      for (int v = 0; v < N; ++v)
        b[v] = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_load_si512(w + v * j.block_elems), 16));
      fma_column_avx512(c, j.xf + k, j.ldx, b);
      if (k + 1 == j.K) break;  // odd K: the last pair's second column is padding (and X has none)
#pragma GCC unroll 8
      for (int v = 0; v < N; ++v)
        b[v] = _mm512_castsi512_ps(_mm512_and_si512(_mm512_load_si512(w + v * j.block_elems), high));
      fma_column_avx512(c, j.xf + k + 1, j.ldx, b);
    }
    store_tile_avx512<M, N>(j, c);
  }
};

// AVX-512 BF16: vdpbf16ps adds two products of bfloat16 pairs into each float lane (products
// exact, one rounding per addition, denormals flushed to zero). A tile is 6 rows x 4 blocks:
// 24 sums, 4 weight vectors and the broadcast pair of activations.
struct Bf16Avx512Dot {
  static constexpr int Mr = 6, Nv = 4;
  template <int M, int N>
  TZ_TARGET_AVX512_BF16 static void tile(const Bf16Job& j) {
    __m512 c[M][N];
#pragma GCC unroll 8
    for (int i = 0; i < M; ++i)
#pragma GCC unroll 8
      for (int v = 0; v < N; ++v) c[i][v] = _mm512_setzero_ps();
    const uint16_t* w = j.w;
    const uint16_t* a = j.xh;
    const int64_t pairs = (j.K + 1) / 2;
    for (int64_t p = 0; p < pairs; ++p, w += kGroupValues, a += 2) {
      __m512bh b[N];
#pragma GCC unroll 8
      for (int v = 0; v < N; ++v) b[v] = reinterpret_cast<__m512bh>(_mm512_load_si512(w + v * j.block_elems));
#pragma GCC unroll 8
      for (int i = 0; i < M; ++i) {
        const __m512bh x = reinterpret_cast<__m512bh>(_mm512_set1_epi32(lowp::load4(a + i * j.ldx)));
#pragma GCC unroll 8
        for (int v = 0; v < N; ++v) c[i][v] = _mm512_dpbf16_ps(c[i][v], x, b[v]);
      }
    }
    store_tile_avx512<M, N>(j, c);
  }
};

// Rows of X to bfloat16 (vcvtneps2bf16: round to nearest even, as float_to_bf16 except that
// denormals become zero), each padded with zeros to ldh values.
TZ_TARGET_AVX512_BF16 void convert_rows_bf16(int64_t M, int64_t K, const float* X, int64_t ldx, uint16_t* xh,
                                             int64_t ldh) {
  for (int64_t m = 0; m < M; ++m) {
    const float* x = X + m * ldx;
    uint16_t* h = xh + m * ldh;
    for (int64_t k = 0; k < K; k += 16) {
      const __mmask16 live = static_cast<__mmask16>(lowp::lane_bits(k, 0, K, 16));
      const __m256bh v = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(live, x + k));
      _mm256_mask_storeu_epi16(h + k, live, reinterpret_cast<__m256i>(v));
    }
    std::fill(h + K, h + ldh, uint16_t{0});
  }
}

// Rows of X in bfloat16 (row stride w.pairs() * 2: K padded to whole AMX tiles) in per-thread scratch.
const uint16_t* rows_bf16(int64_t M, const float* X, int64_t ldx, const Bf16Weight& w) {
  thread_local AlignedVector<uint16_t> xh;  // only grown
  const int64_t ldh = w.pairs() * 2;
  if (xh.size() < static_cast<size_t>(M * ldh)) xh.resize(static_cast<size_t>(M * ldh));
  convert_rows_bf16(M, w.K, X, ldx, xh.data(), ldh);
  return xh.data();
}

template <class Isa>
void bf16_tiles(int64_t M, const float* xf, const uint16_t* xh, int64_t ldx, const Bf16Weight& w, const float* bias,
                FusedAct act, float* Y, int64_t ldy, int64_t n0, int64_t n1) {
  const int64_t block_elems = w.pairs() * kGroupValues;
  lowp::for_each_tile<Isa, Bf16Job>(
      M, n0 / kBlock, (n1 + kBlock - 1) / kBlock,
      [&](int64_t r, int64_t, int64_t p, int64_t) {
        return Bf16Job{xf ? xf + r * ldx : nullptr, xh ? xh + r * ldx : nullptr, ldx, w.packed.data() + p * block_elems,
                       block_elems, w.K, p * kBlock, n0, n1, bias, Y + r * ldy, ldy};
      },
      [&](int64_t r, int64_t mr, int64_t p, int64_t nv) { lowp::tile_activation(act, r, mr, p, nv, n0, n1, Y, ldy); });
}

template <class Isa>
void linear_bf16_widen(int64_t M, const float* X, int64_t ldx, const Bf16Weight& w, const float* bias, FusedAct act,
                       float* Y, int64_t ldy, int64_t n0, int64_t n1) {
  bf16_tiles<Isa>(M, X, nullptr, ldx, w, bias, act, Y, ldy, n0, n1);
}

void linear_bf16_dot(int64_t M, const float* X, int64_t ldx, const Bf16Weight& w, const float* bias, FusedAct act,
                     float* Y, int64_t ldy, int64_t n0, int64_t n1) {
  bf16_tiles<Bf16Avx512Dot>(M, nullptr, rows_bf16(M, X, ldx, w), w.pairs() * 2, w, bias, act, Y, ldy, n0, n1);
}

// ---- AMX ---------------------------------------------------------------------------------------
// tdpbf16ps: 16 x 16 x 32 multiply-adds of bfloat16 pairs per instruction, float sums (one
// rounding per addition, denormals flushed to zero), in the loop nest of amx_tiles.h.

struct AmxBf16Dot {
  template <int C>
  TZ_TARGET_AMX static void dot() {
    if constexpr (C == 0) _tile_dpbf16ps(0, 4, 6);
    if constexpr (C == 1) _tile_dpbf16ps(1, 4, 7);
    if constexpr (C == 2) _tile_dpbf16ps(2, 5, 6);
    if constexpr (C == 3) _tile_dpbf16ps(3, 5, 7);
  }
};

// Rows r..r+mr of Y for blocks p..p+nb: the tile sums (block vi at c + vi * 256) plus the bias.
TZ_TARGET_AMX void amx_bf16_out(const float* bias, FusedAct act, float* Y, int64_t ldy, int64_t n0, int64_t n1,
                                int64_t r, int64_t mr, int64_t p, int64_t nb, const float* c) {
  for (int64_t vi = 0; vi < nb; ++vi) {
    const int64_t col = (p + vi) * kBlock;
    const __mmask16 keep = static_cast<__mmask16>(lowp::lane_bits(col, n0, n1, kBlock));
    if (!keep) continue;
    const __m512 b = bias ? _mm512_maskz_loadu_ps(keep, bias + col) : _mm512_setzero_ps();
    for (int64_t i = 0; i < mr; ++i)
      _mm512_mask_storeu_ps(Y + (r + i) * ldy + col, keep, _mm512_add_ps(_mm512_load_ps(c + vi * 256 + i * 16), b));
  }
  lowp::tile_activation(act, r, mr, p, nb, n0, n1, Y, ldy);
}

void linear_bf16_amx(int64_t M, const float* X, int64_t ldx, const Bf16Weight& w, const float* bias, FusedAct act,
                     float* Y, int64_t ldy, int64_t n0, int64_t n1) {
  const uint16_t* xh = rows_bf16(M, X, ldx, w);
  lowp::amx_product<AmxBf16Dot, float>(
      M, reinterpret_cast<const uint8_t*>(xh), w.pairs() * 4, reinterpret_cast<const uint8_t*>(w.packed.data()),
      w.pairs() * 64, w.pairs() / 16, n0, n1, Y, ldy,
      [&](int64_t r, int64_t mr, int64_t p, int64_t nb, const float* c) {
        amx_bf16_out(bias, act, Y, ldy, n0, n1, r, mr, p, nb, c);
      });
}
#endif

using LinearFn = void (*)(int64_t, const float*, int64_t, const Bf16Weight&, const float*, FusedAct, float*, int64_t,
                          int64_t, int64_t);

LinearFn impl_of(Bf16Kernel kernel) {
  TZ_CHECK(bf16_kernel_available(kernel), "linear_bf16: the ", bf16_kernel_name(kernel),
           " kernel needs instructions this CPU does not have");
  switch (kernel) {
#if defined(__x86_64__)
    case Bf16Kernel::Avx2: return &linear_bf16_widen<Bf16Avx2>;
    case Bf16Kernel::Avx512: return &linear_bf16_widen<Bf16Avx512>;
    case Bf16Kernel::Avx512Bf16: return &linear_bf16_dot;
    case Bf16Kernel::Amx: return &linear_bf16_amx;
#endif
    default: return &linear_bf16_reference;
  }
}

}  // namespace

uint16_t float_to_bf16(float x) {
  if (std::isnan(x)) return 0x7FC0;
  const uint32_t u = std::bit_cast<uint32_t>(x);
  // Adding 0x7FFF plus the lowest kept bit rounds the dropped half to nearest, ties to even (a
  // carry into the exponent is right: it rounds up to the next binade, or to infinity).
  return static_cast<uint16_t>((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}

float bf16_to_float(uint16_t b) { return std::bit_cast<float>(static_cast<uint32_t>(b) << 16); }

uint16_t Bf16Weight::at(int64_t n, int64_t k) const { return packed[packed_index(*this, n, k)]; }

const char* bf16_kernel_name(Bf16Kernel kernel) {
  switch (kernel) {
    case Bf16Kernel::Reference: return "reference";
    case Bf16Kernel::Avx2: return "avx2";
    case Bf16Kernel::Avx512: return "avx512";
    case Bf16Kernel::Avx512Bf16: return "avx512-bf16";
    case Bf16Kernel::Amx: return "amx";
  }
  return "?";
}

bool bf16_kernel_available(Bf16Kernel kernel) {
  const CpuFeatures& f = cpu_features();
  switch (kernel) {
    case Bf16Kernel::Reference: return true;
    case Bf16Kernel::Avx2: return f.avx2;
    case Bf16Kernel::Avx512: return f.avx512;
    case Bf16Kernel::Avx512Bf16: return f.avx512_bf16;
    case Bf16Kernel::Amx: return f.amx_bf16 && f.avx512_bf16;  // the rows are converted with AVX-512 BF16
  }
  return false;
}

Bf16Kernel bf16_kernel() {
  if (use_reference()) return Bf16Kernel::Reference;
  static const Bf16Kernel best = lowp::first_available({Bf16Kernel::Amx, Bf16Kernel::Avx512, Bf16Kernel::Avx2},
                                                        &bf16_kernel_available, Bf16Kernel::Reference);
  return best;
}

Bf16Weight convert_bf16_weight(int64_t N, int64_t K, const float* W, int64_t stride_n, int64_t stride_k) {
  Bf16Weight w = empty_weight("convert_bf16_weight", N, K);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k) w.packed[packed_index(w, n, k)] = float_to_bf16(W[n * stride_n + k * stride_k]);
  return w;
}

Bf16Weight pack_bf16_weight(int64_t N, int64_t K, const uint16_t* src, int64_t ldw) {
  Bf16Weight w = empty_weight("pack_bf16_weight", N, K);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k) w.packed[packed_index(w, n, k)] = src[n * ldw + k];
  return w;
}

void unpack_bf16_weight(const Bf16Weight& w, uint16_t* out, int64_t ldw) {
  for (int64_t n = 0; n < w.N; ++n)
    for (int64_t k = 0; k < w.K; ++k) out[n * ldw + k] = w.at(n, k);
}

void linear_bf16(Bf16Kernel kernel, int64_t M, const float* X, int64_t ldx, const Bf16Weight& w, const float* bias,
                 FusedAct act, float* Y, int64_t ldy, int64_t n0, int64_t n1) {
  if (n1 < 0) n1 = w.N;
  lowp::check_call("linear_bf16", M, n0, n1, w.N);
  const LinearFn fn = impl_of(kernel);
  if (M == 0 || n0 == n1) return;
  fn(M, X, ldx, w, bias, act, Y, ldy, n0, n1);
}

void linear_bf16(int64_t M, const float* X, int64_t ldx, const Bf16Weight& w, const float* bias, FusedAct act,
                 float* Y, int64_t ldy, int64_t n0, int64_t n1) {
  linear_bf16(bf16_kernel(), M, X, ldx, w, bias, act, Y, ldy, n0, n1);
}

void linear_bf16_parallel(int64_t M, const float* X, int64_t ldx, const Bf16Weight& w, const float* bias,
                          FusedAct act, float* Y, int64_t ldy) {
  const Bf16Kernel kernel = bf16_kernel();
  const bool ran = lowp::parallel_bands(M, w.N, w.K, [&](int64_t r0, int64_t r1, int64_t n0, int64_t n1) {
    linear_bf16(kernel, r1 - r0, X + r0 * ldx, ldx, w, bias, act, Y + r0 * ldy, ldy, n0, n1);
  });
  if (!ran) linear_bf16(kernel, M, X, ldx, w, bias, act, Y, ldy);
}

}  // namespace tz::kernels
