// The kernel mode switch; see kernel_mode.h.
#include "tensor/kernels/kernel_mode.h"

#include <atomic>
#include <cstdlib>
#include <string>

#include "core/error.h"

namespace tz::kernels {
namespace {

KernelMode mode_from_env() {
  const char* env = std::getenv("TZ_KERNELS");
  if (!env || !*env) return KernelMode::Simd;
  std::string v(env);
  if (v == "simd") return KernelMode::Simd;
  if (v == "reference") return KernelMode::Reference;
  throw Error("TZ_KERNELS: expected 'simd' or 'reference', got '" + v + "'");
}

// -1 until the environment has been read; a relaxed atomic keeps the per-row check cheap.
std::atomic<int> g_mode{-1};

}  // namespace

KernelMode kernel_mode() {
  int m = g_mode.load(std::memory_order_relaxed);
  if (m < 0) {
    m = static_cast<int>(mode_from_env());
    g_mode.store(m, std::memory_order_relaxed);
  }
  return static_cast<KernelMode>(m);
}

void set_kernel_mode(KernelMode mode) { g_mode.store(static_cast<int>(mode), std::memory_order_relaxed); }

}  // namespace tz::kernels
