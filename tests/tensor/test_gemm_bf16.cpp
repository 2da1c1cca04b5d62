// The bf16-weight GEMM (tensor/kernels/gemm_bf16.h): the rounding to bfloat16 against its
// definition; packing against unpacking; every kernel this CPU can run against the scalar
// reference on odd shapes, column ranges, leading dimensions and each activation; and the bf16
// product against the float product. The bounds (u = 2^-24, float; K terms t_k = x_k w^_k):
// - kernel vs reference (same operands, float sums in any order, each step rounded once):
//     |Y - Y_ref| <= gamma_K sum_k |t_k| + 2u (|Y_ref| + |bias|),  gamma_K = K u / (1 - K u)
//   The AMX and AVX-512 BF16 kernels sum bf16(x_k) w^_k: they are compared with the reference run
//   on X rounded to bfloat16 the same way.
// - bf16 vs float product: |w^ - w| <= 2^-8 |w| (8 significant bits), and for the bf16-dot kernel
//   kernels |x^ - x| <= 2^-8 |x| too, so |Y - Y_f32| <= (2^-8 or 2^-7 + 2^-16) sum_k |x_k w_k| + the
//   float sums' gamma_K sum_k |t_k| + 2u (|Y| + |bias|).
// - activations: GELU's slope is at most 1.13 and ReLU's 1, so the bound on the input times 1.13
//   plus 1e-6 (1 + |Y|) for the vector GELU's own error bounds the output.
// Kernels the CPU lacks are skipped, and the test prints which ran.
#include <catch2/catch.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "tensor/kernels/gemm_bf16.h"
#include "tensor/kernels/kernel_mode.h"
#include "tensor/parallel.h"
#include "tests/tensor/lowp_check.h"

using namespace tz::kernels;

namespace {

const std::vector<Bf16Kernel> kAllKernels = {Bf16Kernel::Reference, Bf16Kernel::Avx2, Bf16Kernel::Avx512,
                                             Bf16Kernel::Avx512Bf16, Bf16Kernel::Amx};

// The kernels that round X to bfloat16 too.
bool rounds_activations(Bf16Kernel k) { return k == Bf16Kernel::Avx512Bf16 || k == Bf16Kernel::Amx; }

std::vector<Bf16Kernel> host_kernels() {
  static const std::vector<Bf16Kernel> kernels =
      tz::test::kernels_to_test("bf16", kAllKernels, &bf16_kernel_name, &bf16_kernel_available);
  return kernels;
}

using tz::test::uniform_values;

constexpr double kU = 0x1p-24;
double gamma_k(int64_t K) { return K * kU / (1 - K * kU); }

// X rounded to bfloat16, as the AVX-512 BF16 kernel sees it.
std::vector<float> round_bf16(const std::vector<float>& X) {
  std::vector<float> r(X.size());
  for (size_t i = 0; i < X.size(); ++i) r[i] = bf16_to_float(float_to_bf16(X[i]));
  return r;
}

}  // namespace

TEST_CASE("bf16: float_to_bf16 rounds to nearest even", "[gemm_bf16]") {
  auto bits = [](uint32_t u) { return std::bit_cast<float>(u); };
  CHECK(float_to_bf16(1.f) == 0x3F80);
  CHECK(float_to_bf16(bits(0x3F808000u)) == 0x3F80);  // a tie: down to the even 0x3F80
  CHECK(float_to_bf16(bits(0x3F818000u)) == 0x3F82);  // a tie: up to the even 0x3F82
  CHECK(float_to_bf16(bits(0x3F808001u)) == 0x3F81);  // just above the tie
  CHECK(float_to_bf16(bits(0x3F807FFFu)) == 0x3F80);
  CHECK(float_to_bf16(-2.f) == 0xC000);
  CHECK(float_to_bf16(std::numeric_limits<float>::infinity()) == 0x7F80);
  CHECK(float_to_bf16(std::numeric_limits<float>::max()) == 0x7F80);  // rounds up to infinity
  CHECK(float_to_bf16(std::numeric_limits<float>::quiet_NaN()) == 0x7FC0);
  CHECK(float_to_bf16(bits(0x00018000u)) == 0x0002);  // denormals round too
  // Against the definition: the nearer of the two bfloat16 neighbours, the even one on a tie.
  std::mt19937 rng(1);
  for (int i = 0; i < 100000; ++i) {
    const uint32_t u = rng() & 0x7F7FFFFFu;  // finite, either sign below
    const float x = bits(u | ((i & 1u) << 31));
    const uint16_t down = static_cast<uint16_t>(std::bit_cast<uint32_t>(x) >> 16), up = static_cast<uint16_t>(down + 1);
    const double dd = std::fabs(static_cast<double>(x) - bf16_to_float(down));
    // Past the largest finite bfloat16 the next value up is 2^128 (which rounds to infinity).
    const double up_value = (up & 0x7FFF) == 0x7F80 ? std::copysign(0x1p128, x) : bf16_to_float(up);
    const double du = std::fabs(up_value - x);
    const uint16_t want = dd < du ? down : du < dd ? up : (down % 2 == 0 ? down : up);
    if (float_to_bf16(x) != want) FAIL("x bits " << std::bit_cast<uint32_t>(x) << " gave " << float_to_bf16(x));
  }
}

TEST_CASE("bf16: packing round-trips and strided weights convert the same", "[gemm_bf16]") {
  std::mt19937 rng(2);
  for (auto [N, K] : {std::pair<int64_t, int64_t>{1, 1}, {5, 3}, {16, 2}, {17, 9}, {40, 130}}) {
    INFO("N " << N << " K " << K);
    std::vector<float> W = uniform_values(static_cast<size_t>(N * K), rng, -2.f, 2.f);
    const Bf16Weight w = convert_bf16_weight(N, K, W.data(), K, 1);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < K; ++k) REQUIRE(w.at(n, k) == float_to_bf16(W[static_cast<size_t>(n * K + k)]));
    std::vector<uint16_t> plain(static_cast<size_t>(N * K));
    unpack_bf16_weight(w, plain.data(), K);
    CHECK(pack_bf16_weight(N, K, plain.data(), K).packed == w.packed);
    std::vector<float> Wt(static_cast<size_t>(N * K));
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < K; ++k) Wt[static_cast<size_t>(k * N + n)] = W[static_cast<size_t>(n * K + k)];
    CHECK(convert_bf16_weight(N, K, Wt.data(), 1, N).packed == w.packed);
  }
}

TEST_CASE("bf16: every kernel agrees with the reference within the float summation bound", "[gemm_bf16]") {
  std::mt19937 rng(3);
  struct Shape {
    int64_t M, N, K;
  };
  for (Shape s : {Shape{1, 1, 1}, {2, 16, 2}, {5, 17, 5}, {6, 64, 64}, {7, 65, 63}, {13, 100, 257}, {4, 33, 1},
                  {200, 40, 20}, {3, 300, 31}, {8, 70, 3072}}) {
    const int64_t ldx = s.K + 3, ldy = s.N + 5;
    std::vector<float> X = uniform_values(static_cast<size_t>(s.M * ldx), rng, -3.f, 3.f);
    std::vector<float> W = uniform_values(static_cast<size_t>(s.N * s.K), rng, -1.f, 1.f);
    std::vector<float> bias = uniform_values(static_cast<size_t>(s.N), rng, -1.f, 1.f);
    const Bf16Weight w = convert_bf16_weight(s.N, s.K, W.data(), s.K, 1);
    std::vector<std::pair<int64_t, int64_t>> ranges = {{0, s.N}, {s.N / 3, s.N}};
    if (s.N > 40) ranges.push_back({13, 37});
    for (FusedAct act : {FusedAct::None, FusedAct::Relu, FusedAct::GeluErf, FusedAct::GeluTanh})
      for (auto [n0, n1] : ranges)
        for (Bf16Kernel kernel : host_kernels()) {
          const bool dot = rounds_activations(kernel);
          const std::vector<float> Xk = dot ? round_bf16(X) : X;
          std::vector<float> want(static_cast<size_t>(s.M * ldy), -5.f), got(want);
          linear_bf16(Bf16Kernel::Reference, s.M, Xk.data(), ldx, w, bias.data(), act, want.data(), ldy, n0, n1);
          linear_bf16(kernel, s.M, X.data(), ldx, w, bias.data(), act, got.data(), ldy, n0, n1);
          const double slope = act == FusedAct::None || act == FusedAct::Relu ? 1.0 : 1.13;
          for (int64_t m = 0; m < s.M; ++m)
            for (int64_t n = 0; n < s.N; ++n) {
              const size_t i = static_cast<size_t>(m * ldy + n);
              if (n < n0 || n >= n1) {
                if (got[i] != -5.f)
                  FAIL(bf16_kernel_name(kernel) << " wrote column " << n << " outside " << n0 << ".." << n1);
                continue;
              }
              double abs_sum = 0;
              for (int64_t k = 0; k < s.K; ++k)
                abs_sum += std::fabs(Xk[static_cast<size_t>(m * ldx + k)] * bf16_to_float(w.at(n, k)));
              const double bound = slope * (gamma_k(s.K) * abs_sum + 2 * kU * (std::fabs(want[i]) + 1.0)) +
                                   (slope > 1 ? 1e-6 * (1 + std::fabs(want[i])) : 0.0);
              if (!(std::fabs(got[i] - want[i]) <= bound))
                FAIL(bf16_kernel_name(kernel) << " act " << static_cast<int>(act) << " M " << s.M << " N " << s.N
                                              << " K " << s.K << " at " << m << ", " << n << ": " << got[i]
                                              << " vs the reference's " << want[i] << " (bound " << bound << ")");
            }
        }
  }
}

TEST_CASE("bf16: the bf16 product is within its rounding bound of the float product", "[gemm_bf16]") {
  std::mt19937 rng(4);
  const int64_t M = 6, N = 50, K = 768;
  std::vector<float> X = uniform_values(static_cast<size_t>(M * K), rng, -3.f, 3.f);
  std::vector<float> W = uniform_values(static_cast<size_t>(N * K), rng, -0.1f, 0.1f);
  std::vector<float> bias = uniform_values(static_cast<size_t>(N), rng, -1.f, 1.f);
  const Bf16Weight w = convert_bf16_weight(N, K, W.data(), K, 1);
  for (Bf16Kernel kernel : host_kernels()) {
    std::vector<float> Y(static_cast<size_t>(M * N));
    linear_bf16(kernel, M, X.data(), K, w, bias.data(), FusedAct::None, Y.data(), N);
    const double rel = rounds_activations(kernel) ? 0x1p-7 + 0x1p-16 : 0x1p-8;
    double worst = 0;
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        double exact = bias[static_cast<size_t>(n)], abs_sum = 0;
        for (int64_t k = 0; k < K; ++k) {
          const double t = static_cast<double>(X[static_cast<size_t>(m * K + k)]) * W[static_cast<size_t>(n * K + k)];
          exact += t;
          abs_sum += std::fabs(t);
        }
        const double y = Y[static_cast<size_t>(m * N + n)];
        const double bound = (rel + gamma_k(K) * (1 + rel)) * abs_sum + 2 * kU * (std::fabs(y) + 1.0);
        worst = std::max(worst, std::fabs(y - exact) / bound);
      }
    INFO(bf16_kernel_name(kernel) << ": largest error / bound " << worst);
    CHECK(worst <= 1.0);
  }
}

TEST_CASE("bf16: the threaded wrapper and column splits give the single call's values", "[gemm_bf16]") {
  std::mt19937 rng(5);
  const int64_t M = 150, N = 200, K = 96;
  std::vector<float> X = uniform_values(static_cast<size_t>(2 * M * K), rng, -3.f, 3.f);
  std::vector<float> W = uniform_values(static_cast<size_t>(N * K), rng, -1.f, 1.f);
  std::vector<float> bias = uniform_values(static_cast<size_t>(N), rng, -1.f, 1.f);
  const Bf16Weight w = convert_bf16_weight(N, K, W.data(), K, 1);
  std::vector<float> one(static_cast<size_t>(2 * M * N)), split(one.size()), par(one.size()), tall(one.size());
  linear_bf16(2 * M, X.data(), K, w, bias.data(), FusedAct::GeluTanh, one.data(), N);
  for (auto [n0, n1] : {std::pair<int64_t, int64_t>{0, 37}, {37, 64}, {64, 150}, {150, N}})
    linear_bf16(2 * M, X.data(), K, w, bias.data(), FusedAct::GeluTanh, split.data(), N, n0, n1);
  CHECK(split == one);
  const int saved = tz::get_num_threads();
  tz::set_num_threads(2);
  linear_bf16_parallel(M, X.data(), K, w, bias.data(), FusedAct::GeluTanh, par.data(), N);       // by columns
  linear_bf16_parallel(2 * M, X.data(), K, w, bias.data(), FusedAct::GeluTanh, tall.data(), N);  // by rows
  tz::set_num_threads(saved);
  CHECK(std::vector<float>(par.begin(), par.begin() + M * N) == std::vector<float>(one.begin(), one.begin() + M * N));
  CHECK(tall == one);
}

TEST_CASE("bf16: TZ_KERNELS=reference selects the scalar kernel", "[gemm_bf16]") {
  host_kernels();
  KernelModeGuard guard(KernelMode::Reference);
  CHECK(bf16_kernel() == Bf16Kernel::Reference);
}
