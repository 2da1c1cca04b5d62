// Convolution drivers: depthwise_conv1d (+ backward) over [B, C, T] and ConvBERT's unfold1d
// (+ adjoint) over [B, T, C]. Shape checks and threading live here; the per-row arithmetic is in
// tensor/kernels/conv.*. Not here: the autograd wrappers (autograd/nn_ops.cpp).
#include <algorithm>

#include "tensor/kernels/conv.h"
#include "tensor/ops.h"
#include "tensor/parallel.h"

namespace tz::raw {
namespace {

// Rows per parallel chunk so that one chunk does at least ~16k multiply-adds.
int64_t row_grain(int64_t work_per_row) { return std::max<int64_t>(1, (int64_t{1} << 14) / std::max<int64_t>(1, work_per_row)); }

void check_float(const char* op, const char* what, const Tensor& t) {
  TZ_CHECK(t.dtype() == DType::Float32, op, ": ", what, " must be float32, got ", dtype_name(t.dtype()),
           " with shape ", shape_str(t.shape()));
}

// Output length of a stride-1 convolution / unfold; throws when it would be < 1.
int64_t out_length(const char* op, int64_t T, int64_t K, int64_t padding, const Shape& x_shape) {
  TZ_CHECK(K >= 1, op, ": kernel size must be >= 1, got ", K);
  TZ_CHECK(padding >= 0, op, ": padding must be >= 0, got ", padding);
  const int64_t To = T + 2 * padding - K + 1;
  TZ_CHECK(To >= 1, op, ": input ", shape_str(x_shape), " with padding ", padding, " is too short for kernel size ",
           K, " (output length ", To, ")");
  return To;
}

}  // namespace

Tensor depthwise_conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t padding) {
  const char* op = "depthwise_conv1d";
  check_float(op, "input", x);
  check_float(op, "weight", weight);
  TZ_CHECK(x.dim() == 3, op, ": input must be [B, C, T], got ", shape_str(x.shape()));
  const int64_t B = x.size(0), C = x.size(1), T = x.size(2);
  TZ_CHECK(weight.dim() == 3 && weight.size(0) == C && weight.size(1) == 1, op, ": weight shape ",
           shape_str(weight.shape()), " does not fit input ", shape_str(x.shape()), " (expected [", C, ", 1, K])");
  const int64_t K = weight.size(2);
  if (bias.defined()) {
    check_float(op, "bias", bias);
    TZ_CHECK(bias.shape() == Shape{C}, op, ": bias shape ", shape_str(bias.shape()), " does not fit input ",
             shape_str(x.shape()), " (expected [", C, "])");
  }
  const int64_t To = out_length(op, T, K, padding, x.shape());
  Tensor xc = contiguous(x), wc = contiguous(weight);
  Tensor bc = bias.defined() ? contiguous(bias) : Tensor();
  Tensor out = Tensor::uninitialized({B, C, To});
  const float* xp = xc.data<float>();
  const float* wp = wc.data<float>();
  const float* bp = bc.defined() ? bc.data<float>() : nullptr;
  float* yp = out.data<float>();
  // x [B, C, T], w [C, K], y [B, C, To]; one (b, c) row at a time.
  parallel_for(0, B * C, row_grain(To * K), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t c = r % C;
      kernels::dwconv1d_row(xp + r * T, T, wp + c * K, K, bp ? bp[c] : 0.f, padding, yp + r * To, To);
    }
  });
  return out;
}

DepthwiseConv1dGrads depthwise_conv1d_backward(const Tensor& grad, const Tensor& x, const Tensor& weight,
                                               int64_t padding, bool has_bias) {
  const char* op = "depthwise_conv1d_backward";
  check_float(op, "grad", grad);
  check_float(op, "input", x);
  check_float(op, "weight", weight);
  TZ_CHECK(x.dim() == 3, op, ": input must be [B, C, T], got ", shape_str(x.shape()));
  const int64_t B = x.size(0), C = x.size(1), T = x.size(2);
  TZ_CHECK(weight.dim() == 3 && weight.size(0) == C && weight.size(1) == 1, op, ": weight shape ",
           shape_str(weight.shape()), " does not fit input ", shape_str(x.shape()), " (expected [", C, ", 1, K])");
  const int64_t K = weight.size(2);
  const int64_t To = out_length(op, T, K, padding, x.shape());
  TZ_CHECK(grad.shape() == Shape({B, C, To}), op, ": grad shape ", shape_str(grad.shape()),
           " does not match the output shape [", B, ",", C, ",", To, "]");
  Tensor gc = contiguous(grad), xc = contiguous(x), wc = contiguous(weight);
  const float* gp = gc.data<float>();
  const float* xp = xc.data<float>();
  const float* wp = wc.data<float>();
  DepthwiseConv1dGrads d;
  d.dx = Tensor::empty({B, C, T});
  d.dweight = Tensor::empty({C, 1, K});
  if (has_bias) d.dbias = Tensor::empty({C});
  float* dxp = d.dx.data<float>();
  float* dwp = d.dweight.data<float>();
  float* dbp = has_bias ? d.dbias.data<float>() : nullptr;
  // dx: each (b, c) row independently (outputs are zero-initialised; the kernel accumulates).
  parallel_for(0, B * C, row_grain(To * K), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r)
      kernels::dwconv1d_row_backward_input(gp + r * To, To, wp + (r % C) * K, K, padding, dxp + r * T, T);
  });
  // dweight, dbias: one channel per task, summing over the batch, so no two tasks share an output.
  parallel_for(0, C, row_grain(B * To * K), [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c)
      for (int64_t b = 0; b < B; ++b) {
        const int64_t r = b * C + c;
        kernels::dwconv1d_row_backward_weight(gp + r * To, To, xp + r * T, T, K, padding, dwp + c * K);
        if (dbp) {
          double s = 0.0;  // bias grad sums B*To values; double keeps it order-independent enough
          for (int64_t t = 0; t < To; ++t) s += gp[r * To + t];
          dbp[c] += static_cast<float>(s);
        }
      }
  });
  return d;
}

Tensor unfold1d(const Tensor& x, int64_t kernel_size, int64_t padding) {
  const char* op = "unfold1d";
  check_float(op, "input", x);
  TZ_CHECK(x.dim() == 3, op, ": input must be [B, T, C], got ", shape_str(x.shape()));
  const int64_t B = x.size(0), T = x.size(1), C = x.size(2), K = kernel_size;
  const int64_t To = out_length(op, T, K, padding, x.shape());
  Tensor xc = contiguous(x);
  Tensor out = Tensor::uninitialized({B, To, C, K});
  const float* xp = xc.data<float>();
  float* yp = out.data<float>();
  // x [B, T, C] -> out [B, To, C, K]; one (b, t) block of C*K at a time.
  parallel_for(0, B * To, row_grain(C * K), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t b = r / To, t = r % To;
      kernels::unfold1d_step(xp + b * T * C, T, C, K, padding, t, yp + r * C * K);
    }
  });
  return out;
}

Tensor unfold1d_backward(const Tensor& grad, int64_t kernel_size, int64_t padding) {
  const char* op = "unfold1d_backward";
  check_float(op, "grad", grad);
  TZ_CHECK(grad.dim() == 4 && grad.size(3) == kernel_size, op, ": grad must be [B, T, C, K] with K = ",
           kernel_size, ", got ", shape_str(grad.shape()));
  TZ_CHECK(kernel_size >= 1 && padding >= 0, op, ": kernel size ", kernel_size, " and padding ", padding,
           " must be >= 1 and >= 0");
  const int64_t B = grad.size(0), To = grad.size(1), C = grad.size(2), K = kernel_size;
  const int64_t T = To - 2 * padding + K - 1;  // inverts To = T + 2*padding - K + 1
  TZ_CHECK(T >= 0, op, ": grad ", shape_str(grad.shape()), " is inconsistent with padding ", padding,
           " (implied input length ", T, ")");
  Tensor gc = contiguous(grad);
  Tensor dx = Tensor::uninitialized({B, T, C});
  const float* gp = gc.data<float>();
  float* dxp = dx.data<float>();
  // grad [B, To, C, K] -> dx [B, T, C]; each input step gathers its K contributions (no races).
  parallel_for(0, B * T, row_grain(C * K), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t b = r / T, s = r % T;
      kernels::unfold1d_backward_step(gp + b * To * C * K, To, C, K, padding, s, dxp + r * C);
    }
  });
  return dx;
}

}  // namespace tz::raw
