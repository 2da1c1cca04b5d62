// Copies: contiguous/clone/copy_/fill_/to_dtype on strided, transposed and broadcast layouts,
// dtype conversion, writes that must leave the gaps of a strided view untouched, error messages.
#include <catch2/catch.hpp>

#include "tensor/ops.h"
#include "tensor/parallel.h"
#include "tests/tensor/kernel_check.h"

using namespace tz;

TEST_CASE("copy: contiguous and clone", "[copy]") {
  Generator gen(41);
  const Tensor c = test::uniform({4, 5}, gen);
  CHECK(raw::contiguous(c).is_same(c));  // no copy when already contiguous
  const Tensor cl = raw::clone(c);
  CHECK_FALSE(cl.storage() == c.storage());
  CHECK(raw::max_abs_diff(cl, c) == 0.0);
  for (const Tensor& v : {test::transposed_uniform(300, 517, gen), test::strided_uniform({3, 4, 1001}, gen),
                          test::broadcast_view(test::uniform({7, 1, 9}, gen), {7, 5, 9})}) {
    INFO("shape " << shape_str(v.shape()) << " strides " << shape_str(v.strides()));
    const Tensor k = raw::contiguous(v);
    REQUIRE(k.is_contiguous());
    REQUIRE(k.shape() == v.shape());
    CHECK(k.to_vector<float>() == v.to_vector<float>());
    CHECK(raw::clone(v).to_vector<float>() == v.to_vector<float>());
  }
}

TEST_CASE("copy: copy_ broadcasts into strided destinations and leaves gaps alone", "[copy]") {
  Generator gen(42);
  // Destination: a stride-2 view at offset 1 of a [3, 43] buffer.
  Tensor dst = test::strided_uniform({3, 21}, gen);
  const Tensor whole = Tensor::view_of(dst.storage(), DType::Float32, {129}, {1}, 0);
  const auto before = whole.to_vector<float>();
  const Tensor row = test::uniform({21}, gen);
  raw::copy_(dst, row);
  const auto after = whole.to_vector<float>();
  for (int64_t i = 0; i < 129; ++i) {
    const bool in_view = i >= 1 && (i - 1) % 43 < 42 && (i - 1) % 43 % 2 == 0;
    if (in_view) REQUIRE(after[i] == row.at({(i - 1) % 43 / 2}));
    else REQUIRE(after[i] == before[i]);
  }
  // Transposed destination from a contiguous source, large enough to be split across threads.
  Tensor t = test::transposed_uniform(400, 300, gen);
  const Tensor src = test::uniform({400, 300}, gen);
  const int saved = get_num_threads();
  set_num_threads(2);
  raw::copy_(t, src);
  set_num_threads(saved);
  CHECK(t.to_vector<float>() == src.to_vector<float>());
}

TEST_CASE("copy: dtype conversion and fill_", "[copy]") {
  const Tensor f = test::fvec({-2.7f, -0.5f, 0.f, 1.9f, 1e6f}, {5});
  const Tensor i = raw::to_dtype(f, DType::Int64);
  CHECK(i.to_vector<int64_t>() == std::vector<int64_t>{-2, 0, 0, 1, 1000000});  // toward zero
  const Tensor back = raw::to_dtype(raw::from_vector(std::vector<int64_t>{-3, 0, 16777217}, {3}), DType::Float32);
  CHECK(back.to_vector<float>() == std::vector<float>{-3.f, 0.f, 16777216.f});  // rounds
  CHECK(raw::to_dtype(f, DType::Float32).is_same(f));
  Tensor dst = raw::zeros({2, 3}, DType::Int64);
  raw::copy_(dst, test::fvec({1.5f, 2.5f, -3.5f}, {3}));
  CHECK(dst.to_vector<int64_t>() == std::vector<int64_t>{1, 2, -3, 1, 2, -3});

  Generator gen(43);
  Tensor s = test::strided_uniform({5, 17}, gen);
  raw::fill_(s, 2.5);
  for (float v : s.to_vector<float>()) REQUIRE(v == 2.5f);
  Tensor il = raw::zeros({1000}, DType::Int64);
  raw::fill_(il, 7);
  for (int64_t v : il.to_vector<int64_t>()) REQUIRE(v == 7);
  CHECK(raw::full({2, 2}, -1.0).to_vector<float>() == std::vector<float>{-1, -1, -1, -1});
}

TEST_CASE("copy: error messages", "[copy][errors]") {
  Tensor dst = raw::zeros({2, 4});
  CHECK_THROWS_WITH(raw::copy_(dst, raw::zeros({3})), Catch::Contains("copy_: shapes [2,4] and [3] cannot be broadcast"));
  CHECK_THROWS_WITH(raw::copy_(dst, raw::zeros({2, 1, 4})),
                    Catch::Contains("copy_: source shape [2,1,4] does not broadcast to destination shape [2,4]"));
  CHECK_THROWS_WITH(raw::fill_(test::broadcast_view(raw::zeros({4}), {2, 4}), 1.0),
                    Catch::Contains("fill_: cannot write into a broadcast view"));
  Tensor ro = raw::zeros({3});
  ro.storage()->set_writable(false);
  CHECK_THROWS_WITH(raw::copy_(ro, raw::ones({3})), Catch::Contains("copy_: cannot write into read-only storage"));
}
