// One ConvBERT encoder layer at the bench shapes (batch 8 x seq 128 and 1 x 128), through the
// graph-free inference path (models/convbert/inference.h) and through the plain op-by-op path,
// on 1 and 2 threads; the counter GFLOP/s uses the same FLOP count as `tensorzoo bench`.
// Run: build/bench_layers --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <string>

#include "autograd/grad_mode.h"
#include "models/convbert/encoder.h"
#include "models/convbert/inference.h"
#include "nn/init.h"
#include "tensor/ops.h"
#include "tensor/parallel.h"

namespace {

using namespace tz;
using namespace tz::convbert;

const char* kConfigs[] = {"small", "medium-small", "base"};

// args: config index, batch, threads, fast (1) or plain (0)
void BM_encoder_layer(benchmark::State& state) {
  ConvBertConfig c = ConvBertConfig::named(kConfigs[state.range(0)]);
  c.num_hidden_layers = 1;
  const int64_t B = state.range(1), T = 128;
  set_num_threads(static_cast<int>(state.range(2)));
  const bool fast = state.range(3) != 0;
  Encoder enc(c);
  Generator gen(1);
  nn::init_weights_like_hf(enc, c.initializer_range, gen);
  enc.eval();
  Tensor x = raw::randn({B, T, c.hidden_size}, gen);
  Tensor mask = raw::zeros({B, 1, 1, T});
  NoGradGuard no_grad;
  for (auto _ : state) {
    Tensor y = fast ? encoder_forward_inference(enc, c, x, mask) : enc.forward(x, mask, Tensor(), false, false).last_hidden_state;
    benchmark::DoNotOptimize(y.data<float>());
  }
  ConvBertConfig no_proj = c;
  no_proj.embedding_size = c.hidden_size;  // count the layer only
  state.counters["GFLOP/s"] = benchmark::Counter(forward_flops(no_proj, B, T) / 1e9 * static_cast<double>(state.iterations()),
                                                 benchmark::Counter::kIsRate);
  state.SetLabel(std::string(kConfigs[state.range(0)]) + " " + std::to_string(B) + "x128 threads=" +
                 std::to_string(state.range(2)) + (fast ? " inference-path" : " plain-path"));
}
BENCHMARK(BM_encoder_layer)
    ->ArgsProduct({{0, 1, 2}, {1, 8}, {1, 2}, {1, 0}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
