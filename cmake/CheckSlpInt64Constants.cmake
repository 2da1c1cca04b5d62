# Guards against a wrong-code bug of GCC 12.2 (Debian 12's compiler) with AVX-512 enabled: its SLP
# vectorizer builds a constant int64 array whose trailing elements are 0 as a broadcast of the
# first element, so `std::vector<int64_t>{1, 1, 1, 0}` holds {1, 1, 1, 1}. Found on an AMD EPYC
# (Zen 5) host, -march=native: a multiple-choice collate test saw its expected mask corrupted.
# It happens with any -march that enables AVX-512F (skylake-avx512, x86-64-v4, native) and not
# with AVX2 ones; -fno-tree-slp-vectorize avoids it. Rather than guessing from version numbers,
# compile and run the pattern with the flags the project uses, and add the flag only when the
# compiler gets it wrong.
include(CheckCXXSourceRuns)
set(_tz_saved_flags "${CMAKE_REQUIRED_FLAGS}")
set(CMAKE_REQUIRED_FLAGS "-O3 -march=native")
check_cxx_source_runs([[
#include <cstdint>
#include <cstring>
__attribute__((noinline)) void fill(int64_t* out) {
  const int64_t a[4] = {1, 1, 1, 0};
  std::memcpy(out, a, sizeof a);
}
__attribute__((noinline)) void fill8(int64_t* out) {
  const int64_t a[8] = {1, 1, 1, 1, 1, 1, 1, 0};
  std::memcpy(out, a, sizeof a);
}
int main() {
  int64_t x[4], y[8];
  fill(x);
  fill8(y);
  return (x[3] == 0 && x[0] == 1 && y[7] == 0 && y[0] == 1) ? 0 : 1;
}
]] TZ_SLP_INT64_CONSTANTS_OK)
set(CMAKE_REQUIRED_FLAGS "${_tz_saved_flags}")
if(NOT TZ_SLP_INT64_CONSTANTS_OK)
  message(STATUS "tensorzoo: ${CMAKE_CXX_COMPILER_ID} ${CMAKE_CXX_COMPILER_VERSION} with -march=native "
                 "miscompiles int64 constant arrays (SLP vectorizer, AVX-512): adding -fno-tree-slp-vectorize")
  target_compile_options(tz_warnings INTERFACE -fno-tree-slp-vectorize)
endif()
