// Which implementation the kernels in this folder run: the vectorised (xsimd) loops, or the scalar
// reference loops that spell out each definition with std:: functions. Both are always compiled.
// The mode comes from the environment variable TZ_KERNELS ("simd", the default, or "reference"),
// read once; tests switch it with KernelModeGuard to compare the two paths.
// Not here: the kernels themselves (elementwise.h, reduce.h, softmax.h, layer_norm.h).
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
