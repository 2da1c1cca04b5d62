// distributed/: collectives and the bucketed gradient all-reduce. CTest runs this executable
// twice: alone (a world of one) and, when MPI is built in, under `mpirun -np 2`. Every expected
// value is computed from the world size, so the same assertions hold in both runs.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "autograd/grad_mode.h"
#include "distributed/communicator.h"
#include "tensor/ops.h"
#include "tensor/tensor.h"

namespace dist = tz::dist;
using tz::Tensor;

namespace {

// A value every rank can compute for any rank: small integers, so float sums are exact.
float grad_value(int rank, std::size_t param, int64_t i) {
  return static_cast<float>((rank + 1) * 3 + static_cast<int>(param) * 7 + static_cast<int>(i % 11));
}

Tensor param_of(int64_t n) {
  Tensor p = tz::raw::zeros({n});
  p.set_requires_grad(true);
  return p;
}

}  // namespace

TEST_CASE("world: rank and size agree with how the process was started", "[distributed]") {
  int r = dist::rank(), n = dist::world_size();
  REQUIRE(n >= 1);
  REQUIRE(r >= 0);
  REQUIRE(r < n);
  if (!dist::mpi_available()) REQUIRE(n == 1);
  if (!dist::launched_by_mpi()) REQUIRE(n == 1);
  REQUIRE(dist::is_main_process() == (r == 0));
}

TEST_CASE("all_reduce_sum: floats, doubles, integers and max", "[distributed]") {
  int n = dist::world_size(), r = dist::rank();
  std::vector<float> f(3000);
  for (std::size_t i = 0; i < f.size(); ++i) f[i] = static_cast<float>((r + 1) * static_cast<int>(i % 5));
  dist::all_reduce_sum(f.data(), f.size());
  float ranks_sum = static_cast<float>(n * (n + 1) / 2);
  for (std::size_t i = 0; i < f.size(); ++i) REQUIRE(f[i] == ranks_sum * static_cast<float>(i % 5));
  REQUIRE(dist::all_reduce_sum(0.5 * (r + 1)) == 0.5 * ranks_sum);
  REQUIRE(dist::all_reduce_sum(int64_t{10}) == 10 * n);
  REQUIRE(dist::all_reduce_max(int64_t{r * 4}) == (n - 1) * 4);
}

TEST_CASE("broadcast: tensors and text come from the root", "[distributed]") {
  int r = dist::rank();
  Tensor t = tz::raw::full({5, 7}, static_cast<float>(r + 2));
  dist::broadcast_tensors({t});
  for (float v : t.to_vector<float>()) REQUIRE(v == 2.0f);
  std::string text = r == 0 ? std::string("from rank zero") : std::string("x");
  dist::broadcast(text);
  REQUIRE(text == "from rank zero");
}

TEST_CASE("GradientReducer: sums gradients across ranks through buckets", "[distributed]") {
  int n = dist::world_size(), r = dist::rank();
  // Sizes straddle a 1024-float bucket: several small tensors share one, big ones span several.
  std::vector<int64_t> sizes = {1, 3, 1000, 5000, 7, 2048, 1};
  std::vector<Tensor> params;
  for (int64_t s : sizes) params.push_back(param_of(s));
  const std::size_t no_grad = 4;    // nobody has a gradient for this one: it stays undefined
  const std::size_t only_root = 6;  // only rank 0 has one: the others contribute zeros
  for (std::size_t p = 0; p < params.size(); ++p) {
    if (p == no_grad || (p == only_root && r != 0)) continue;
    std::vector<float> g(static_cast<std::size_t>(sizes[p]));
    for (int64_t i = 0; i < sizes[p]; ++i) g[static_cast<std::size_t>(i)] = grad_value(r, p, i);
    params[p].set_grad(tz::raw::from_vector(g, {sizes[p]}));
  }
  dist::GradientReducer reducer(params, 1024 * sizeof(float));
  int64_t total = 0;
  for (int64_t s : sizes) total += s;
  REQUIRE(reducer.bytes_per_step() == static_cast<std::size_t>(total) * 4);
  REQUIRE(reducer.num_buckets() == static_cast<std::size_t>((total + 1023) / 1024));

  SECTION("sum") {
    reducer.all_reduce();
    for (std::size_t p = 0; p < params.size(); ++p) {
      INFO("param " << p);
      if (p == no_grad) {
        REQUIRE_FALSE(params[p].grad().defined());
        continue;
      }
      std::vector<float> got = params[p].grad().to_vector<float>();
      for (int64_t i = 0; i < sizes[p]; ++i) {
        float want = 0;
        for (int k = 0; k < n; ++k) {
          if (p == only_root && k != 0) continue;
          want += grad_value(k, p, i);
        }
        REQUIRE(got[static_cast<std::size_t>(i)] == want);
      }
    }
  }
  SECTION("mean (scale 1/world)") {
    reducer.all_reduce(1.0f / static_cast<float>(n));
    std::vector<float> got = params[3].grad().to_vector<float>();
    for (int64_t i = 0; i < sizes[3]; ++i) {
      float want = 0;
      for (int k = 0; k < n; ++k) want += grad_value(k, 3, i);
      REQUIRE(got[static_cast<std::size_t>(i)] == Approx(want / static_cast<float>(n)).epsilon(1e-6));
    }
  }
}

TEST_CASE("GradientReducer: a bucket size below one float is refused", "[distributed]") {
  REQUIRE_THROWS_WITH(dist::GradientReducer({param_of(3)}, 2), Catch::Contains("bucket_bytes"));
}

TEST_CASE("a failed MPI call throws tz::Error naming the rank and the call", "[distributed]") {
  // A root that does not exist is refused by MPI's argument check on every rank, before any
  // message moves, so all ranks throw and the job stays in step. A world of one makes no MPI call.
  const int n = dist::world_size(), r = dist::rank();
  float x = 1.0f;
  if (n == 1) {
    REQUIRE_NOTHROW(dist::broadcast(&x, 1, 7));
    return;
  }
  REQUIRE_THROWS_WITH(dist::broadcast(&x, 1, n + 3),
                      Catch::Contains("MPI_Bcast failed") &&
                          Catch::Contains("rank " + std::to_string(r) + "/" + std::to_string(n)));
  dist::barrier();  // the world still works after the error
}

int main(int argc, char** argv) {
  dist::init();
  int result = Catch::Session().run(argc, argv);
  // A failure on one rank must fail the job: agree on the worst result before leaving.
  int64_t worst = dist::all_reduce_max(static_cast<int64_t>(result));
  dist::finalize();
  return static_cast<int>(worst);
}
