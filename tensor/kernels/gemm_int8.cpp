// Int8 GEMM with dynamic quantization; see gemm_int8.h for the scheme and the contract. Here:
// weight quantization and packing, activation quantization (scalar reference, AVX2, AVX-512), the
// scalar reference product, the tile kernels (AVX2, AVX-VNNI, AVX-512 VNNI, AMX), run-time
// dispatch and the threaded wrapper. The loop nest over tiles is lowp_tiles.h; the tests are
// tests/tensor/test_gemm_int8.cpp.
//
// Why every kernel gets the same int32 sums: the VNNI and AMX kernels feed q_x (uint8) straight
// into vpdpbusd / tdpbusd and subtract z[m] * row_sum[n] at the end; the AVX2 kernel works on the signed bytes
// q_x - 128 (so it subtracts (z[m] - 128) * row_sum[n]) and multiplies them by q_w with
// vpmaddubsw(|q_x - 128|, sign(q_w, q_x - 128)), whose pair sums reach at most 2 * 128 * 127 =
// 32512 < 32767: no saturation. Both equal sum_k (q_x - z) q_w exactly (int32 arithmetic wraps,
// and the final value fits).
#include "tensor/kernels/gemm_int8.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/error.h"
#include "tensor/kernels/amx_tiles.h"
#include "tensor/kernels/cpu_features.h"
#include "tensor/kernels/kernel_mode.h"
#include "tensor/kernels/lowp_tiles.h"
#include "tensor/kernels/xsimd.h"
#include "tensor/parallel.h"

namespace tz::kernels {
namespace {

using lowp::kBlock;
constexpr int64_t kGroupBytes = 64;  // one group: 16 output rows x 4 columns of K
constexpr int64_t kMaxK = 65536;     // 255 * 127 * 65536 < 2^31: the sums cannot overflow
// A row whose range is below this quantizes as all zeros (255 / range would overflow a float).
constexpr float kMinRange = 1e-30f;

// Round to nearest even as cvtps2dq does it: NaN and anything outside int32 give INT32_MIN.
int32_t round_to_int(float r) {
  if (!(r > -2147483648.f && r < 2147483648.f)) return std::numeric_limits<int32_t>::min();
  return static_cast<int32_t>(std::nearbyint(r));
}

// ---- weights -----------------------------------------------------------------------------------

Int8Weight empty_weight(const char* op, int64_t N, int64_t K) {
  lowp::check_weight_shape(op, N, K);
  TZ_CHECK(K <= kMaxK, op, ": K = ", K, " exceeds ", kMaxK, " columns (the int32 sums could overflow)");
  Int8Weight w;
  w.N = N;
  w.K = K;
  w.packed.assign(static_cast<size_t>(w.blocks() * w.groups() * kGroupBytes), 0);
  w.scale.assign(static_cast<size_t>(w.blocks() * kBlock), 0.f);
  w.row_sum.assign(static_cast<size_t>(w.blocks() * kBlock), 0);
  return w;
}

size_t packed_index(const Int8Weight& w, int64_t n, int64_t k) {
  return static_cast<size_t>(((n / kBlock) * w.groups() + k / 4) * kGroupBytes + (n % kBlock) * 4 + k % 4);
}

// Row n of the weight from its quantized values (q_n[k * stride]) and scale.
void set_row(Int8Weight& w, int64_t n, const int8_t* q_n, int64_t stride, float scale) {
  int32_t sum = 0;
  for (int64_t k = 0; k < w.K; ++k) {
    const int8_t q = q_n[k * stride];
    w.packed[packed_index(w, n, k)] = q;
    sum += q;
  }
  w.scale[static_cast<size_t>(n)] = scale;
  w.row_sum[static_cast<size_t>(n)] = sum;
}

// ---- activations: one row's parameters, one element ------------------------------------------

struct RowParams {
  float scale, inv;
  int32_t zero;
};

// lo <= 0 <= hi: the row's range with zero included, so that 0 is exactly representable.
RowParams row_params(float lo, float hi) {
  const float range = hi - lo;
  if (!(range >= kMinRange)) return {1.f, 1.f, 0};
  const float inv = 255.f / range;
  return {range / 255.f, inv, std::clamp(round_to_int(-lo * inv), 0, 255)};
}

// clamp(round(x * inv) + zero, 0, 255), the sum wrapping as the vector add does.
uint8_t quantize_one(float x, float inv, int32_t zero) {
  const int32_t q = static_cast<int32_t>(static_cast<uint32_t>(round_to_int(x * inv)) + static_cast<uint32_t>(zero));
  return static_cast<uint8_t>(std::clamp(q, 0, 255));
}

// The scalar reference: the definition every vector version reproduces byte for byte. The range
// updates are written as the vector min/max instructions compute them (a NaN x leaves them alone).
void quantize_rows_reference(int64_t M, int64_t K, const float* X, int64_t ldx, uint8_t* q, int64_t ldq, float* scale,
                             int32_t* zero) {
  for (int64_t m = 0; m < M; ++m) {
    const float* x = X + m * ldx;
    uint8_t* qr = q + m * ldq;
    float lo = 0.f, hi = 0.f;
    for (int64_t k = 0; k < K; ++k) {
      lo = x[k] < lo ? x[k] : lo;
      hi = x[k] > hi ? x[k] : hi;
    }
    const RowParams p = row_params(lo, hi);
    for (int64_t k = 0; k < K; ++k) qr[k] = quantize_one(x[k], p.inv, p.zero);
    std::fill(qr + K, qr + int8_row_bytes(K), uint8_t{0});
    scale[m] = p.scale;
    zero[m] = p.zero;
  }
}

#if defined(__x86_64__)
TZ_TARGET_AVX2 float hmin8(__m256 v) {
  __m128 m = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_min_ps(m, _mm_movehl_ps(m, m));
  return _mm_cvtss_f32(_mm_min_ss(m, _mm_movehdup_ps(m)));
}
TZ_TARGET_AVX2 float hmax8(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  return _mm_cvtss_f32(_mm_max_ss(m, _mm_movehdup_ps(m)));
}

// 8 floats at a time, the tail by the reference's scalar steps.
TZ_TARGET_AVX2 void quantize_rows_avx2(int64_t M, int64_t K, const float* X, int64_t ldx, uint8_t* q, int64_t ldq,
                                       float* scale, int32_t* zero) {
  const int64_t K8 = K / 8 * 8;
  for (int64_t m = 0; m < M; ++m) {
    const float* x = X + m * ldx;
    uint8_t* qr = q + m * ldq;
    __m256 vlo = _mm256_setzero_ps(), vhi = _mm256_setzero_ps();
    for (int64_t k = 0; k < K8; k += 8) {
      const __m256 v = _mm256_loadu_ps(x + k);
      vlo = _mm256_min_ps(v, vlo);  // v < lo ? v : lo, so a NaN v is skipped
      vhi = _mm256_max_ps(v, vhi);
    }
    float lo = hmin8(vlo), hi = hmax8(vhi);
    for (int64_t k = K8; k < K; ++k) {
      lo = x[k] < lo ? x[k] : lo;
      hi = x[k] > hi ? x[k] : hi;
    }
    const RowParams p = row_params(lo, hi);
    const __m256 inv = _mm256_set1_ps(p.inv);
    const __m256i z = _mm256_set1_epi32(p.zero);
    for (int64_t k = 0; k < K8; k += 8) {
      const __m256i i = _mm256_add_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + k), inv)), z);
      // int32 -> int16 -> uint8 with saturation: the clamp to [0, 255]
      const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(i), _mm256_extracti128_si256(i, 1));
      _mm_storel_epi64(reinterpret_cast<__m128i*>(qr + k), _mm_packus_epi16(w, w));
    }
    for (int64_t k = K8; k < K; ++k) qr[k] = quantize_one(x[k], p.inv, p.zero);
    std::fill(qr + K, qr + int8_row_bytes(K), uint8_t{0});
    scale[m] = p.scale;
    zero[m] = p.zero;
  }
}

// 16 floats at a time; the tail by masked loads (masked lanes read as 0, which is in the range anyway).
TZ_TARGET_AVX512 void quantize_rows_avx512(int64_t M, int64_t K, const float* X, int64_t ldx, uint8_t* q,
                                           int64_t ldq, float* scale, int32_t* zero) {
  for (int64_t m = 0; m < M; ++m) {
    const float* x = X + m * ldx;
    uint8_t* qr = q + m * ldq;
    __m512 vlo = _mm512_setzero_ps(), vhi = _mm512_setzero_ps();
    for (int64_t k = 0; k < K; k += 16) {
      const __mmask16 live = static_cast<__mmask16>(lowp::lane_bits(k, 0, K, 16));
      const __m512 v = _mm512_maskz_loadu_ps(live, x + k);
      vlo = _mm512_min_ps(v, vlo);
      vhi = _mm512_max_ps(v, vhi);
    }
    const RowParams p = row_params(_mm512_reduce_min_ps(vlo), _mm512_reduce_max_ps(vhi));
    const __m512 inv = _mm512_set1_ps(p.inv);
    const __m512i z = _mm512_set1_epi32(p.zero);
    for (int64_t k = 0; k < K; k += 16) {
      const __mmask16 live = static_cast<__mmask16>(lowp::lane_bits(k, 0, K, 16));
      __m512i i = _mm512_add_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(_mm512_maskz_loadu_ps(live, x + k), inv)), z);
      i = _mm512_max_epi32(i, _mm512_setzero_si512());               // then unsigned saturation to 255
      _mm_mask_storeu_epi8(qr + k, live, _mm512_cvtusepi32_epi8(i));
    }
    std::fill(qr + K, qr + int8_row_bytes(K), uint8_t{0});
    scale[m] = p.scale;
    zero[m] = p.zero;
  }
}
#endif

// ---- the product: reference and tiles ------------------------------------------------------

// Everything a tile kernel needs: rows r..r+mr of X (already offset), the panel of W starting at
// block p, the columns [lo, hi) it may write, and where to write them.
struct Int8Job {
  const uint8_t* a;      // q_x of the tile's first row
  int64_t lda;
  const int32_t* zero;   // z of the tile's rows
  const float* xscale;   // s_x of the tile's rows
  const int8_t* w;       // group 0 of the panel's first block
  int64_t block_bytes;   // from one block to the next
  int64_t groups;        // groups of 4 columns holding K (the packed blocks may hold more)
  int64_t col;           // the column of the panel's first lane
  int64_t lo, hi;        // the columns to write
  const int32_t* row_sum;
  const float* wscale;
  const float* bias;     // [N] or null
  float* y;              // the tile's first row, column 0
  int64_t ldy;
  int32_t* sums;         // when not null, D goes here (first row, column 0) instead of y
  int64_t lds;
};

// Columns [n0, n1) of D and Y for all rows, in plain loops over the unpacked definition.
void gemm_int8_reference(const Int8Rows& x, const Int8Weight& w, int64_t n0, int64_t n1, const float* bias,
                         FusedAct act, float* Y, int64_t ldy, int32_t* sums, int64_t lds) {
  for (int64_t m = 0; m < x.M; ++m) {
    const uint8_t* q = x.q + m * x.ldq;
    for (int64_t n = n0; n < n1; ++n) {
      int32_t d = 0;
      for (int64_t k = 0; k < w.K; ++k) d += (static_cast<int32_t>(q[k]) - x.zero[m]) * w.at(n, k);
      if (sums)
        sums[m * lds + n] = d;
      else
        Y[m * ldy + n] = std::fma(static_cast<float>(d), w.scale[static_cast<size_t>(n)] * x.scale[m],
                                  bias ? bias[n] : 0.f);
    }
  }
  if (!sums && act != FusedAct::None) bias_act_rows(false, act, x.M, n1 - n0, Y + n0, ldy, nullptr);
}

#if defined(__x86_64__)
// The output of an AVX2-width tile: c[i][v] holds, for row i, the int32 sums of columns
// col + 8v .. col + 8v + 7, offset by shift * row_sum (shift = 0 for vpdpbusd on q_x; -128 for
// the AVX2 kernel, which sums (q_x - 128) q_w). D = c - (z + shift) row_sum, then the epilogue.
template <int M, int V>
TZ_TARGET_AVX2 inline void store_tile_avx2(const Int8Job& j, __m256i (&c)[M][V], int32_t shift) {
#pragma GCC unroll 8
  for (int v = 0; v < V; ++v) {
    const int64_t col = j.col + 8 * v;
    if (!lowp::lane_bits(col, j.lo, j.hi, 8)) continue;
    const __m256i keep = lowp::lane_mask8(col, j.lo, j.hi);
    const __m256i rs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(j.row_sum + col));
    const __m256 ws = _mm256_loadu_ps(j.wscale + col);
    const __m256 b = j.bias ? _mm256_maskload_ps(j.bias + col, keep) : _mm256_setzero_ps();
#pragma GCC unroll 8
    for (int i = 0; i < M; ++i) {
      const __m256i d = _mm256_sub_epi32(c[i][v], _mm256_mullo_epi32(_mm256_set1_epi32(j.zero[i] + shift), rs));
      if (j.sums) {
        _mm256_maskstore_epi32(j.sums + i * j.lds + col, keep, d);
      } else {
        const __m256 s = _mm256_mul_ps(ws, _mm256_set1_ps(j.xscale[i]));
        _mm256_maskstore_ps(j.y + i * j.ldy + col, keep, _mm256_fmadd_ps(_mm256_cvtepi32_ps(d), s, b));
      }
    }
  }
}

// The parts of the two ymm tiles below that do not depend on the dot instruction: zeroed sums,
// and one group of V ymm of weights (two per block of 16 columns).
template <int M, int V>
TZ_TARGET_AVX2 inline void zero_tile_avx2(__m256i (&c)[M][V]) {
#pragma GCC unroll 8
  for (int i = 0; i < M; ++i)
#pragma GCC unroll 8
    for (int v = 0; v < V; ++v) c[i][v] = _mm256_setzero_si256();
}

template <int V>
TZ_TARGET_AVX2 inline void load_group_avx2(__m256i (&b)[V], const int8_t* w, int64_t block_bytes) {
#pragma GCC unroll 8
  for (int v = 0; v < V; ++v)
    b[v] = _mm256_load_si256(reinterpret_cast<const __m256i*>(w + (v / 2) * block_bytes + (v % 2) * 32));
}

// AVX2 without VNNI: vpmaddubsw + vpmaddwd on the signed bytes q_x - 128 (see the top of the
// file). A tile is 4 rows x one block (two ymm of 8 columns): 8 sums, 2 weight vectors, the row's
// bytes, their absolute values and the constant ones fill the 16 registers.
struct Int8Avx2 {
  static constexpr int Mr = 4, Nv = 1;
  template <int M, int N>
  TZ_TARGET_AVX2 static void tile(const Int8Job& j) {
    constexpr int V = 2 * N;
    __m256i c[M][V], b[V];
    zero_tile_avx2(c);
    const __m256i ones = _mm256_set1_epi16(1), flip = _mm256_set1_epi8(static_cast<char>(0x80));
    for (int64_t g = 0; g < j.groups; ++g) {
      load_group_avx2(b, j.w + g * kGroupBytes, j.block_bytes);
#pragma GCC unroll 8
      for (int i = 0; i < M; ++i) {
        const __m256i xu = _mm256_set1_epi32(lowp::load4(j.a + i * j.lda + 4 * g));
        const __m256i xs = _mm256_xor_si256(xu, flip);  // q_x - 128
        const __m256i xa = _mm256_abs_epi8(xs);  // -128 becomes 0x80: 128 as the unsigned operand
#pragma GCC unroll 8
        for (int v = 0; v < V; ++v) {
          const __m256i pairs = _mm256_maddubs_epi16(xa, _mm256_sign_epi8(b[v], xs));
          c[i][v] = _mm256_add_epi32(c[i][v], _mm256_madd_epi16(pairs, ones));
        }
      }
    }
    store_tile_avx2<M, V>(j, c, -128);
  }
};

// AVX-VNNI: the VEX vpdpbusd on ymm. A tile is 6 rows x one block: 12 sums + 2 weights + 1 row.
struct Int8AvxVnni {
  static constexpr int Mr = 6, Nv = 1;
  template <int M, int N>
  TZ_TARGET_AVX_VNNI static void tile(const Int8Job& j) {
    constexpr int V = 2 * N;
    __m256i c[M][V], b[V];
    zero_tile_avx2(c);
    for (int64_t g = 0; g < j.groups; ++g) {
      load_group_avx2(b, j.w + g * kGroupBytes, j.block_bytes);
#pragma GCC unroll 8
      for (int i = 0; i < M; ++i) {
        const __m256i xu = _mm256_set1_epi32(lowp::load4(j.a + i * j.lda + 4 * g));
#pragma GCC unroll 8
        for (int v = 0; v < V; ++v) c[i][v] = _mm256_dpbusd_avx_epi32(c[i][v], xu, b[v]);
      }
    }
    store_tile_avx2<M, V>(j, c, 0);
  }
};

// What the output of one block of 16 columns (from col, only the lanes in keep) needs besides
// the sums: read once per block, used for every row of the tile.
struct BlockOut {
  int64_t col;
  __mmask16 keep;
  __m512i row_sum;
  __m512 wscale, bias;
};

TZ_TARGET_AVX512 inline BlockOut block_out(const Int8Job& j, int64_t col) {
  const __mmask16 keep = static_cast<__mmask16>(lowp::lane_bits(col, j.lo, j.hi, kBlock));
  return {col, keep, _mm512_load_si512(j.row_sum + col), _mm512_load_ps(j.wscale + col),
          j.bias ? _mm512_maskz_loadu_ps(keep, j.bias + col) : _mm512_setzero_ps()};
}

// Row i of a job in block o: acc holds sum_k q_x q_w, so D = acc - z[i] row_sum; then D itself, or
// the dequantized output with its bias.
TZ_TARGET_AVX512 inline void store_row_avx512(const Int8Job& j, const BlockOut& o, int64_t i, __m512i acc) {
  const __m512i d = _mm512_sub_epi32(acc, _mm512_mullo_epi32(_mm512_set1_epi32(j.zero[i]), o.row_sum));
  if (j.sums) {
    _mm512_mask_storeu_epi32(j.sums + i * j.lds + o.col, o.keep, d);
    return;
  }
  const __m512 s = _mm512_mul_ps(o.wscale, _mm512_set1_ps(j.xscale[i]));
  _mm512_mask_storeu_ps(j.y + i * j.ldy + o.col, o.keep, _mm512_fmadd_ps(_mm512_cvtepi32_ps(d), s, o.bias));
}

// AVX-512 VNNI: a tile is 6 rows x 4 blocks (64 columns): 24 sums + 4 weights + 1 row of the 32
// registers; per group of 4 columns of K, 10 loads feed 24 vpdpbusd.
struct Int8Avx512Vnni {
  static constexpr int Mr = 6, Nv = 4;
  template <int M, int N>
  TZ_TARGET_AVX512_VNNI static void tile(const Int8Job& j) {
    __m512i c[M][N];
#pragma GCC unroll 8
    for (int i = 0; i < M; ++i)
#pragma GCC unroll 8
      for (int v = 0; v < N; ++v) c[i][v] = _mm512_setzero_si512();
    const int8_t* w = j.w;
    const uint8_t* a = j.a;
    for (int64_t g = 0; g < j.groups; ++g, w += kGroupBytes, a += 4) {
      __m512i b[N];
#pragma GCC unroll 8
      for (int v = 0; v < N; ++v) b[v] = _mm512_load_si512(w + v * j.block_bytes);
#pragma GCC unroll 8
      for (int i = 0; i < M; ++i) {
        const __m512i xu = _mm512_set1_epi32(lowp::load4(a + i * j.lda));
#pragma GCC unroll 8
        for (int v = 0; v < N; ++v) c[i][v] = _mm512_dpbusd_epi32(c[i][v], xu, b[v]);
      }
    }
#pragma GCC unroll 8
    for (int v = 0; v < N; ++v) {
      const BlockOut o = block_out(j, j.col + kBlock * v);
      if (!o.keep) continue;
#pragma GCC unroll 8
      for (int i = 0; i < M; ++i) store_row_avx512(j, o, i, c[i][v]);
    }
  }
};

template <class Isa>
void gemm_int8_tiles(const Int8Rows& x, const Int8Weight& w, int64_t n0, int64_t n1, const float* bias, FusedAct act,
                     float* Y, int64_t ldy, int32_t* sums, int64_t lds) {
  const int64_t block_bytes = w.groups() * kGroupBytes;
  lowp::for_each_tile<Isa, Int8Job>(
      x.M, n0 / kBlock, (n1 + kBlock - 1) / kBlock,
      [&](int64_t r, int64_t, int64_t p, int64_t) {
        return Int8Job{x.q + r * x.ldq, x.ldq, x.zero + r, x.scale + r, w.packed.data() + p * block_bytes,
                       block_bytes, (w.K + 3) / 4, p * kBlock, n0, n1, w.row_sum.data(), w.scale.data(), bias,
                       sums ? nullptr : Y + r * ldy, ldy, sums ? sums + r * lds : nullptr, lds};
      },
      [&](int64_t r, int64_t mr, int64_t p, int64_t nv) {
        if (!sums) lowp::tile_activation(act, r, mr, p, nv, n0, n1, Y, ldy);
      });
}

// ---- AMX ---------------------------------------------------------------------------------------
// tdpbusd: 16 x 16 x 64 multiply-adds of q_x by q_w per instruction, in the loop nest of
// amx_tiles.h; the AVX-512 epilogue above turns the int32 sums into Y.

struct AmxInt8Dot {
  template <int C>
  TZ_TARGET_AMX static void dot() {
    if constexpr (C == 0) _tile_dpbusd(0, 4, 6);
    if constexpr (C == 1) _tile_dpbusd(1, 4, 7);
    if constexpr (C == 2) _tile_dpbusd(2, 5, 6);
    if constexpr (C == 3) _tile_dpbusd(3, 5, 7);
  }
};

// Rows r..r+mr of D or Y for blocks p..p+nb, from the tile sums (block vi at c + vi * 256).
TZ_TARGET_AMX void amx_int8_out(const Int8Rows& x, const Int8Weight& w, int64_t n0, int64_t n1, const float* bias,
                                FusedAct act, float* Y, int64_t ldy, int32_t* sums, int64_t lds, int64_t r,
                                int64_t mr, int64_t p, int64_t nb, const int32_t* c) {
  const Int8Job j{nullptr, 0, x.zero + r, x.scale + r, nullptr, 0, 0, 0, n0, n1, w.row_sum.data(), w.scale.data(),
                  bias, sums ? nullptr : Y + r * ldy, ldy, sums ? sums + r * lds : nullptr, lds};
  for (int64_t vi = 0; vi < nb; ++vi) {
    const BlockOut o = block_out(j, (p + vi) * kBlock);
    if (!o.keep) continue;
    for (int64_t i = 0; i < mr; ++i) store_row_avx512(j, o, i, _mm512_load_si512(c + vi * 256 + i * 16));
  }
  if (!sums) lowp::tile_activation(act, r, mr, p, nb, n0, n1, Y, ldy);
}

void gemm_int8_amx(const Int8Rows& x, const Int8Weight& w, int64_t n0, int64_t n1, const float* bias, FusedAct act,
                   float* Y, int64_t ldy, int32_t* sums, int64_t lds) {
  const int64_t block_bytes = w.groups() * kGroupBytes;
  lowp::amx_product<AmxInt8Dot, int32_t>(
      x.M, x.q, x.ldq, reinterpret_cast<const uint8_t*>(w.packed.data()), block_bytes, w.groups() / 16, n0, n1,
      sums ? nullptr : Y, ldy, [&](int64_t r, int64_t mr, int64_t p, int64_t nb, const int32_t* c) {
        amx_int8_out(x, w, n0, n1, bias, act, Y, ldy, sums, lds, r, mr, p, nb, c);
      });
}
#endif

using GemmFn = void (*)(const Int8Rows&, const Int8Weight&, int64_t, int64_t, const float*, FusedAct, float*, int64_t,
                        int32_t*, int64_t);
using QuantizeFn = void (*)(int64_t, int64_t, const float*, int64_t, uint8_t*, int64_t, float*, int32_t*);

struct Int8Impl {
  GemmFn gemm;
  QuantizeFn quantize;
};

Int8Impl impl_of(const char* op, Int8Kernel kernel) {
  TZ_CHECK(int8_kernel_available(kernel), op, ": the ", int8_kernel_name(kernel),
           " kernel needs instructions this CPU does not have");
  switch (kernel) {
#if defined(__x86_64__)
    case Int8Kernel::Avx2: return {&gemm_int8_tiles<Int8Avx2>, &quantize_rows_avx2};
    case Int8Kernel::AvxVnni: return {&gemm_int8_tiles<Int8AvxVnni>, &quantize_rows_avx2};
    case Int8Kernel::Avx512Vnni: return {&gemm_int8_tiles<Int8Avx512Vnni>, &quantize_rows_avx512};
    case Int8Kernel::Amx: return {&gemm_int8_amx, &quantize_rows_avx512};
#endif
    default: return {&gemm_int8_reference, &quantize_rows_reference};
  }
}

void check_product(const char* op, const Int8Rows& x, const Int8Weight& w, int64_t n0, int64_t n1) {
  lowp::check_call(op, x.M, n0, n1, w.N);
  TZ_CHECK(x.M == 0 || x.ldq >= int8_row_bytes(w.K), op, ": quantized rows of ", x.ldq, " bytes are shorter than the ",
           int8_row_bytes(w.K), " that K = ", w.K, " needs");
}

// Quantized rows in scratch memory that is only ever grown (one per thread: a steady stream of
// same-sized products allocates nothing).
struct Int8Scratch {
  std::vector<uint8_t> q;
  std::vector<float> scale;
  std::vector<int32_t> zero;
  int64_t ldq = 0;

  void reserve(int64_t M, int64_t K) {
    ldq = int8_row_bytes(K);
    if (q.size() < static_cast<size_t>(M * ldq)) q.resize(static_cast<size_t>(M * ldq));
    if (scale.size() < static_cast<size_t>(M)) {
      scale.resize(static_cast<size_t>(M));
      zero.resize(static_cast<size_t>(M));
    }
  }
  // Rows r0..r1 of X [., K] into rows r0..r1 of the scratch.
  void quantize(Int8Kernel kernel, int64_t r0, int64_t r1, int64_t K, const float* X, int64_t ldx) {
    quantize_int8_rows(kernel, r1 - r0, K, X + r0 * ldx, ldx, q.data() + r0 * ldq, ldq, scale.data() + r0,
                       zero.data() + r0);
  }
  Int8Rows rows(int64_t r0, int64_t r1) const {
    return {r1 - r0, q.data() + r0 * ldq, ldq, scale.data() + r0, zero.data() + r0};
  }
};

}  // namespace

int8_t Int8Weight::at(int64_t n, int64_t k) const { return packed[packed_index(*this, n, k)]; }

const char* int8_kernel_name(Int8Kernel kernel) {
  switch (kernel) {
    case Int8Kernel::Reference: return "reference";
    case Int8Kernel::Avx2: return "avx2";
    case Int8Kernel::AvxVnni: return "avx-vnni";
    case Int8Kernel::Avx512Vnni: return "avx512-vnni";
    case Int8Kernel::Amx: return "amx";
  }
  return "?";
}

bool int8_kernel_available(Int8Kernel kernel) {
  const CpuFeatures& f = cpu_features();
  switch (kernel) {
    case Int8Kernel::Reference: return true;
    case Int8Kernel::Avx2: return f.avx2;
    case Int8Kernel::AvxVnni: return f.avx_vnni;
    case Int8Kernel::Avx512Vnni: return f.avx512_vnni;
    case Int8Kernel::Amx: return f.amx_int8;
  }
  return false;
}

Int8Kernel int8_kernel() {
  if (use_reference()) return Int8Kernel::Reference;
  static const Int8Kernel best = lowp::first_available(
      {Int8Kernel::Amx, Int8Kernel::Avx512Vnni, Int8Kernel::AvxVnni, Int8Kernel::Avx2}, &int8_kernel_available,
      Int8Kernel::Reference);
  return best;
}

Int8Weight quantize_int8_weight(int64_t N, int64_t K, const float* W, int64_t stride_n, int64_t stride_k) {
  Int8Weight w = empty_weight("quantize_int8_weight", N, K);
  std::vector<int8_t> q(static_cast<size_t>(K));
  for (int64_t n = 0; n < N; ++n) {
    const float* row = W + n * stride_n;
    float amax = 0.f;
    for (int64_t k = 0; k < K; ++k) {
      const float v = row[k * stride_k];
      TZ_CHECK(std::isfinite(v), "quantize_int8_weight: W[", n, ", ", k, "] = ", v, " is not finite");
      amax = std::max(amax, std::fabs(v));
    }
    // amax / 127 is the step; q = round(W * 127 / amax) stays within [-127, 127].
    const float inv = amax > 0.f ? 127.f / amax : 0.f;
    for (int64_t k = 0; k < K; ++k)
      q[static_cast<size_t>(k)] = static_cast<int8_t>(std::clamp(round_to_int(row[k * stride_k] * inv), -127, 127));
    set_row(w, n, q.data(), 1, amax / 127.f);
  }
  return w;
}

Int8Weight pack_int8_weight(int64_t N, int64_t K, const int8_t* q, int64_t ldq, const float* scale) {
  Int8Weight w = empty_weight("pack_int8_weight", N, K);
  for (int64_t n = 0; n < N; ++n) {
    TZ_CHECK(std::isfinite(scale[n]) && scale[n] >= 0.f, "pack_int8_weight: scale[", n, "] = ", scale[n],
             "; expected a finite value >= 0");
    for (int64_t k = 0; k < K; ++k)
      TZ_CHECK(q[n * ldq + k] != -128, "pack_int8_weight: q[", n, ", ", k,
               "] = -128; expected symmetric int8 weights in [-127, 127]");
    set_row(w, n, q + n * ldq, 1, scale[n]);
  }
  return w;
}

void unpack_int8_weight(const Int8Weight& w, int8_t* q, int64_t ldq, float* scale) {
  for (int64_t n = 0; n < w.N; ++n) {
    for (int64_t k = 0; k < w.K; ++k) q[n * ldq + k] = w.at(n, k);
    scale[n] = w.scale[static_cast<size_t>(n)];
  }
}

void quantize_int8_rows(Int8Kernel kernel, int64_t M, int64_t K, const float* X, int64_t ldx, uint8_t* q, int64_t ldq,
                        float* scale, int32_t* zero) {
  TZ_CHECK(ldq >= int8_row_bytes(K), "quantize_int8_rows: rows of ", ldq, " bytes are shorter than the ",
           int8_row_bytes(K), " that K = ", K, " needs");
  impl_of("quantize_int8_rows", kernel).quantize(M, K, X, ldx, q, ldq, scale, zero);
}

void quantize_int8_rows(int64_t M, int64_t K, const float* X, int64_t ldx, uint8_t* q, int64_t ldq, float* scale,
                        int32_t* zero) {
  quantize_int8_rows(int8_kernel(), M, K, X, ldx, q, ldq, scale, zero);
}

void gemm_int8(Int8Kernel kernel, const Int8Rows& x, const Int8Weight& w, int64_t n0, int64_t n1, const float* bias,
               FusedAct act, float* Y, int64_t ldy) {
  check_product("gemm_int8", x, w, n0, n1);
  const Int8Impl impl = impl_of("gemm_int8", kernel);
  if (x.M == 0 || n0 == n1) return;
  impl.gemm(x, w, n0, n1, bias, act, Y, ldy, nullptr, 0);
}

void gemm_int8(const Int8Rows& x, const Int8Weight& w, int64_t n0, int64_t n1, const float* bias, FusedAct act,
               float* Y, int64_t ldy) {
  gemm_int8(int8_kernel(), x, w, n0, n1, bias, act, Y, ldy);
}

void gemm_int8_sums(Int8Kernel kernel, const Int8Rows& x, const Int8Weight& w, int64_t n0, int64_t n1, int32_t* D,
                    int64_t ldd) {
  check_product("gemm_int8_sums", x, w, n0, n1);
  const Int8Impl impl = impl_of("gemm_int8_sums", kernel);
  if (x.M == 0 || n0 == n1) return;
  impl.gemm(x, w, n0, n1, nullptr, FusedAct::None, nullptr, 0, D, ldd);
}

void linear_int8(int64_t M, const float* X, int64_t ldx, const Int8Weight& w, const float* bias, FusedAct act, float* Y,
                 int64_t ldy, int64_t n0, int64_t n1) {
  if (n1 < 0) n1 = w.N;
  const Int8Kernel kernel = int8_kernel();
  thread_local Int8Scratch scratch;
  scratch.reserve(M, w.K);
  scratch.quantize(kernel, 0, M, w.K, X, ldx);
  gemm_int8(kernel, scratch.rows(0, M), w, n0, n1, bias, act, Y, ldy);
}

void linear_int8_parallel(int64_t M, const float* X, int64_t ldx, const Int8Weight& w, const float* bias,
                          FusedAct act, float* Y, int64_t ldy) {
  const Int8Kernel kernel = int8_kernel();
  // The caller's scratch, named by reference: inside the lambdas `scratch` would be each worker's own.
  thread_local Int8Scratch caller_scratch;
  Int8Scratch& scratch = caller_scratch;
  const bool ran = lowp::parallel_bands(M, w.N, w.K, [&](int64_t r0, int64_t r1, int64_t n0, int64_t n1) {
    gemm_int8(kernel, scratch.rows(r0, r1), w, n0, n1, bias, act, Y + r0 * ldy, ldy);
  }, [&] {
    scratch.reserve(M, w.K);
    parallel_for(0, M, std::max<int64_t>(1, (M + get_num_threads() - 1) / get_num_threads()),
                 [&](int64_t r0, int64_t r1) { scratch.quantize(kernel, r0, r1, w.K, X, ldx); });
  });
  if (!ran) linear_int8(M, X, ldx, w, bias, act, Y, ldy);
}

}  // namespace tz::kernels
