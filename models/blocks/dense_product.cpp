// The weight products of the BERT-style inference path; see dense_product.h.
#include "models/blocks/dense_product.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "core/error.h"
#include "tensor/kernels/gemm.h"
#include "tensor/parallel.h"

namespace tz::blocks {

DenseWeights dense_weights(const nn::Linear& layer) {
  const Tensor& w = layer.weight;
  TZ_CHECK(w.dtype() == DType::Float32 && w.is_contiguous() && w.dim() == 2,
           "inference path: a Linear weight must be contiguous float32 [out, in], got ", shape_str(w.shape()));
  DenseWeights d;
  d.weight = w.data<float>();
  d.out = w.size(0);
  d.in = w.size(1);
  if (layer.bias.defined()) {
    TZ_CHECK(layer.bias.dtype() == DType::Float32 && layer.bias.is_contiguous() && layer.bias.numel() == d.out,
             "inference path: a Linear bias must be contiguous float32 [", d.out, "], got ",
             shape_str(layer.bias.shape()));
    d.bias = layer.bias.data<float>();
  }
  if (layer.precision() != nn::Precision::Float32) d.lowp = &layer;
  return d;
}

// Which kernel computes a band:
// - a prepared int8 / bf16 weight: its kernel, with the bias and activation fused into the output;
// - few rows against a long, wide weight (kernels::sgemm_nt_direct_pays): sgemm_nt_direct reads
//   the weight in place instead of packing it, and adds the bias as it writes Y;
// - otherwise OpenBLAS: the bias rows are written first and the GEMM accumulates onto them (beta
//   1), which spares a separate pass for the bias; only the order of the float additions differs.
// Then the activation, on the band while it is in cache.
void dense_columns(bool vec, const DenseProduct& p, int64_t m, int64_t c0, int64_t c1) {
  if (c0 >= c1 || m <= 0) return;
  const DenseWeights& w = *p.w;
  if (w.lowp) return w.lowp->run_columns(m, p.X, p.ldx, w.bias, p.act, p.Y, p.ldy, c0, c1);
  const int64_t n = c1 - c0;
  const float* W = w.weight + c0 * w.in;
  const float* bias = w.bias ? w.bias + c0 : nullptr;
  float* Y = p.Y + c0;
  if (kernels::sgemm_nt_direct_pays(m, n, w.in)) {
    kernels::sgemm_nt_direct(m, n, w.in, p.X, p.ldx, W, w.in, bias, Y, p.ldy);
  } else {
    if (bias)
      for (int64_t r = 0; r < m; ++r) std::memcpy(Y + r * p.ldy, bias, static_cast<size_t>(n) * sizeof(float));
    kernels::sgemm(false, true, m, n, w.in, 1.f, p.X, p.ldx, W, w.in, bias ? 1.f : 0.f, Y, p.ldy);
  }
  if (p.act != kernels::FusedAct::None) kernels::bias_act_rows(vec, p.act, m, n, Y, p.ldy, nullptr);
}

void dense_rows(bool vec, const DenseProduct& p, int64_t r0, int64_t r1) {
  DenseProduct band = p;
  band.X = p.X + r0 * p.ldx;
  band.Y = p.Y + r0 * p.ldy;
  dense_columns(vec, band, r1 - r0, 0, p.w->out);
}

std::pair<int64_t, int64_t> thread_column_band(int64_t total, int64_t t, int64_t P) {
  const int64_t lo = std::min(total, (total * t / P + 8) / 16 * 16);
  const int64_t hi = t + 1 == P ? total : std::min(total, (total * (t + 1) / P + 8) / 16 * 16);
  return {lo, hi};
}

void dense_columns_parallel(bool vec, int64_t m, std::initializer_list<DenseProduct> list) {
  constexpr size_t kMax = 4;
  TZ_CHECK(list.size() <= kMax, "dense_columns_parallel: at most ", kMax, " products, got ", list.size());
  const DenseProduct* products = list.begin();
  std::array<int64_t, kMax + 1> start{};  // where each product's columns begin in the joint matrix
  for (size_t i = 0; i < list.size(); ++i) start[i + 1] = start[i] + products[i].w->out;
  const int64_t total = start[list.size()], P = get_num_threads();
  parallel_for(0, P, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const auto [lo, hi] = thread_column_band(total, t, P);
      for (size_t i = 0; i < list.size(); ++i) {
        const int64_t c0 = std::max(lo, start[i]) - start[i], c1 = std::min(hi, start[i + 1]) - start[i];
        dense_columns(vec, products[i], m, c0, c1);
      }
    }
  });
}

void parallel_row_chunks(int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
  const int64_t threads = get_num_threads();
  parallel_for(0, n, std::max<int64_t>(1, (n + threads - 1) / threads), fn);
}

}  // namespace tz::blocks
