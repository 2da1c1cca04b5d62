// Neural-network ops: matmul, linear, softmax, log_softmax, layer_norm, embedding, the depthwise
// convolution and ConvBERT's unfold. Forward calls one raw kernel; backward is the math below
// each forward (the heavier backward kernels, e.g. layer_norm's, live in tensor/kernels/).
#include "autograd/node.h"
#include "autograd/ops.h"

namespace tz {

using autograd::record;
using autograd::saved;
using autograd::saved_or_recompute;
using autograd::set_recompute;

// C = A B  =>  dA = dC B^T,  dB = A^T dC  (summed over broadcast batch dims).
Tensor matmul(const Tensor& a, const Tensor& b) {
  TZ_CHECK(a.dim() >= 1 && b.dim() >= 1, "matmul: both operands need at least 1 dim, got shapes ",
           shape_str(a.shape()), " and ", shape_str(b.shape()));
  // Vectors become matrices for the math and lose the extra dim again afterwards (NumPy rules).
  if (a.dim() == 1) return squeeze(matmul(unsqueeze(a, 0), b), -2);
  if (b.dim() == 1) return squeeze(matmul(a, unsqueeze(b, -1)), -1);
  return record("matmul", raw::matmul(a, b), {a, b},
                [as = saved_or_recompute(a), bs = saved_or_recompute(b)](const Tensor& g) {
                  const Tensor a = as.get(), b = bs.get();
                  Tensor ga = raw::matmul(g, raw::transpose(b, -1, -2));
                  Tensor gb = raw::matmul(raw::transpose(a, -1, -2), g);
                  // Summed only over batch dims that were broadcast (sum_to always copies).
                  if (ga.shape() != a.shape()) ga = raw::sum_to(ga, a.shape());
                  if (gb.shape() != b.shape()) gb = raw::sum_to(gb, b.shape());
                  return std::vector<Tensor>{ga, gb};
                });
}

// y = x W^T + b  =>  dx = dy W,  dW = dy^T x,  db = sum(dy) over all rows.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  return record("linear", raw::linear(x, weight, bias), {x, weight, bias},
                [xs = saved_or_recompute(x), w = saved(weight), has_bias = bias.defined()](const Tensor& g) {
                  const Tensor x = xs.get();
                  const int64_t out = w.size(0), in = w.size(1);
                  Tensor g2 = raw::reshape(g, {-1, out});   // [N, out]
                  Tensor x2 = raw::reshape(x, {-1, in});    // [N, in]
                  Tensor gx = raw::matmul(g, w);            // [..., in]
                  Tensor gw = raw::matmul(raw::transpose(g2, 0, 1), x2);  // [out, in]
                  Tensor gb = has_bias ? raw::sum(g2, {0}) : Tensor();
                  return std::vector<Tensor>{gx, gw, gb};
                });
}

// y = softmax(x)  =>  dx = y * (dy - sum(dy * y))
Tensor softmax(const Tensor& x, int64_t dim) {
  Tensor y = raw::softmax(x, dim);
  return record("softmax", y, {x}, [y = saved(y), dim](const Tensor& g) {
    return std::vector<Tensor>{raw::softmax_backward(g, y, dim)};
  });
}

// y = log_softmax(x)  =>  dx = dy - exp(y) * sum(dy)
Tensor log_softmax(const Tensor& x, int64_t dim) {
  Tensor y = raw::log_softmax(x, dim);
  return record("log_softmax", y, {x}, [y = saved(y), dim](const Tensor& g) {
    return std::vector<Tensor>{raw::log_softmax_backward(g, y, dim)};
  });
}

Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps) {
  raw::LayerNormOut r = raw::layer_norm(x, weight, bias, eps);
  return record("layer_norm", r.y, {x, weight, bias},
                [x = saved(x), w = saved(weight), mean = r.mean, rstd = r.rstd,
                 has_bias = bias.defined()](const Tensor& g) {
                  raw::LayerNormGrads d = raw::layer_norm_backward(g, x, mean, rstd, w);
                  return std::vector<Tensor>{d.dx, d.dweight, has_bias ? d.dbias : Tensor()};
                });
}

// Each looked-up row's gradient is added back into its row of the table.
Tensor embedding(const Tensor& weight, const Tensor& ids, int64_t padding_idx) {
  return record("embedding", raw::embedding(weight, ids), {weight},
                [ids = saved(ids), rows = weight.size(0), padding_idx](const Tensor& g) {
                  return std::vector<Tensor>{raw::embedding_backward(g, ids, rows, padding_idx)};
                });
}

// The output is rebuilt from the saved input and weight when a later op needs it (K multiply-adds
// per element: far cheaper to redo than to keep).
Tensor depthwise_conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t padding) {
  Tensor y = record("depthwise_conv1d", raw::depthwise_conv1d(x, weight, bias, padding), {x, weight, bias},
                    [x = saved(x), w = saved(weight), padding, has_bias = bias.defined()](const Tensor& g) {
                      raw::DepthwiseConv1dGrads d = raw::depthwise_conv1d_backward(g, x, w, padding, has_bias);
                      return std::vector<Tensor>{d.dx, d.dweight, d.dbias};
                    });
  set_recompute(y, [x = saved(x), w = saved(weight), b = saved(bias), padding] {
    return raw::depthwise_conv1d(x, w, b, padding);
  });
  return y;
}

// unfold copies each input element into up to K output slots; the adjoint sums them back.
// The output is K times the input's size, so a later op that needs it keeps the input and unfolds
// again (ConvBERT's dynamic convolution, K = 9).
Tensor unfold1d(const Tensor& x, int64_t kernel_size, int64_t padding) {
  Tensor y = record("unfold1d", raw::unfold1d(x, kernel_size, padding), {x}, [kernel_size, padding](const Tensor& g) {
    return std::vector<Tensor>{raw::unfold1d_backward(g, kernel_size, padding)};
  });
  set_recompute(y, [x = saved_or_recompute(x), kernel_size, padding] {
    return raw::unfold1d(x.get(), kernel_size, padding);
  });
  return y;
}

}  // namespace tz
