// matmul / linear against a naive double-precision triple loop written here, over 2-D, batched,
// broadcast, 1-D, transposed and otherwise strided operands; the gemm kernels against each other;
// and the error messages. The oracle reads operands through at(), so it knows nothing about the
// layouts the driver chooses.
#include <array>
#include <catch2/catch.hpp>

#include <cblas.h>

#include <cmath>

#include "tensor/kernels/gemm.h"
#include "tensor/ops.h"
#include "tensor/parallel.h"

using namespace tz;

namespace {

// Multi-index helpers over a shape in row-major order.
bool next_index(std::vector<int64_t>& idx, const Shape& shape) {
  for (size_t i = shape.size(); i-- > 0;) {
    if (++idx[i] < shape[i]) return true;
    idx[i] = 0;
  }
  return false;
}

// NumPy matmul for operands of >= 2 dims, in double: returns values in row-major order of out_shape.
std::vector<double> naive_matmul(const Tensor& a, const Tensor& b, Shape& out_shape) {
  const int64_t M = a.size(-2), K = a.size(-1), N = b.size(-1);
  Shape ab(a.shape().begin(), a.shape().end() - 2), bb(b.shape().begin(), b.shape().end() - 2);
  const size_t nd = std::max(ab.size(), bb.size());
  Shape batch(nd, 1);
  for (size_t i = 0; i < nd; ++i) {
    int64_t da = i + ab.size() >= nd ? ab[i + ab.size() - nd] : 1;
    int64_t db = i + bb.size() >= nd ? bb[i + bb.size() - nd] : 1;
    batch[i] = std::max(da, db);
  }
  out_shape = batch;
  out_shape.push_back(M);
  out_shape.push_back(N);
  std::vector<double> out;
  std::vector<int64_t> bi(nd, 0);
  do {
    std::vector<int64_t> ia, ib;
    for (size_t i = 0; i < ab.size(); ++i) ia.push_back(ab[i] == 1 ? 0 : bi[i + nd - ab.size()]);
    for (size_t i = 0; i < bb.size(); ++i) ib.push_back(bb[i] == 1 ? 0 : bi[i + nd - bb.size()]);
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        double acc = 0;
        for (int64_t k = 0; k < K; ++k) {
          auto xa = ia, xb = ib;
          xa.push_back(m), xa.push_back(k);
          xb.push_back(k), xb.push_back(n);
          acc += a.at(xa) * b.at(xb);
        }
        out.push_back(acc);
      }
  } while (nd > 0 && next_index(bi, batch));
  return out;
}

void check_close(const Tensor& got, const Shape& shape, const std::vector<double>& want, double tol = 1e-4) {
  REQUIRE(got.shape() == shape);
  REQUIRE(got.is_contiguous());
  auto v = got.to_vector<float>();
  REQUIRE(v.size() == want.size());
  double worst = 0;
  for (size_t i = 0; i < v.size(); ++i) worst = std::max(worst, std::abs(v[i] - want[i]) / (1.0 + std::abs(want[i])));
  INFO("max relative difference " << worst);
  CHECK(worst < tol);
}

void check_matmul(const Tensor& a, const Tensor& b) {
  INFO("a " << shape_str(a.shape()) << " strides " << shape_str(a.strides()) << ", b " << shape_str(b.shape())
            << " strides " << shape_str(b.strides()));
  Shape shape;
  auto want = naive_matmul(a, b, shape);
  check_close(raw::matmul(a, b), shape, want);
}

Tensor randn(const Shape& s, uint64_t seed) {
  Generator g(seed);
  return raw::randn(s, g);
}

// For the direct-GEMM tests: how many of C's first N columns differ from expected (plus bias[j]
// on column j, when bias is given), and how many padding entries (columns N..ldc) differ from
// `before`, the contents of C before the call.
struct DirectMismatch {
  int bad = 0, touched = 0;
};
DirectMismatch direct_mismatch(const Tensor& C, const Tensor& expected, const Tensor& before, const float* bias,
                               int64_t M, int64_t N, int64_t ldc) {
  auto c = C.to_vector<float>(), o = expected.to_vector<float>(), c0 = before.to_vector<float>();
  DirectMismatch m;
  for (int64_t i = 0; i < M; ++i) {
    for (int64_t j = 0; j < N; ++j) {
      const size_t at = static_cast<size_t>(i * ldc + j);
      m.bad += c[at] == Approx(o[at] + (bias ? bias[j] : 0.f)).epsilon(1e-5).margin(1e-4) ? 0 : 1;
    }
    for (int64_t j = N; j < ldc; ++j) m.touched += c[static_cast<size_t>(i * ldc + j)] != c0[static_cast<size_t>(i * ldc + j)];
  }
  return m;
}

}  // namespace

TEST_CASE("matmul: 2-D against the naive loop at odd sizes", "[matmul]") {
  const int64_t sizes[] = {1, 7, 17, 65};
  uint64_t seed = 1;
  for (int64_t m : sizes)
    for (int64_t k : sizes)
      for (int64_t n : sizes) {
        Tensor a = randn({m, k}, seed++);
        check_matmul(a, randn({k, n}, seed++));
      }
}

TEST_CASE("matmul: batched and broadcast batch dims", "[matmul]") {
  check_matmul(randn({3, 7, 17}, 1), randn({3, 17, 5}, 2));
  check_matmul(randn({2, 1, 7, 5}, 3), randn({3, 5, 4}, 4));       // -> [2,3,7,4]
  check_matmul(randn({4, 7, 5}, 5), randn({5, 9}, 6));             // shared b: one folded sgemm
  check_matmul(randn({7, 5}, 7), randn({2, 3, 5, 9}, 8));          // shared a
  check_matmul(randn({1, 3, 7, 5}, 9), randn({2, 1, 5, 1}, 10));
  // a batch whose rows are not one uniform run (permuted batch dims): no fold, one call per item
  check_matmul(raw::permute(randn({7, 3, 5}, 11), {1, 0, 2}), randn({5, 4}, 12));
  // b broadcast by expand (stride 0 batch): no copy needed
  check_matmul(randn({3, 4, 5}, 13), raw::expand(randn({1, 5, 6}, 14), {3, 5, 6}));
}

TEST_CASE("matmul: transposed and strided operands", "[matmul]") {
  Tensor a = randn({17, 7}, 1), b = randn({65, 17}, 2);
  check_matmul(raw::transpose(a, 0, 1), raw::transpose(b, 0, 1));  // [7,17] x [17,65], both Trans
  check_matmul(randn({7, 17}, 3), raw::transpose(b, -1, -2));
  check_matmul(raw::transpose(randn({3, 17, 7}, 4), -1, -2), randn({3, 17, 5}, 5));
  // column-narrowed: leading dim larger than the column count
  check_matmul(raw::narrow(randn({7, 20}, 6), 1, 2, 17), raw::narrow(randn({17, 30}, 7), 1, 5, 9));
  // strides sgemm cannot take (step 2 in both dims, stride 0 inside the matrix): copied
  check_matmul(raw::slice(raw::slice(randn({14, 34}, 8), 0, 0, 14, 2), 1, 0, 34, 2), randn({17, 3}, 9));
  check_matmul(raw::expand(randn({1, 5}, 10), {4, 5}), randn({5, 3}, 11));
  check_matmul(randn({4, 5}, 12), raw::expand(randn({5, 1}, 13), {5, 6}));
  // batch of transposed views, as in attention's q @ k^T
  Tensor q = randn({2, 3, 8, 4}, 14), k = randn({2, 3, 8, 4}, 15);
  check_matmul(q, raw::transpose(k, -1, -2));
}

TEST_CASE("matmul: 1-D operands follow NumPy", "[matmul]") {
  Tensor v = raw::from_vector(std::vector<float>{1, 2, 3}, {3});
  Tensor w = raw::from_vector(std::vector<float>{4, 5, 6}, {3});
  Tensor dot = raw::matmul(v, w);
  CHECK(dot.dim() == 0);
  CHECK(dot.item() == Approx(32.0));

  Tensor m = raw::from_vector(std::vector<float>{1, 2, 3, 4, 5, 6}, {3, 2});  // [[1,2],[3,4],[5,6]]
  Tensor vm = raw::matmul(v, m);  // [1*1+2*3+3*5, 1*2+2*4+3*6] = [22, 28]
  REQUIRE(vm.shape() == Shape{2});
  CHECK(vm.at({0}) == Approx(22));
  CHECK(vm.at({1}) == Approx(28));
  Tensor mv = raw::matmul(raw::transpose(m, 0, 1), v);  // [[1,3,5],[2,4,6]] @ v = [22, 28]
  REQUIRE(mv.shape() == Shape{2});
  CHECK(mv.at({0}) == Approx(22));
  CHECK(mv.at({1}) == Approx(28));

  // batched with a vector on either side, and a strided vector
  Tensor bm = randn({4, 3, 5}, 1);
  Tensor left = raw::matmul(v, bm);  // [4,5]
  Tensor right = raw::matmul(raw::transpose(bm, -1, -2), v);  // [4,5]
  REQUIRE(left.shape() == Shape{4, 5});
  REQUIRE(right.shape() == Shape{4, 5});
  for (int64_t b = 0; b < 4; ++b)
    for (int64_t n = 0; n < 5; ++n) {
      double want = 0;
      for (int64_t k = 0; k < 3; ++k) want += v.at({k}) * bm.at({b, k, n});
      CHECK(left.at({b, n}) == Approx(want).epsilon(1e-5).margin(1e-5));
      CHECK(right.at({b, n}) == Approx(want).epsilon(1e-5).margin(1e-5));
    }
  Tensor strided = raw::slice(randn({10}, 2), 0, 0, 10, 2);  // 5 elements, stride 2
  Tensor a = randn({3, 5}, 3);
  Tensor r1 = raw::matmul(a, strided), r2 = raw::matmul(strided, raw::transpose(a, 0, 1));
  for (int64_t i = 0; i < 3; ++i) {
    double want = 0;
    for (int64_t k = 0; k < 5; ++k) want += a.at({i, k}) * strided.at({k});
    CHECK(r1.at({i}) == Approx(want).epsilon(1e-5).margin(1e-5));
    CHECK(r2.at({i}) == Approx(want).epsilon(1e-5).margin(1e-5));
  }
}

TEST_CASE("matmul: empty operands", "[matmul]") {
  Tensor z = raw::matmul(randn({0, 3}, 1), randn({3, 4}, 2));
  CHECK(z.shape() == Shape{0, 4});
  Tensor k0 = raw::matmul(raw::full({2, 0}, 1.0), raw::full({0, 3}, 1.0));
  REQUIRE(k0.shape() == Shape{2, 3});
  for (float x : k0.to_vector<float>()) CHECK(x == 0.f);
}

TEST_CASE("matmul: batches and large products split over our pool; OpenBLAS stays single-threaded",
          "[matmul]") {
  const int before = get_num_threads();
  set_num_threads(2);
  check_matmul(randn({12, 16, 8}, 1), raw::transpose(randn({12, 16, 8}, 2), -1, -2));  // over items
  check_matmul(randn({6, 2, 9, 7}, 3), randn({6, 2, 7, 11}, 4));
  check_matmul(randn({3, 70, 90}, 5), randn({3, 90, 200}, 6));  // 3 items on 2 threads: each split
  check_matmul(randn({200, 96}, 7), randn({96, 70}, 8));        // bands of rows
  check_matmul(randn({40, 96}, 9), raw::transpose(randn({300, 96}, 10), 0, 1));  // bands of columns
  CHECK(openblas_get_num_threads() == 1);
  set_num_threads(before);
}

TEST_CASE("matmul: sgemm_parallel equals the reference for every transpose and band split", "[matmul][kernels]") {
  const int before = get_num_threads();
  set_num_threads(2);
  // Row bands (M >= N) and column bands (short, wide C), sizes not multiples of the band width,
  // and extents whose share per thread rounds down to a multiple of 16: 321 rows or columns on 2
  // threads (2 x 160 + 1) and 481 rows on 3 (3 x 160 + 1) once left the last one unwritten. The
  // NaN-filled C below catches any row or column that no band computes.
  for (int threads : {2, 3}) {
    for (auto [M, N, K] : {std::array<int64_t, 3>{203, 70, 81}, std::array<int64_t, 3>{37, 301, 97},
                           std::array<int64_t, 3>{321, 128, 40}, std::array<int64_t, 3>{20, 321, 200},
                           std::array<int64_t, 3>{481, 128, 40}})
      for (bool ta : {false, true})
        for (bool tb : {false, true}) {
          Tensor A = randn(ta ? Shape{K, M + 3} : Shape{M, K + 3}, 1);
          Tensor B = randn(tb ? Shape{N, K + 2} : Shape{K, N + 2}, 2);
          set_num_threads(threads);
          INFO("threads=" << threads << " M=" << M << " N=" << N << " K=" << K << " trans_a=" << ta
                          << " trans_b=" << tb);
          Tensor C1 = randn({M, N + 1}, 3), C2 = raw::clone(C1);
          const int64_t lda = A.size(1), ldb = B.size(1), ldc = N + 1;
          kernels::sgemm_parallel(ta, tb, M, N, K, 0.5f, A.data<float>(), lda, B.data<float>(), ldb, 2.f,
                                  C1.data<float>(), ldc);
          kernels::sgemm_reference(ta, tb, M, N, K, 0.5f, A.data<float>(), lda, B.data<float>(), ldb, 2.f,
                                   C2.data<float>(), ldc);
          // beta = 0 on a C full of NaN: every element must be written.
          Tensor C3 = raw::full({M, N + 1}, std::nan("")), C4 = raw::zeros({M, N + 1});
          kernels::sgemm_parallel(ta, tb, M, N, K, 1.f, A.data<float>(), lda, B.data<float>(), ldb, 0.f,
                                  C3.data<float>(), ldc);
          kernels::sgemm_reference(ta, tb, M, N, K, 1.f, A.data<float>(), lda, B.data<float>(), ldb, 0.f,
                                   C4.data<float>(), ldc);
          auto v3 = C3.to_vector<float>(), v4 = C4.to_vector<float>();
          int unwritten = 0;
          for (int64_t i = 0; i < M; ++i)
            for (int64_t j = 0; j < N; ++j) {
              const size_t at = static_cast<size_t>(i * ldc + j);
              unwritten += v3[at] == Approx(v4[at]).epsilon(1e-5).margin(1e-4) ? 0 : 1;
            }
          CHECK(unwritten == 0);
          auto v1 = C1.to_vector<float>(), v2 = C2.to_vector<float>();
          int bad = 0;
          for (size_t i = 0; i < v1.size(); ++i) bad += v1[i] == Approx(v2[i]).epsilon(1e-5).margin(1e-4) ? 0 : 1;
          CHECK(bad == 0);
        }
  }
  set_num_threads(before);
}

TEST_CASE("matmul: gemm kernel agrees with its reference for all transposes", "[matmul][kernels]") {
  const int64_t M = 17, N = 9, K = 13;
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      Tensor A = randn(ta ? Shape{K, M + 3} : Shape{M, K + 3}, 1);  // padded leading dims
      Tensor B = randn(tb ? Shape{N, K + 2} : Shape{K, N + 2}, 2);
      Tensor C1 = randn({M, N + 1}, 3), C2 = raw::clone(C1);
      const int64_t lda = A.size(1), ldb = B.size(1), ldc = N + 1;
      kernels::sgemm(ta, tb, M, N, K, 0.5f, A.data<float>(), lda, B.data<float>(), ldb, 2.f, C1.data<float>(), ldc);
      kernels::sgemm_reference(ta, tb, M, N, K, 0.5f, A.data<float>(), lda, B.data<float>(), ldb, 2.f,
                               C2.data<float>(), ldc);
      auto v1 = C1.to_vector<float>(), v2 = C2.to_vector<float>();
      for (size_t i = 0; i < v1.size(); ++i) CHECK(v1[i] == Approx(v2[i]).epsilon(1e-5).margin(1e-5));
    }
}

TEST_CASE("matmul: sgemm_nt_direct equals the reference and OpenBLAS, edges included", "[matmul][kernels]") {
  // M across partial row tiles (8, 16 or 32 rows) and 128-row bands, N across partial 6-column
  // blocks, K across partial 256-long chunks; padded leading dims; with and without bias.
  for (auto [M, N, K] : {std::array<int64_t, 3>{1, 1, 1}, std::array<int64_t, 3>{7, 5, 3},
                         std::array<int64_t, 3>{17, 13, 256}, std::array<int64_t, 3>{128, 96, 600},
                         std::array<int64_t, 3>{150, 31, 257}, std::array<int64_t, 3>{33, 200, 1030},
                         std::array<int64_t, 3>{300, 20, 70},  // 300 rows: bands of 128, 128 and 44
                         std::array<int64_t, 3>{20, 3100, 40}})  // 3100 columns: slices of 3072 and 28
    for (bool with_bias : {false, true}) {
      INFO("M=" << M << " N=" << N << " K=" << K << " bias=" << with_bias);
      Tensor A = randn({M, K + 3}, 1), B = randn({N, K + 2}, 2), bias = randn({N}, 3);
      const int64_t ldc = N + 5;
      const float sentinel = 12345.f;
      Tensor C = raw::full({M, ldc}, sentinel), R = raw::zeros({M, ldc}), O = raw::zeros({M, ldc});
      const float* b = with_bias ? bias.data<float>() : nullptr;
      kernels::sgemm_nt_direct(M, N, K, A.data<float>(), K + 3, B.data<float>(), K + 2, b, C.data<float>(), ldc);
      kernels::sgemm_reference(false, true, M, N, K, 1.f, A.data<float>(), K + 3, B.data<float>(), K + 2, 0.f,
                               R.data<float>(), ldc);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.f, A.data<float>(), K + 3, B.data<float>(),
                  K + 2, 0.f, O.data<float>(), ldc);
      auto c = C.to_vector<float>(), r = R.to_vector<float>(), o = O.to_vector<float>();
      auto bv = bias.to_vector<float>();
      int bad_ref = 0, bad_blas = 0, touched = 0;
      for (int64_t i = 0; i < M; ++i) {
        for (int64_t j = 0; j < N; ++j) {
          const size_t at = static_cast<size_t>(i * ldc + j);
          const float add = with_bias ? bv[static_cast<size_t>(j)] : 0.f;
          bad_ref += c[at] == Approx(r[at] + add).epsilon(1e-5).margin(1e-4) ? 0 : 1;
          bad_blas += c[at] == Approx(o[at] + add).epsilon(1e-5).margin(1e-4) ? 0 : 1;
        }
        for (int64_t j = N; j < ldc; ++j) touched += c[static_cast<size_t>(i * ldc + j)] != sentinel;
      }
      CHECK(bad_ref == 0);
      CHECK(bad_blas == 0);
      CHECK(touched == 0);  // the padding between C's rows is never written
    }
}

TEST_CASE("matmul: sgemm_nt_direct with accumulate adds onto C, as sgemm with beta = 1", "[matmul][kernels]") {
  const int64_t M = 150, N = 40, K = 300, ldc = N + 3;
  Tensor A = randn({M, K}, 7), B = randn({N, K}, 8), bias = randn({N}, 9), C0 = randn({M, ldc}, 10);
  Tensor C = raw::clone(C0), O = raw::clone(C0);
  kernels::sgemm_nt_direct(M, N, K, A.data<float>(), K, B.data<float>(), K, bias.data<float>(), C.data<float>(), ldc,
                           /*accumulate=*/true);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.f, A.data<float>(), K, B.data<float>(), K, 1.f,
              O.data<float>(), ldc);
  const DirectMismatch m = direct_mismatch(C, O, C0, bias.data<float>(), M, N, ldc);
  CHECK(m.bad == 0);
  CHECK(m.touched == 0);
}

TEST_CASE("matmul: sgemm_direct equals OpenBLAS at every transpose, with and without accumulate",
          "[matmul][kernels]") {
  // Stored shapes follow sgemm: A is [M, K] or, transposed, [K, M]; B is [K, N] or, transposed,
  // [N, K]. Leading dimensions are padded, and C's padding must stay untouched.
  for (auto [M, N, K] : {std::array<int64_t, 3>{1, 1, 1}, {37, 7, 255}, {33, 13, 257}, {150, 70, 600}, {300, 50, 40},
                         {20, 3100, 40}})
    for (bool trans_a : {false, true})
      for (bool trans_b : {false, true})
        for (bool accumulate : {false, true}) {
          CAPTURE(M, N, K, trans_a, trans_b, accumulate);
          const int64_t lda = (trans_a ? M : K) + 3, ldb = (trans_b ? K : N) + 2, ldc = N + 5;
          Tensor A = randn({trans_a ? K : M, lda}, 21), B = randn({trans_b ? N : K, ldb}, 22);
          Tensor C0 = randn({M, ldc}, 23), C = raw::clone(C0), O = raw::clone(C0);
          kernels::sgemm_direct(trans_a, trans_b, M, N, K, A.data<float>(), lda, B.data<float>(), ldb, nullptr,
                                C.data<float>(), ldc, accumulate);
          cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, M, N, K,
                      1.f, A.data<float>(), lda, B.data<float>(), ldb, accumulate ? 1.f : 0.f, O.data<float>(), ldc);
          const DirectMismatch m = direct_mismatch(C, O, C0, nullptr, M, N, ldc);
          CHECK(m.bad == 0);
          CHECK(m.touched == 0);
        }
}

TEST_CASE("matmul: sgemm_nt_direct gives every column the same bits however the columns are split",
          "[matmul][kernels]") {
  // What makes the convbert inference path's row and column thread splits agree bit for bit.
  const int64_t M = 40, N = 70, K = 300;
  Tensor A = randn({M, K}, 4), B = randn({N, K}, 5), bias = randn({N}, 6);
  Tensor whole = raw::zeros({M, N}), parts = raw::zeros({M, N});
  kernels::sgemm_nt_direct(M, N, K, A.data<float>(), K, B.data<float>(), K, bias.data<float>(), whole.data<float>(), N);
  for (auto [c0, c1] : {std::array<int64_t, 2>{0, 16}, std::array<int64_t, 2>{16, 23}, std::array<int64_t, 2>{23, 70}})
    kernels::sgemm_nt_direct(M, c1 - c0, K, A.data<float>(), K, B.data<float>() + c0 * K, K, bias.data<float>() + c0,
                             parts.data<float>() + c0, N);
  CHECK(whole.to_vector<float>() == parts.to_vector<float>());
  // ... and rows: the first 9 rows alone (a partial tile) equal the same rows of the whole.
  Tensor head = raw::zeros({9, N});
  kernels::sgemm_nt_direct(9, N, K, A.data<float>(), K, B.data<float>(), K, bias.data<float>(), head.data<float>(), N);
  auto w = whole.to_vector<float>();
  CHECK(head.to_vector<float>() == std::vector<float>(w.begin(), w.begin() + 9 * N));
}

TEST_CASE("matmul: error messages", "[matmul][errors]") {
  CHECK_THROWS_WITH(raw::matmul(raw::zeros({2, 3, 5}), raw::zeros({4, 7})),
                    "matmul: shapes [2,3,5] and [4,7] do not match (inner dims 5 vs 4)");
  CHECK_THROWS_WITH(raw::matmul(raw::zeros({2, 3, 4}), raw::zeros({3, 4, 5})),
                    Catch::Contains("batch dims of shapes [2,3,4] and [3,4,5] cannot be broadcast (2 vs 3"));
  CHECK_THROWS_WITH(raw::matmul(raw::zeros({}), raw::zeros({3})),
                    Catch::Contains("matmul: both operands need at least 1 dim, got shapes [] and [3]"));
  CHECK_THROWS_WITH(raw::matmul(raw::zeros({2, 3}, DType::Int64), raw::zeros({3, 2})),
                    Catch::Contains("matmul: expected float32 operands, got int64 and float32"));
  CHECK_THROWS_WITH(raw::matmul(raw::zeros({3}), raw::zeros({4})),
                    Catch::Contains("(inner dims 3 vs 4)"));
}

TEST_CASE("linear: x W^T + b against the naive loop", "[matmul][linear]") {
  Tensor W = randn({7, 17}, 1), b = randn({7}, 2);
  for (const Shape& xs : {Shape{5, 17}, Shape{2, 3, 17}, Shape{1, 17}, Shape{65, 17}}) {
    Tensor x = randn(xs, 3);
    Shape shape;
    auto want = naive_matmul(x.dim() == 2 ? x : raw::reshape(x, {-1, 17}), raw::transpose(W, 0, 1), shape);
    Shape out_shape = xs;
    out_shape.back() = 7;
    check_close(raw::linear(x, W, Tensor()), out_shape, want);
    for (size_t i = 0; i < want.size(); ++i) want[i] += b.at({static_cast<int64_t>(i % 7)});
    check_close(raw::linear(x, W, b), out_shape, want);
  }
  // 1-D input, non-contiguous weight (a transposed [in, out] table), non-contiguous input
  Tensor x1 = randn({17}, 4);
  Tensor Wt = raw::transpose(randn({17, 7}, 5), 0, 1);
  Tensor y = raw::linear(x1, Wt, b);
  REQUIRE(y.shape() == Shape{7});
  for (int64_t o = 0; o < 7; ++o) {
    double want = b.at({o});
    for (int64_t i = 0; i < 17; ++i) want += x1.at({i}) * Wt.at({o, i});
    CHECK(y.at({o}) == Approx(want).epsilon(1e-5).margin(1e-5));
  }
  Tensor xp = raw::permute(randn({17, 2, 3}, 6), {1, 2, 0});  // [2,3,17], feature dim strided
  Tensor yp = raw::linear(xp, W, b);
  REQUIRE(yp.shape() == Shape{2, 3, 7});
  double want = b.at({4});
  for (int64_t i = 0; i < 17; ++i) want += xp.at({1, 2, i}) * W.at({4, i});
  CHECK(yp.at({1, 2, 4}) == Approx(want).epsilon(1e-5).margin(1e-5));
}

TEST_CASE("linear: error messages", "[matmul][linear][errors]") {
  CHECK_THROWS_WITH(raw::linear(raw::zeros({2, 5}), raw::zeros({3, 4}), Tensor()),
                    "linear: input shape [2,5] does not match weight shape [3,4] (in features 5 vs 4)");
  CHECK_THROWS_WITH(raw::linear(raw::zeros({2, 4}), raw::zeros({3, 4}), raw::zeros({4})),
                    Catch::Contains("linear: bias shape [4] does not match weight shape [3,4] (expected [3])"));
  CHECK_THROWS_WITH(raw::linear(raw::zeros({2, 4}), raw::zeros({4}), Tensor()),
                    Catch::Contains("linear: weight must be 2-D [out, in], got shape [4]"));
}
