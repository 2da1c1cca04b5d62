// Run-time CPU feature flags; see cpu_features.h.
#include "tensor/kernels/cpu_features.h"

#if defined(__linux__) && defined(__x86_64__)
#include <sys/syscall.h>
#include <unistd.h>
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
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

#if defined(__x86_64__) || defined(__i386__)
// CPUID leaf 7's bits for the features that older compilers' __builtin_cpu_supports does not know
// (clang 14 rejects "avxvnni", "avx512bf16" and "amx-*" at compile time). The OS's support for
// the registers comes from the avx2 / avx512 checks these are combined with.
struct Leaf7 {
  unsigned edx0 = 0, eax1 = 0;  // sub-leaf 0 EDX, sub-leaf 1 EAX
};
Leaf7 cpuid_leaf7() {
  Leaf7 l;
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
    l.edx0 = d;
    const unsigned max_subleaf = a;
    if (max_subleaf >= 1 && __get_cpuid_count(7, 1, &a, &b, &c, &d)) l.eax1 = a;
  }
  return l;
}
bool bit(unsigned word, int n) { return ((word >> n) & 1u) != 0; }
#endif

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
    const Leaf7 leaf7 = cpuid_leaf7();
    f.avx_vnni = f.avx2 && bit(leaf7.eax1, 4);
    f.avx512_bf16 = f.avx512 && bit(leaf7.eax1, 5);
    const bool amx = f.avx512 && bit(leaf7.edx0, 24) && request_amx_permission();  // AMX-TILE
    f.amx_int8 = amx && bit(leaf7.edx0, 25);
    f.amx_bf16 = amx && bit(leaf7.edx0, 22);
#endif
    return f;
  }();
  return features;
}

}  // namespace tz::kernels
