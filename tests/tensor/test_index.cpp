// Indexing ops against naive loops written here: embedding and its scatter-add backward (with
// repeated ids and padding_idx), cat, gather, one_hot; the add_row kernel against its reference;
// and the error messages for bad ids and shapes.
#include <catch2/catch.hpp>

#include "tensor/kernels/index.h"
#include "tensor/ops.h"
#include "tensor/parallel.h"

using namespace tz;

namespace {

Tensor randn(const Shape& s, uint64_t seed) {
  Generator g(seed);
  return raw::randn(s, g);
}

Tensor ids_of(const std::vector<int64_t>& v, const Shape& s) { return raw::from_vector(v, s); }

}  // namespace

TEST_CASE("embedding: rows gathered by id, any ids shape", "[index]") {
  Tensor W = randn({5, 3}, 1);
  Tensor ids = ids_of({4, 0, 4, 2, 1, 3}, {2, 3});
  Tensor out = raw::embedding(W, ids);
  REQUIRE(out.shape() == Shape{2, 3, 3});
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 3; ++j)
      for (int64_t c = 0; c < 3; ++c) CHECK(out.at({i, j, c}) == W.at({static_cast<int64_t>(ids.at({i, j})), c}));
  // strided tables: a row-narrowed table and a transposed one (column stride != 1)
  Tensor big = randn({4, 8}, 2);
  Tensor table = raw::narrow(big, 1, 2, 5);  // [4,5], row stride 8
  Tensor t2 = raw::transpose(randn({5, 4}, 3), 0, 1);  // [4,5], column stride 4
  Tensor id1 = ids_of({3, 1}, {2});
  for (const Tensor& T : {table, t2}) {
    Tensor o = raw::embedding(T, id1);
    for (int64_t c = 0; c < 5; ++c) {
      CHECK(o.at({0, c}) == T.at({3, c}));
      CHECK(o.at({1, c}) == T.at({1, c}));
    }
  }
  CHECK(raw::embedding(W, ids_of({}, {0})).shape() == Shape{0, 3});
}

TEST_CASE("embedding: bad ids and dtypes throw with the id and the vocab size", "[index][errors]") {
  Tensor W = randn({5, 3}, 1);
  CHECK_THROWS_WITH(raw::embedding(W, ids_of({1, 5}, {2})),
                    Catch::Contains("embedding: id 5 at flat position 1 of ids [2] is out of range for vocab size 5"));
  CHECK_THROWS_WITH(raw::embedding(W, ids_of({-1}, {1})), Catch::Contains("embedding: id -1"));
  CHECK_THROWS_WITH(raw::embedding(W, raw::zeros({2})), Catch::Contains("embedding: ids must be int64, got float32"));
  CHECK_THROWS_WITH(raw::embedding(raw::zeros({5}), ids_of({1}, {1})),
                    Catch::Contains("embedding: weight must be a float32 [V, C] table"));
}

TEST_CASE("embedding_backward: scatter-add against the naive loop, padding rows stay zero", "[index]") {
  const int before = get_num_threads();
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    for (const auto& [N, C] : {std::pair<int64_t, int64_t>{6, 7}, {300, 200}}) {
      const int64_t V = 11, pad = 3;
      Generator gen(42);
      Tensor ids = raw::randint({N}, 0, V, gen);
      Tensor g = randn({N, C}, 5);
      Tensor out = raw::embedding_backward(g, ids, V, pad);
      REQUIRE(out.shape() == Shape{V, C});
      std::vector<double> want(V * C, 0.0);
      for (int64_t i = 0; i < N; ++i) {
        const int64_t id = static_cast<int64_t>(ids.at({i}));
        if (id == pad) continue;
        for (int64_t c = 0; c < C; ++c) want[id * C + c] += g.at({i, c});
      }
      auto got = out.to_vector<float>();
      for (size_t i = 0; i < got.size(); ++i) REQUIRE(got[i] == Approx(want[i]).epsilon(1e-5).margin(1e-5));
      for (int64_t c = 0; c < C; ++c) CHECK(out.at({pad, c}) == 0);
    }
  }
  set_num_threads(before);
  // ids of any shape; no padding
  Tensor ids = ids_of({1, 1, 0, 1}, {2, 2});
  Tensor g = raw::full({2, 2, 2}, 1.0);
  Tensor out = raw::embedding_backward(g, ids, 2, -1);
  CHECK(out.at({0, 0}) == 1);
  CHECK(out.at({1, 1}) == 3);
  CHECK_THROWS_WITH(raw::embedding_backward(g, ids_of({0, 1, 2, 0}, {2, 2}), 2, -1),
                    Catch::Contains("embedding_backward: id 2 at flat position 2"));
  CHECK_THROWS_WITH(raw::embedding_backward(raw::zeros({2, 3}), ids, 2, -1),
                    Catch::Contains("embedding_backward: grad shape [2,3] does not match ids shape [2,2]"));
}

TEST_CASE("add_row kernel against its reference", "[index][kernels]") {
  for (int64_t n : {1, 7, 15, 16, 17, 1000, 4099}) {
    Tensor a = randn({n}, 1), b = randn({n}, 2), a2 = raw::clone(a);
    kernels::add_row(a.data<float>(), b.data<float>(), n);
    kernels::add_row_reference(a2.data<float>(), b.data<float>(), n);
    CHECK(a.to_vector<float>() == a2.to_vector<float>());  // one add per element: bitwise equal
  }
}

TEST_CASE("cat: along any dim, strided inputs, both dtypes", "[index]") {
  Tensor a = randn({2, 3}, 1), b = randn({2, 1}, 2), c = raw::transpose(randn({4, 2}, 3), 0, 1);  // [2,4]
  Tensor out = raw::cat({a, b, c}, -1);
  REQUIRE(out.shape() == Shape{2, 8});
  for (int64_t i = 0; i < 2; ++i) {
    for (int64_t j = 0; j < 3; ++j) CHECK(out.at({i, j}) == a.at({i, j}));
    CHECK(out.at({i, 3}) == b.at({i, 0}));
    for (int64_t j = 0; j < 4; ++j) CHECK(out.at({i, 4 + j}) == c.at({i, j}));
  }
  Tensor r = raw::cat({a, raw::zeros({0, 3}), a}, 0);
  REQUIRE(r.shape() == Shape{4, 3});
  CHECK(r.at({3, 2}) == a.at({1, 2}));
  Tensor ii = raw::cat({ids_of({1, 2}, {2}), ids_of({3}, {1})}, 0);
  CHECK(ii.to_vector<int64_t>() == std::vector<int64_t>{1, 2, 3});
  CHECK_THROWS_WITH(raw::cat({a, raw::zeros({3, 3})}, 1),
                    Catch::Contains("cat: tensor 1 has shape [3,3] but tensor 0 has shape [2,3] (sizes must match except in dim 1)"));
  CHECK_THROWS_WITH(raw::cat({a, ids_of({1, 2, 3}, {1, 3})}, 0), Catch::Contains("cat: tensor 1 is int64 but tensor 0 is float32"));
  CHECK_THROWS_WITH(raw::cat({a, a}, 2), Catch::Contains("cat: dim 2 out of range"));
  CHECK_THROWS_WITH(raw::cat({}, 0), Catch::Contains("cat: expected at least one tensor"));
}

TEST_CASE("gather along a dim", "[index]") {
  Tensor a = raw::from_vector(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor g1 = raw::gather(a, 1, ids_of({2, 0, 1, 1}, {2, 2}));
  CHECK(g1.to_vector<float>() == std::vector<float>{3, 1, 5, 5});
  Tensor g0 = raw::gather(a, 0, ids_of({1, 0, 1}, {1, 3}));
  CHECK(g0.to_vector<float>() == std::vector<float>{4, 2, 6});
  // strided input and index, int64 input
  Tensor at = raw::transpose(a, 0, 1);  // [[1,4],[2,5],[3,6]]
  Tensor idx = raw::transpose(ids_of({1, 0, 1}, {1, 3}), 0, 1);  // [3,1]
  CHECK(raw::gather(at, -1, idx).to_vector<float>() == std::vector<float>{4, 2, 6});
  CHECK(raw::gather(ids_of({7, 8, 9}, {3}), 0, ids_of({2, 2}, {2})).to_vector<int64_t>() == std::vector<int64_t>{9, 9});
  CHECK_THROWS_WITH(raw::gather(a, 1, ids_of({3}, {1, 1})),
                    Catch::Contains("gather: index 3 at flat position 0 is out of range for dim 1 of size 3"));
  CHECK_THROWS_WITH(raw::gather(a, 1, ids_of({0, 0, 0}, {3, 1})),
                    Catch::Contains("gather: index shape [3,1] exceeds input shape [2,3] at dim 0"));
  CHECK_THROWS_WITH(raw::gather(a, 1, ids_of({0}, {1})), Catch::Contains("must have the same number of dims"));
}

TEST_CASE("one_hot", "[index]") {
  Tensor o = raw::one_hot(ids_of({2, 0, 1, 2}, {2, 2}), 3);
  REQUIRE(o.shape() == Shape{2, 2, 3});
  CHECK(o.to_vector<float>() == std::vector<float>{0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1});
  CHECK(raw::one_hot(ids_of({0, 4}, {2}), -1).shape() == Shape{2, 5});
  CHECK_THROWS_WITH(raw::one_hot(ids_of({0, 3}, {2}), 3),
                    Catch::Contains("one_hot: id 3 at flat position 1 of ids [2] is out of range for num_classes 3"));
  CHECK_THROWS_WITH(raw::one_hot(ids_of({-2, 1}, {2}), -1), Catch::Contains("one_hot: id -2 at flat position 0"));
}
