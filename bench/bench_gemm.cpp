// GEMM wrapper overhead: tz::raw::matmul / tz::raw::linear against raw cblas_sgemm at ConvBERT
// shapes, in GFLOP/s, at 1 and 2 threads. The raw calls run OpenBLAS with its own threads (kernels::OpenBlasThreadsScope);
// the wrapper splits large products over our pool with OpenBLAS single-threaded. The raw calls
// write into a preallocated C; the wrapper allocates its output on every call, as real code does,
// so the comparison includes everything the wrapper costs. Also a batch of attention-sized
// products, where the wrapper parallelises over the batch instead of inside each product,
// our own kernels::sgemm_nt_direct against cblas_sgemm at batch-1 shapes (BM_direct_paired), and
// the int8 and bf16 Linear kernels against the float product at ConvBERT's Linear shapes
// (BM_lowp_paired).
//
//   ./build/bench_gemm --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
// Args: M, K, N (x [M, K] times [K, N]) and threads. On a shared machine trust BM_paired's
// "tz/raw" column over comparing separate rows.
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <time.h>

#include <chrono>
#include <algorithm>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "tensor/kernels/gemm.h"
#include "tensor/kernels/gemm_bf16.h"
#include "tensor/kernels/gemm_int8.h"
#include "tensor/ops.h"
#include "tensor/parallel.h"

namespace {

using tz::Tensor;

Tensor random(const tz::Shape& s, uint64_t seed) {
  tz::Generator g(seed);
  return tz::raw::randn(s, g);
}

void set_flops(benchmark::State& state, double flops_per_iter) {
  // Rate counter scaled to 1e9: the column reads directly as GFLOP/s.
  state.counters["GFLOP/s"] = benchmark::Counter(flops_per_iter * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

struct Dims {
  int64_t M, K, N;
  explicit Dims(const benchmark::State& s) : M(s.range(0)), K(s.range(1)), N(s.range(2)) {
    tz::set_num_threads(static_cast<int>(s.range(3)));
  }
  double flops() const { return 2.0 * M * K * N; }
};

// C = A B, A [M, K] and B [K, N] row-major.
void BM_cblas_sgemm_nn(benchmark::State& state) {
  Dims d(state);
  tz::kernels::OpenBlasThreadsScope blas(static_cast<int>(state.range(3)));
  Tensor a = random({d.M, d.K}, 1), b = random({d.K, d.N}, 2), c = tz::raw::zeros({d.M, d.N});
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d.M, d.N, d.K, 1.f, a.data<float>(), d.K,
                b.data<float>(), d.N, 0.f, c.data<float>(), d.N);
    benchmark::DoNotOptimize(c.data<float>());
  }
  set_flops(state, d.flops());
}

void BM_tz_matmul(benchmark::State& state) {
  Dims d(state);
  Tensor a = random({d.M, d.K}, 1), b = random({d.K, d.N}, 2);
  for (auto _ : state) {
    Tensor c = tz::raw::matmul(a, b);
    benchmark::DoNotOptimize(c.data<float>());
  }
  set_flops(state, d.flops());
}

// C = A W^T with W [N, K], the layout of a Linear weight.
void BM_cblas_sgemm_nt(benchmark::State& state) {
  Dims d(state);
  tz::kernels::OpenBlasThreadsScope blas(static_cast<int>(state.range(3)));
  Tensor a = random({d.M, d.K}, 1), w = random({d.N, d.K}, 2), c = tz::raw::zeros({d.M, d.N});
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, d.M, d.N, d.K, 1.f, a.data<float>(), d.K,
                w.data<float>(), d.K, 0.f, c.data<float>(), d.N);
    benchmark::DoNotOptimize(c.data<float>());
  }
  set_flops(state, d.flops());
}

// x [8, M/8, K] @ W^T + b: the batch folds into one sgemm, bias goes in through beta = 1.
void BM_tz_linear_bias(benchmark::State& state) {
  Dims d(state);
  Tensor x = random({8, d.M / 8, d.K}, 1), w = random({d.N, d.K}, 2), b = random({d.N}, 3);
  for (auto _ : state) {
    Tensor c = tz::raw::linear(x, w, b);
    benchmark::DoNotOptimize(c.data<float>());
  }
  set_flops(state, d.flops());
}

void BM_tz_matmul_transposed_view(benchmark::State& state) {
  Dims d(state);
  Tensor a = random({d.M, d.K}, 1), w = random({d.N, d.K}, 2);
  Tensor wt = tz::raw::transpose(w, 0, 1);
  for (auto _ : state) {
    Tensor c = tz::raw::matmul(a, wt);
    benchmark::DoNotOptimize(c.data<float>());
  }
  set_flops(state, d.flops());
}

// Paired runs for a noisy, shared machine: every iteration times the raw call and the wrapper
// back to back, so both see the same background load; "tz/raw" is the ratio of their total
// times (1.00 = no overhead, 1.05 = 5% slower). range(4) picks the pair: 0 = matmul vs NN sgemm,
// 1 = linear (with bias) vs NT sgemm (the bias fill is part of the wrapper's cost).
void BM_paired(benchmark::State& state) {
  Dims d(state);
  const bool lin = state.range(4) == 1;
  Tensor a = random({d.M, d.K}, 1), b = random(lin ? tz::Shape{d.N, d.K} : tz::Shape{d.K, d.N}, 2);
  Tensor bias = random({d.N}, 3), c = tz::raw::zeros({d.M, d.N});
  using clock = std::chrono::steady_clock;
  double raw_s = 0, tz_s = 0;
  for (auto _ : state) {
    const auto t0 = clock::now();
    {
      tz::kernels::OpenBlasThreadsScope blas(static_cast<int>(state.range(3)));
      cblas_sgemm(CblasRowMajor, CblasNoTrans, lin ? CblasTrans : CblasNoTrans, d.M, d.N, d.K, 1.f,
                  a.data<float>(), d.K, b.data<float>(), lin ? d.K : d.N, 0.f, c.data<float>(), d.N);
      benchmark::DoNotOptimize(c.data<float>());
    }
    const auto t1 = clock::now();
    Tensor r = lin ? tz::raw::linear(a, b, bias) : tz::raw::matmul(a, b);
    benchmark::DoNotOptimize(r.data<float>());
    const auto t2 = clock::now();
    raw_s += std::chrono::duration<double>(t1 - t0).count();
    tz_s += std::chrono::duration<double>(t2 - t1).count();
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["raw GFLOP/s"] = d.flops() * n / raw_s * 1e-9;
  state.counters["tz GFLOP/s"] = d.flops() * n / tz_s * 1e-9;
  state.counters["tz/raw"] = tz_s / raw_s;
}

// kernels::sgemm_nt_direct against cblas_sgemm (bias written first, beta = 1, as the inference
// path calls OpenBLAS) for few rows x = [M, K] against a Linear weight [N, K], one thread, paired as
// above: "direct/blas" is the ratio of total times (below 1.00 = direct faster). The weights
// cycle through 16 copies (16 x 2.4-9.4 MB, past any L3 cache), so that, as in a forward of base,
// every product reads its weight from memory.
void BM_direct_paired(benchmark::State& state) {
  const int64_t M = state.range(0), K = state.range(1), N = state.range(2);
  tz::set_num_threads(1);
  constexpr int kCopies = 16;
  std::vector<Tensor> w;
  for (int i = 0; i < kCopies; ++i) w.push_back(random({N, K}, 10 + static_cast<uint64_t>(i)));
  Tensor x = random({M, K}, 1), bias = random({N}, 2), c = tz::raw::zeros({M, N});
  using clock = std::chrono::steady_clock;
  double blas_s = 0, direct_s = 0;
  int i = 0;
  for (auto _ : state) {
    const float* wi = w[static_cast<size_t>(i++ % kCopies)].data<float>();
    const float* wj = w[static_cast<size_t>(i++ % kCopies)].data<float>();
    const auto t0 = clock::now();
    for (int64_t r = 0; r < M; ++r) std::copy_n(bias.data<float>(), N, c.data<float>() + r * N);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.f, x.data<float>(), K, wi, K, 1.f,
                c.data<float>(), N);
    benchmark::DoNotOptimize(c.data<float>());
    const auto t1 = clock::now();
    tz::kernels::sgemm_nt_direct(M, N, K, x.data<float>(), K, wj, K, bias.data<float>(), c.data<float>(), N);
    benchmark::DoNotOptimize(c.data<float>());
    const auto t2 = clock::now();
    blas_s += std::chrono::duration<double>(t1 - t0).count();
    direct_s += std::chrono::duration<double>(t2 - t1).count();
  }
  const double n = static_cast<double>(state.iterations()), flops = 2.0 * M * K * N;
  state.counters["blas GFLOP/s"] = flops * n / blas_s * 1e-9;
  state.counters["direct GFLOP/s"] = flops * n / direct_s * 1e-9;
  state.counters["direct/blas"] = direct_s / blas_s;
}

void direct_shapes(benchmark::internal::Benchmark* b) {
  // base's products at batch 1 x 128, whole and as one of two threads' column bands
  for (auto [M, K, N] : {std::tuple<int64_t, int64_t, int64_t>{128, 768, 768}, {128, 768, 384}, {128, 768, 3072},
                         {128, 768, 1536}, {128, 3072, 768}, {128, 3072, 384}, {256, 768, 768}})
    b->Args({M, K, N});
  // small's and medium-small's products at batch 1 x 128, whole and as one of two threads' column
  // bands (OpenBLAS takes them unless its vectors are narrower than ours)
  for (auto [M, K, N] : {std::tuple<int64_t, int64_t, int64_t>{128, 256, 256}, {128, 256, 128}, {128, 256, 1024},
                         {128, 256, 512}, {128, 1024, 256}, {128, 1024, 128}, {128, 384, 384}, {128, 384, 192}})
    b->Args({M, K, N});
  // small's products (hidden 256, FFN 1024) and base's, at one of two threads' rows of batch 8 x 128
  // (where the direct kernel runs when OpenBLAS's vectors are narrower than ours)
  for (auto [M, K, N] : {std::tuple<int64_t, int64_t, int64_t>{512, 256, 256}, {512, 256, 1024}, {512, 1024, 256},
                         {512, 768, 768}, {512, 768, 3072}, {512, 3072, 768}})
    b->Args({M, K, N});
  b->ArgNames({"M", "K", "N"})->UseRealTime()->Unit(benchmark::kMillisecond)->MinTime(1.0);
}

// A Linear layer's Y = X W^T + bias at the same shape three ways, back to back in every iteration
// so that all three see the same background load, one thread: float32 as the inference path runs
// it (sgemm_nt_direct where sgemm_nt_direct_pays, else the bias written first and cblas_sgemm with
// beta = 1), int8 (linear_int8: the quantization of X included) and bf16 weights (linear_bf16),
// each with the kernel the CPU gets by default (named in the label). "int8/f32" and "bf16/f32" are
// ratios of total times (below 1.00 = faster than float), timed as the thread's CPU time: on a
// shared machine, time the thread spends descheduled would otherwise land on whichever product
// happened to be running. Weights cycle through 16 copies of each kind, as in BM_direct_paired, so
// each product reads its weight from memory as a forward does.
void BM_lowp_paired(benchmark::State& state) {
  const int64_t M = state.range(0), K = state.range(1), N = state.range(2);
  tz::set_num_threads(1);
  constexpr int kCopies = 16;
  std::vector<Tensor> wf;
  std::vector<tz::kernels::Int8Weight> w8;
  std::vector<tz::kernels::Bf16Weight> wh;
  for (int i = 0; i < kCopies; ++i) {
    wf.push_back(random({N, K}, 10 + static_cast<uint64_t>(i)));
    w8.push_back(tz::kernels::quantize_int8_weight(N, K, wf.back().data<float>(), K, 1));
    wh.push_back(tz::kernels::convert_bf16_weight(N, K, wf.back().data<float>(), K, 1));
  }
  Tensor x = random({M, K}, 1), bias = random({N}, 2), c = tz::raw::zeros({M, N});
  const float* xp = x.data<float>();
  const float* bp = bias.data<float>();
  float* cp = c.data<float>();
  auto cpu_seconds = [] {
    timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
  };
  double f32_s = 0, int8_s = 0, bf16_s = 0;
  size_t i = 0;
  const bool direct = tz::kernels::sgemm_nt_direct_pays(M, N, K);
  for (auto _ : state) {
    const float* wi = wf[i % kCopies].data<float>();
    const double t0 = cpu_seconds();
    if (direct) {
      tz::kernels::sgemm_nt_direct(M, N, K, xp, K, wi, K, bp, cp, N);
    } else {
      for (int64_t r = 0; r < M; ++r) std::copy_n(bp, N, cp + r * N);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.f, xp, K, wi, K, 1.f, cp, N);
    }
    benchmark::DoNotOptimize(cp);
    const double t1 = cpu_seconds();
    tz::kernels::linear_int8(M, xp, K, w8[(i + 5) % kCopies], bp, tz::kernels::FusedAct::None, cp, N);
    benchmark::DoNotOptimize(cp);
    const double t2 = cpu_seconds();
    tz::kernels::linear_bf16(M, xp, K, wh[(i + 11) % kCopies], bp, tz::kernels::FusedAct::None, cp, N);
    benchmark::DoNotOptimize(cp);
    const double t3 = cpu_seconds();
    ++i;
    f32_s += t1 - t0;
    int8_s += t2 - t1;
    bf16_s += t3 - t2;
  }
  const double n = static_cast<double>(state.iterations()), flops = 2.0 * M * K * N;
  state.counters["f32 GFLOP/s"] = flops * n / f32_s * 1e-9;
  state.counters["int8 GOP/s"] = flops * n / int8_s * 1e-9;
  state.counters["bf16 GFLOP/s"] = flops * n / bf16_s * 1e-9;
  state.counters["int8/f32"] = int8_s / f32_s;
  state.counters["bf16/f32"] = bf16_s / f32_s;
  state.SetLabel(std::string(direct ? "f32 direct" : "f32 blas") + ", int8 " +
                 tz::kernels::int8_kernel_name(tz::kernels::int8_kernel()) + ", bf16 " +
                 tz::kernels::bf16_kernel_name(tz::kernels::bf16_kernel()));
}

void lowp_shapes(benchmark::internal::Benchmark* b) {
  // ConvBERT's Linear products (K -> N): the projections (query, key, value, conv_out, pointwise:
  // hidden -> hidden / 2), the attention output (hidden -> hidden) and the feed-forward pair, for
  // small (hidden 256, FFN 1024), medium-small (384, 1536 in two groups: 192 -> 768 and back) and
  // base (768, 3072); at batch 1 x 128 and 8 x 128 rows.
  for (int64_t M : {128, 1024})
    for (auto [K, N] : {std::pair<int64_t, int64_t>{256, 128}, {256, 256}, {256, 1024}, {1024, 256},  // small
                        {384, 192}, {384, 384}, {192, 768}, {768, 192},                               // medium-small
                        {768, 384}, {768, 768}, {768, 3072}, {3072, 768}})                            // base
      b->Args({M, K, N});
  b->ArgNames({"M", "K", "N"})->UseRealTime()->Unit(benchmark::kMillisecond)->MinTime(0.5);
}

// Attention scores: [Bh, T, D] x [Bh, D, T] with Bh = range(0), T = range(1), D = range(2).
void BM_cblas_sgemm_batched_loop(benchmark::State& state) {
  const int64_t Bh = state.range(0), T = state.range(1), D = state.range(2);
  tz::set_num_threads(static_cast<int>(state.range(3)));
  Tensor q = random({Bh, T, D}, 1), k = random({Bh, T, D}, 2), s = tz::raw::zeros({Bh, T, T});
  for (auto _ : state) {
    for (int64_t i = 0; i < Bh; ++i)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, D, 1.f, q.data<float>() + i * T * D, D,
                  k.data<float>() + i * T * D, D, 0.f, s.data<float>() + i * T * T, T);
    benchmark::DoNotOptimize(s.data<float>());
  }
  set_flops(state, 2.0 * Bh * T * T * D);
}

void BM_tz_matmul_batched(benchmark::State& state) {
  const int64_t Bh = state.range(0), T = state.range(1), D = state.range(2);
  tz::set_num_threads(static_cast<int>(state.range(3)));
  Tensor q = random({Bh, T, D}, 1), k = random({Bh, T, D}, 2);
  Tensor kt = tz::raw::transpose(k, -1, -2);
  for (auto _ : state) {
    Tensor s = tz::raw::matmul(q, kt);
    benchmark::DoNotOptimize(s.data<float>());
  }
  set_flops(state, 2.0 * Bh * T * T * D);
}

void gemm_shapes(benchmark::internal::Benchmark* b) {
  for (int64_t threads : {1, 2})
    for (auto [M, K, N] : {std::tuple<int64_t, int64_t, int64_t>{1024, 768, 768}, {1024, 768, 3072}, {1024, 256, 1024}})
      b->Args({M, K, N, threads});
  b->ArgNames({"M", "K", "N", "threads"})->UseRealTime()->Unit(benchmark::kMillisecond)->MinTime(0.5);
}

void paired_shapes(benchmark::internal::Benchmark* b) {
  for (int64_t pair : {0, 1})
    for (int64_t threads : {1, 2})
      for (auto [M, K, N] : {std::tuple<int64_t, int64_t, int64_t>{1024, 768, 768}, {1024, 768, 3072}, {1024, 256, 1024}})
        b->Args({M, K, N, threads, pair});
  b->ArgNames({"M", "K", "N", "threads", "linear"})->UseRealTime()->Unit(benchmark::kMillisecond)->MinTime(1.0);
}

void attention_shapes(benchmark::internal::Benchmark* b) {
  for (int64_t threads : {1, 2}) b->Args({96, 128, 64, threads});  // 8 sequences x 12 heads, T 128, D 64
  b->ArgNames({"batch", "T", "D", "threads"})->UseRealTime()->Unit(benchmark::kMillisecond)->MinTime(0.5);
}

}  // namespace

BENCHMARK(BM_cblas_sgemm_nn)->Apply(gemm_shapes);
BENCHMARK(BM_tz_matmul)->Apply(gemm_shapes);
BENCHMARK(BM_cblas_sgemm_nt)->Apply(gemm_shapes);
BENCHMARK(BM_tz_linear_bias)->Apply(gemm_shapes);
BENCHMARK(BM_tz_matmul_transposed_view)->Apply(gemm_shapes);
BENCHMARK(BM_paired)->Apply(paired_shapes);
BENCHMARK(BM_direct_paired)->Apply(direct_shapes);
BENCHMARK(BM_lowp_paired)->Apply(lowp_shapes);
BENCHMARK(BM_cblas_sgemm_batched_loop)->Apply(attention_shapes);
BENCHMARK(BM_tz_matmul_batched)->Apply(attention_shapes);

int main(int argc, char** argv) {
  // Reported, never changed: the environment decides which kernels OpenBLAS uses.
  benchmark::AddCustomContext("openblas_core", tz::kernels::blas_core_name());
  const char* coretype = std::getenv("OPENBLAS_CORETYPE");
  benchmark::AddCustomContext("OPENBLAS_CORETYPE", coretype ? coretype : "(unset)");
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
