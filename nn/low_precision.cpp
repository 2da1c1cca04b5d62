// Prepared int8 / bf16 weights of the dense layers, run group by group; see low_precision.h.
#include "nn/low_precision.h"

#include <algorithm>

#include <vector>

#include "core/error.h"
#include "tensor/kernels/fused.h"
#include "tensor/kernels/gemm_bf16.h"
#include "tensor/kernels/gemm_int8.h"
#include "tensor/ops.h"

namespace tz::nn {

struct LowPrecisionDense::Prepared {
  std::vector<kernels::Int8Weight> int8;  // one per group, or empty
  std::vector<kernels::Bf16Weight> bf16;  // one per group, or empty
};

const char* precision_name(Precision p) {
  switch (p) {
    case Precision::Float32: return "f32";
    case Precision::Bfloat16: return "bf16";
    case Precision::Int8: return "int8";
  }
  return "?";
}

Precision parse_precision(const std::string& s) {
  for (Precision p : {Precision::Float32, Precision::Bfloat16, Precision::Int8})
    if (s == precision_name(p)) return p;
  throw Error("precision: '" + s + "' is not one of f32, bf16, int8");
}

namespace {

void check_layout(const DenseLayout& l, const Tensor& w) {
  TZ_CHECK(l.groups >= 1 && l.N >= 1 && l.K >= 1 && l.groups * l.N * l.K == w.numel(),
           "low precision: weight ", shape_str(w.shape()), " does not hold ", l.groups, " groups of [", l.N, ", ", l.K,
           "]");
  TZ_CHECK(w.dtype() == DType::Float32 && w.is_contiguous(), "low precision: weight must be contiguous float32");
}

}  // namespace

void LowPrecisionDense::set_precision(Precision p) {
  prepared_.reset();
  precision_ = Precision::Float32;
  if (p == Precision::Float32) return;
  const Tensor& w = dense_weight();
  const DenseLayout l = dense_layout();
  check_layout(l, w);
  auto prepared = std::make_shared<Prepared>();
  for (int64_t g = 0; g < l.groups; ++g) {
    const float* W = w.data<float>() + g * l.group_stride;
    if (p == Precision::Int8)
      prepared->int8.push_back(kernels::quantize_int8_weight(l.N, l.K, W, l.stride_n, l.stride_k));
    else
      prepared->bf16.push_back(kernels::convert_bf16_weight(l.N, l.K, W, l.stride_n, l.stride_k));
  }
  prepared_ = std::move(prepared);
  precision_ = p;
}

void LowPrecisionDense::set_int8_weight(const Tensor& q, const Tensor& scale) {
  const Tensor& w = dense_weight();
  const DenseLayout l = dense_layout();
  check_layout(l, w);
  TZ_CHECK(q.dtype() == DType::Int64 && q.shape() == w.shape(), "low precision: int8 weight ",
           shape_str(q.shape()), " (", dtype_name(q.dtype()), ") does not match the weight ", shape_str(w.shape()));
  TZ_CHECK(scale.dtype() == DType::Float32 && scale.numel() == l.groups * l.N, "low precision: int8 scale ",
           shape_str(scale.shape()), " does not hold ", l.groups * l.N, " float32 output-channel scales");
  const std::vector<int64_t> qv = raw::contiguous(q).to_vector<int64_t>();
  const std::vector<float> sv = raw::contiguous(scale).to_vector<float>();
  std::vector<int8_t> rows(static_cast<size_t>(l.N * l.K));
  auto prepared = std::make_shared<Prepared>();
  for (int64_t g = 0; g < l.groups; ++g) {
    for (int64_t n = 0; n < l.N; ++n)
      for (int64_t k = 0; k < l.K; ++k) {
        const int64_t v = qv[static_cast<size_t>(g * l.group_stride + n * l.stride_n + k * l.stride_k)];
        TZ_CHECK(v >= -127 && v <= 127, "low precision: int8 weight value ", v, " at group ", g, " row ", n,
                 " column ", k, " is outside [-127, 127]");
        rows[static_cast<size_t>(n * l.K + k)] = static_cast<int8_t>(v);
      }
    prepared->int8.push_back(kernels::pack_int8_weight(l.N, l.K, rows.data(), l.K, sv.data() + g * l.N));
  }
  prepared_ = std::move(prepared);
  precision_ = Precision::Int8;
}

std::pair<Tensor, Tensor> LowPrecisionDense::int8_weight() const {
  TZ_CHECK(precision_ == Precision::Int8, "low precision: int8_weight of a layer prepared as ",
           precision_name(precision_));
  const Tensor& w = dense_weight();
  const DenseLayout l = dense_layout();
  Tensor q = Tensor::empty(w.shape(), DType::Int64);
  Tensor scale = Tensor::empty({l.groups * l.N});
  std::vector<int8_t> rows(static_cast<size_t>(l.N * l.K));
  for (int64_t g = 0; g < l.groups; ++g) {
    kernels::unpack_int8_weight(prepared_->int8[static_cast<size_t>(g)], rows.data(), l.K, scale.data<float>() + g * l.N);
    for (int64_t n = 0; n < l.N; ++n)
      for (int64_t k = 0; k < l.K; ++k)
        q.data<int64_t>()[g * l.group_stride + n * l.stride_n + k * l.stride_k] = rows[static_cast<size_t>(n * l.K + k)];
  }
  return {q, scale};
}

void LowPrecisionDense::run_columns(int64_t M, const float* X, int64_t ldx, const float* bias, kernels::FusedAct act,
                                    float* Y, int64_t ldy, int64_t c0, int64_t c1) const {
  TZ_CHECK(precision_ != Precision::Float32, "low precision: run_columns on a layer without a prepared weight");
  const DenseLayout l = dense_layout();
  for (int64_t g = c0 / l.N; g < l.groups && g * l.N < c1; ++g) {  // the groups columns c0..c1 touch
    const int64_t j0 = std::max(c0, g * l.N) - g * l.N, j1 = std::min(c1, (g + 1) * l.N) - g * l.N;
    const float* b = bias ? bias + g * l.N : nullptr;
    if (precision_ == Precision::Int8)
      kernels::linear_int8(M, X + g * l.K, ldx, prepared_->int8[static_cast<size_t>(g)], b, act, Y + g * l.N, ldy, j0, j1);
    else
      kernels::linear_bf16(M, X + g * l.K, ldx, prepared_->bf16[static_cast<size_t>(g)], b, act, Y + g * l.N, ldy, j0, j1);
  }
}

void LowPrecisionDense::run(int64_t M, const float* X, int64_t ldx, const float* bias, kernels::FusedAct act,
                            float* Y, int64_t ldy) const {
  TZ_CHECK(precision_ != Precision::Float32, "low precision: run on a layer without a prepared weight");
  const DenseLayout l = dense_layout();
  for (int64_t g = 0; g < l.groups; ++g) {
    const float* b = bias ? bias + g * l.N : nullptr;
    if (precision_ == Precision::Int8)
      kernels::linear_int8_parallel(M, X + g * l.K, ldx, prepared_->int8[static_cast<size_t>(g)], b, act, Y + g * l.N, ldy);
    else
      kernels::linear_bf16_parallel(M, X + g * l.K, ldx, prepared_->bf16[static_cast<size_t>(g)], b, act, Y + g * l.N, ldy);
  }
}

Tensor LowPrecisionDense::forward_low_precision(const Tensor& x_in, const Tensor& bias) const {
  const DenseLayout l = dense_layout();
  const int64_t in = l.groups * l.K, out = l.groups * l.N;
  TZ_CHECK(x_in.dtype() == DType::Float32 && x_in.dim() >= 1 && x_in.size(-1) == in, "low precision: input ",
           shape_str(x_in.shape()), " does not end in ", in, " float32 features");
  TZ_CHECK(!bias.defined() || (bias.numel() == out && bias.dtype() == DType::Float32), "low precision: bias ",
           shape_str(bias.shape()), " does not hold ", out, " float32 values");
  Tensor x = raw::contiguous(x_in);
  Tensor b = bias.defined() ? raw::contiguous(bias) : Tensor();
  std::vector<int64_t> shape = x.shape();
  shape.back() = out;
  Tensor y = Tensor::empty(shape);
  run(x.numel() / in, x.data<float>(), in, b.defined() ? b.data<float>() : nullptr, kernels::FusedAct::None,
      y.data<float>(), out);
  return y;
}

void set_precision(Module& root, Precision p) {
  for (auto& [name, m] : root.named_modules())
    if (auto* d = dynamic_cast<LowPrecisionDense*>(m.get())) d->set_precision(p);
}

}  // namespace tz::nn
