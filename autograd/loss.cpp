// Losses with PyTorch's default mean reduction: cross_entropy (= nll_loss of log_softmax),
// nll_loss with ignore_index, mse_loss, and bce_with_logits in its numerically stable form.
#include "autograd/node.h"
#include "autograd/ops.h"

namespace tz {

using autograd::record;
using autograd::saved;

Tensor nll_loss(const Tensor& logp, const Tensor& target, int64_t ignore_index) {
  return record("nll_loss", raw::nll_loss(logp, target, ignore_index), {logp},
                [logp = saved(logp), target = saved(target), ignore_index](const Tensor& g) {
                  return std::vector<Tensor>{raw::nll_loss_backward(g, logp, target, ignore_index)};
                });
}

Tensor cross_entropy(const Tensor& logits, const Tensor& target, int64_t ignore_index) {
  TZ_CHECK(logits.dim() == 2 || logits.dim() == 1, "cross_entropy: expected logits [N, C] or [C], got ",
           shape_str(logits.shape()));
  if (logits.dim() == 1) return cross_entropy(unsqueeze(logits, 0), raw::reshape(target, {1}), ignore_index);
  return nll_loss(log_softmax(logits, -1), target, ignore_index);
}

Tensor mse_loss(const Tensor& input, const Tensor& target) {
  TZ_CHECK(input.shape() == target.shape(), "mse_loss: input shape ", shape_str(input.shape()),
           " and target shape ", shape_str(target.shape()), " differ");
  Tensor d = sub(input, target);
  return mean(mul(d, d));
}

// loss = mean(max(x, 0) - x y + log(1 + exp(-|x|)));  d loss / dx = (sigmoid(x) - y) / n
Tensor bce_with_logits(const Tensor& x, const Tensor& y) {
  TZ_CHECK(x.shape() == y.shape(), "bce_with_logits: logits shape ", shape_str(x.shape()),
           " and target shape ", shape_str(y.shape()), " differ");
  Tensor terms = raw::add(raw::sub(raw::relu(x), raw::mul(x, y)),
                          raw::log(raw::add(raw::exp(raw::neg(raw::abs(x))), 1.0)));
  return record("bce_with_logits", raw::mean(terms), {x, y}, [x = saved(x), y = saved(y)](const Tensor& g) {
    double n = static_cast<double>(x.numel());
    Tensor gx = raw::mul(raw::mul(raw::sub(raw::sigmoid(x), y), g), 1.0 / n);
    Tensor gy = raw::mul(raw::mul(raw::neg(x), g), 1.0 / n);
    return std::vector<Tensor>{gx, gy};
  });
}

}  // namespace tz
