// The differentiable op set: what models, losses and user code call. Each op computes its result
// with the graph-free kernels in tensor/ops.h (tz::raw) and, when grad mode is on and an input
// requires grad, records a node whose backward is written next to the forward in the op's file:
//   elementwise.cpp  arithmetic, elementwise functions, activations, where/masked_fill, dropout
//   reduce.cpp       sum, mean
//   views.cpp        reshape/view/permute/transpose/narrow/slice/select/(un)squeeze/expand, cat
//   nn_ops.cpp       matmul, linear, softmax, log_softmax, layer_norm, embedding, conv, unfold
//   loss.cpp         cross_entropy, nll_loss, mse_loss, bce_with_logits
// With grad mode off (NoGradGuard) an op costs what its kernel costs.
// Shapes broadcast like NumPy wherever two tensors meet elementwise; dims may be negative.
// Every op takes float32 tensors unless it says otherwise (ids and labels are int64) and returns a
// new tensor (views share storage with their input). Bad shapes, dims or dtypes throw tz::Error
// naming the op, the shapes and what was expected; nothing is modified in place.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "autograd/grad_mode.h"
#include "tensor/ops.h"
#include "tensor/random.h"
#include "tensor/tensor.h"

namespace tz {

// ---- arithmetic (broadcasting) -------------------------------------------------------------------
/// Elementwise a + b, a - b, a * b, a / b with NumPy broadcasting: the result has the broadcast
/// shape; throws when the shapes do not broadcast. A broadcast input's gradient is summed back to
/// its own shape. Division by zero follows IEEE (inf / NaN), as PyTorch.
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor add(const Tensor& a, double b);
Tensor mul(const Tensor& a, double b);
Tensor neg(const Tensor& a);
inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
inline Tensor operator+(const Tensor& a, double b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, double b) { return add(a, -b); }
inline Tensor operator*(const Tensor& a, double b) { return mul(a, b); }
inline Tensor operator*(double a, const Tensor& b) { return mul(b, a); }
inline Tensor operator/(const Tensor& a, double b) { return mul(a, 1.0 / b); }
inline Tensor operator-(const Tensor& a) { return neg(a); }

// ---- elementwise functions -----------------------------------------------------------------------
/// Elementwise functions: the output has the input's shape. Out-of-domain inputs give IEEE
/// results (log of a negative number is NaN, of 0 is -inf), as PyTorch; they do not throw.
Tensor exp(const Tensor& a);
Tensor log(const Tensor& a);
Tensor sqrt(const Tensor& a);
/// 1 / sqrt(a).
Tensor rsqrt(const Tensor& a);
Tensor tanh(const Tensor& a);
/// 1 / (1 + exp(-a)).
Tensor sigmoid(const Tensor& a);
/// a^exponent elementwise; the common exponents (0, 1, 2, 3, +-0.5, -1, -2) are special-cased
/// (products, sqrt, reciprocal), as PyTorch does; others use std::pow.
Tensor pow(const Tensor& a, double exponent);
/// max(a, 0); NaN passes through.
Tensor relu(const Tensor& a);
/// cond != 0 ? a : b, broadcasting all three; cond gets no gradient.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
/// mask != 0 ? value : a; the filled positions get no gradient.
Tensor masked_fill(const Tensor& a, const Tensor& mask, double value);
/// Inverted dropout: zeroes each element with probability p and scales the rest by 1/(1-p), when
/// `training`; the identity otherwise. The same mask is used by the backward pass.
Tensor dropout(const Tensor& a, double p, bool training, Generator& gen);
/// Dropout with a given mask: y = a * draw_mask(). `draw_mask` must return the same mask (a's
/// shape, values 0 or 1/(1-p)) every time it is called: the backward calls it again rather than
/// keeping the mask.
Tensor dropout(const Tensor& a, const std::function<Tensor()>& draw_mask);

// ---- activations with a derivative kernel -------------------------------------------------------
/// f(a) elementwise for an activation of the list in tensor/pointwise.h (where the formulas are);
/// its backward is grad * f'(a), from f's derivative kernel.
Tensor pointwise(const Tensor& a, Pointwise f);
/// HF "gelu": x * 0.5 * (1 + erf(x / sqrt(2))).
inline Tensor gelu(const Tensor& a) { return pointwise(a, Pointwise::Gelu); }
/// HF "gelu_new": the tanh approximation.
inline Tensor gelu_new(const Tensor& a) { return pointwise(a, Pointwise::GeluNew); }
/// HF "silu" / "swish": x * sigmoid(x).
inline Tensor silu(const Tensor& a) { return pointwise(a, Pointwise::Silu); }
/// HF "quick_gelu": x * sigmoid(1.702 x).
inline Tensor quick_gelu(const Tensor& a) { return pointwise(a, Pointwise::QuickGelu); }
/// HF "mish": x * tanh(softplus(x)).
inline Tensor mish(const Tensor& a) { return pointwise(a, Pointwise::Mish); }
/// HF "relu6": min(max(x, 0), 6); the gradient is 0 at both kinks, as PyTorch.
inline Tensor relu6(const Tensor& a) { return pointwise(a, Pointwise::Relu6); }

// ---- reductions ----------------------------------------------------------------------------------
/// Sum over `dims` (all dims when empty).
Tensor sum(const Tensor& a, const std::vector<int64_t>& dims = {}, bool keepdim = false);
/// Mean over `dims` (all dims when empty). keepdim keeps the reduced dims with size 1.
Tensor mean(const Tensor& a, const std::vector<int64_t>& dims = {}, bool keepdim = false);

// ---- views and joins
// Each is the differentiable version of the tz::raw op of the same name (tensor/ops.h, where the
// view rules are documented): reshape/view/permute/transpose/narrow/slice/select/unsqueeze/
// squeeze/expand share storage with their input; contiguous copies only when needed; cat copies.
// Throws tz::Error for dims out of range, sizes that do not fit, or a view the strides cannot express. -----------------------------------------------------------------------------
Tensor reshape(const Tensor& a, const Shape& shape);
Tensor view(const Tensor& a, const Shape& shape);
Tensor permute(const Tensor& a, const std::vector<int64_t>& dims);
Tensor transpose(const Tensor& a, int64_t dim0, int64_t dim1);
Tensor narrow(const Tensor& a, int64_t dim, int64_t start, int64_t length);
Tensor slice(const Tensor& a, int64_t dim, int64_t start, int64_t end, int64_t step = 1);
Tensor select(const Tensor& a, int64_t dim, int64_t index);
Tensor unsqueeze(const Tensor& a, int64_t dim);
Tensor squeeze(const Tensor& a, int64_t dim);
Tensor expand(const Tensor& a, const Shape& shape);
Tensor contiguous(const Tensor& a);
/// Concatenates along `dim`; all other dims must be equal.
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim);

// ---- neural-network ops --------------------------------------------------------------------------
/// NumPy matmul: 2-D, batched N-D with broadcast batch dims, 1-D operands.
Tensor matmul(const Tensor& a, const Tensor& b);
/// x [..., in] @ weight[out, in]^T + bias[out]; bias may be undefined.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias);
/// exp(x) / sum(exp(x)) along `dim` (max subtracted first; an all -inf row gives zeros, not NaN).
Tensor softmax(const Tensor& x, int64_t dim);
/// x - log(sum(exp(x))) along `dim`, computed stably.
Tensor log_softmax(const Tensor& x, int64_t dim);
/// Over the last dim; weight/bias [C] may be undefined.
Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps);
/// Rows of weight [V, C] picked by int64 ids [...] -> [..., C]. The padding_idx row (if >= 0)
/// receives no gradient from this lookup.
Tensor embedding(const Tensor& weight, const Tensor& ids, int64_t padding_idx = -1);
/// PyTorch Conv1d with groups = C: x [B, C, T], weight [C, 1, K], bias [C] or undefined.
Tensor depthwise_conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t padding);
/// x [B, T, C] -> [B, T, C, K], out[b,t,c,k] = x[b, t+k-padding, c] (zero outside).
Tensor unfold1d(const Tensor& x, int64_t kernel_size, int64_t padding);

// ---- losses (mean reduction, as PyTorch's defaults) ----------------------------------------------
/// logits [N, C] (or [C]), target int64 [N]; targets equal to ignore_index are skipped.
Tensor cross_entropy(const Tensor& logits, const Tensor& target, int64_t ignore_index = -100);
/// logp [N, C] log-probabilities, target int64 [N].
Tensor nll_loss(const Tensor& logp, const Tensor& target, int64_t ignore_index = -100);
/// mean((input - target)^2); shapes must match.
Tensor mse_loss(const Tensor& input, const Tensor& target);
/// mean(max(x,0) - x*y + log(1 + exp(-|x|))), the numerically stable form PyTorch uses.
Tensor bce_with_logits(const Tensor& logits, const Tensor& target);

}  // namespace tz
