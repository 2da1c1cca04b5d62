// The cost of recording the graph: a chain of 1,000 small elementwise ops with grad mode on
// (each op records a node) and off (the kernel alone). The difference per op is the overhead.
#include <benchmark/benchmark.h>

#include "autograd/ops.h"
#include "tensor/parallel.h"

static void chain(benchmark::State& state, bool record) {
  tz::set_num_threads(1);
  tz::Tensor x = tz::raw::ones({16});
  x.set_requires_grad(true);
  for (auto _ : state) {
    std::unique_ptr<tz::NoGradGuard> guard;
    if (!record) guard = std::make_unique<tz::NoGradGuard>();
    tz::Tensor y = x;
    for (int i = 0; i < 1000; ++i) y = tz::add(y, 1.0);
    benchmark::DoNotOptimize(y);
  }
  state.counters["ns_per_op"] = benchmark::Counter(1000.0 * state.iterations(),
                                                   benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

static void BM_chain_grad_on(benchmark::State& s) { chain(s, true); }
static void BM_chain_grad_off(benchmark::State& s) { chain(s, false); }
BENCHMARK(BM_chain_grad_on)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_chain_grad_off)->Unit(benchmark::kMicrosecond);

// The same chain including the backward pass.
static void BM_chain_forward_backward(benchmark::State& state) {
  tz::set_num_threads(1);
  tz::Tensor x = tz::raw::ones({16});
  x.set_requires_grad(true);
  for (auto _ : state) {
    tz::Tensor y = x;
    for (int i = 0; i < 1000; ++i) y = tz::add(y, 1.0);
    tz::sum(y).backward();
    x.set_grad(tz::Tensor());
  }
}
BENCHMARK(BM_chain_forward_backward)->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();
