// Copies between strided layouts: contiguous, clone, copy_ (with broadcasting), fill_, to_dtype.
// They ride on the strided run machinery of kernels/strided.h: runs that are contiguous on both
// sides become memcpy, broadcast sources become fills, anything else a strided loop; large copies
// are split across threads. Not here: elementwise arithmetic (elementwise_ops.cpp).
#include <algorithm>
#include <cstring>
#include <type_traits>

#include "tensor/kernels/strided.h"
#include "tensor/ops.h"

namespace tz::raw {
namespace {

// dst [n] stride ds <- src [n] stride ss, converting S to D.
template <class D, class S>
void copy_run(D* dst, int64_t ds, const S* src, int64_t ss, int64_t n) {
  if constexpr (std::is_same_v<D, S>) {
    if (ds == 1 && ss == 1) {
      std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(D));
      return;
    }
    if (ds == 1 && ss == 0) {
      std::fill(dst, dst + n, src[0]);
      return;
    }
  }
  for (int64_t i = 0; i < n; ++i) dst[i * ds] = static_cast<D>(src[i * ss]);
}

template <class D, class S>
void copy_typed(const Tensor& dst, const Tensor& src) {
  const auto L = kernels::plan_layout<2>(dst.shape(), {dst.strides(), kernels::broadcast_strides(src, dst.shape())});
  D* d = dst.data<D>();
  const S* s = src.data<S>();
  kernels::parallel_runs(L, kernels::kGrainCheap, [&](const auto& off, const auto& st, int64_t n) {
    copy_run(d + off[0], st[0], s + off[1], st[1], n);
  });
}

template <class T>
void fill_typed(const Tensor& dst, T value) {
  const auto L = kernels::plan_layout<1>(dst.shape(), {dst.strides()});
  T* d = dst.data<T>();
  kernels::parallel_runs(L, kernels::kGrainCheap, [&](const auto& off, const auto& st, int64_t n) {
    copy_run(d + off[0], st[0], &value, 0, n);
  });
}

// copy_ and fill_ write through dst: it must be writable and must not be a broadcast view (two
// elements sharing memory would make the result depend on thread scheduling).
void check_destination(const Tensor& dst, const char* op) {
  TZ_CHECK(dst.storage()->writable(), op, ": cannot write into read-only storage (shape ",
           shape_str(dst.shape()), ")");
  if (dst.numel() == 0) return;  // nothing is written, so no two elements can collide
  for (int64_t d = 0; d < dst.dim(); ++d)
    TZ_CHECK(dst.shape()[d] <= 1 || dst.strides()[d] != 0, op, ": cannot write into a broadcast view (shape ",
             shape_str(dst.shape()), ", strides ", shape_str(dst.strides()), ")");
}

}  // namespace

void copy_(const Tensor& dst, const Tensor& src) {
  const Shape out = broadcast_shapes(dst.shape(), src.shape(), "copy_");
  TZ_CHECK(out == dst.shape(), "copy_: source shape ", shape_str(src.shape()),
           " does not broadcast to destination shape ", shape_str(dst.shape()));
  check_destination(dst, "copy_");
  if (dst.dtype() == DType::Float32) {
    if (src.dtype() == DType::Float32) copy_typed<float, float>(dst, src);
    else copy_typed<float, int64_t>(dst, src);
  } else {
    if (src.dtype() == DType::Int64) copy_typed<int64_t, int64_t>(dst, src);
    else copy_typed<int64_t, float>(dst, src);
  }
}

void fill_(const Tensor& dst, double value) {
  check_destination(dst, "fill_");
  if (dst.dtype() == DType::Float32) fill_typed<float>(dst, static_cast<float>(value));
  else fill_typed<int64_t>(dst, static_cast<int64_t>(value));
}

Tensor clone(const Tensor& t) {
  Tensor out = Tensor::uninitialized(t.shape(), t.dtype());
  copy_(out, t);
  return out;
}

Tensor contiguous(const Tensor& t) { return t.is_contiguous() ? t : clone(t); }

Tensor to_dtype(const Tensor& t, DType dtype) {
  if (t.dtype() == dtype) return t;
  Tensor out = Tensor::uninitialized(t.shape(), dtype);
  copy_(out, t);
  return out;
}

}  // namespace tz::raw
