// Copies between strided layouts: contiguous, clone, copy_ (with broadcasting), fill_, to_dtype.
// A plain N-d index walk with the innermost dim as the tight loop; the vectorised elementwise
// machinery lives in kernels/ and may replace these loops where it pays.
#include <cstring>

#include "tensor/ops.h"

namespace tz::raw {
namespace {

// Calls fn(dst_offset, src_offset, inner_count, dst_inner_stride, src_inner_stride) for every
// innermost row of `shape`, given the two operands' strides.
template <class Fn>
void for_each_row(const Shape& shape, const Shape& dst_strides, int64_t dst_off,
                  const Shape& src_strides, int64_t src_off, Fn&& fn) {
  const int64_t nd = static_cast<int64_t>(shape.size());
  if (shape_numel(shape) == 0) return;
  if (nd == 0) {
    fn(dst_off, src_off, 1, 1, 1);
    return;
  }
  std::vector<int64_t> idx(nd, 0);
  const int64_t inner = shape[nd - 1];
  for (;;) {
    int64_t d = dst_off, s = src_off;
    for (int64_t i = 0; i < nd - 1; ++i) {
      d += idx[i] * dst_strides[i];
      s += idx[i] * src_strides[i];
    }
    fn(d, s, inner, dst_strides[nd - 1], src_strides[nd - 1]);
    int64_t i = nd - 2;
    for (; i >= 0; --i) {
      if (++idx[i] < shape[i]) break;
      idx[i] = 0;
    }
    if (i < 0) return;
  }
}

template <class D, class S>
void copy_typed(const Tensor& dst, const Tensor& src_expanded) {
  D* d = static_cast<D*>(dst.storage()->data());
  const S* s = static_cast<const S*>(src_expanded.storage()->data());
  for_each_row(dst.shape(), dst.strides(), dst.offset(), src_expanded.strides(), src_expanded.offset(),
               [&](int64_t doff, int64_t soff, int64_t n, int64_t ds, int64_t ss) {
                 if (ds == 1 && ss == 1 && std::is_same_v<D, S>) {
                   std::memcpy(d + doff, s + soff, n * sizeof(D));
                   return;
                 }
                 for (int64_t k = 0; k < n; ++k) d[doff + k * ds] = static_cast<D>(s[soff + k * ss]);
               });
}

// src broadcast to `shape` as a strided view (stride 0 on broadcast dims).
Tensor broadcast_view(const Tensor& src, const Shape& shape, const char* op) {
  Shape out = broadcast_shapes(shape, src.shape(), op);
  TZ_CHECK(out == shape, op, ": source shape ", shape_str(src.shape()),
           " does not broadcast to destination shape ", shape_str(shape));
  const size_t nd = shape.size(), ns = src.shape().size();
  Shape strides(nd, 0);
  for (size_t i = 0; i < ns; ++i) {
    size_t j = nd - ns + i;
    strides[j] = src.shape()[i] == 1 ? 0 : src.strides()[i];
  }
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = src.storage();
  impl->dtype = src.dtype();
  impl->shape = shape;
  impl->strides = strides;
  impl->offset = src.offset();
  return Tensor(std::move(impl));
}

}  // namespace

void copy_(const Tensor& dst, const Tensor& src) {
  Tensor s = broadcast_view(src, dst.shape(), "copy_");
  if (dst.dtype() == DType::Float32) {
    if (src.dtype() == DType::Float32) copy_typed<float, float>(dst, s);
    else copy_typed<float, int64_t>(dst, s);
  } else {
    if (src.dtype() == DType::Int64) copy_typed<int64_t, int64_t>(dst, s);
    else copy_typed<int64_t, float>(dst, s);
  }
}

void fill_(const Tensor& dst, double value) {
  if (dst.dtype() == DType::Float32) {
    Tensor v = Tensor::empty({}, DType::Float32);
    *v.data<float>() = static_cast<float>(value);
    copy_(dst, v);
  } else {
    Tensor v = Tensor::empty({}, DType::Int64);
    *v.data<int64_t>() = static_cast<int64_t>(value);
    copy_(dst, v);
  }
}

Tensor clone(const Tensor& t) {
  Tensor out = Tensor::empty(t.shape(), t.dtype());
  copy_(out, t);
  return out;
}

Tensor contiguous(const Tensor& t) { return t.is_contiguous() ? t : clone(t); }

Tensor to_dtype(const Tensor& t, DType dtype) {
  if (t.dtype() == dtype) return t;
  Tensor out = Tensor::empty(t.shape(), dtype);
  copy_(out, t);
  return out;
}

}  // namespace tz::raw
