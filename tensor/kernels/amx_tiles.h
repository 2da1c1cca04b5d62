// The loop nest of the AMX kernels (Sapphire Rapids on), shared by the int8 (tdpbusd) and bf16
// (tdpbf16ps) products in gemm_int8.cpp and gemm_bf16.cpp. The eight tile registers, all 16 rows x
// 64 bytes, hold 2 x 2 tiles of 16 x 16 float or int32 sums (0-3), two sets of 16 rows of X (4-5,
// 64 bytes of K each, read in place with the rows' stride) and two blocks of the packed weight
// (6-7: 16 groups of 64 bytes, 1 KB read in place). A family supplies its dot instruction; the
// sums go through memory to the family's AVX-512 epilogue. Private to those two files.
#pragma once

#include <algorithm>
#include <cstdint>

#include "tensor/kernels/aligned_vector.h"
#include "tensor/kernels/lowp_tiles.h"
#include "tensor/kernels/xsimd.h"

namespace tz::kernels::lowp {

// Both AMX instruction sets in one target: a kernel is only ever run where cpu_features() reports
// its own. prfchw: prefetching Y's lines for writing.
#define TZ_TARGET_AMX                                                                                  \
  __attribute__((target("avx2,fma,avx512f,avx512bw,avx512dq,avx512vl,prfchw,amx-tile,amx-int8,amx-bf16")))

#if defined(__x86_64__)
struct alignas(64) AmxTileConfig {
  uint8_t palette = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};  // bytes per row of each tile
  uint8_t rows[16] = {};
};

/// C[2 NT x 2 NB tiles] = the sum over `steps` steps (64 bytes of each row of X, 1 KB of each
/// block) of rows a0/a1 (stride lda bytes) times blocks b0/b1, stored to c: tile (ti, vi) at
/// c + (ti * 2 + vi) * 256, rows of 16 four-byte sums. Dot::dot<C>() is the family's tile
/// instruction on C tile C = 2 ti + vi, A tile 4 + ti and B tile 6 + vi (the intrinsics take the
/// tile numbers as literals, so each family spells the four cases out). Along the way, when next
/// is given, the next panel's two blocks (next and next + next_block) go to L2, 2 KB per step; and
/// when y is given, the y_rows rows of Y these tiles will fill (16 NB floats each, leading dim ldy)
/// are fetched for writing, so that the epilogue's stores find their lines in cache.
template <class Dot, int NT, int NB>
TZ_TARGET_AMX void amx_tiles(const uint8_t* a0, const uint8_t* a1, int64_t lda, const uint8_t* b0, const uint8_t* b1,
                             int64_t steps, void* c, const uint8_t* next, int64_t next_block, float* y, int64_t ldy,
                             int64_t y_rows) {
  _tile_zero(0);
  if constexpr (NB == 2) _tile_zero(1);
  if constexpr (NT == 2) _tile_zero(2);
  if constexpr (NT == 2 && NB == 2) _tile_zero(3);
  for (int64_t s = 0; s < steps; ++s) {
    if (next)
      for (int64_t l = 0; l < 1024; l += 64) {
        _mm_prefetch(reinterpret_cast<const char*>(next + s * 1024 + l), _MM_HINT_T1);
        _mm_prefetch(reinterpret_cast<const char*>(next + next_block + s * 1024 + l), _MM_HINT_T1);
      }
    if (y)
      for (int64_t i = s * y_rows / steps; i < (s + 1) * y_rows / steps; ++i) {
        __builtin_prefetch(y + i * ldy, 1, 3);
        __builtin_prefetch(y + i * ldy + 16 * NB - 1, 1, 3);
      }
    _tile_loadd(4, a0 + s * 64, lda);
    _tile_loadd(6, b0 + s * 1024, 64);
    Dot::template dot<0>();
    if constexpr (NB == 2) {
      _tile_loadd(7, b1 + s * 1024, 64);
      Dot::template dot<1>();
    }
    if constexpr (NT == 2) {
      _tile_loadd(5, a1 + s * 64, lda);
      Dot::template dot<2>();
      if constexpr (NB == 2) Dot::template dot<3>();
    }
  }
  char* out = static_cast<char*>(c);
  _tile_stored(0, out, 64);
  if constexpr (NB == 2) _tile_stored(1, out + 1024, 64);
  if constexpr (NT == 2) _tile_stored(2, out + 2048, 64);
  if constexpr (NT == 2 && NB == 2) _tile_stored(3, out + 3072, 64);
}

/// The product of X (M rows of `steps` x 64 bytes, stride lda) and the packed blocks [b0, b1) of W
/// (block b at w + b * block_bytes) for the columns [n0, n1) of Y, in bands of kBandRows rows and
/// panels of two blocks. The sums of a band's rows for one panel (192 x 32, 24 KB: in L1) are kept
/// in a buffer; when the panel is done, out(r, mr, p, nb, sums) writes each 16-row tile: rows
/// r..r+mr, blocks p..p+nb, block vi's sums at sums + vi * 256, row i at + i * 16. Writing Y only
/// then matters: a tile load waits for every earlier store to complete, and writes to Y between
/// tiles stalled each of them (about half the time of a product). A last set of fewer than 16
/// rows is read from a zero-padded copy, since a tile load reads all 16.
template <class Dot, class Sum, class Out>
TZ_TARGET_AMX void amx_product(int64_t M, const uint8_t* a, int64_t lda, const uint8_t* w, int64_t block_bytes,
                               int64_t steps, int64_t n0, int64_t n1, float* Y, int64_t ldy, Out&& out) {
  AmxTileConfig config;
  for (int t = 0; t < 8; ++t) {
    config.rows[t] = 16;
    config.colsb[t] = 64;
  }
  _tile_loadconfig(&config);
  const int64_t full = M / 16 * 16, tiles = (M + 15) / 16;
  thread_local AlignedVector<uint8_t> tail;
  if (full < M) {  // only the bytes the tiles read of each row: the caller's rows may end there
    tail.assign(static_cast<size_t>(16 * lda), 0);
    for (int64_t r = full; r < M; ++r)
      std::copy(a + r * lda, a + r * lda + steps * 64, tail.begin() + (r - full) * lda);
  }
  thread_local AlignedVector<Sum> sums(static_cast<size_t>(kBandRows * 2 * kBlock));
  const int64_t b0 = n0 / kBlock, b1 = (n1 + kBlock - 1) / kBlock, band_tiles = kBandRows / 16;
  for (int64_t t0 = 0; t0 < tiles; t0 += band_tiles) {
    const int64_t t1 = std::min(tiles, t0 + band_tiles);
    for (int64_t p = b0; p < b1; p += 2) {
      const int nb = b1 - p >= 2 ? 2 : 1;
      const uint8_t* wp = w + p * block_bytes;
      for (int64_t t = t0; t < t1; t += 2) {
        const int nt = t1 - t >= 2 ? 2 : 1;
        const uint8_t* a0 = t * 16 < full ? a + t * 16 * lda : tail.data();
        const uint8_t* a1 = (t + 1) * 16 < full ? a + (t + 1) * 16 * lda : tail.data();
        Sum* c = sums.data() + (t - t0) * 16 * 2 * kBlock;
        // The first tiles of a panel fetch the next panel into L2 (when there is a whole one).
        const uint8_t* next = t == t0 && p + 3 < b1 ? wp + 2 * block_bytes : nullptr;
        float* y = Y ? Y + t * 16 * ldy + std::max(n0, p * kBlock) : nullptr;
        const int64_t y_rows = std::min<int64_t>(M, (t + nt) * 16) - t * 16;
        if (nt == 2 && nb == 2)
          amx_tiles<Dot, 2, 2>(a0, a1, lda, wp, wp + block_bytes, steps, c, next, block_bytes, y, ldy, y_rows);
        else if (nt == 2)
          amx_tiles<Dot, 2, 1>(a0, a1, lda, wp, nullptr, steps, c, next, block_bytes, y, ldy, y_rows);
        else if (nb == 2)
          amx_tiles<Dot, 1, 2>(a0, nullptr, lda, wp, wp + block_bytes, steps, c, next, block_bytes, y, ldy, y_rows);
        else
          amx_tiles<Dot, 1, 1>(a0, nullptr, lda, wp, nullptr, steps, c, next, block_bytes, y, ldy, y_rows);
      }
      for (int64_t t = t0; t < t1; ++t)
        out(t * 16, std::min<int64_t>(16, M - t * 16), p, nb,
            sums.data() + (t - t0) / 2 * 2 * 16 * 2 * kBlock + (t - t0) % 2 * 2 * 256);
    }
  }
  _tile_release();
}
#endif

}  // namespace tz::kernels::lowp
