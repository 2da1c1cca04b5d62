// The int8 GEMM (tensor/kernels/gemm_int8.h): every kernel this CPU can run against the scalar
// reference (integer sums bit for bit, outputs bit for bit without activation and within 1e-6
// with GELU), on odd shapes, column ranges, leading dimensions and the saturation worst cases;
// the quantizers against their error bounds; packing against unpacking; and the quantized
// product against the float product within the bound its roundings allow:
//   |Y_int8 - Y| <= (1 + 2^-13) (s_x/2 sum_k |w^_k| + s_w/2 sum_k |x_k|) + 2^-22 (|Y^| + |bias|)
// (x = x^ + e_x with |e_x| <= s_x/2, w = w^ + e_w with |e_w| <= s_w/2, so
// x w - x^ w^ = e_x w^ + x e_w; the last term is the float epilogue's three roundings).
// Kernels the CPU lacks are skipped, and the test prints which ran.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "tensor/kernels/gemm_int8.h"
#include "tensor/kernels/kernel_mode.h"
#include "tensor/parallel.h"
#include "tests/tensor/lowp_check.h"

using namespace tz::kernels;

namespace {

const std::vector<Int8Kernel> kAllKernels = {Int8Kernel::Reference, Int8Kernel::Avx2, Int8Kernel::AvxVnni,
                                             Int8Kernel::Avx512Vnni, Int8Kernel::Amx};

std::vector<Int8Kernel> host_kernels() {
  static const std::vector<Int8Kernel> kernels =
      tz::test::kernels_to_test("int8", kAllKernels, &int8_kernel_name, &int8_kernel_available);
  return kernels;
}

using tz::test::uniform_values;

// Quantized rows with their own storage.
struct Rows {
  int64_t M = 0, K = 0, ldq = 0;
  std::vector<uint8_t> q;
  std::vector<float> scale;
  std::vector<int32_t> zero;
  Rows(int64_t M_, int64_t K_, int64_t extra = 0) : M(M_), K(K_), ldq(int8_row_bytes(K_) + extra) {
    q.assign(static_cast<size_t>(M * ldq), 0xAB);
    scale.assign(static_cast<size_t>(M), 0.f);
    zero.assign(static_cast<size_t>(M), 0);
  }
  Int8Rows view() const { return {M, q.data(), ldq, scale.data(), zero.data()}; }
};

Rows quantize(Int8Kernel kernel, int64_t M, int64_t K, const std::vector<float>& X, int64_t ldx, int64_t extra = 0) {
  Rows r(M, K, extra);
  quantize_int8_rows(kernel, M, K, X.data(), ldx, r.q.data(), r.ldq, r.scale.data(), r.zero.data());
  return r;
}

// A weight [N, K] with values in [-a, a], some rows scaled down (per-row scales differ).
std::vector<float> random_weight(int64_t N, int64_t K, std::mt19937& rng) {
  std::vector<float> w = uniform_values(static_cast<size_t>(N * K), rng, -1.f, 1.f);
  for (int64_t n = 0; n < N; n += 3)
    for (int64_t k = 0; k < K; ++k) w[static_cast<size_t>(n * K + k)] *= 0.01f * static_cast<float>(n + 1);
  return w;
}

// Activations [M, ldx]: mixed rows (symmetric, one-sided like GELU outputs, offset).
std::vector<float> random_rows(int64_t M, int64_t K, int64_t ldx, std::mt19937& rng) {
  std::vector<float> x = uniform_values(static_cast<size_t>(M * ldx), rng, -3.f, 3.f);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t k = 0; k < K; ++k) {
      float& v = x[static_cast<size_t>(m * ldx + k)];
      if (m % 3 == 1) v = std::max(v, -0.17f);  // like GELU outputs
      if (m % 3 == 2) v = v + 5.f;              // all positive, zero outside the values
    }
  return x;
}

void check_sums_equal(const std::vector<int32_t>& got, const std::vector<int32_t>& want, const std::string& what) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i)
    if (got[i] != want[i]) FAIL(what << ": element " << i << " is " << got[i] << ", the reference " << want[i]);
}

}  // namespace

TEST_CASE("int8: activation quantization is the same in every kernel and within s_x / 2", "[gemm_int8]") {
  std::mt19937 rng(7);
  for (int64_t K : {1, 3, 4, 5, 7, 8, 15, 16, 17, 31, 33, 64, 100, 773}) {
    const int64_t M = 9, ldx = K + 5;
    std::vector<float> X = random_rows(M, K, ldx, rng);
    // Special rows: all zero, one tiny value, huge values, all negative, a NaN.
    auto row = [&](int64_t m) { return X.data() + m * ldx; };
    std::fill(row(3), row(3) + K, 0.f);
    std::fill(row(4), row(4) + K, 0.f);
    row(4)[K / 2] = 1e-35f;
    for (int64_t k = 0; k < K; ++k) row(5)[k] *= 1e30f;
    for (int64_t k = 0; k < K; ++k) row(6)[k] = -std::fabs(row(6)[k]) - 1.f;
    row(7)[K - 1] = std::numeric_limits<float>::quiet_NaN();

    const Rows ref = quantize(Int8Kernel::Reference, M, K, X, ldx, 3);
    for (int64_t m = 0; m < M; ++m) {
      INFO("K " << K << " row " << m);
      const float s = ref.scale[static_cast<size_t>(m)];
      const int32_t z = ref.zero[static_cast<size_t>(m)];
      CHECK(z >= 0);
      CHECK(z <= 255);
      for (int64_t k = int8_row_bytes(K); k < ref.ldq; ++k) CHECK(ref.q[static_cast<size_t>(m * ref.ldq + k)] == 0xAB);
      for (int64_t k = K; k < int8_row_bytes(K); ++k) CHECK(ref.q[static_cast<size_t>(m * ref.ldq + k)] == 0);
      for (int64_t k = 0; k < K; ++k) {
        const float x = row(m)[k];
        const int q = ref.q[static_cast<size_t>(m * ref.ldq + k)];
        if (std::isnan(x)) {
          CHECK(q == 0);
          continue;
        }
        if (x == 0.f) CHECK(q == z);  // zero is exact
        const double deq = static_cast<double>(s) * (q - z);
        if (std::fabs(x - deq) > s * (0.5 + 0x1p-14)) FAIL("x " << x << " dequantized " << deq << " scale " << s);
      }
    }
    CHECK(ref.scale[3] == 1.f);
    CHECK(ref.zero[3] == 0);
    for (Int8Kernel kernel : host_kernels()) {
      INFO(int8_kernel_name(kernel) << " K " << K);
      const Rows got = quantize(kernel, M, K, X, ldx, 3);
      CHECK(got.q == ref.q);
      CHECK(got.scale == ref.scale);
      CHECK(got.zero == ref.zero);
    }
  }
}

TEST_CASE("int8: weight quantization is within s_w / 2 and packing round-trips", "[gemm_int8]") {
  std::mt19937 rng(11);
  for (auto [N, K] : {std::pair<int64_t, int64_t>{1, 1}, {5, 3}, {16, 4}, {17, 9}, {40, 130}}) {
    INFO("N " << N << " K " << K);
    std::vector<float> W = random_weight(N, K, rng);
    std::fill(W.begin(), W.begin() + K, 0.f);  // a zero row
    const Int8Weight w = quantize_int8_weight(N, K, W.data(), K, 1);
    REQUIRE(w.N == N);
    REQUIRE(w.K == K);
    for (int64_t n = 0; n < N; ++n) {
      const float s = w.scale[static_cast<size_t>(n)];
      int amax = 0;
      int32_t sum = 0;
      for (int64_t k = 0; k < K; ++k) {
        const int q = w.at(n, k);
        amax = std::max(amax, std::abs(q));
        sum += q;
        CHECK(q >= -127);
        CHECK(q <= 127);
        const double err = std::fabs(W[static_cast<size_t>(n * K + k)] - static_cast<double>(s) * q);
        if (err > s * (0.5 + 0x1p-14)) FAIL("W[" << n << ", " << k << "] error " << err << " scale " << s);
      }
      CHECK(amax == (n == 0 ? 0 : 127));
      CHECK(w.row_sum[static_cast<size_t>(n)] == sum);
    }
    // Unpack, pack again: the same bytes.
    std::vector<int8_t> q(static_cast<size_t>(N * K));
    std::vector<float> scale(static_cast<size_t>(N));
    unpack_int8_weight(w, q.data(), K, scale.data());
    const Int8Weight again = pack_int8_weight(N, K, q.data(), K, scale.data());
    CHECK(again.packed == w.packed);
    CHECK(again.scale == w.scale);
    CHECK(again.row_sum == w.row_sum);
    // The same weight stored transposed ([K, N]: strides 1 and N) quantizes the same.
    std::vector<float> Wt(static_cast<size_t>(N * K));
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < K; ++k) Wt[static_cast<size_t>(k * N + n)] = W[static_cast<size_t>(n * K + k)];
    const Int8Weight wt = quantize_int8_weight(N, K, Wt.data(), 1, N);
    CHECK(wt.packed == w.packed);
    CHECK(wt.scale == w.scale);
  }
}

TEST_CASE("int8: bad weights are refused", "[gemm_int8]") {
  std::vector<int8_t> q = {1, -128, 3, 4};
  std::vector<float> scale = {0.5f, 0.25f};
  CHECK_THROWS_WITH(pack_int8_weight(2, 2, q.data(), 2, scale.data()), Catch::Contains("-128"));
  q[1] = 2;
  scale[1] = -1.f;
  CHECK_THROWS_WITH(pack_int8_weight(2, 2, q.data(), 2, scale.data()), Catch::Contains("scale[1]"));
  scale[1] = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_AS(pack_int8_weight(2, 2, q.data(), 2, scale.data()), tz::Error);
  std::vector<float> W = {1.f, std::numeric_limits<float>::infinity()};
  CHECK_THROWS_WITH(quantize_int8_weight(1, 2, W.data(), 2, 1), Catch::Contains("not finite"));
  CHECK_THROWS_WITH(quantize_int8_weight(1, 65537, W.data(), 0, 0), Catch::Contains("65536"));
  const Int8Weight w = quantize_int8_weight(1, 1, W.data(), 1, 1);
  Rows x(1, 1);
  float y = 0.f;
  CHECK_THROWS_WITH(gemm_int8(x.view(), w, 0, 2, nullptr, FusedAct::None, &y, 1), Catch::Contains("columns [0, 2)"));
}

TEST_CASE("int8: every kernel's integer sums equal the reference's", "[gemm_int8]") {
  std::mt19937 rng(3);
  struct Shape {
    int64_t M, N, K;
  };
  for (Shape s : {Shape{1, 1, 1}, {2, 16, 4}, {5, 17, 5}, {6, 64, 64}, {7, 65, 63}, {13, 100, 257}, {4, 33, 1},
                  {12, 128, 3}, {200, 40, 20}, {3, 300, 31}}) {
    const int64_t ldx = s.K + 2;
    std::vector<float> X = random_rows(s.M, s.K, ldx, rng);
    std::vector<float> W = random_weight(s.N, s.K, rng);
    const Int8Weight w = quantize_int8_weight(s.N, s.K, W.data(), s.K, 1);
    const Rows x = quantize(Int8Kernel::Reference, s.M, s.K, X, ldx, 8);  // rows longer than K
    // The whole product and a few column ranges, not all on block edges.
    std::vector<std::pair<int64_t, int64_t>> ranges = {{0, s.N}, {s.N / 3, s.N}, {s.N / 2, s.N / 2 + 1}};
    if (s.N > 40) ranges.push_back({13, 37});
    const int64_t ldd = s.N + 3;
    for (auto [n0, n1] : ranges) {
      std::vector<int32_t> want(static_cast<size_t>(s.M * ldd), -7);
      gemm_int8_sums(Int8Kernel::Reference, x.view(), w, n0, n1, want.data(), ldd);
      for (Int8Kernel kernel : host_kernels()) {
        std::vector<int32_t> got(static_cast<size_t>(s.M * ldd), -7);  // -7 must survive outside [n0, n1)
        gemm_int8_sums(kernel, x.view(), w, n0, n1, got.data(), ldd);
        check_sums_equal(got, want,
                         std::string(int8_kernel_name(kernel)) + " M " + std::to_string(s.M) + " N " +
                             std::to_string(s.N) + " K " + std::to_string(s.K) + " columns " + std::to_string(n0) +
                             ".." + std::to_string(n1));
      }
    }
  }
}

TEST_CASE("int8: saturation worst cases are exact", "[gemm_int8]") {
  // q_x at 0 and 255 (q_x - 128 = -128 and 127) against weights at +-127: the largest products every
  // kernel's instructions see, including the AVX2 pair sum 2 * 128 * 127 = 32512. With K = 65536 the
  // sums reach 255 * 127 * 65536 = 2122383360, next to the int32 limit.
  for (int64_t K : {int64_t{8}, int64_t{65536}}) {
    const int64_t M = 6, N = 16;
    std::vector<int8_t> q(static_cast<size_t>(N * K));
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < K; ++k) {
        int8_t v = (n % 2 == 0) ? 127 : -127;
        if (n >= 8) v = (k % 2 == 0) ? 127 : -127;  // mixed signs within a pair
        if (n == 15) v = static_cast<int8_t>((k / 2) % 2 == 0 ? 127 : -127);
        q[static_cast<size_t>(n * K + k)] = v;
      }
    std::vector<float> scale(N, 1.f);
    const Int8Weight w = pack_int8_weight(N, K, q.data(), K, scale.data());
    Rows x(M, K);
    const uint8_t row_values[M][2] = {{0, 0}, {255, 255}, {0, 255}, {255, 0}, {128, 128}, {0, 128}};
    const int32_t zeros[M] = {0, 255, 255, 0, 128, 37};
    for (int64_t m = 0; m < M; ++m) {
      for (int64_t k = 0; k < K; ++k) x.q[static_cast<size_t>(m * x.ldq + k)] = row_values[m][k % 2];
      x.zero[static_cast<size_t>(m)] = zeros[m];
      x.scale[static_cast<size_t>(m)] = 1.f;
    }
    std::vector<int32_t> want(static_cast<size_t>(M * N));
    gemm_int8_sums(Int8Kernel::Reference, x.view(), w, 0, N, want.data(), N);
    const int32_t half = static_cast<int32_t>(255 * 127 * (K / 2));
    CHECK(want[static_cast<size_t>(0 * N + 0)] == 0);      // q_x 0, z 0
    CHECK(want[static_cast<size_t>(1 * N + 0)] == 0);      // q_x 255, z 255
    CHECK(want[static_cast<size_t>(2 * N + 0)] == -half);  // q_x - z = -255 on even k, 0 on odd; w 127
    CHECK(want[static_cast<size_t>(2 * N + 1)] == half);   // the same against w -127
    CHECK(want[static_cast<size_t>(3 * N + 0)] == half);   // q_x - z = 255 on even k
    for (Int8Kernel kernel : host_kernels()) {
      std::vector<int32_t> got(static_cast<size_t>(M * N));
      gemm_int8_sums(kernel, x.view(), w, 0, N, got.data(), N);
      check_sums_equal(got, want, std::string(int8_kernel_name(kernel)) + " K " + std::to_string(K));
    }
    // The largest sums of all: every q_x 255 with z = 0 (and 0 with z = 255) against 127.
    if (K == 65536) {
      for (int64_t k = 0; k < K; ++k) {
        x.q[static_cast<size_t>(k)] = 255;
        x.q[static_cast<size_t>(x.ldq + k)] = 0;
      }
      x.zero[0] = 0;
      x.zero[1] = 255;
      for (Int8Kernel kernel : host_kernels()) {
        std::vector<int32_t> got(static_cast<size_t>(M * N));
        gemm_int8_sums(kernel, x.view(), w, 0, N, got.data(), N);
        CHECK(got[0] == 2122383360);
        CHECK(got[static_cast<size_t>(N)] == -2122383360);
        CHECK(got[1] == -2122383360);
      }
    }
  }
}

TEST_CASE("int8: every kernel's outputs equal the reference's, with each activation", "[gemm_int8]") {
  std::mt19937 rng(5);
  struct Shape {
    int64_t M, N, K;
  };
  for (Shape s : {Shape{1, 1, 1}, {7, 65, 63}, {13, 100, 130}, {6, 48, 256}}) {
    const int64_t ldx = s.K + 1, ldy = s.N + 5;
    std::vector<float> X = random_rows(s.M, s.K, ldx, rng);
    std::vector<float> W = random_weight(s.N, s.K, rng);
    std::vector<float> bias = uniform_values(static_cast<size_t>(s.N), rng, -1.f, 1.f);
    const Int8Weight w = quantize_int8_weight(s.N, s.K, W.data(), s.K, 1);
    const Rows x = quantize(Int8Kernel::Reference, s.M, s.K, X, ldx);
    for (FusedAct act : {FusedAct::None, FusedAct::Relu, FusedAct::GeluErf, FusedAct::GeluTanh})
      for (const float* b : {static_cast<const float*>(nullptr), static_cast<const float*>(bias.data())}) {
        const int64_t n0 = s.N > 20 ? 3 : 0, n1 = s.N;
        std::vector<float> want(static_cast<size_t>(s.M * ldy), -5.f);
        gemm_int8(Int8Kernel::Reference, x.view(), w, n0, n1, b, act, want.data(), ldy);
        for (Int8Kernel kernel : host_kernels()) {
          std::vector<float> got(static_cast<size_t>(s.M * ldy), -5.f);
          gemm_int8(kernel, x.view(), w, n0, n1, b, act, got.data(), ldy);
          const bool exact = act == FusedAct::None || act == FusedAct::Relu;
          for (size_t i = 0; i < got.size(); ++i) {
            const double tol = exact ? 0.0 : 1e-6 * (1.0 + std::fabs(want[i]));
            if (!(std::fabs(got[i] - want[i]) <= tol))
              FAIL(int8_kernel_name(kernel) << " act " << static_cast<int>(act) << " bias " << (b != nullptr)
                                            << " M " << s.M << " N " << s.N << " K " << s.K << ": element " << i
                                            << " is " << got[i] << ", the reference " << want[i]);
          }
        }
      }
  }
}

TEST_CASE("int8: the quantized product is within its rounding bound of the float product", "[gemm_int8]") {
  std::mt19937 rng(13);
  struct Shape {
    int64_t M, N, K;
  };
  for (Shape s : {Shape{5, 30, 7}, {9, 70, 256}, {4, 20, 3072}}) {
    const int64_t ldy = s.N;
    std::vector<float> X = random_rows(s.M, s.K, s.K, rng);
    std::vector<float> W = random_weight(s.N, s.K, rng);
    std::vector<float> bias = uniform_values(static_cast<size_t>(s.N), rng, -1.f, 1.f);
    const Int8Weight w = quantize_int8_weight(s.N, s.K, W.data(), s.K, 1);
    std::vector<float> Y(static_cast<size_t>(s.M * ldy));
    linear_int8(s.M, X.data(), s.K, w, bias.data(), FusedAct::None, Y.data(), ldy);
    const Rows x = quantize(Int8Kernel::Reference, s.M, s.K, X, s.K);
    double worst = 0;
    for (int64_t m = 0; m < s.M; ++m)
      for (int64_t n = 0; n < s.N; ++n) {
        double exact = bias[static_cast<size_t>(n)], deq = 0, sum_w = 0, sum_x = 0;
        const double sx = x.scale[static_cast<size_t>(m)], sw = w.scale[static_cast<size_t>(n)];
        for (int64_t k = 0; k < s.K; ++k) {
          const double xk = X[static_cast<size_t>(m * s.K + k)], wk = W[static_cast<size_t>(n * s.K + k)];
          const double what = sw * w.at(n, k);
          exact += xk * wk;
          deq += sx * (x.q[static_cast<size_t>(m * x.ldq + k)] - x.zero[static_cast<size_t>(m)]) * what;
          sum_w += std::fabs(what);
          sum_x += std::fabs(xk);
        }
        const double bound = (1 + 0x1p-13) * (sx / 2 * sum_w + sw / 2 * sum_x) +
                             0x1p-22 * (std::fabs(deq) + std::fabs(bias[static_cast<size_t>(n)]));
        const double err = std::fabs(Y[static_cast<size_t>(m * ldy + n)] - exact);
        worst = std::max(worst, err / bound);
        if (err > bound)
          FAIL("M " << s.M << " N " << s.N << " K " << s.K << " at " << m << ", " << n << ": error " << err
                    << " exceeds the bound " << bound);
      }
    INFO("largest error / bound " << worst);
    CHECK(worst <= 1.0);
  }
}

TEST_CASE("int8: a grouped linear runs as one product per group on column slices", "[gemm_int8]") {
  // ConvBERT's GroupedLinear: weight [G, in/G, out/G], group g maps x[:, g in/G ...] to y[:, g out/G ...].
  std::mt19937 rng(17);
  const int64_t G = 2, in = 24, out = 40, gi = in / G, go = out / G, M = 5;
  std::vector<float> Wg = uniform_values(static_cast<size_t>(in * go), rng, -1.f, 1.f);
  std::vector<float> bias = uniform_values(static_cast<size_t>(out), rng, -1.f, 1.f);
  std::vector<float> X = uniform_values(static_cast<size_t>(M * in), rng, -2.f, 2.f);
  std::vector<float> Y(static_cast<size_t>(M * out));
  for (int64_t g = 0; g < G; ++g) {
    const Int8Weight w = quantize_int8_weight(go, gi, Wg.data() + g * gi * go, 1, go);
    linear_int8(M, X.data() + g * gi, in, w, bias.data() + g * go, FusedAct::None, Y.data() + g * go, out);
  }
  for (int64_t m = 0; m < M; ++m)
    for (int64_t g = 0; g < G; ++g)
      for (int64_t j = 0; j < go; ++j) {
        double exact = bias[static_cast<size_t>(g * go + j)], abs_sum = 0;
        for (int64_t i = 0; i < gi; ++i) {
          const double t = X[static_cast<size_t>(m * in + g * gi + i)] * Wg[static_cast<size_t>((g * gi + i) * go + j)];
          exact += t;
          abs_sum += std::fabs(t);
        }
        // Each factor within about 1/250 of its row's range: a loose check that the slices line up.
        CHECK(std::fabs(Y[static_cast<size_t>(m * out + g * go + j)] - exact) <= 0.02 * (1 + abs_sum));
      }
}

TEST_CASE("int8: the threaded wrapper and column splits give the single call's values", "[gemm_int8]") {
  std::mt19937 rng(19);
  const int64_t M = 150, N = 200, K = 96;
  std::vector<float> X = random_rows(M, K, K, rng);
  std::vector<float> W = random_weight(N, K, rng);
  std::vector<float> bias = uniform_values(static_cast<size_t>(N), rng, -1.f, 1.f);
  const Int8Weight w = quantize_int8_weight(N, K, W.data(), K, 1);
  std::vector<float> one(static_cast<size_t>(M * N)), split(one.size()), par(one.size());
  linear_int8(M, X.data(), K, w, bias.data(), FusedAct::GeluErf, one.data(), N);
  for (auto [n0, n1] : {std::pair<int64_t, int64_t>{0, 37}, {37, 64}, {64, 150}, {150, N}})
    linear_int8(M, X.data(), K, w, bias.data(), FusedAct::GeluErf, split.data(), N, n0, n1);
  CHECK(split == one);
  const int saved = tz::get_num_threads();
  tz::set_num_threads(2);
  linear_int8_parallel(M, X.data(), K, w, bias.data(), FusedAct::GeluErf, par.data(), N);
  std::vector<float> tall(static_cast<size_t>(2 * M * N));
  std::vector<float> X2(X);
  X2.insert(X2.end(), X.begin(), X.end());  // 2M rows: split by rows
  linear_int8_parallel(2 * M, X2.data(), K, w, bias.data(), FusedAct::GeluErf, tall.data(), N);
  tz::set_num_threads(saved);
  CHECK(par == one);
  CHECK(std::vector<float>(tall.begin(), tall.begin() + M * N) == one);
  CHECK(std::vector<float>(tall.begin() + M * N, tall.end()) == one);
}

TEST_CASE("int8: TZ_KERNELS=reference selects the scalar kernel", "[gemm_int8]") {
  host_kernels();
  KernelModeGuard guard(KernelMode::Reference);
  CHECK(int8_kernel() == Int8Kernel::Reference);
}
