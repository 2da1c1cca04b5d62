// tz::raw: every graph-free operation on tensors. Nothing here records autograd history; the
// differentiable op set in autograd/ calls these for its forward and backward passes, and the
// inference path calls them directly.
//
// Conventions
//   - Inputs may be any strided view (non-contiguous, broadcast with stride 0); outputs are new
//     contiguous tensors unless the function is a view (marked "view") or in-place (name ends in _).
//   - Binary elementwise ops broadcast like NumPy. Float ops need float32 inputs; ids are int64.
//   - Dims may be negative (counted from the end).
//   - Errors throw tz::Error naming the op, the shapes and what was expected.
// Kernels (scalar reference + xsimd) live in tensor/kernels/; the files here are thin drivers.
#pragma once

#include <cstdint>
#include <vector>

#include "tensor/pointwise.h"
#include "tensor/random.h"
#include "tensor/tensor.h"

namespace tz::raw {

// ---- creation ----------------------------------------------------------------------------------
Tensor zeros(const Shape& shape, DType dtype = DType::Float32);
Tensor ones(const Shape& shape, DType dtype = DType::Float32);
Tensor full(const Shape& shape, double value, DType dtype = DType::Float32);
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
Tensor full_like(const Tensor& t, double value);
/// A 0-dim float32 tensor.
Tensor scalar(float value);
/// [0, 1, ..., n-1] (int64 by default).
Tensor arange(int64_t n, DType dtype = DType::Int64);
/// Copies `values` into a new tensor of `shape` (numel must match).
Tensor from_vector(const std::vector<float>& values, const Shape& shape);
Tensor from_vector(const std::vector<int64_t>& values, const Shape& shape);
/// Normal(mean, std) / Uniform[low, high) / integers in [low, high), drawn in row-major order.
Tensor randn(const Shape& shape, Generator& gen, float mean = 0.f, float std = 1.f);
Tensor rand(const Shape& shape, Generator& gen, float low = 0.f, float high = 1.f);
/// In place: the values randn / rand would return for t's shape, drawn in the same order, with no
/// temporary for a contiguous t (model initialisation of large weights stays at one copy).
void normal_(const Tensor& t, Generator& gen, float mean = 0.f, float std = 1.f);
void uniform_(const Tensor& t, Generator& gen, float low = 0.f, float high = 1.f);
Tensor randint(const Shape& shape, int64_t low, int64_t high, Generator& gen);

// ---- copies and conversion ---------------------------------------------------------------------
/// The same tensor when already contiguous (no copy), else a contiguous copy.
Tensor contiguous(const Tensor& t);
/// Always a new contiguous copy.
Tensor clone(const Tensor& t);
/// float32 <-> int64 conversion (int64 -> float rounds; float -> int64 truncates toward zero).
Tensor to_dtype(const Tensor& t, DType dtype);
/// dst[...] = src broadcast to dst's shape; dst may be a strided view. Dtypes must match.
void copy_(const Tensor& dst, const Tensor& src);
void fill_(const Tensor& dst, double value);

// ---- views (share storage) ---------------------------------------------------------------------
/// view: new shape over the same data; one size may be -1. Throws when strides do not allow it.
Tensor view(const Tensor& t, Shape shape);
/// A view when possible, else a contiguous copy with the new shape.
Tensor reshape(const Tensor& t, Shape shape);
Tensor permute(const Tensor& t, const std::vector<int64_t>& dims);               // view
Tensor transpose(const Tensor& t, int64_t dim0, int64_t dim1);                  // view
Tensor narrow(const Tensor& t, int64_t dim, int64_t start, int64_t length);     // view
/// Elements start, start+step, ... < end along dim (end clamped to the size).
Tensor slice(const Tensor& t, int64_t dim, int64_t start, int64_t end, int64_t step = 1);  // view
Tensor select(const Tensor& t, int64_t dim, int64_t index);                     // view, drops dim
Tensor unsqueeze(const Tensor& t, int64_t dim);                                 // view
Tensor squeeze(const Tensor& t, int64_t dim);                                   // view (size-1 dim)
/// Broadcast to `shape` (stride 0 on expanded dims); -1 keeps a size.
Tensor expand(const Tensor& t, const Shape& shape);                             // view

// ---- elementwise, binary (broadcasting) ------------------------------------------------------
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor add(const Tensor& a, double b);
Tensor mul(const Tensor& a, double b);
/// a + alpha * b, written into a (a must be float32, contiguous or not; b broadcasts to a).
void add_(const Tensor& a, const Tensor& b, double alpha = 1.0);
void mul_(const Tensor& a, double b);
/// 1.0 where the comparison holds, else 0.0 (float32 result, broadcasting).
Tensor gt(const Tensor& a, double b);
Tensor eq(const Tensor& a, const Tensor& b);

// ---- elementwise, unary ------------------------------------------------------------------------
Tensor neg(const Tensor& a);
Tensor exp(const Tensor& a);
Tensor log(const Tensor& a);
Tensor sqrt(const Tensor& a);
Tensor rsqrt(const Tensor& a);
Tensor tanh(const Tensor& a);
Tensor erf(const Tensor& a);
Tensor sigmoid(const Tensor& a);
Tensor abs(const Tensor& a);
Tensor pow(const Tensor& a, double exponent);
Tensor relu(const Tensor& a);

// ---- activations with a derivative kernel (the list and formulas: tensor/pointwise.h) ----------
/// f(x) elementwise.
Tensor pointwise(const Tensor& x, Pointwise f);
/// grad * f'(x) elementwise, x the forward input (grad and x broadcast): pointwise's backward.
Tensor pointwise_backward(const Tensor& grad, const Tensor& x, Pointwise f);
/// Shorthands for the GELU and SiLU kernels (benchmarks and kernel tests call them by name).
inline Tensor gelu(const Tensor& a) { return raw::pointwise(a, Pointwise::Gelu); }
inline Tensor gelu_new(const Tensor& a) { return raw::pointwise(a, Pointwise::GeluNew); }
inline Tensor silu(const Tensor& a) { return raw::pointwise(a, Pointwise::Silu); }
inline Tensor gelu_backward(const Tensor& grad, const Tensor& x) {
  return raw::pointwise_backward(grad, x, Pointwise::Gelu);
}
inline Tensor gelu_new_backward(const Tensor& grad, const Tensor& x) {
  return raw::pointwise_backward(grad, x, Pointwise::GeluNew);
}
inline Tensor silu_backward(const Tensor& grad, const Tensor& x) {
  return raw::pointwise_backward(grad, x, Pointwise::Silu);
}

// ---- reductions --------------------------------------------------------------------------------
/// Sum over `dims` (all dims when empty).
Tensor sum(const Tensor& a, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& a, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor amax(const Tensor& a, int64_t dim, bool keepdim = false);
/// Index of the first maximum (int64).
Tensor argmax(const Tensor& a, int64_t dim, bool keepdim = false);
/// Sums `a` down to `shape` (the inverse of broadcasting `shape` up to a.shape()).
Tensor sum_to(const Tensor& a, const Shape& shape);

// ---- softmax and normalisation ------------------------------------------------------------------
/// Numerically stable (max subtracted); rows that are all -inf give 0 (softmax) instead of NaN.
Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);
/// grad_x = y * (grad_y - sum(grad_y * y, dim))
Tensor softmax_backward(const Tensor& grad_y, const Tensor& y, int64_t dim);
/// grad_x = grad_y - exp(y) * sum(grad_y, dim)   (y = log_softmax output)
Tensor log_softmax_backward(const Tensor& grad_y, const Tensor& y, int64_t dim);

struct LayerNormOut {
  Tensor y;     // same shape as x
  Tensor mean;  // x.shape[:-1], float32
  Tensor rstd;  // x.shape[:-1], 1 / sqrt(var + eps) (biased variance, as PyTorch)
};
/// Layer norm over the last dim; weight and bias [C] may be undefined (then 1 and 0).
LayerNormOut layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps);
struct LayerNormGrads {
  Tensor dx, dweight, dbias;  // dweight/dbias undefined when weight was undefined
};
LayerNormGrads layer_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& mean,
                                   const Tensor& rstd, const Tensor& weight);

// ---- linear algebra ----------------------------------------------------------------------------
/// Matrix product. 1-D operands are treated like NumPy (vector as row/column, dim removed).
/// N-D: batched over the leading dims with broadcasting; the last two dims are multiplied.
/// Transposed views (e.g. transpose(b, -1, -2)) go to sgemm without a copy.
Tensor matmul(const Tensor& a, const Tensor& b);
/// x [..., in] @ weight[out, in]^T + bias[out] (bias may be undefined).
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias);

// ---- indexing ----------------------------------------------------------------------------------
/// weight [V, C], ids int64 [...] -> [..., C]. Throws on an id outside [0, V).
Tensor embedding(const Tensor& weight, const Tensor& ids);
/// Scatter-add of grad [..., C] rows into a [num_rows, C] table; rows of padding_idx (if >= 0) stay 0.
Tensor embedding_backward(const Tensor& grad, const Tensor& ids, int64_t num_rows, int64_t padding_idx);
/// Concatenation along dim; all other sizes must match.
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim);
/// out = cond != 0 ? a : b (cond float32 or int64; all three broadcast).
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
/// out = mask != 0 ? value : a (mask broadcasts to a).
Tensor masked_fill(const Tensor& a, const Tensor& mask, double value);
/// out[i][j] = a[i][index[i][j]] along dim (index int64, same rank as a).
Tensor gather(const Tensor& a, int64_t dim, const Tensor& index);
/// ids int64 [...] -> float32 [..., num_classes].
Tensor one_hot(const Tensor& ids, int64_t num_classes);

// ---- convolution -------------------------------------------------------------------------------
/// Depthwise conv over time: x [B, C, T], weight [C, 1, K], bias [C] or undefined, zero padding
/// `padding` on both sides -> [B, C, T + 2*padding - K + 1]. (PyTorch Conv1d with groups = C.)
Tensor depthwise_conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t padding);
struct DepthwiseConv1dGrads {
  Tensor dx, dweight, dbias;
};
DepthwiseConv1dGrads depthwise_conv1d_backward(const Tensor& grad, const Tensor& x,
                                               const Tensor& weight, int64_t padding, bool has_bias);
/// The unfold of ConvBERT's dynamic convolution: x [B, T, C] -> [B, T, C, K] with
/// out[b, t, c, k] = x[b, t + k - padding, c] (zero outside [0, T)).
Tensor unfold1d(const Tensor& x, int64_t kernel_size, int64_t padding);
/// Adjoint of unfold1d: grad [B, T, C, K] -> [B, T, C].
Tensor unfold1d_backward(const Tensor& grad, int64_t kernel_size, int64_t padding);

// ---- losses ------------------------------------------------------------------------------------
/// Mean negative log-likelihood: logp [N, C], target int64 [N]; targets == ignore_index are
/// skipped; mean over the others (NaN when none remain, as PyTorch). Returns a 0-dim tensor.
Tensor nll_loss(const Tensor& logp, const Tensor& target, int64_t ignore_index);
/// d loss / d logp for the loss above, scaled by grad (a 0-dim tensor).
Tensor nll_loss_backward(const Tensor& grad, const Tensor& logp, const Tensor& target,
                         int64_t ignore_index);

// ---- dropout -----------------------------------------------------------------------------------
/// A mask with 0 (prob p) or 1/(1-p) (prob 1-p), drawn from gen in row-major order.
Tensor dropout_mask(const Shape& shape, double p, Generator& gen);
/// The same draws written to out[0, n): one mask row of a larger tensor.
void fill_dropout_mask(float* out, int64_t n, double p, Generator& gen);

// ---- comparison helpers for tests --------------------------------------------------------------
/// max |a - b| over all elements (shapes must match; float32 or int64).
double max_abs_diff(const Tensor& a, const Tensor& b);

}  // namespace tz::raw
