// Views and joins. A view's backward routes the gradient back to the input's layout: reshape it,
// permute it back, or scatter it into a zero tensor of the input's shape (narrow/slice/select).
#include "autograd/node.h"
#include "autograd/ops.h"

namespace tz {

using autograd::record;

namespace {
// A view of a tensor that can be rebuilt (autograd::set_recompute) can be rebuilt too: rebuild the
// base, then take the same view of it.
template <class TakeView>
Tensor pass_recipe_on(const Tensor& view, const Tensor& base, TakeView take_view) {
  const AutogradMeta* m = base.autograd_meta();
  if (m && m->recompute) autograd::set_recompute(view, [rebuild = m->recompute, take_view] { return take_view(rebuild()); });
  return view;
}
}  // namespace

namespace {
// Gradient of a view taken by `take` (narrow/slice/select): zeros of the input's shape with g
// written into the viewed region.
template <class Take>
Tensor scatter_into_zeros(const Tensor& g, const Shape& input_shape, Take take) {
  Tensor full = raw::zeros(input_shape);
  raw::copy_(take(full), g);
  return full;
}
}  // namespace

Tensor reshape(const Tensor& a, const Shape& shape) {
  Tensor y = record("reshape", raw::reshape(a, shape), {a}, [in = a.shape()](const Tensor& g) {
    return std::vector<Tensor>{raw::reshape(g, in)};
  });
  return pass_recipe_on(y, a, [shape](const Tensor& t) { return raw::reshape(t, shape); });
}

Tensor view(const Tensor& a, const Shape& shape) {
  Tensor y = record("view", raw::view(a, shape), {a}, [in = a.shape()](const Tensor& g) {
    return std::vector<Tensor>{raw::reshape(g, in)};
  });
  return pass_recipe_on(y, a, [shape](const Tensor& t) { return raw::view(t, shape); });
}

Tensor permute(const Tensor& a, const std::vector<int64_t>& dims) {
  Tensor out = raw::permute(a, dims);
  std::vector<int64_t> inverse(dims.size());
  for (size_t i = 0; i < dims.size(); ++i)
    inverse[wrap_dim(dims[i], static_cast<int64_t>(dims.size()), "permute")] = static_cast<int64_t>(i);
  Tensor y = record("permute", out, {a}, [inverse](const Tensor& g) {
    return std::vector<Tensor>{raw::permute(g, inverse)};
  });
  return pass_recipe_on(y, a, [dims](const Tensor& t) { return raw::permute(t, dims); });
}

Tensor transpose(const Tensor& a, int64_t d0, int64_t d1) {
  Tensor y = record("transpose", raw::transpose(a, d0, d1), {a}, [d0, d1](const Tensor& g) {
    return std::vector<Tensor>{raw::transpose(g, d0, d1)};
  });
  return pass_recipe_on(y, a, [d0, d1](const Tensor& t) { return raw::transpose(t, d0, d1); });
}

Tensor narrow(const Tensor& a, int64_t dim, int64_t start, int64_t length) {
  return record("narrow", raw::narrow(a, dim, start, length), {a}, [in = a.shape(), dim, start, length](const Tensor& g) {
    return std::vector<Tensor>{scatter_into_zeros(g, in, [&](const Tensor& t) { return raw::narrow(t, dim, start, length); })};
  });
}

Tensor slice(const Tensor& a, int64_t dim, int64_t start, int64_t end, int64_t step) {
  return record("slice", raw::slice(a, dim, start, end, step), {a}, [in = a.shape(), dim, start, end, step](const Tensor& g) {
    return std::vector<Tensor>{scatter_into_zeros(g, in, [&](const Tensor& t) { return raw::slice(t, dim, start, end, step); })};
  });
}

Tensor select(const Tensor& a, int64_t dim, int64_t index) {
  return record("select", raw::select(a, dim, index), {a}, [in = a.shape(), dim, index](const Tensor& g) {
    return std::vector<Tensor>{scatter_into_zeros(g, in, [&](const Tensor& t) { return raw::select(t, dim, index); })};
  });
}

Tensor unsqueeze(const Tensor& a, int64_t dim) {
  return record("unsqueeze", raw::unsqueeze(a, dim), {a}, [in = a.shape()](const Tensor& g) {
    return std::vector<Tensor>{raw::reshape(g, in)};
  });
}

Tensor squeeze(const Tensor& a, int64_t dim) {
  return record("squeeze", raw::squeeze(a, dim), {a}, [in = a.shape()](const Tensor& g) {
    return std::vector<Tensor>{raw::reshape(g, in)};
  });
}

// Every input element was copied to several outputs: their gradients add up.
Tensor expand(const Tensor& a, const Shape& shape) {
  return record("expand", raw::expand(a, shape), {a}, [in = a.shape()](const Tensor& g) {
    return std::vector<Tensor>{raw::sum_to(g, in)};
  });
}

Tensor contiguous(const Tensor& a) {
  return record("contiguous", raw::contiguous(a), {a}, [](const Tensor& g) { return std::vector<Tensor>{g}; });
}

// Each input receives its own slab of the gradient.
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
  TZ_CHECK(!tensors.empty(), "cat: expected at least one tensor");
  int64_t d = wrap_dim(dim, tensors[0].dim(), "cat");
  std::vector<int64_t> sizes;
  for (const auto& t : tensors) sizes.push_back(t.size(d));
  return record("cat", raw::cat(tensors, d), tensors, [d, sizes](const Tensor& g) {
    std::vector<Tensor> grads;
    int64_t start = 0;
    for (int64_t s : sizes) {
      grads.push_back(raw::narrow(g, d, start, s));
      start += s;
    }
    return grads;
  });
}

}  // namespace tz
