// Low-precision inference weights for the dense layers (Linear, ConvBERT's GroupedLinear): a
// layer keeps its float32 parameter, the one training and saving use, and may hold beside it a
// prepared int8 or bfloat16 copy that its forward uses when no gradient is recorded.
//   int8: weights symmetric per output channel with float scales, activations quantized per row
//         at run time, int32 sums, dequantize + bias (+ activation) on the way out.
//   bf16: weights rounded to bfloat16, activations and sums in float.
// The kernels and their numerics are in tensor/kernels/gemm_int8.h and gemm_bf16.h; this file
// only holds the prepared weights and runs them over a layer's groups. Not here: choosing a
// precision at load time and the int8 / bf16 model directory (models/registry.h, docs/checkpoints.md).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "nn/module.h"
#include "tensor/tensor.h"

namespace tz::kernels {
enum class FusedAct;  // tensor/kernels/fused.h: internal, like every kernel header
}  // namespace tz::kernels

namespace tz::nn {

/// The number format of a model's dense weight products at inference.
enum class Precision { Float32, Bfloat16, Int8 };

/// "f32", "bf16", "int8".
const char* precision_name(Precision p);
/// Parses "f32", "bf16" or "int8"; throws tz::Error naming `s` and the accepted values.
Precision parse_precision(const std::string& s);

/// A dense weight as G matrices W_g [N, K] (Y[:, g N + n] = sum_k X[:, g K + k] W_g[n, k]), element
/// (g, n, k) at offset g * group_stride + n * stride_n + k * stride_k of the parameter's data.
/// A Linear [out, in]: G = 1, N = out, K = in, strides (K, 1). A GroupedLinear [G, in/G, out/G]:
/// N = out/G, K = in/G, group_stride = K N, strides (1, N).
struct DenseLayout {
  int64_t groups = 1, N = 0, K = 0, group_stride = 0, stride_n = 0, stride_k = 1;
};

/// Mixed into a Module whose forward is a dense product with a float32 weight parameter.
class LowPrecisionDense {
 public:
  virtual ~LowPrecisionDense() = default;
  /// The float32 weight parameter and how it splits into groups.
  virtual const Tensor& dense_weight() const = 0;
  virtual DenseLayout dense_layout() const = 0;

  /// Prepares the low-precision copy from the float weight as it is now (Float32 drops it). A
  /// snapshot: after the weight changes (loading, training), call it again.
  void set_precision(Precision p);
  /// The int8 copy from stored values, without re-quantizing: q int64 in the weight's shape
  /// (values in [-127, 127]), scale float32 [G * N] (output channel g N + n). Throws tz::Error for
  /// shapes that do not fit the layout and for values the kernels refuse.
  void set_int8_weight(const Tensor& q, const Tensor& scale);
  /// The prepared int8 copy as set_int8_weight takes it (q int64 in the weight's shape, scale
  /// [G * N]); precision() must be Int8.
  std::pair<Tensor, Tensor> int8_weight() const;
  Precision precision() const { return precision_; }

  /// Y[m, c] = act(sum_k X[m, k] W[c, k] + bias[c]) in the prepared precision for the output
  /// columns c0 <= c < c1 of all G * N; X [M, G * K] with leading dim ldx; Y and bias indexed by
  /// absolute column (bias may be null). Single-threaded; precision() must not be Float32.
  void run_columns(int64_t M, const float* X, int64_t ldx, const float* bias, kernels::FusedAct act, float* Y,
                   int64_t ldy, int64_t c0, int64_t c1) const;
  /// The same for all columns, over the thread pool.
  void run(int64_t M, const float* X, int64_t ldx, const float* bias, kernels::FusedAct act, float* Y,
           int64_t ldy) const;
  /// x [..., G * K] -> x W^T + bias [..., G * N] (bias [G * N] or undefined), in the prepared
  /// precision; no autograd record.
  Tensor forward_low_precision(const Tensor& x, const Tensor& bias) const;

 private:
  struct Prepared;  // the packed weights of the kernels, one per group (low_precision.cpp)
  Precision precision_ = Precision::Float32;
  std::shared_ptr<const Prepared> prepared_;
};

/// set_precision on every LowPrecisionDense module of the tree under `root`.
void set_precision(Module& root, Precision p);

}  // namespace tz::nn
