// What the CPU we run on can execute, read once at run time. The low-precision GEMM kernels
// (gemm_int8.cpp, gemm_bf16.cpp) are compiled for several instruction sets with function-level
// target attributes and pick one from these flags, so a portable build (-DTZ_NATIVE=OFF, plain
// x86-64) still runs VNNI code on a VNNI machine. The float kernels do not look here: they use
// the instruction set the build was compiled for (simd.h).
#pragma once

namespace tz::kernels {

/// Instruction-set extensions usable by this process: the CPU reports them and the operating
/// system saves their registers (GCC's __builtin_cpu_supports checks both). All false off x86.
struct CpuFeatures {
  bool avx2 = false;         // AVX2 and FMA3 (Haswell, Zen 1 on)
  bool avx512 = false;       // AVX-512 F, BW, DQ, VL (Skylake-SP, Zen 4 on)
  bool avx512_vnni = false;  // with avx512: vpdpbusd on zmm (Ice Lake, Zen 4 on)
  bool avx_vnni = false;     // with avx2: the VEX vpdpbusd on ymm (Alder Lake, Sapphire Rapids, Zen 5)
  bool avx512_bf16 = false;  // with avx512: vdpbf16ps, vcvtne2ps2bf16 (Cooper Lake, Sapphire Rapids, Zen 4 on)
  /// With avx512: AMX tiles with int8 / bf16 dot products (Sapphire Rapids on), and the kernel's
  /// permission to use them. Linux hands the 8 KB tile state to a process only when asked
  /// (arch_prctl ARCH_REQ_XCOMP_PERM for XTILEDATA); the first cpu_features() call asks. The
  /// permission is for the whole process, and Linux then refuses alternate signal stacks too small
  /// to hold the tile state in a signal frame (about 11 KB).
  bool amx_int8 = false;
  bool amx_bf16 = false;
};

/// The flags of this machine (computed on the first call).
const CpuFeatures& cpu_features();

}  // namespace tz::kernels
