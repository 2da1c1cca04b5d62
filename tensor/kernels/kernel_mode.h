// Which implementation the kernels in this folder run: the vectorised ones (xsimd loops, OpenBLAS
// for GEMM), or the scalar reference loops that spell out each definition with std:: functions.
// Both are always compiled. One switch covers every kernel family here: elementwise, reductions,
// softmax, layer_norm, GEMM (naive triple loop), the int8 and bf16 GEMMs (their scalar references),
// depthwise conv/unfold and the embedding rows.
//
//   TZ_KERNELS=reference   run every scalar reference kernel (slow; for checking results)
//   TZ_KERNELS=simd        the default (also when unset or empty)
//
// The variable is read once, at the first kernel call; any other value throws tz::Error. Tests
// switch the mode with KernelModeGuard to compare the two paths on the same inputs.
// Not here: the kernels themselves (elementwise.h, reduce.h, softmax.h, layer_norm.h, gemm.h,
// gemm_int8.h, gemm_bf16.h, conv.h, index.h).
#pragma once

namespace tz::kernels {

enum class KernelMode { Simd, Reference };

/// The current mode. The first call reads TZ_KERNELS; an unknown value throws tz::Error.
KernelMode kernel_mode();
void set_kernel_mode(KernelMode mode);
inline bool use_reference() { return kernel_mode() == KernelMode::Reference; }

/// Sets a mode for a scope and restores the previous one afterwards (for tests and debugging).
class KernelModeGuard {
 public:
  explicit KernelModeGuard(KernelMode mode) : saved_(kernel_mode()) { set_kernel_mode(mode); }
  ~KernelModeGuard() { set_kernel_mode(saved_); }
  KernelModeGuard(const KernelModeGuard&) = delete;
  KernelModeGuard& operator=(const KernelModeGuard&) = delete;

 private:
  KernelMode saved_;
};

}  // namespace tz::kernels
