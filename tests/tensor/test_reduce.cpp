// Reductions: sum/mean/amax/argmax over every combination of dims (keepdim or not) against naive
// double loops, on contiguous, transposed, strided and broadcast inputs; SIMD vs reference kernels;
// thread-count invariance; sum_to; error messages.
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>

#include "tensor/ops.h"
#include "tensor/parallel.h"
#include "tests/tensor/kernel_check.h"

using namespace tz;
using tz::test::both_modes;

namespace {

struct Naive {
  Shape keep_shape;
  std::vector<double> value, abs_sum;  // per output (keepdim layout)
  std::vector<int64_t> count;
};

// Reduces `t` over the flagged dims in double: op is "sum" or "max".
Naive naive_reduce(const Tensor& t, const std::vector<bool>& reduced, bool is_max) {
  Naive n;
  const Shape& shape = t.shape();
  for (size_t d = 0; d < shape.size(); ++d) n.keep_shape.push_back(reduced[d] ? 1 : shape[d]);
  const size_t n_out = static_cast<size_t>(shape_numel(n.keep_shape));
  n.value.assign(n_out, is_max ? -INFINITY : 0.0);
  n.abs_sum.assign(n_out, 0.0);
  n.count.assign(n_out, 0);
  const auto v = t.to_vector<float>();
  const Shape out_strides = contiguous_strides(n.keep_shape);
  for (size_t k = 0; k < v.size(); ++k) {
    int64_t rest = static_cast<int64_t>(k), o = 0;
    for (size_t d = shape.size(); d-- > 0;) {
      const int64_t i = rest % shape[d];
      rest /= shape[d];
      if (!reduced[d]) o += i * out_strides[d];
    }
    if (is_max) {
      if (std::isnan(v[k]) || std::isnan(n.value[o])) n.value[o] = NAN;
      else n.value[o] = std::max(n.value[o], static_cast<double>(v[k]));
    } else {
      n.value[o] += v[k];
    }
    n.abs_sum[o] += std::fabs(v[k]);
    n.count[o]++;
  }
  return n;
}

std::vector<bool> flags_of(const std::vector<int64_t>& dims, int64_t ndim) {
  std::vector<bool> f(static_cast<size_t>(ndim), dims.empty());
  for (int64_t d : dims) f[static_cast<size_t>(d < 0 ? d + ndim : d)] = true;
  return f;
}

Shape drop_reduced(const Shape& keep, const std::vector<bool>& reduced) {
  Shape s;
  for (size_t d = 0; d < keep.size(); ++d)
    if (!reduced[d]) s.push_back(keep[d]);
  return s;
}

// Sum error bound: float summation error relative to the sum of magnitudes.
void check_sum(const Tensor& got, const Naive& want, double scale = 1.0, const std::string& what = "") {
  const auto g = got.to_vector<float>();
  REQUIRE(g.size() == want.value.size());
  for (size_t i = 0; i < g.size(); ++i) {
    const double tol = (1e-6 * want.abs_sum[i] + 1e-30) * scale;
    INFO(what << " output " << i << ": got " << g[i] << ", want " << want.value[i] * scale);
    REQUIRE(std::fabs(g[i] - want.value[i] * scale) <= tol);
  }
}

// Every subset of the dims of an ndim-dim tensor (the empty one meaning "all" for sum).
std::vector<std::vector<int64_t>> dim_subsets(int64_t ndim) {
  std::vector<std::vector<int64_t>> out;
  for (int64_t mask = 0; mask < (int64_t{1} << ndim); ++mask) {
    std::vector<int64_t> dims;
    for (int64_t d = 0; d < ndim; ++d)
      if (mask >> d & 1) dims.push_back(d);
    out.push_back(dims);
  }
  return out;
}

std::vector<Tensor> test_inputs(Generator& gen) {
  std::vector<Tensor> xs;
  for (int64_t n : test::kOddSizes) xs.push_back(test::uniform({n}, gen));
  for (int64_t n : test::kOddSizes) xs.push_back(test::uniform({3, n}, gen));
  for (int64_t n : {7, 17, 1000}) xs.push_back(test::uniform({n, 5}, gen));
  xs.push_back(test::uniform({3, 5, 7}, gen));
  xs.push_back(test::uniform({2, 1, 3, 4}, gen));
  xs.push_back(test::uniform({}, gen));
  xs.push_back(test::transposed_uniform(33, 47, gen));
  xs.push_back(test::uniform({70, 300}, gen));  // column sums: register blocks, single vectors, tail
  xs.push_back(test::strided_uniform({4, 6, 35}, gen));
  xs.push_back(test::broadcast_view(test::uniform({5, 1, 19}, gen), {5, 3, 19}));
  return xs;
}

}  // namespace

TEST_CASE("reduce: sum and mean over every dim subset vs naive double", "[reduce]") {
  Generator gen(11);
  for (const Tensor& x : test_inputs(gen)) {
    for (const auto& dims : dim_subsets(x.dim())) {
      for (bool keepdim : {false, true}) {
        INFO("shape " << shape_str(x.shape()) << " strides " << shape_str(x.strides()) << " dims "
                      << shape_str(dims) << " keepdim " << keepdim);
        const auto flags = flags_of(dims, x.dim());
        const Naive want = naive_reduce(x, flags, false);
        const Shape want_shape = keepdim ? want.keep_shape : drop_reduced(want.keep_shape, flags);
        auto [ref, vec] = both_modes([&] { return raw::sum(x, dims, keepdim); });
        REQUIRE(vec.shape() == want_shape);
        REQUIRE(ref.shape() == want_shape);
        check_sum(vec, want, 1.0, "sum simd");
        check_sum(ref, want, 1.0, "sum reference");
        const Tensor m = raw::mean(x, dims, keepdim);
        REQUIRE(m.shape() == want_shape);
        const int64_t count = want.count.empty() ? 1 : want.count[0];
        check_sum(m, want, 1.0 / static_cast<double>(count), "mean");
      }
    }
  }
}

TEST_CASE("reduce: amax and argmax vs naive", "[reduce]") {
  Generator gen(12);
  for (const Tensor& x : test_inputs(gen)) {
    for (int64_t d = 0; d < std::max<int64_t>(1, x.dim()); ++d) {
      for (bool keepdim : {false, true}) {
        INFO("shape " << shape_str(x.shape()) << " dim " << d << " keepdim " << keepdim);
        const auto flags = x.dim() == 0 ? std::vector<bool>{} : flags_of({d}, x.dim());
        const Naive want = naive_reduce(x, flags, true);
        const Shape want_shape = keepdim ? want.keep_shape : drop_reduced(want.keep_shape, flags);
        auto [ref, vec] = both_modes([&] { return raw::amax(x, d, keepdim); });
        REQUIRE(vec.shape() == want_shape);
        CHECK(vec.to_vector<float>() == ref.to_vector<float>());  // max is exact
        const auto got = vec.to_vector<float>();
        for (size_t i = 0; i < got.size(); ++i) REQUIRE(got[i] == want.value[i]);
        // argmax points at an element equal to the max, the first such one.
        const Tensor am = raw::argmax(x, d, keepdim);
        REQUIRE(am.dtype() == DType::Int64);
        REQUIRE(am.shape() == want_shape);
        if (x.dim() == 0) continue;
        const Tensor amk = raw::argmax(x, d, true);
        const Tensor mk = raw::amax(x, d, true);
        const auto idx = amk.to_vector<int64_t>();
        const Shape ks = want.keep_shape;
        for (size_t o = 0; o < idx.size(); ++o) {
          std::vector<int64_t> pos(ks.size());
          int64_t rest = static_cast<int64_t>(o);
          for (size_t k = ks.size(); k-- > 0;) {
            pos[k] = rest % ks[k];
            rest /= ks[k];
          }
          const double m = mk.to_vector<float>()[o];
          for (int64_t j = 0; j < idx[o]; ++j) {
            pos[d] = j;
            REQUIRE(x.at(pos) < m);
          }
          pos[d] = idx[o];
          REQUIRE(x.at(pos) == m);
        }
      }
    }
  }
}

TEST_CASE("reduce: NaN, infinities, ties and empty dims", "[reduce]") {
  const Tensor x = test::fvec({1.f, NAN, 3.f, 3.f, -INFINITY, -INFINITY, 2.f, 5.f, 5.f}, {3, 3});
  for (auto mode : {kernels::KernelMode::Reference, kernels::KernelMode::Simd}) {
    kernels::KernelModeGuard guard(mode);
    auto m = raw::amax(x, 1).to_vector<float>();
    CHECK(std::isnan(m[0]));  // NaN propagates, as torch.amax
    CHECK(m[1] == 3.f);
    CHECK(m[2] == 5.f);
    CHECK(raw::argmax(x, 1).to_vector<int64_t>() == std::vector<int64_t>{1, 0, 1});  // NaN wins; first tie
    CHECK(raw::amax(test::fvec({-INFINITY, -INFINITY}, {2}), 0).item() == -INFINITY);
    // A long row with the NaN in the vector part.
    std::vector<float> v(100, 1.f);
    v[40] = NAN;
    CHECK(std::isnan(raw::amax(test::fvec(v, {100}), 0).item()));
  }
  const Tensor e = raw::zeros({3, 0});
  CHECK(raw::sum(e, {1}).to_vector<float>() == std::vector<float>{0, 0, 0});
  CHECK(std::isnan(raw::mean(e, {1}).to_vector<float>()[0]));
  CHECK(raw::sum(e, {0}).shape() == Shape{0});
}

TEST_CASE("reduce: large reductions are independent of the thread count", "[reduce]") {
  Generator gen(13);
  const Tensor big = test::uniform({1 << 20}, gen);
  const Tensor rows = test::uniform({4096, 768}, gen);
  const int saved = get_num_threads();
  std::vector<Tensor> res[2];
  for (int t : {1, 2}) {
    set_num_threads(t);
    res[t - 1] = {raw::sum(big), raw::sum(rows, {0}), raw::sum(rows, {1}), raw::amax(rows, 0)};
  }
  set_num_threads(saved);
  for (size_t i = 0; i < res[0].size(); ++i) CHECK(raw::max_abs_diff(res[0][i], res[1][i]) == 0.0);
  check_sum(res[1][0], naive_reduce(big, {true}, false), 1.0, "sum of 2^20");
  check_sum(res[1][1], naive_reduce(rows, {true, false}, false), 1.0, "column sums");
}

TEST_CASE("reduce: sum_to undoes broadcasting", "[reduce]") {
  Generator gen(14);
  const Tensor g = test::uniform({2, 3, 4}, gen);
  struct Case {
    Shape to;
    std::vector<int64_t> dims;
  };
  for (const auto& c : std::vector<Case>{{{3, 1}, {0, 2}}, {{4}, {0, 1}}, {{1, 1, 4}, {0, 1}}, {{}, {}},
                                         {{2, 1, 4}, {1}}, {{2, 3, 4}, {}}}) {
    INFO("to " << shape_str(c.to));
    const Tensor s = raw::sum_to(g, c.to);
    REQUIRE(s.shape() == c.to);
    const Tensor want = c.to == g.shape() ? g : raw::sum(g, c.dims, false);
    test::check_close(s.to_vector<float>(), test::to_double(want), 1e-6, 1e-6);
  }
  CHECK_FALSE(raw::sum_to(g, g.shape()).is_same(g));  // always a new tensor
}

TEST_CASE("reduce: error messages", "[reduce][errors]") {
  const Tensor x = raw::zeros({2, 3, 4});
  CHECK_THROWS_WITH(raw::sum(x, {3}), Catch::Contains("sum: dim 3 out of range for a tensor with 3 dims"));
  CHECK_THROWS_WITH(raw::mean(x, {-4}), Catch::Contains("mean: dim -4 out of range"));
  CHECK_THROWS_WITH(raw::sum(x, {1, -2}), Catch::Contains("sum: dim -2 is listed twice"));
  CHECK_THROWS_WITH(raw::sum(raw::zeros({2}, DType::Int64)),
                    Catch::Contains("sum: expected a float32 tensor, got int64 [2]"));
  CHECK_THROWS_WITH(raw::amax(raw::zeros({2, 0}), 1),
                    Catch::Contains("amax: cannot reduce over dim 1 of size 0 (shape [2,0])"));
  CHECK_THROWS_WITH(raw::argmax(x, 5), Catch::Contains("argmax: dim 5 out of range"));
  CHECK_THROWS_WITH(raw::sum_to(x, {5, 4}), Catch::Contains("sum_to: shape [5,4] does not broadcast to [2,3,4]"));
  CHECK_THROWS_WITH(raw::sum_to(x, {1, 2, 3, 4}),
                    Catch::Contains("sum_to: shape [1,2,3,4] does not broadcast to [2,3,4]"));
}
