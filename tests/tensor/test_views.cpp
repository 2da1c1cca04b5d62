// Views: values read through at(), storage sharing (a write through a view is seen by the base),
// reshape copying only when it must, and the error messages for bad shapes and dims.
#include <catch2/catch.hpp>

#include "tensor/ops.h"

using namespace tz;

namespace {

// base [2,3,4] holding 0, 1, ..., 23
Tensor iota(const Shape& shape) { return raw::to_dtype(raw::reshape(raw::arange(shape_numel(shape)), shape), DType::Float32); }

// Writes through t's own strides (the way a kernel writing into a view would).
void set_at(const Tensor& t, const std::vector<int64_t>& idx, float v) {
  int64_t off = 0;
  for (size_t i = 0; i < idx.size(); ++i) off += idx[i] * t.strides()[i];
  t.data<float>()[off] = v;
}

}  // namespace

TEST_CASE("view: splits and merges dims, infers -1, shares storage", "[views]") {
  Tensor x = iota({2, 3, 4});
  Tensor v = raw::view(x, {4, -1});
  REQUIRE(v.shape() == Shape{4, 6});
  CHECK(v.storage() == x.storage());
  CHECK(v.at({2, 5}) == 17);
  set_at(v, {3, 1}, -1.f);  // flat 19 = x[1,1,3]
  CHECK(x.at({1, 1, 3}) == -1);
  // a narrowed (non-contiguous) tensor can still be split along its untouched dims
  Tensor n = raw::narrow(iota({4, 6}), 1, 1, 3);  // [4,3] strides [6,1]
  Tensor nv = raw::view(n, {2, 2, 3, 1});
  CHECK(nv.at({1, 0, 2, 0}) == n.at({2, 2}));
  // size-1 and 0-dim corner cases
  CHECK(raw::view(raw::scalar(3.f), {1, 1}).shape() == Shape{1, 1});
  CHECK(raw::view(raw::zeros({1, 1}), {}).dim() == 0);
  CHECK(raw::view(raw::zeros({0, 3}), {3, 0}).shape() == Shape{3, 0});
}

TEST_CASE("view: errors name the op, the shapes and the problem", "[views][errors]") {
  Tensor t = raw::transpose(iota({2, 3}), 0, 1);  // [3,2] strides [1,3]
  CHECK_THROWS_WITH(raw::view(t, {6}), Catch::Contains("view: a tensor of shape [3,2] with strides [1,3] cannot be viewed as [6]"));
  CHECK_THROWS_WITH(raw::view(iota({2, 3}), {-1, -1}), Catch::Contains("view: only one size may be -1"));
  CHECK_THROWS_WITH(raw::view(iota({2, 3}), {4, 2}),
                    Catch::Contains("view: shape [4,2] (8 elements) is invalid for input of shape [2,3] (6 elements)"));
  CHECK_THROWS_WITH(raw::view(iota({2, 3}), {4, -1}), Catch::Contains("shape [4,-1] is invalid for input of shape [2,3]"));
  CHECK_THROWS_WITH(raw::reshape(raw::zeros({0, 3}), {-1, 0}), Catch::Contains("reshape: cannot infer the -1"));
  CHECK_THROWS_WITH(raw::view(iota({2, 3}), {-2, -3}), Catch::Contains("view: invalid size -2 at dim 0"));
}

TEST_CASE("reshape: a view when strides allow, else a copy", "[views]") {
  Tensor x = iota({2, 3, 4});
  Tensor r = raw::reshape(x, {6, 4});
  CHECK(r.storage() == x.storage());
  Tensor t = raw::transpose(x, 1, 2);  // [2,4,3]
  Tensor c = raw::reshape(t, {8, 3});
  CHECK(c.storage() != x.storage());
  CHECK(c.is_contiguous());
  for (int64_t i = 0; i < 8; ++i)
    for (int64_t j = 0; j < 3; ++j) CHECK(c.at({i, j}) == t.at({i / 4, i % 4, j}));
  // merging the transposed pair is impossible, splitting the leading dim is fine
  CHECK(raw::reshape(t, {2, 1, 4, 3}).storage() == x.storage());
}

TEST_CASE("permute and transpose", "[views]") {
  Tensor x = iota({2, 3, 4});
  Tensor p = raw::permute(x, {2, 0, -2});
  REQUIRE(p.shape() == Shape{4, 2, 3});
  CHECK(p.at({3, 1, 2}) == x.at({1, 2, 3}));
  CHECK(p.storage() == x.storage());
  Tensor t = raw::transpose(x, 0, -1);
  REQUIRE(t.shape() == Shape{4, 3, 2});
  CHECK(t.at({1, 2, 0}) == x.at({0, 2, 1}));
  set_at(t, {3, 0, 1}, 100.f);
  CHECK(x.at({1, 0, 3}) == 100);
  CHECK_THROWS_WITH(raw::permute(x, {0, 0, 1}), Catch::Contains("permute: dim 0 repeated in [0,0,1]"));
  CHECK_THROWS_WITH(raw::permute(x, {0, 1}), Catch::Contains("permute: got 2 dims [0,1] for a tensor of shape [2,3,4]"));
  CHECK_THROWS_WITH(raw::transpose(x, 0, 3), Catch::Contains("transpose: dim 3 out of range for a tensor with 3 dims"));
}

TEST_CASE("narrow, slice and select", "[views]") {
  Tensor x = iota({4, 6});
  Tensor n = raw::narrow(x, 1, 2, 3);
  REQUIRE(n.shape() == Shape{4, 3});
  CHECK(n.at({1, 0}) == 8);
  set_at(n, {3, 2}, -5.f);
  CHECK(x.at({3, 4}) == -5);
  CHECK(raw::narrow(x, 0, -1, 1).at({0, 0}) == 18);

  Tensor s = raw::slice(x, 1, 1, 6, 2);  // cols 1, 3, 5
  REQUIRE(s.shape() == Shape{4, 3});
  CHECK(s.at({2, 2}) == 17);
  CHECK(raw::slice(x, 1, -2, 100).shape() == Shape{4, 2});  // end clamps
  CHECK(raw::slice(x, 0, 3, 1).shape() == Shape{0, 6});     // empty
  CHECK(raw::slice(raw::slice(x, 1, 0, 6, 2), 1, 1, 3, 2).at({1, 0}) == 8);  // step of a step

  Tensor r = raw::select(x, 0, -1);  // last row
  REQUIRE(r.shape() == Shape{6});
  CHECK(r.at({5}) == 23);
  Tensor c = raw::select(x, 1, 4);
  set_at(c, {0}, 42.f);
  CHECK(x.at({0, 4}) == 42);

  CHECK_THROWS_WITH(raw::narrow(x, 1, 4, 3), Catch::Contains("narrow: start 4 + length 3 exceeds size 6 of dim 1 (shape [4,6])"));
  CHECK_THROWS_WITH(raw::slice(x, 0, 0, 4, 0), Catch::Contains("slice: step must be positive, got 0"));
  CHECK_THROWS_WITH(raw::select(x, 0, 4), Catch::Contains("select: index 4 out of range for dim 0 of size 4 (shape [4,6])"));
  CHECK_THROWS_WITH(raw::select(x, 2, 0), Catch::Contains("select: dim 2 out of range"));
}

TEST_CASE("unsqueeze, squeeze and expand", "[views]") {
  Tensor x = iota({3, 1});
  CHECK(raw::unsqueeze(x, 0).shape() == Shape{1, 3, 1});
  CHECK(raw::unsqueeze(x, -1).shape() == Shape{3, 1, 1});
  CHECK(raw::unsqueeze(x, 1).is_contiguous());
  CHECK(raw::squeeze(x, 1).shape() == Shape{3});
  CHECK(raw::squeeze(x, 0).shape() == Shape{3, 1});  // not size 1: unchanged, as PyTorch
  CHECK_THROWS_WITH(raw::unsqueeze(x, 3), Catch::Contains("unsqueeze: dim 3 out of range for a tensor with 2 dims (expected -3..2)"));
  CHECK_THROWS_WITH(raw::squeeze(x, -3), Catch::Contains("squeeze: dim -3 out of range"));

  Tensor e = raw::expand(x, {2, 3, 4});
  REQUIRE(e.shape() == Shape{2, 3, 4});
  CHECK(e.strides() == Shape{0, 1, 0});
  CHECK(e.storage() == x.storage());
  CHECK(e.at({1, 2, 3}) == 2);
  CHECK(raw::expand(x, {-1, 5}).shape() == Shape{3, 5});
  set_at(x, {1, 0}, 9.f);
  CHECK(e.at({0, 1, 2}) == 9);
  CHECK_THROWS_WITH(raw::expand(x, {4, 4}), Catch::Contains("expand: cannot expand shape [3,1] to [4,4] (dim 0: size 3 to 4"));
  CHECK_THROWS_WITH(raw::expand(x, {4}), Catch::Contains("expand: target shape [4] has fewer dims"));
  CHECK_THROWS_WITH(raw::expand(x, {-1, 3, 1}), Catch::Contains("expand: size -1 at new leading dim 0"));
}

TEST_CASE("views of views keep pointing at the right elements", "[views]") {
  Tensor base = raw::zeros({3, 4, 5});
  Tensor v = raw::select(raw::transpose(raw::narrow(base, 2, 1, 3), 0, 2), 1, 2);  // [3(k),3(i)] of base[i,2,1+k]
  REQUIRE(v.shape() == Shape{3, 3});
  set_at(v, {2, 1}, 7.f);
  CHECK(base.at({1, 2, 3}) == 7);
  Tensor w = raw::view(raw::unsqueeze(raw::select(base, 0, 1), 0), {4, 5});
  CHECK(w.at({2, 3}) == 7);
}
