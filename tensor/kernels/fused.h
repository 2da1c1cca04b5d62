// Fused row kernels for the graph-free inference path (models/convbert/inference.cpp): the
// epilogues that follow a GEMM (bias + activation, bias + residual + LayerNorm, bias * other),
// the masked softmax of attention, the depthwise time convolution and ConvBERT's span-based
// dynamic convolution, each computed directly on row-major buffers with leading dimensions.
// Every kernel takes `vec`: true runs the xsimd loop, false the scalar reference (the readable
// definition, used by tests). Not here: the autograd versions of these ops (autograd/*).
#pragma once

#include <cstdint>

namespace tz::kernels {

/// The activations the fused epilogue knows (HF names: "gelu", "gelu_new", "relu", "linear").
enum class FusedAct { None, GeluErf, GeluTanh, Relu };

/// y [rows, n] (leading dim ldy): y = act(y + bias[n]) in place. bias may be null.
void bias_act_rows(bool vec, FusedAct act, int64_t rows, int64_t n, float* y, int64_t ldy, const float* bias);

/// y [rows, n]: y = (y + bias[n]) * other in place; other [rows, n] with leading dim ldo.
void bias_mul_rows(bool vec, int64_t rows, int64_t n, float* y, int64_t ldy, const float* bias,
                   const float* other, int64_t ldo);

/// out [rows, n] = LayerNorm(y + bias + residual) over each row (biased variance, eps inside the
/// sqrt), with gamma/beta [n]. bias may be null. out may alias y or residual (each row is read
/// completely before it is written). y is used as scratch.
void bias_residual_layer_norm_rows(bool vec, int64_t rows, int64_t n, float* y, int64_t ldy, const float* bias,
                                   const float* residual, int64_t ldr, const float* gamma, const float* beta,
                                   float eps, float* out, int64_t ldo);

/// x [rows, n]: each row becomes softmax(x + add) in place; add [n] may be null (no mask).
void softmax_add_rows(bool vec, int64_t rows, int64_t n, float* x, int64_t ldx, const float* add);

/// Depthwise convolution over time with zero padding `pad` on both sides (output length T):
///   out[n, c] = sum_k w_kc[k*C + c] * x[b*T + t + k - pad, c],  n = b*T + t,
/// rows outside [0, T) of the same batch item read as zero. x [B*T, C] (leading dim ldx),
/// w_kc [K, C] tap-major (w_kc[k*C + c] = torch's weight[c, 0, k]). Computes the output rows
/// n in [row_begin, row_end) only, so callers can split the rows over threads.
void depthwise_conv_time(bool vec, int64_t T, int64_t C, int64_t K, int64_t pad, const float* x, int64_t ldx,
                         const float* w_kc, float* out, int64_t ldo, int64_t row_begin, int64_t row_end);

/// ConvBERT's span-based dynamic convolution for rows n = b*T + t in [row_begin, row_end):
///   out[n, h*d + j] = sum_k probs[n*ldp + h*K + k] * v[(b*T + t + k - pad), h*d + j]
/// for h < heads, with v rows outside [0, T) of the same batch item read as zero (unfold's
/// padding). v has leading dim ldv, out leading dim ldo. To run one head h alone, pass heads = 1
/// and the pointers probs + h*K, v + h*d, out + h*d.
void dynamic_conv_rows(bool vec, int64_t T, int64_t heads, int64_t d, int64_t K, int64_t pad, const float* probs,
                       int64_t ldp, const float* v, int64_t ldv, float* out, int64_t ldo, int64_t row_begin,
                       int64_t row_end);

}  // namespace tz::kernels
