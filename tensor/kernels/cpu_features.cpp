// Run-time CPU feature flags; see cpu_features.h.
#include "tensor/kernels/cpu_features.h"

#if defined(__linux__) && defined(__x86_64__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace tz::kernels {
namespace {

// Asks Linux for the AMX tile data state (XTILEDATA, state component 18); false when refused or
// when this is not Linux.
bool request_amx_permission() {
#if defined(__linux__) && defined(__x86_64__)
  constexpr long kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
#else
  return false;
#endif
}

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = [] {
    CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    f.avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    f.avx512 = f.avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
    f.avx512_vnni = f.avx512 && __builtin_cpu_supports("avx512vnni");
    f.avx_vnni = f.avx2 && __builtin_cpu_supports("avxvnni");
    f.avx512_bf16 = f.avx512 && __builtin_cpu_supports("avx512bf16");
    const bool amx = f.avx512 && __builtin_cpu_supports("amx-tile") && request_amx_permission();
    f.amx_int8 = amx && __builtin_cpu_supports("amx-int8");
    f.amx_bf16 = amx && __builtin_cpu_supports("amx-bf16");
#endif
    return f;
  }();
  return features;
}

}  // namespace tz::kernels
