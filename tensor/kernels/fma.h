// Fused multiply-add on xsimd float batches that is fused on every instruction set that has one.
//
// Why not xsimd::fma: the xsimd in Debian 12 (8.1) has FMA kernels for SSE and AVX (FMA3) but not
// for AVX-512, where xsimd::fma(x, y, z) is the generic x * y + z. Whether that becomes one
// instruction is then up to the compiler's contraction: usually yes, but not in a file compiled with
// fp-contract=off (nn/optim.cpp), and never where the product is also needed on its own. An
// error-free product, fms(a, a, a * a) = the rounding error of a * a, came out 0 on an AVX-512 host,
// and Phi's far tail lost 64 ulp (tests/tensor/test_fast_math.cpp). These helpers call the AVX-512
// intrinsic for batches of that architecture and xsimd::fma otherwise (fused with FMA3, two
// roundings on a plain SSE2 build, as before).
// Private to .cpp files (tensor/kernels/*, nn/optim.cpp): xsimd types never reach a public header.
#pragma once

#include <cmath>
#include <type_traits>

#include "tensor/kernels/xsimd.h"

namespace tz::kernels {

template <class A>
inline constexpr bool kIsAvx512 =
#if defined(__AVX512F__)
    std::is_base_of_v<xsimd::avx512f, A>;
#else
    false;
#endif

/// x * y + z, rounded once
template <class A>
inline xsimd::batch<float, A> fma(const xsimd::batch<float, A>& x, const xsimd::batch<float, A>& y,
                                  const xsimd::batch<float, A>& z) {
#if defined(__AVX512F__)
  if constexpr (kIsAvx512<A>) return _mm512_fmadd_ps(x, y, z);
#endif
  return xsimd::fma(x, y, z);
}

/// x * y - z, rounded once
template <class A>
inline xsimd::batch<float, A> fms(const xsimd::batch<float, A>& x, const xsimd::batch<float, A>& y,
                                  const xsimd::batch<float, A>& z) {
#if defined(__AVX512F__)
  if constexpr (kIsAvx512<A>) return _mm512_fmsub_ps(x, y, z);
#endif
  return xsimd::fms(x, y, z);
}

/// z - x * y, rounded once
template <class A>
inline xsimd::batch<float, A> fnma(const xsimd::batch<float, A>& x, const xsimd::batch<float, A>& y,
                                   const xsimd::batch<float, A>& z) {
#if defined(__AVX512F__)
  if constexpr (kIsAvx512<A>) return _mm512_fnmadd_ps(x, y, z);
#endif
  return xsimd::fnma(x, y, z);
}

/// Scalars: std::fma (one rounding everywhere), so templates on float-or-batch read the same.
inline float fma(float x, float y, float z) { return std::fma(x, y, z); }
inline float fms(float x, float y, float z) { return std::fma(x, y, -z); }
inline float fnma(float x, float y, float z) { return std::fma(-x, y, z); }

}  // namespace tz::kernels
