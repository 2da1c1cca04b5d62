// matmul and linear: shape logic, batching and layout selection in front of kernels::sgemm
// (tensor/kernels/gemm.*, which is OpenBLAS). The autograd wrappers are in autograd/nn_ops.cpp.
//
// Layouts. sgemm reads a row-major matrix [rows, cols] either directly (column stride 1, leading
// dim = row stride) or as the transpose of a stored [cols, rows] matrix (row stride 1, leading dim
// = column stride). Any operand whose last two dims fit one of these patterns is passed as is:
// contiguous tensors, transpose(x, -1, -2) views, narrowed columns, batches with stride 0
// (broadcast). Anything else (e.g. stride 0 inside the matrix, or both strides > 1) is copied to
// contiguous memory first.
//
// Threads. One large product is split over our pool in bands of rows or columns
// (kernels::sgemm_parallel; OpenBLAS itself always runs single-threaded, see tensor/parallel.h).
// A batch of at least as many products as threads (attention scores: [B*H, T, D] x [B*H, D, T])
// is split over its items instead. Called from inside a parallel_for chunk, everything runs
// serially on the calling thread.
#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

#include "tensor/kernels/gemm.h"
#include "tensor/ops.h"
#include "tensor/parallel.h"

namespace tz::raw {
namespace {

// One matrix operand of a product as sgemm will see it.
struct Operand {
  Tensor t;               // the tensor the pointers refer to (a copy when the input did not fit)
  int64_t rows = 0, cols = 0;
  int64_t row_stride = 0, col_stride = 0;
  Shape batch_shape, batch_strides;  // the leading dims
  bool trans = false;     // stored as [cols, rows]
  int64_t ld = 1;
};

// Fills the sgemm view (trans, ld) of op's matrix dims; false when no sgemm layout fits.
bool fit_layout(Operand& op) {
  const int64_t r = op.rows, c = op.cols;
  if (r == 0 || c == 0) {  // nothing is read; contiguous strides of an empty matrix can be 0
    op.trans = false;
    op.ld = std::max<int64_t>(1, c);
    return true;
  }
  // A size-1 dim may have any stride; treat it as whatever the pattern needs.
  const bool unit_cols = c == 1 || op.col_stride == 1;
  const bool unit_rows = r == 1 || op.row_stride == 1;
  if (unit_cols && (r == 1 || op.row_stride >= std::max<int64_t>(1, c))) {
    op.trans = false;
    op.ld = r == 1 ? std::max<int64_t>(1, c) : op.row_stride;
    return true;
  }
  if (unit_rows && (c == 1 || op.col_stride >= std::max<int64_t>(1, r))) {
    op.trans = true;
    op.ld = c == 1 ? std::max<int64_t>(1, r) : op.col_stride;
    return true;
  }
  return false;
}

// x [..., r, c]; a 1-D x is a single row (as_row) or a single column (!as_row).
Operand make_operand(const Tensor& x, bool as_row) {
  Operand op;
  op.t = x;
  for (int attempt = 0; attempt < 2; ++attempt) {
    const Shape& sh = op.t.shape();
    const Shape& st = op.t.strides();
    const size_t n = sh.size();
    if (n == 1) {
      op.rows = as_row ? 1 : sh[0];
      op.cols = as_row ? sh[0] : 1;
      op.row_stride = as_row ? 0 : st[0];
      op.col_stride = as_row ? st[0] : 0;
    } else {
      op.rows = sh[n - 2];
      op.cols = sh[n - 1];
      op.row_stride = st[n - 2];
      op.col_stride = st[n - 1];
      op.batch_shape.assign(sh.begin(), sh.end() - 2);
      op.batch_strides.assign(st.begin(), st.end() - 2);
    }
    if (fit_layout(op)) return op;
    op.t = clone(x);  // contiguous always fits
    op.batch_shape.clear();
    op.batch_strides.clear();
  }
  throw Error("matmul: internal error: no sgemm layout for a contiguous operand");
}

// Strides of op's batch dims aligned to the broadcast batch shape (0 where op is broadcast).
Shape aligned_batch_strides(const Operand& op, const Shape& batch) {
  Shape s(batch.size(), 0);
  const size_t off = batch.size() - op.batch_shape.size();
  for (size_t i = 0; i < op.batch_shape.size(); ++i)
    s[off + i] = op.batch_shape[i] == 1 ? 0 : op.batch_strides[i];
  return s;
}

// When A's batch dims and rows form one uniformly strided run of rows (a contiguous [B, T, C]
// input, say) and B is the same matrix for every batch item, the whole batch is one product with
// batch * M rows. Returns the row stride of that run, or 0 when folding is not possible.
int64_t fold_row_stride(const Operand& a, const Shape& batch, const Shape& a_bstrides) {
  if (a.trans && a.rows > 1) return 0;
  if (a.cols > 1 && a.col_stride != 1) return 0;
  // (size, stride) pairs from the innermost (rows) outwards, skipping size-1 dims.
  int64_t stride = 0, expected = 0;
  bool have = false;
  auto take = [&](int64_t size, int64_t st) {
    if (size == 1) return true;
    if (!have) {
      have = true;
      stride = st;
      expected = st * size;
      return true;
    }
    if (st != expected) return false;
    expected *= size;
    return true;
  };
  if (!take(a.rows, a.row_stride)) return 0;
  for (size_t i = batch.size(); i-- > 0;)
    if (!take(batch[i], a_bstrides[i])) return 0;
  if (!have) return std::max<int64_t>(1, a.cols);
  return stride >= std::max<int64_t>(1, a.cols) ? stride : 0;
}

void check_blas_size(const char* op, int64_t v, const Shape& a, const Shape& b) {
  TZ_CHECK(v <= INT_MAX, op, ": shapes ", shape_str(a), " and ", shape_str(b),
           " are too large for a 32-bit BLAS (", v, " > ", INT_MAX, ")");
}

// out[..., M, N] = A[..., M, K] B[..., K, N] (+ bias[N]); shapes already checked by the caller.
Tensor gemm_driver(const char* op, const Tensor& a_in, const Tensor& b_in, const Tensor& bias,
                   const Shape& show_a, const Shape& show_b) {
  const bool a_vec = a_in.dim() == 1, b_vec = b_in.dim() == 1;
  Operand A = make_operand(a_in, /*as_row=*/true);
  Operand B = make_operand(b_in, /*as_row=*/false);
  const int64_t M = A.rows, K = A.cols, N = B.cols;

  // Broadcast the batch dims (NumPy rules), naming the full shapes on failure.
  const size_t nb_dims = std::max(A.batch_shape.size(), B.batch_shape.size());
  Shape batch(nb_dims);
  for (size_t i = 0; i < nb_dims; ++i) {
    const size_t ia = i + A.batch_shape.size(), ib = i + B.batch_shape.size();
    const int64_t da = ia >= nb_dims ? A.batch_shape[ia - nb_dims] : 1;
    const int64_t db = ib >= nb_dims ? B.batch_shape[ib - nb_dims] : 1;
    TZ_CHECK(da == db || da == 1 || db == 1, op, ": batch dims of shapes ", shape_str(show_a), " and ",
             shape_str(show_b), " cannot be broadcast (", da, " vs ", db, " at batch dim ", i, ")");
    batch[i] = da == 1 ? db : da;
  }
  Shape out_shape = batch;
  if (!a_vec) out_shape.push_back(M);
  if (!b_vec) out_shape.push_back(N);
  // Not zeroed: sgemm with beta == 0 writes every element, and zeroing a [1024, 3072] output
  // first costs about as much as 3% of the product.
  Tensor out = Tensor::uninitialized(out_shape);
  const int64_t nb = shape_numel(batch);
  if (out.numel() == 0) return out;
  float* C = out.data<float>();

  // bias: every output row starts as bias and sgemm accumulates onto it (beta = 1), which costs
  // nothing extra: with beta = 0 OpenBLAS makes its own pass to zero C.
  float beta = 0.f;
  if (bias.defined()) {
    Tensor bc = contiguous(bias);
    const float* bp = bc.data<float>();
    parallel_for(0, nb * M, 64, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) std::memcpy(C + r * N, bp, N * sizeof(float));
    });
    beta = 1.f;
  }
  if (K == 0) {
    if (!bias.defined()) std::memset(C, 0, out.numel() * sizeof(float));
    return out;
  }

  for (int64_t v : {M, N, K, A.ld, B.ld}) check_blas_size(op, v, show_a, show_b);
  const float* a_base = A.t.data<float>();
  const float* b_base = B.t.data<float>();
  const Shape a_bs = aligned_batch_strides(A, batch), b_bs = aligned_batch_strides(B, batch);

  bool b_shared = true;
  for (int64_t s : b_bs) b_shared = b_shared && s == 0;
  if (b_shared) {
    if (const int64_t row_stride = fold_row_stride(A, batch, a_bs); row_stride > 0 && nb * M <= INT_MAX) {
      kernels::sgemm_parallel(false, B.trans, nb * M, N, K, 1.f, a_base, row_stride, b_base, B.ld, beta, C, N);
      return out;
    }
  }

  // Element offsets of every batch item in A and B (row-major over the batch dims).
  std::vector<int64_t> a_off(nb), b_off(nb);
  {
    std::vector<int64_t> idx(nb_dims, 0);
    int64_t ao = 0, bo = 0;
    for (int64_t i = 0; i < nb; ++i) {
      a_off[i] = ao;
      b_off[i] = bo;
      for (size_t d = nb_dims; d-- > 0;) {
        ao += a_bs[d];
        bo += b_bs[d];
        if (++idx[d] < batch[d]) break;
        ao -= a_bs[d] * batch[d];
        bo -= b_bs[d] * batch[d];
        idx[d] = 0;
      }
    }
  }
  auto run = [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i)
      kernels::sgemm(A.trans, B.trans, M, N, K, 1.f, a_base + a_off[i], A.ld, b_base + b_off[i], B.ld,
                     beta, C + i * M * N, N);
  };
  const int64_t threads = get_num_threads();
  if (nb >= 4 * threads || nb % threads == 0) {  // items spread evenly enough over the threads
    parallel_for(0, nb, 1, run);  // serial when single-threaded or already inside a chunk
  } else {
    for (int64_t i = 0; i < nb; ++i)
      kernels::sgemm_parallel(A.trans, B.trans, M, N, K, 1.f, a_base + a_off[i], A.ld, b_base + b_off[i], B.ld,
                              beta, C + i * M * N, N);
  }
  return out;
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  TZ_CHECK(a.dim() >= 1 && b.dim() >= 1, "matmul: both operands need at least 1 dim, got shapes ",
           shape_str(a.shape()), " and ", shape_str(b.shape()));
  TZ_CHECK(a.dtype() == DType::Float32 && b.dtype() == DType::Float32,
           "matmul: expected float32 operands, got ", dtype_name(a.dtype()), " and ", dtype_name(b.dtype()));
  const int64_t ka = a.size(-1);
  const int64_t kb = b.dim() == 1 ? b.size(0) : b.size(-2);
  TZ_CHECK(ka == kb, "matmul: shapes ", shape_str(a.shape()), " and ", shape_str(b.shape()),
           " do not match (inner dims ", ka, " vs ", kb, ")");
  return gemm_driver("matmul", a, b, Tensor(), a.shape(), b.shape());
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  TZ_CHECK(x.dtype() == DType::Float32 && weight.dtype() == DType::Float32,
           "linear: expected float32 input and weight, got ", dtype_name(x.dtype()), " and ",
           dtype_name(weight.dtype()));
  TZ_CHECK(weight.dim() == 2, "linear: weight must be 2-D [out, in], got shape ", shape_str(weight.shape()));
  TZ_CHECK(x.dim() >= 1, "linear: input must have at least 1 dim, got shape ", shape_str(x.shape()));
  const int64_t out = weight.size(0), in = weight.size(1);
  TZ_CHECK(x.size(-1) == in, "linear: input shape ", shape_str(x.shape()), " does not match weight shape ",
           shape_str(weight.shape()), " (in features ", x.size(-1), " vs ", in, ")");
  if (bias.defined()) {
    TZ_CHECK(bias.dtype() == DType::Float32, "linear: bias must be float32, got ", dtype_name(bias.dtype()));
    TZ_CHECK(bias.shape() == Shape{out}, "linear: bias shape ", shape_str(bias.shape()),
             " does not match weight shape ", shape_str(weight.shape()), " (expected [", out, "])");
  }
  // W^T as a view: [in, out] with strides swapped, which sgemm reads with its Trans flag.
  return gemm_driver("linear", x, transpose(weight, 0, 1), bias, x.shape(), weight.shape());
}

}  // namespace tz::raw
