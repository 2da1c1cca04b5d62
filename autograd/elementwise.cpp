// Elementwise ops: forward (a raw kernel) above backward (the chain rule) for each.
// Broadcasting: an input that was broadcast up gets its gradient summed back down (raw::sum_to).
#include "autograd/node.h"
#include "autograd/ops.h"

namespace tz {

using autograd::record;
using autograd::saved;

namespace {
// d(out)/d(input) gradients must come back in the input's shape.
Tensor reduce_to(const Tensor& g, const Tensor& input) {
  return g.shape() == input.shape() ? g : raw::sum_to(g, input.shape());
}
}  // namespace

// ---- arithmetic ----------------------------------------------------------------------------------
Tensor add(const Tensor& a, const Tensor& b) {
  return record("add", raw::add(a, b), {a, b}, [a = saved(a), b = saved(b)](const Tensor& g) {
    return std::vector<Tensor>{reduce_to(g, a), reduce_to(g, b)};
  });
}

Tensor sub(const Tensor& a, const Tensor& b) {
  return record("sub", raw::sub(a, b), {a, b}, [a = saved(a), b = saved(b)](const Tensor& g) {
    return std::vector<Tensor>{reduce_to(g, a), reduce_to(raw::neg(g), b)};
  });
}

// d(a*b) = b da + a db
Tensor mul(const Tensor& a, const Tensor& b) {
  return record("mul", raw::mul(a, b), {a, b}, [a = saved(a), b = saved(b)](const Tensor& g) {
    return std::vector<Tensor>{reduce_to(raw::mul(g, b), a), reduce_to(raw::mul(g, a), b)};
  });
}

// d(a/b) = da / b - a db / b^2
Tensor div(const Tensor& a, const Tensor& b) {
  return record("div", raw::div(a, b), {a, b}, [a = saved(a), b = saved(b)](const Tensor& g) {
    Tensor ga = raw::div(g, b);
    Tensor gb = raw::neg(raw::div(raw::mul(ga, a), b));
    return std::vector<Tensor>{reduce_to(ga, a), reduce_to(gb, b)};
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

Tensor gelu(const Tensor& a) {
  return record("gelu", raw::gelu(a), {a}, [a = saved(a)](const Tensor& g) {
    return std::vector<Tensor>{raw::gelu_backward(g, a)};
  });
}

Tensor gelu_new(const Tensor& a) {
  return record("gelu_new", raw::gelu_new(a), {a}, [a = saved(a)](const Tensor& g) {
    return std::vector<Tensor>{raw::gelu_new_backward(g, a)};
  });
}

Tensor silu(const Tensor& a) {
  return record("silu", raw::silu(a), {a}, [a = saved(a)](const Tensor& g) {
    return std::vector<Tensor>{raw::silu_backward(g, a)};
  });
}

// ---- selection -----------------------------------------------------------------------------------
// The gradient goes to whichever side was picked.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  return record("where", raw::where(cond, a, b), {Tensor(), a, b},
                [c = saved(cond), a = saved(a), b = saved(b)](const Tensor& g) {
                  Tensor zero = raw::zeros({});
                  return std::vector<Tensor>{Tensor(), reduce_to(raw::where(c, g, zero), a),
                                             reduce_to(raw::where(c, zero, g), b)};
                });
}

Tensor masked_fill(const Tensor& a, const Tensor& mask, double value) {
  return record("masked_fill", raw::masked_fill(a, mask, value), {a}, [a = saved(a), m = saved(mask)](const Tensor& g) {
    return std::vector<Tensor>{reduce_to(raw::masked_fill(g, m, 0.0), a)};
  });
}

// Inverted dropout: y = a * mask, mask in {0, 1/(1-p)}; dy/da = mask.
Tensor dropout(const Tensor& a, double p, bool training, Generator& gen) {
  if (!training || p == 0.0) return a;
  Tensor mask = raw::dropout_mask(a.shape(), p, gen);
  return record("dropout", raw::mul(a, mask), {a}, [mask](const Tensor& g) {
    return std::vector<Tensor>{raw::mul(g, mask)};
  });
}

}  // namespace tz
