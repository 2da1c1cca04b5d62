// The weight products of the BERT-style graph-free inference path (inference.h): a Linear layer's
//   Y[m, out] = act(X[m, in] W^T + bias)
// on raw row-major buffers, for a band of output columns or a band of rows, and several such
// products shared out between threads by output columns as if their weights were one matrix.
// Every weight product of that path goes through dense_columns, so the weight's format is decided
// in this one place: float32, or the int8 / bf16 copy a layer holds (nn/low_precision.h), whose
// kernels take the same X, bias, activation, Y and column band.
// Not here: the attention products (q k^T and probs v, inference.cpp), the GEMM kernels
// themselves (tensor/kernels/gemm.h).
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <utility>

#include "nn/layers.h"
#include "tensor/kernels/fused.h"

namespace tz::blocks {

/// A Linear layer's parameters as the inference path reads them: weight [out, in] row-major,
/// bias [out] or null. Borrowed: the layer must outlive every product run with them.
struct DenseWeights {
  const float* weight = nullptr;
  const float* bias = nullptr;
  int64_t in = 0, out = 0;
  const nn::LowPrecisionDense* lowp = nullptr;  // the layer's int8 / bf16 copy, when it has one
};

/// The weights of `layer` (float32 and contiguous: throws naming the layer's shape otherwise),
/// with its prepared int8 / bf16 copy when set_precision gave it one.
DenseWeights dense_weights(const nn::Linear& layer);

/// One product to run: X [m, w.in] with leading dim ldx into Y [m, w.out] with leading dim ldy,
/// then `act` on what was written.
struct DenseProduct {
  const DenseWeights* w = nullptr;
  const float* X = nullptr;
  int64_t ldx = 0;
  float* Y = nullptr;
  int64_t ldy = 0;
  kernels::FusedAct act = kernels::FusedAct::None;
};

/// Columns [c0, c1) of the product on all m rows (0, w.out: the whole product), single-threaded.
/// `vec` false runs the activation's scalar reference (kernels::use_reference() picks the GEMM's).
void dense_columns(bool vec, const DenseProduct& p, int64_t m, int64_t c0, int64_t c1);

/// Rows [r0, r1) of the product, all columns, single-threaded.
void dense_rows(bool vec, const DenseProduct& p, int64_t r0, int64_t r1);

/// Thread t's band [first, second) of `total` output columns shared out between P threads. Band
/// edges fall on multiples of 16 columns, so no thread gets a ragged GEMM edge it would not have
/// had anyway; the last band ends at `total`. Bands may be empty when total is small.
std::pair<int64_t, int64_t> thread_column_band(int64_t total, int64_t t, int64_t P);

/// The products side by side, as if their weights were one matrix of sum(out) rows: each of the
/// threads takes one band of those columns (a multiple of 16 wide) and runs, on all m rows, the
/// pieces of the products in its band. So each weight is read (and packed) by one thread only,
/// which pays when m is small and the weights are most of the memory traffic. At most 4 products.
void dense_columns_parallel(bool vec, int64_t m, std::initializer_list<DenseProduct> products);

/// fn(r0, r1) on one chunk of [0, n) per thread (tensor/parallel.h).
void parallel_row_chunks(int64_t n, const std::function<void(int64_t, int64_t)>& fn);

}  // namespace tz::blocks
