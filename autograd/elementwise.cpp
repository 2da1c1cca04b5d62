// Elementwise ops: forward (a raw kernel) above backward (the chain rule) for each.
// Broadcasting: an input that was broadcast up gets its gradient summed back down (raw::sum_to).
#include "autograd/node.h"
#include "autograd/ops.h"

namespace tz {

using autograd::record;
using autograd::saved;
using autograd::saved_or_recompute;
using autograd::SavedTensor;
using autograd::set_recompute;

namespace {
// d(out)/d(input) gradients must come back in the input's shape.
Tensor reduce_to(const Tensor& g, const Shape& input_shape) {
  return g.shape() == input_shape ? g : raw::sum_to(g, input_shape);
}
Tensor reduce_to(const Tensor& g, const Tensor& input) { return reduce_to(g, input.shape()); }
}  // namespace

// ---- arithmetic ----------------------------------------------------------------------------------
// The backward needs only the shapes (to sum broadcast gradients back), not the values, and
// skips the sum for a side that needs no gradient (an attention mask broadcast over heads).
Tensor add(const Tensor& a, const Tensor& b) {
  return record("add", raw::add(a, b), {a, b},
                [a = a.shape(), b = b.shape(), need_a = a.requires_grad(), need_b = b.requires_grad()](const Tensor& g) {
                  return std::vector<Tensor>{need_a ? reduce_to(g, a) : Tensor(), need_b ? reduce_to(g, b) : Tensor()};
                });
}

Tensor sub(const Tensor& a, const Tensor& b) {
  return record("sub", raw::sub(a, b), {a, b},
                [a = a.shape(), b = b.shape(), need_a = a.requires_grad(), need_b = b.requires_grad()](const Tensor& g) {
                  return std::vector<Tensor>{need_a ? reduce_to(g, a) : Tensor(), need_b ? reduce_to(raw::neg(g), b) : Tensor()};
                });
}

// d(a*b) = b da + a db
// Each side is saved only when the other side needs a gradient (a dropout mask or a constant
// scale does not, and then the activation it multiplies is not kept).
Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor y = raw::mul(a, b);
  const bool need_a = b.requires_grad(), need_b = a.requires_grad();
  y = record("mul", y, {a, b},
             [a = need_a ? saved_or_recompute(a) : SavedTensor(), b = need_b ? saved_or_recompute(b) : SavedTensor(),
              a_shape = a.shape(), b_shape = b.shape()](const Tensor& g) {
               Tensor ga = b.defined() ? reduce_to(raw::mul(g, b.get()), a_shape) : Tensor();
               Tensor gb = a.defined() ? reduce_to(raw::mul(g, a.get()), b_shape) : Tensor();
               return std::vector<Tensor>{ga, gb};
             });
  // Rebuilding the product needs both factors, so only when the node keeps both.
  if (need_a && need_b) set_recompute(y, [a = saved_or_recompute(a), b = saved_or_recompute(b)] {
    return raw::mul(a.get(), b.get());
  });
  return y;
}

// d(a/b) = da / b - a db / b^2
// a is kept only when b needs a gradient (dividing by a constant, e.g. attention's sqrt(d), keeps
// only the constant).
Tensor div(const Tensor& a, const Tensor& b) {
  return record("div", raw::div(a, b), {a, b},
                [a = b.requires_grad() ? saved(a) : Tensor(), b = saved(b), a_shape = a.shape()](const Tensor& g) {
                  Tensor ga = raw::div(g, b);
                  Tensor gb = a.defined() ? reduce_to(raw::neg(raw::div(raw::mul(ga, a), b)), b) : Tensor();
                  return std::vector<Tensor>{reduce_to(ga, a_shape), gb};
                });
}

Tensor add(const Tensor& a, double b) {
  return record("add_scalar", raw::add(a, b), {a}, [](const Tensor& g) { return std::vector<Tensor>{g}; });
}

Tensor mul(const Tensor& a, double b) {
  return record("mul_scalar", raw::mul(a, b), {a}, [b](const Tensor& g) {
    return std::vector<Tensor>{raw::mul(g, b)};
  });
}

Tensor neg(const Tensor& a) {
  return record("neg", raw::neg(a), {a}, [](const Tensor& g) { return std::vector<Tensor>{raw::neg(g)}; });
}

// ---- functions of one tensor ---------------------------------------------------------------------
// d exp(a) = exp(a) da
Tensor exp(const Tensor& a) {
  Tensor y = raw::exp(a);
  return record("exp", y, {a}, [y = saved(y)](const Tensor& g) {
    return std::vector<Tensor>{raw::mul(g, y)};
  });
}

// d log(a) = da / a
Tensor log(const Tensor& a) {
  return record("log", raw::log(a), {a}, [a = saved(a)](const Tensor& g) {
    return std::vector<Tensor>{raw::div(g, a)};
  });
}

// d sqrt(a) = da / (2 sqrt(a))
Tensor sqrt(const Tensor& a) {
  Tensor y = raw::sqrt(a);
  return record("sqrt", y, {a}, [y = saved(y)](const Tensor& g) {
    return std::vector<Tensor>{raw::div(raw::mul(g, 0.5), y)};
  });
}

// d a^(-1/2) = -1/2 a^(-3/2) da = -1/2 y^3 da
Tensor rsqrt(const Tensor& a) {
  Tensor y = raw::rsqrt(a);
  return record("rsqrt", y, {a}, [y = saved(y)](const Tensor& g) {
    return std::vector<Tensor>{raw::mul(raw::mul(g, raw::pow(y, 3.0)), -0.5)};
  });
}

// d tanh(a) = (1 - y^2) da
Tensor tanh(const Tensor& a) {
  Tensor y = raw::tanh(a);
  return record("tanh", y, {a}, [y = saved(y)](const Tensor& g) {
    return std::vector<Tensor>{raw::mul(g, raw::add(raw::neg(raw::mul(y, y)), 1.0))};
  });
}

// d sigmoid(a) = y (1 - y) da
Tensor sigmoid(const Tensor& a) {
  Tensor y = raw::sigmoid(a);
  return record("sigmoid", y, {a}, [y = saved(y)](const Tensor& g) {
    return std::vector<Tensor>{raw::mul(g, raw::mul(y, raw::add(raw::neg(y), 1.0)))};
  });
}

// d a^p = p a^(p-1) da
Tensor pow(const Tensor& a, double p) {
  return record("pow", raw::pow(a, p), {a}, [a = saved(a), p](const Tensor& g) {
    return std::vector<Tensor>{raw::mul(raw::mul(g, raw::pow(a, p - 1.0)), p)};
  });
}

Tensor relu(const Tensor& a) {
  return record("relu", raw::relu(a), {a}, [a = saved(a)](const Tensor& g) {
    return std::vector<Tensor>{raw::mul(g, raw::gt(a, 0.0))};
  });
}

// ---- activations with a derivative kernel (tensor/pointwise.h) ---------------------------------
// y = f(x)  =>  dx = dy f'(x), computed by f's own backward kernel (tensor/kernels/activations.h).
// x is saved for it, so y is rebuilt from x when a later op needs it: one more pass of f instead
// of keeping y.
Tensor pointwise(const Tensor& a, Pointwise f) {
  Tensor y = record(pointwise_name(f), raw::pointwise(a, f), {a}, [a = saved(a), f](const Tensor& g) {
    return std::vector<Tensor>{raw::pointwise_backward(g, a, f)};
  });
  set_recompute(y, [a = saved(a), f] { return raw::pointwise(a, f); });  // a is saved above anyway
  return y;
}

// ---- selection -----------------------------------------------------------------------------------
// The gradient goes to whichever side was picked.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  return record("where", raw::where(cond, a, b), {Tensor(), a, b},
                [c = saved(cond), a = a.shape(), b = b.shape()](const Tensor& g) {
                  Tensor zero = raw::zeros({});
                  return std::vector<Tensor>{Tensor(), reduce_to(raw::where(c, g, zero), a),
                                             reduce_to(raw::where(c, zero, g), b)};
                });
}

Tensor masked_fill(const Tensor& a, const Tensor& mask, double value) {
  return record("masked_fill", raw::masked_fill(a, mask, value), {a}, [a = a.shape(), m = saved(mask)](const Tensor& g) {
    return std::vector<Tensor>{reduce_to(raw::masked_fill(g, m, 0.0), a)};
  });
}

// Inverted dropout: y = a * mask, mask in {0, 1/(1-p)}; dy/da = mask.
// The mask is drawn again by the backward (and by anything that rebuilds y) instead of being kept:
// a mask is as large as the activation it masks, and drawing it again costs little next to the
// matmuls around it.
namespace {
Tensor record_dropout(const Tensor& a, const Tensor& mask, std::function<Tensor()> draw_mask) {
  Tensor y = record("dropout", raw::mul(a, mask), {a}, [draw_mask](const Tensor& g) {
    return std::vector<Tensor>{raw::mul(g, draw_mask())};
  });
  set_recompute(y, [a = saved_or_recompute(a), draw_mask] { return raw::mul(a.get(), draw_mask()); });
  return y;
}
}  // namespace

Tensor dropout(const Tensor& a, double p, bool training, Generator& gen) {
  if (!training || p == 0.0) return a;
  // Replayed from a copy of the generator's state as it was before this mask.
  auto draw = [shape = a.shape(), p, start = gen]() {
    Generator replay = start;
    return raw::dropout_mask(shape, p, replay);
  };
  return record_dropout(a, raw::dropout_mask(a.shape(), p, gen), draw);
}

Tensor dropout(const Tensor& a, const std::function<Tensor()>& draw_mask) {
  return record_dropout(a, draw_mask(), draw_mask);
}

}  // namespace tz
