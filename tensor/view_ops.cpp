// Views: view/reshape, permute/transpose, narrow/slice/select, unsqueeze/squeeze, expand.
// Every view is a new TensorImpl over the same Storage (Tensor::view_of re-checks the bounds), so
// writes through a view show up in the base. Only reshape may copy, and only when no strides fit.
// Not here: the copies themselves (copy_ops.cpp) and the autograd wrappers (autograd/views.cpp).
#include <algorithm>
#include <optional>

#include "tensor/ops.h"

namespace tz::raw {
namespace {

Tensor make_view(const Tensor& t, Shape shape, Shape strides, int64_t offset) {
  return Tensor::view_of(t.storage(), t.dtype(), std::move(shape), std::move(strides), offset);
}

// Replaces a single -1 by the size that keeps numel; checks all other sizes.
Shape infer_shape(const char* op, const Shape& from, Shape shape) {
  const int64_t numel = shape_numel(from);
  int64_t known = 1;
  int64_t infer_at = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      TZ_CHECK(infer_at < 0, op, ": only one size may be -1, got ", shape_str(shape));
      infer_at = static_cast<int64_t>(i);
    } else {
      TZ_CHECK(shape[i] >= 0, op, ": invalid size ", shape[i], " at dim ", i, " in shape ",
               shape_str(shape));
      known *= shape[i];
    }
  }
  if (infer_at >= 0) {
    TZ_CHECK(known != 0, op, ": cannot infer the -1 in shape ", shape_str(shape), " for a tensor of ",
             numel, " elements (other sizes multiply to 0)");
    TZ_CHECK(numel % known == 0, op, ": shape ", shape_str(shape), " is invalid for input of shape ",
             shape_str(from), " (", numel, " elements)");
    shape[infer_at] = numel / known;
  } else {
    TZ_CHECK(known == numel, op, ": shape ", shape_str(shape), " (", known,
             " elements) is invalid for input of shape ", shape_str(from), " (", numel, " elements)");
  }
  return shape;
}

// Strides that let `new_shape` walk the same elements as (old_shape, old_strides) in row-major
// order, or nothing when no such strides exist. The old dims are grouped into maximal runs that
// are contiguous with each other ("chunks"); a view is possible exactly when every chunk is
// covered by a run of new dims with the same element count.
std::optional<Shape> view_strides(const Shape& old_shape, const Shape& old_strides, const Shape& new_shape) {
  if (shape_numel(old_shape) <= 1) return contiguous_strides(new_shape);  // any strides do
  Shape strides(new_shape.size(), 0);
  int64_t view_d = static_cast<int64_t>(new_shape.size()) - 1;
  int64_t chunk_stride = old_strides.back();
  int64_t old_count = 1, new_count = 1;
  for (int64_t d = static_cast<int64_t>(old_shape.size()) - 1; d >= 0; --d) {
    old_count *= old_shape[d];
    const bool chunk_ends =
        d == 0 || (old_shape[d - 1] != 1 && old_strides[d - 1] != old_count * chunk_stride);
    if (!chunk_ends) continue;
    while (view_d >= 0 && (new_count < old_count || new_shape[view_d] == 1)) {
      strides[view_d] = new_count * chunk_stride;
      new_count *= new_shape[view_d];
      --view_d;
    }
    if (new_count != old_count) return std::nullopt;
    if (d > 0) {
      chunk_stride = old_strides[d - 1];
      old_count = new_count = 1;
    }
  }
  if (view_d != -1) return std::nullopt;
  return strides;
}

}  // namespace

Tensor view(const Tensor& t, Shape shape) {
  shape = infer_shape("view", t.shape(), std::move(shape));
  auto strides = view_strides(t.shape(), t.strides(), shape);
  TZ_CHECK(strides.has_value(), "view: a tensor of shape ", shape_str(t.shape()), " with strides ",
           shape_str(t.strides()), " cannot be viewed as ", shape_str(shape),
           " (its memory layout does not allow it; use reshape, which copies)");
  return make_view(t, std::move(shape), std::move(*strides), t.offset());
}

Tensor reshape(const Tensor& t, Shape shape) {
  shape = infer_shape("reshape", t.shape(), std::move(shape));
  if (auto strides = view_strides(t.shape(), t.strides(), shape))
    return make_view(t, std::move(shape), std::move(*strides), t.offset());
  Tensor c = clone(t);
  Shape strides = contiguous_strides(shape);
  return make_view(c, std::move(shape), std::move(strides), 0);
}

Tensor permute(const Tensor& t, const std::vector<int64_t>& dims) {
  const int64_t n = t.dim();
  TZ_CHECK(static_cast<int64_t>(dims.size()) == n, "permute: got ", dims.size(), " dims ",
           shape_str(dims), " for a tensor of shape ", shape_str(t.shape()));
  Shape shape(n), strides(n);
  std::vector<bool> used(n, false);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t d = wrap_dim(dims[i], n, "permute");
    TZ_CHECK(!used[d], "permute: dim ", dims[i], " repeated in ", shape_str(dims));
    used[d] = true;
    shape[i] = t.shape()[d];
    strides[i] = t.strides()[d];
  }
  return make_view(t, std::move(shape), std::move(strides), t.offset());
}

Tensor transpose(const Tensor& t, int64_t dim0, int64_t dim1) {
  const int64_t d0 = wrap_dim(dim0, t.dim(), "transpose"), d1 = wrap_dim(dim1, t.dim(), "transpose");
  Shape shape = t.shape(), strides = t.strides();
  if (t.dim() > 0) {
    std::swap(shape[d0], shape[d1]);
    std::swap(strides[d0], strides[d1]);
  }
  return make_view(t, std::move(shape), std::move(strides), t.offset());
}

Tensor narrow(const Tensor& t, int64_t dim, int64_t start, int64_t length) {
  TZ_CHECK(t.dim() > 0, "narrow: cannot narrow a 0-dim tensor");
  const int64_t d = wrap_dim(dim, t.dim(), "narrow");
  const int64_t size = t.shape()[d];
  TZ_CHECK(start >= -size && start <= size, "narrow: start ", start, " out of range for dim ", dim,
           " of size ", size, " (shape ", shape_str(t.shape()), ")");
  if (start < 0) start += size;
  TZ_CHECK(length >= 0 && start + length <= size, "narrow: start ", start, " + length ", length,
           " exceeds size ", size, " of dim ", dim, " (shape ", shape_str(t.shape()), ")");
  Shape shape = t.shape();
  shape[d] = length;
  return make_view(t, std::move(shape), t.strides(), t.offset() + start * t.strides()[d]);
}

Tensor slice(const Tensor& t, int64_t dim, int64_t start, int64_t end, int64_t step) {
  TZ_CHECK(t.dim() > 0, "slice: cannot slice a 0-dim tensor");
  TZ_CHECK(step > 0, "slice: step must be positive, got ", step);
  const int64_t d = wrap_dim(dim, t.dim(), "slice");
  const int64_t size = t.shape()[d];
  // Python slice rules: negative bounds count from the end, then both clamp to [0, size].
  if (start < 0) start += size;
  if (end < 0) end += size;
  start = std::clamp<int64_t>(start, 0, size);
  end = std::clamp<int64_t>(end, start, size);
  Shape shape = t.shape(), strides = t.strides();
  shape[d] = (end - start + step - 1) / step;
  strides[d] *= step;
  return make_view(t, std::move(shape), std::move(strides), t.offset() + start * t.strides()[d]);
}

Tensor select(const Tensor& t, int64_t dim, int64_t index) {
  TZ_CHECK(t.dim() > 0, "select: cannot select from a 0-dim tensor");
  const int64_t d = wrap_dim(dim, t.dim(), "select");
  const int64_t size = t.shape()[d];
  TZ_CHECK(index >= -size && index < size, "select: index ", index, " out of range for dim ", dim,
           " of size ", size, " (shape ", shape_str(t.shape()), ")");
  if (index < 0) index += size;
  Shape shape = t.shape(), strides = t.strides();
  const int64_t offset = t.offset() + index * strides[d];
  shape.erase(shape.begin() + d);
  strides.erase(strides.begin() + d);
  return make_view(t, std::move(shape), std::move(strides), offset);
}

Tensor unsqueeze(const Tensor& t, int64_t dim) {
  const int64_t n = t.dim();
  TZ_CHECK(dim >= -(n + 1) && dim <= n, "unsqueeze: dim ", dim, " out of range for a tensor with ", n,
           " dims (expected ", -(n + 1), "..", n, ")");
  const int64_t d = dim < 0 ? dim + n + 1 : dim;
  Shape shape = t.shape(), strides = t.strides();
  // Any stride is valid for a size-1 dim; this one keeps a contiguous tensor contiguous.
  const int64_t stride = d < t.dim() ? shape[d] * strides[d] : 1;
  shape.insert(shape.begin() + d, 1);
  strides.insert(strides.begin() + d, stride);
  return make_view(t, std::move(shape), std::move(strides), t.offset());
}

// As PyTorch: squeezing a dim whose size is not 1 returns the tensor unchanged (as a view).
Tensor squeeze(const Tensor& t, int64_t dim) {
  if (t.dim() == 0) {
    wrap_dim(dim, 0, "squeeze");
    return make_view(t, {}, {}, t.offset());
  }
  const int64_t d = wrap_dim(dim, t.dim(), "squeeze");
  Shape shape = t.shape(), strides = t.strides();
  if (shape[d] == 1) {
    shape.erase(shape.begin() + d);
    strides.erase(strides.begin() + d);
  }
  return make_view(t, std::move(shape), std::move(strides), t.offset());
}

Tensor expand(const Tensor& t, const Shape& shape) {
  const int64_t n = static_cast<int64_t>(shape.size()), m = t.dim();
  TZ_CHECK(n >= m, "expand: target shape ", shape_str(shape), " has fewer dims than the tensor's shape ",
           shape_str(t.shape()));
  Shape out(n), strides(n);
  for (int64_t i = n - 1; i >= 0; --i) {
    const int64_t j = i - (n - m);  // the matching dim of t, or < 0 for a new leading dim
    const int64_t want = shape[i];
    if (j < 0) {
      TZ_CHECK(want >= 0, "expand: size ", want, " at new leading dim ", i, " of ", shape_str(shape),
               " must be given (-1 only keeps an existing size)");
      out[i] = want;
      strides[i] = 0;
      continue;
    }
    const int64_t have = t.shape()[j];
    if (want == -1 || want == have) {
      out[i] = have;
      strides[i] = t.strides()[j];
    } else {
      TZ_CHECK(have == 1 && want >= 0, "expand: cannot expand shape ", shape_str(t.shape()), " to ",
               shape_str(shape), " (dim ", i, ": size ", have, " to ", want,
               "; only size-1 dims can grow)");
      out[i] = want;
      strides[i] = 0;
    }
  }
  return make_view(t, std::move(out), std::move(strides), t.offset());
}

}  // namespace tz::raw
