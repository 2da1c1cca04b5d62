// Indexing ops: embedding lookup and its scatter-add backward, cat, gather, one_hot.
// Every id is validated before any memory is touched, so a bad id throws (naming the id, where it
// sits and the valid range) instead of reading out of bounds. Row kernels: tensor/kernels/index.*.
// Not here: where / masked_fill (elementwise ops) and the autograd wrappers (autograd/).
#include <algorithm>
#include <cstdint>

#include "tensor/kernels/index.h"
#include "tensor/ops.h"
#include "tensor/parallel.h"

namespace tz::raw {
namespace {

// Below this many floats of work the thread hand-off costs more than it saves.
constexpr int64_t kParallelWork = 1 << 15;

void check_ids_dtype(const char* op, const Tensor& ids) {
  TZ_CHECK(ids.dtype() == DType::Int64, op, ": ids must be int64, got ", dtype_name(ids.dtype()),
           " with shape ", shape_str(ids.shape()));
}

// Throws naming the first id outside [0, limit).
void check_ids_range(const char* op, const Tensor& ids_contig, int64_t limit, const char* what,
                     const Shape& ids_shape) {
  const int64_t* p = ids_contig.data<int64_t>();
  for (int64_t i = 0, n = ids_contig.numel(); i < n; ++i)
    TZ_CHECK(p[i] >= 0 && p[i] < limit, op, ": id ", p[i], " at flat position ", i, " of ids ",
             shape_str(ids_shape), " is out of range for ", what, " ", limit, " (expected 0..", limit - 1, ")");
}

template <class T>
void gather_typed(const Tensor& a, int64_t d, const Tensor& index, const Tensor& out) {
  const int64_t n = a.dim();
  const T* ap = static_cast<const T*>(a.storage()->data());
  const int64_t* ip = static_cast<const int64_t*>(index.storage()->data());
  T* op = out.data<T>();
  const Shape& shape = index.shape();
  const int64_t limit = a.shape()[d];
  std::vector<int64_t> idx(n, 0);
  for (int64_t flat = 0, total = out.numel(); flat < total; ++flat) {
    int64_t ioff = index.offset(), aoff = a.offset();
    for (int64_t k = 0; k < n; ++k) {
      ioff += idx[k] * index.strides()[k];
      if (k != d) aoff += idx[k] * a.strides()[k];
    }
    const int64_t v = ip[ioff];
    TZ_CHECK(v >= 0 && v < limit, "gather: index ", v, " at flat position ", flat, " is out of range for dim ",
             d, " of size ", limit, " (input shape ", shape_str(a.shape()), ")");
    op[flat] = ap[aoff + v * a.strides()[d]];
    for (int64_t k = n - 1; k >= 0; --k) {
      if (++idx[k] < shape[k]) break;
      idx[k] = 0;
    }
  }
}

}  // namespace

Tensor embedding(const Tensor& weight, const Tensor& ids) {
  TZ_CHECK(weight.dim() == 2 && weight.dtype() == DType::Float32,
           "embedding: weight must be a float32 [V, C] table, got ", dtype_name(weight.dtype()), " ",
           shape_str(weight.shape()));
  check_ids_dtype("embedding", ids);
  const int64_t V = weight.size(0), C = weight.size(1);
  Tensor id = contiguous(ids);
  check_ids_range("embedding", id, V, "vocab size", ids.shape());
  // Rows may be strided (a narrowed table); columns must be unit-stride for the row copies.
  Tensor table = weight.stride(1) == 1 || C <= 1 ? weight : contiguous(weight);
  const int64_t row_stride = table.stride(0);
  Shape out_shape = ids.shape();
  out_shape.push_back(C);
  Tensor out = Tensor::uninitialized(out_shape);
  const int64_t N = id.numel();
  if (N == 0 || C == 0) return out;
  const float* tp = table.data<float>();
  const int64_t* ip = id.data<int64_t>();
  float* op = out.data<float>();
  parallel_for(0, N, std::max<int64_t>(1, kParallelWork / C), [&](int64_t i0, int64_t i1) {
    kernels::gather_rows(tp, row_stride, ip + i0, i1 - i0, C, op + i0 * C);
  });
  return out;
}

Tensor embedding_backward(const Tensor& grad, const Tensor& ids, int64_t num_rows, int64_t padding_idx) {
  check_ids_dtype("embedding_backward", ids);
  TZ_CHECK(grad.dtype() == DType::Float32, "embedding_backward: grad must be float32, got ",
           dtype_name(grad.dtype()));
  TZ_CHECK(num_rows >= 0, "embedding_backward: num_rows must be >= 0, got ", num_rows);
  TZ_CHECK(grad.dim() == ids.dim() + 1 &&
               std::equal(ids.shape().begin(), ids.shape().end(), grad.shape().begin()),
           "embedding_backward: grad shape ", shape_str(grad.shape()), " does not match ids shape ",
           shape_str(ids.shape()), " (expected ids shape + [C])");
  const int64_t C = grad.size(-1);
  Tensor id = contiguous(ids);
  check_ids_range("embedding_backward", id, num_rows, "table size", ids.shape());
  Tensor g = contiguous(grad);
  Tensor out = zeros({num_rows, C});
  const int64_t N = id.numel();
  if (N == 0 || C == 0) return out;
  const int64_t* ip = id.data<int64_t>();
  const float* gp = g.data<float>();
  float* op = out.data<float>();
  // Threads split the columns, so no two threads ever add into the same element.
  const int64_t col_grain = N * C < kParallelWork ? C : 16;
  parallel_for(0, C, col_grain, [&](int64_t c0, int64_t c1) {
    for (int64_t i = 0; i < N; ++i) {
      if (ip[i] == padding_idx) continue;
      kernels::add_row(op + ip[i] * C + c0, gp + i * C + c0, c1 - c0);
    }
  });
  return out;
}

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
  TZ_CHECK(!tensors.empty(), "cat: expected at least one tensor");
  const Tensor& first = tensors[0];
  TZ_CHECK(first.dim() > 0, "cat: cannot concatenate 0-dim tensors");
  const int64_t d = wrap_dim(dim, first.dim(), "cat");
  Shape out_shape = first.shape();
  out_shape[d] = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    TZ_CHECK(t.dtype() == first.dtype(), "cat: tensor ", i, " is ", dtype_name(t.dtype()), " but tensor 0 is ",
             dtype_name(first.dtype()));
    bool same = t.dim() == first.dim();
    for (int64_t k = 0; same && k < t.dim(); ++k) same = k == d || t.shape()[k] == first.shape()[k];
    TZ_CHECK(same, "cat: tensor ", i, " has shape ", shape_str(t.shape()), " but tensor 0 has shape ",
             shape_str(first.shape()), " (sizes must match except in dim ", d, ")");
    out_shape[d] += t.shape()[d];
  }
  Tensor out = Tensor::uninitialized(out_shape, first.dtype());
  int64_t start = 0;
  for (const Tensor& t : tensors) {
    const int64_t len = t.shape()[d];
    if (len > 0) copy_(narrow(out, d, start, len), t);
    start += len;
  }
  return out;
}

Tensor gather(const Tensor& a, int64_t dim, const Tensor& index) {
  TZ_CHECK(a.dim() >= 1, "gather: expected an input with at least 1 dim, got shape ", shape_str(a.shape()));
  TZ_CHECK(index.dtype() == DType::Int64, "gather: index must be int64, got ", dtype_name(index.dtype()));
  const int64_t d = wrap_dim(dim, a.dim(), "gather");
  TZ_CHECK(index.dim() == a.dim(), "gather: index shape ", shape_str(index.shape()), " and input shape ",
           shape_str(a.shape()), " must have the same number of dims");
  for (int64_t k = 0; k < a.dim(); ++k)
    TZ_CHECK(k == d || index.shape()[k] <= a.shape()[k], "gather: index shape ", shape_str(index.shape()),
             " exceeds input shape ", shape_str(a.shape()), " at dim ", k, " (only dim ", d, " may differ)");
  Tensor out = Tensor::uninitialized(index.shape(), a.dtype());
  if (a.dtype() == DType::Float32) gather_typed<float>(a, d, index, out);
  else gather_typed<int64_t>(a, d, index, out);
  return out;
}

Tensor one_hot(const Tensor& ids, int64_t num_classes) {
  check_ids_dtype("one_hot", ids);
  Tensor id = contiguous(ids);
  const int64_t* ip = id.data<int64_t>();
  const int64_t N = id.numel();
  if (num_classes == -1) {  // as PyTorch: one more than the largest id
    TZ_CHECK(N > 0, "one_hot: cannot infer num_classes (-1) from an empty ids tensor");
    for (int64_t i = 0; i < N; ++i)
      TZ_CHECK(ip[i] >= 0, "one_hot: id ", ip[i], " at flat position ", i, " of ids ", shape_str(ids.shape()),
               " is negative");
    num_classes = *std::max_element(ip, ip + N) + 1;
  }
  TZ_CHECK(num_classes >= 1, "one_hot: num_classes must be >= 1 (or -1 to infer), got ", num_classes);
  check_ids_range("one_hot", id, num_classes, "num_classes", ids.shape());
  Shape out_shape = ids.shape();
  out_shape.push_back(num_classes);
  Tensor out = Tensor::empty(out_shape);
  float* op = out.data<float>();
  for (int64_t i = 0; i < N; ++i) op[i * num_classes + ip[i]] = 1.f;
  return out;
}

}  // namespace tz::raw
