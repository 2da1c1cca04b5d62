// The one way the project includes xsimd (and with it the x86 intrinsics headers).
//
// GCC 12 warns "'__Y' may be used uninitialized" from inside its own avx512fintrin.h whenever an
// AVX-512 intrinsic built on _mm512_undefined_ps/_si512 (sqrt, max, roundscale, shifts,
// conversions) is inlined into our code: the header initialises a placeholder with itself on
// purpose. These are false positives located in the compiler's header, so they are silenced for
// that header's lines only (diagnostic pragmas apply by source location); warnings in our own
// code stay on. Seen on an AVX-512 host with -march=native (about 160 of them); AVX2 builds never
// included that code.
// Private to .cpp files and the kernel headers: xsimd types never reach a public header.
#pragma once

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif
#include <xsimd/xsimd.hpp>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
