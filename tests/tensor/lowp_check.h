// Helpers for the low-precision GEMM tests (test_gemm_int8.cpp, test_gemm_bf16.cpp): random
// vectors, and the list of a family's kernels this CPU runs, printed once (kernels the CPU lacks
// are skipped: that is the hardware, and the line says which ran).
#pragma once

#include <cstdio>
#include <random>
#include <string>
#include <vector>

namespace tz::test {

inline std::vector<float> uniform_values(size_t n, std::mt19937& rng, float lo, float hi) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

/// The kernels of `all` that this CPU runs; the first call prints them and the skipped ones.
template <class Kernel>
std::vector<Kernel> kernels_to_test(const char* family, const std::vector<Kernel>& all, const char* (*name)(Kernel),
                                    bool (*available)(Kernel)) {
  std::vector<Kernel> run;
  std::string ran, skipped;
  for (Kernel k : all) {
    (available(k) ? ran : skipped) += std::string(" ") + name(k);
    if (available(k)) run.push_back(k);
  }
  std::printf("%s kernels tested:%s; skipped (this CPU lacks them):%s\n", family, ran.c_str(),
              skipped.empty() ? " none" : skipped.c_str());
  return run;
}

}  // namespace tz::test
