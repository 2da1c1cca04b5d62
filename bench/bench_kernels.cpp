// Kernel throughput in GB/s (bytes each op must read + write, counted once) at ConvBERT-base
// activation shapes: [8*128, 768] (hidden states) and [8*12*128, 128] (per-head rows), on 1 and 2
// threads. "copy" is the streaming-bandwidth yardstick (memcpy split over the same threads);
// "op" benchmarks call tz::raw (allocation of the output included), "kernel" benchmarks write
// into a preallocated output, which shows what allocation costs.
// Run: build/bench_kernels --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <cstring>

#include "tensor/kernels/elementwise.h"
#include "tensor/kernels/softmax.h"
#include "tensor/ops.h"
#include "tensor/parallel.h"

namespace {

using tz::Tensor;

const tz::Shape kShapes[] = {{8 * 128, 768}, {8 * 12 * 128, 128}};

struct Setup {
  Tensor a, b, w, bias;
  int64_t rows, cols, n;
  explicit Setup(benchmark::State& state) {
    tz::set_num_threads(static_cast<int>(state.range(1)));
    const tz::Shape& s = kShapes[state.range(0)];
    tz::Generator gen(1);
    a = tz::raw::randn(s, gen);
    b = tz::raw::randn(s, gen);
    rows = s[0];
    cols = s[1];
    n = rows * cols;
    w = tz::raw::randn({cols}, gen);
    bias = tz::raw::randn({cols}, gen);
    state.SetLabel(tz::shape_str(s) + " threads=" + std::to_string(state.range(1)));
  }
  void done(benchmark::State& state, int64_t floats_moved) const {
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * floats_moved * 4);
  }
};

void BM_copy(benchmark::State& state) {
  Setup s(state);
  Tensor out = tz::raw::zeros(s.a.shape());
  const float* src = s.a.data<float>();
  float* dst = out.data<float>();
  for (auto _ : state) {
    tz::parallel_for(0, s.n, 1 << 15, [&](int64_t b, int64_t e) {
      std::memcpy(dst + b, src + b, static_cast<size_t>(e - b) * 4);
    });
    benchmark::ClobberMemory();
  }
  s.done(state, 2 * s.n);
}

// The machine's streaming (DRAM) copy bandwidth, STREAM-style: two 256 MB arrays, far beyond
// every cache (32 MB L3 here), so each pass reads and writes main memory. BM_copy above works on
// the kernels' own [1024, 768] shape, whose 3 MB operands stay in L2/L3: that is the stricter
// yardstick. bench/README.md reports the elementwise kernels against both.
void BM_copy_stream(benchmark::State& state) {
  tz::set_num_threads(static_cast<int>(state.range(1)));
  const int64_t n = int64_t{64} << 20;
  Tensor a = tz::raw::full({n}, 1.f), out = tz::raw::zeros({n});
  const float* src = a.data<float>();
  float* dst = out.data<float>();
  state.SetLabel("[64M] (256 MB) threads=" + std::to_string(state.range(1)));
  // One memcpy per thread: at this size glibc switches to non-temporal stores (no read for
  // ownership of the destination), the fastest copy the machine offers.
  const int64_t per_thread = n / state.range(1);
  for (auto _ : state) {
    tz::parallel_for(0, n, per_thread, [&](int64_t b, int64_t e) {
      std::memcpy(dst + b, src + b, static_cast<size_t>(e - b) * 4);
    });
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * 2 * n * 4);
}

void BM_add_op(benchmark::State& state) {
  Setup s(state);
  for (auto _ : state) benchmark::DoNotOptimize(tz::raw::add(s.a, s.b));
  s.done(state, 3 * s.n);
}

void BM_add_kernel(benchmark::State& state) {
  Setup s(state);
  Tensor out = tz::raw::zeros(s.a.shape());
  const float* pa = s.a.data<float>();
  const float* pb = s.b.data<float>();
  float* py = out.data<float>();
  for (auto _ : state) {
    tz::parallel_for(0, s.n, 1 << 15, [&](int64_t b, int64_t e) {
      tz::kernels::binary_run(tz::kernels::BinaryOp::Add, 0.f, e - b, pa + b, 1, pb + b, 1, py + b, 1);
    });
    benchmark::ClobberMemory();
  }
  s.done(state, 3 * s.n);
}

void BM_bias_add_op(benchmark::State& state) {  // [N, C] + [C]
  Setup s(state);
  for (auto _ : state) benchmark::DoNotOptimize(tz::raw::add(s.a, s.bias));
  s.done(state, 2 * s.n);
}

void BM_gelu_op(benchmark::State& state) {
  Setup s(state);
  for (auto _ : state) benchmark::DoNotOptimize(tz::raw::gelu(s.a));
  s.done(state, 2 * s.n);
}

void BM_gelu_kernel(benchmark::State& state) {
  Setup s(state);
  Tensor out = tz::raw::zeros(s.a.shape());
  const float* pa = s.a.data<float>();
  float* py = out.data<float>();
  for (auto _ : state) {
    tz::parallel_for(0, s.n, 1 << 13, [&](int64_t b, int64_t e) {
      tz::kernels::pointwise_run(tz::Pointwise::Gelu, e - b, pa + b, 1, py + b, 1);
    });
    benchmark::ClobberMemory();
  }
  s.done(state, 2 * s.n);
}

void BM_gelu_new_op(benchmark::State& state) {  // HF "gelu_new" (tanh form)
  Setup s(state);
  for (auto _ : state) benchmark::DoNotOptimize(tz::raw::gelu_new(s.a));
  s.done(state, 2 * s.n);
}

void BM_softmax_op(benchmark::State& state) {
  Setup s(state);
  for (auto _ : state) benchmark::DoNotOptimize(tz::raw::softmax(s.a, -1));
  s.done(state, 2 * s.n);
}

void BM_softmax_kernel(benchmark::State& state) {
  Setup s(state);
  Tensor out = tz::raw::zeros(s.a.shape());
  const float* pa = s.a.data<float>();
  float* py = out.data<float>();
  for (auto _ : state) {
    tz::parallel_for(0, s.rows, 16, [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) tz::kernels::softmax_row(s.cols, pa + r * s.cols, py + r * s.cols);
    });
    benchmark::ClobberMemory();
  }
  s.done(state, 2 * s.n);
}

void BM_layer_norm_op(benchmark::State& state) {
  Setup s(state);
  for (auto _ : state) benchmark::DoNotOptimize(tz::raw::layer_norm(s.a, s.w, s.bias, 1e-12));
  s.done(state, 2 * s.n);
}

void BM_sum_rows_op(benchmark::State& state) {  // sum over the last dim
  Setup s(state);
  for (auto _ : state) benchmark::DoNotOptimize(tz::raw::sum(s.a, {1}));
  s.done(state, s.n);
}

void BM_sum_cols_op(benchmark::State& state) {  // bias gradient: sum over rows
  Setup s(state);
  for (auto _ : state) benchmark::DoNotOptimize(tz::raw::sum(s.a, {0}));
  s.done(state, s.n);
}

// ---- backward kernels of a training step --------------------------------------------------

void BM_gelu_backward_op(benchmark::State& state) {
  Setup s(state);
  for (auto _ : state) benchmark::DoNotOptimize(tz::raw::gelu_backward(s.b, s.a));
  s.done(state, 3 * s.n);
}

void BM_gelu_new_backward_op(benchmark::State& state) {
  Setup s(state);
  for (auto _ : state) benchmark::DoNotOptimize(tz::raw::gelu_new_backward(s.b, s.a));
  s.done(state, 3 * s.n);
}

void BM_softmax_backward_op(benchmark::State& state) {
  Setup s(state);
  const Tensor y = tz::raw::softmax(s.a, -1);
  for (auto _ : state) benchmark::DoNotOptimize(tz::raw::softmax_backward(s.b, y, -1));
  s.done(state, 3 * s.n);
}

void BM_layer_norm_backward_op(benchmark::State& state) {
  Setup s(state);
  const auto fwd = tz::raw::layer_norm(s.a, s.w, s.bias, 1e-12);
  for (auto _ : state)
    benchmark::DoNotOptimize(tz::raw::layer_norm_backward(s.b, s.a, fwd.mean, fwd.rstd, s.w));
  s.done(state, 3 * s.n);
}

// ConvBERT's dynamic convolution at conv-bert-small, batch 8 x 128: unfold of [B, T, C] with
// K = 9 taps, C = 128 channels (the conv half of 256 hidden units), and its adjoint.
void BM_unfold_backward_op(benchmark::State& state) {
  tz::set_num_threads(static_cast<int>(state.range(1)));
  const int64_t B = 8, T = 128, C = 128, K = 9;
  tz::Generator gen(1);
  const Tensor g = tz::raw::randn({B, T, C, K}, gen);
  state.SetLabel("[8,128,128,9] threads=" + std::to_string(state.range(1)));
  for (auto _ : state) benchmark::DoNotOptimize(tz::raw::unfold1d_backward(g, K, K / 2));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * (B * T * C * K + B * T * C) * 4);
}

void BM_unfold_op(benchmark::State& state) {
  tz::set_num_threads(static_cast<int>(state.range(1)));
  const int64_t B = 8, T = 128, C = 128, K = 9;
  tz::Generator gen(1);
  const Tensor x = tz::raw::randn({B, T, C}, gen);
  state.SetLabel("[8,128,128] K=9 threads=" + std::to_string(state.range(1)));
  for (auto _ : state) benchmark::DoNotOptimize(tz::raw::unfold1d(x, K, K / 2));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * (B * T * C * K + B * T * C) * 4);
}

// The depthwise separable convolution's depthwise part: [B, C, T] = [8, 256, 128], K = 9.
void BM_depthwise_conv_backward_op(benchmark::State& state) {
  tz::set_num_threads(static_cast<int>(state.range(1)));
  const int64_t B = 8, C = 256, T = 128, K = 9;
  tz::Generator gen(1);
  const Tensor x = tz::raw::randn({B, C, T}, gen), w = tz::raw::randn({C, 1, K}, gen);
  const Tensor g = tz::raw::randn({B, C, T}, gen);
  state.SetLabel("[8,256,128] K=9 threads=" + std::to_string(state.range(1)));
  for (auto _ : state) benchmark::DoNotOptimize(tz::raw::depthwise_conv1d_backward(g, x, w, K / 2, true));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * 3 * B * C * T * 4);
}

// Word-embedding gradient: 8 x 128 ids into a [30522, 256] table (the zero-filled table dominates).
void BM_embedding_backward_op(benchmark::State& state) {
  tz::set_num_threads(static_cast<int>(state.range(1)));
  tz::Generator gen(1);
  const Tensor ids = tz::raw::randint({8, 128}, 0, 30522, gen);
  const Tensor g = tz::raw::randn({8, 128, 256}, gen);
  state.SetLabel("[8,128] ids, [30522,256] table threads=" + std::to_string(state.range(1)));
  for (auto _ : state) benchmark::DoNotOptimize(tz::raw::embedding_backward(g, ids, 30522, 0));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * (30522 + 2 * 8 * 128) * 256 * 4);
}

void threads_only(benchmark::internal::Benchmark* b) {
  for (int64_t threads : {1, 2}) b->Args({0, threads});
  b->UseRealTime()->Unit(benchmark::kMicrosecond);
}

void shapes_and_threads(benchmark::internal::Benchmark* b) {
  for (int64_t shape : {0, 1})
    for (int64_t threads : {1, 2}) b->Args({shape, threads});
  b->UseRealTime()->Unit(benchmark::kMicrosecond);
}

}  // namespace

BENCHMARK(BM_copy)->Apply(shapes_and_threads);
BENCHMARK(BM_copy_stream)->Apply(threads_only);
BENCHMARK(BM_add_op)->Apply(shapes_and_threads);
BENCHMARK(BM_add_kernel)->Apply(shapes_and_threads);
BENCHMARK(BM_bias_add_op)->Apply(shapes_and_threads);
BENCHMARK(BM_gelu_op)->Apply(shapes_and_threads);
BENCHMARK(BM_gelu_kernel)->Apply(shapes_and_threads);
BENCHMARK(BM_gelu_new_op)->Apply(shapes_and_threads);
BENCHMARK(BM_softmax_op)->Apply(shapes_and_threads);
BENCHMARK(BM_softmax_kernel)->Apply(shapes_and_threads);
BENCHMARK(BM_layer_norm_op)->Apply(shapes_and_threads);
BENCHMARK(BM_sum_rows_op)->Apply(shapes_and_threads);
BENCHMARK(BM_sum_cols_op)->Apply(shapes_and_threads);
BENCHMARK(BM_gelu_backward_op)->Apply(shapes_and_threads);
BENCHMARK(BM_gelu_new_backward_op)->Apply(shapes_and_threads);
BENCHMARK(BM_softmax_backward_op)->Apply(shapes_and_threads);
BENCHMARK(BM_layer_norm_backward_op)->Apply(shapes_and_threads);
BENCHMARK(BM_unfold_op)->Apply(threads_only);
BENCHMARK(BM_unfold_backward_op)->Apply(threads_only);
BENCHMARK(BM_depthwise_conv_backward_op)->Apply(threads_only);
BENCHMARK(BM_embedding_backward_op)->Apply(threads_only);

BENCHMARK_MAIN();
