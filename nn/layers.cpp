// Layer constructors (parameter shapes and torch's default init) and forwards (one op each).
// Declarations and shape contracts: nn/layers.h. The ops: autograd/ops.h.
#include "nn/layers.h"

#include <algorithm>
#include <cmath>

#include "autograd/ops.h"
#include "nn/init.h"
#include "nn/per_example_rng.h"
#include "tensor/ops.h"
#include "tensor/parallel.h"

namespace tz::nn {

// ---- Linear --------------------------------------------------------------------------------------

Linear::Linear(int64_t in, int64_t out, bool has_bias) : in_features(in), out_features(out) {
  TZ_CHECK(in > 0 && out > 0, "Linear: in_features and out_features must be positive, got ", in,
           " and ", out);
  // torch's kaiming_uniform_(a=sqrt(5)) reduces to this bound.
  const double bound = 1.0 / std::sqrt(static_cast<double>(in));
  Generator& gen = default_generator();
  weight = register_parameter("weight", Tensor::empty({out, in}));
  if (has_bias) bias = register_parameter("bias", Tensor::empty({out}));
  if (init_skipped()) return;
  init_uniform_(weight, -bound, bound, gen);
  if (has_bias) init_uniform_(bias, -bound, bound, gen);
}

Tensor Linear::forward(const Tensor& x) {
  TZ_CHECK(x.dim() >= 1 && x.size(-1) == in_features, "Linear: input ", shape_str(x.shape()),
           " does not end in in_features = ", in_features);
  return linear(x, weight, bias);
}

void Linear::tie_weight(const Tensor& shared) {
  TZ_CHECK(shared.defined() && shared.shape() == weight.shape(), "Linear::tie_weight: shared tensor ",
           shared.defined() ? shape_str(shared.shape()) : "undefined", " does not match the weight ",
           shape_str(weight.shape()));
  weight = register_parameter("weight", shared);
}

// ---- Embedding -----------------------------------------------------------------------------------

Embedding::Embedding(int64_t num, int64_t dim, int64_t pad)
    : num_embeddings(num), embedding_dim(dim), padding_idx(pad) {
  TZ_CHECK(num > 0 && dim > 0, "Embedding: num_embeddings and embedding_dim must be positive, got ",
           num, " and ", dim);
  TZ_CHECK(pad == -1 || (pad >= 0 && pad < num), "Embedding: padding_idx ", pad,
           " must be -1 (none) or in [0, ", num, ")");
  weight = register_parameter("weight", Tensor::empty({num, dim}));
  if (init_skipped()) return;
  init_normal_(weight, 1.0, default_generator());
  if (padding_idx >= 0) init_zero_row_(weight, padding_idx);
}

Tensor Embedding::forward(const Tensor& ids) {
  TZ_CHECK(ids.dtype() == DType::Int64, "Embedding: ids must be int64, got ", dtype_name(ids.dtype()));
  return embedding(weight, ids, padding_idx);
}

// ---- LayerNorm -----------------------------------------------------------------------------------

LayerNorm::LayerNorm(int64_t d, double e) : dim(d), eps(e) {
  TZ_CHECK(d > 0, "LayerNorm: dim must be positive, got ", d);
  TZ_CHECK(e >= 0, "LayerNorm: eps must be >= 0, got ", e);
  weight = register_parameter("weight", Tensor::empty({d}));
  bias = register_parameter("bias", Tensor::empty({d}));
  init_ones_(weight);
  init_zeros_(bias);
}

Tensor LayerNorm::forward(const Tensor& x) {
  TZ_CHECK(x.dim() >= 1 && x.size(-1) == dim, "LayerNorm: input ", shape_str(x.shape()),
           " does not end in dim = ", dim);
  return layer_norm(x, weight, bias, eps);
}

// ---- Dropout -------------------------------------------------------------------------------------

Dropout::Dropout(double prob, Generator* gen) : p(prob), gen_(gen) {
  TZ_CHECK(prob >= 0.0 && prob < 1.0, "Dropout: probability must be in [0, 1), got ", prob);
}

Tensor Dropout::forward(const Tensor& x) {
  PerExampleRng* rng = active_per_example_rng();
  if (rng == nullptr || gen_ != nullptr || !is_training() || p == 0.0 || x.dim() == 0 || x.numel() == 0) {
    return dropout(x, p, is_training(), gen_ ? *gen_ : default_generator());
  }
  // Per-example streams (nn/per_example_rng.h): row b's mask depends only on its example index.
  // The backward draws the mask again from the same streams instead of keeping it.
  const uint64_t stream = rng->next_stream++;
  const PerExampleRng keys = *rng;
  auto draw = [keys, stream, p = p, shape = x.shape()]() {
    const int64_t rows = shape[0], row_numel = shape_numel(shape) / rows;
    Tensor mask = Tensor::uninitialized(shape);
    float* out = mask.data<float>();
    // Rows are independent streams, so they are drawn in parallel with the same result.
    parallel_for(0, rows, 1, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) {
        Generator gen = example_generator(keys.run_seed, keys.step, keys.first_example + b, stream);
        raw::fill_dropout_mask(out + b * row_numel, row_numel, p, gen);
      }
    });
    return mask;
  };
  return dropout(x, draw);
}

// ---- Conv1d --------------------------------------------------------------------------------------

Conv1d::Conv1d(int64_t in, int64_t out, int64_t k, int64_t pad, int64_t g, bool has_bias)
    : in_channels(in), out_channels(out), kernel_size(k), padding(pad), groups(g) {
  TZ_CHECK(in > 0 && out > 0 && k > 0 && pad >= 0, "Conv1d: need positive channels and kernel size "
           "and padding >= 0, got in=", in, " out=", out, " kernel_size=", k, " padding=", pad);
  TZ_CHECK(g >= 1 && in % g == 0 && out % g == 0, "Conv1d: groups = ", g,
           " must divide in_channels = ", in, " and out_channels = ", out);
  TZ_CHECK(g == 1 || (g == in && g == out), "Conv1d: groups = ", g, " (in ", in, ", out ", out,
           ") is not supported; supported are groups = 1 and depthwise groups = in = out");
  const double bound = 1.0 / std::sqrt(static_cast<double>(in / g * k));
  Generator& gen = default_generator();
  weight = register_parameter("weight", Tensor::empty({out, in / g, k}));
  if (has_bias) bias = register_parameter("bias", Tensor::empty({out}));
  if (init_skipped()) return;
  init_uniform_(weight, -bound, bound, gen);
  if (has_bias) init_uniform_(bias, -bound, bound, gen);
}

Tensor Conv1d::forward(const Tensor& x) {
  TZ_CHECK(x.dim() == 3 && x.size(1) == in_channels, "Conv1d: input ", shape_str(x.shape()),
           " is not [B, in_channels = ", in_channels, ", T]");
  const int64_t B = x.size(0), T = x.size(2);
  const int64_t T_out = T + 2 * padding - kernel_size + 1;
  TZ_CHECK(T_out > 0, "Conv1d: input length ", T, " with padding ", padding,
           " is shorter than kernel_size ", kernel_size);
  if (groups > 1) return depthwise_conv1d(x, weight, bias, padding);

  // groups == 1: out[b, o, t] = sum_{c,k} W[o, c, k] x[b, c, t + k - padding] + bias[o], i.e. a
  // linear layer over the unfolded windows, whose (c, k) order is W's row-major layout.
  Tensor xt = transpose(x, 1, 2);  // [B, T, C]
  Tensor cols;                     // [B, T_out, C*K]
  if (kernel_size == 1 && padding == 0) {
    cols = xt;
  } else {
    // unfold1d yields one window per input step; extend with zeros when the output is longer.
    if (T_out > T) xt = cat({xt, raw::zeros({B, T_out - T, in_channels})}, 1);
    Tensor windows = unfold1d(xt, kernel_size, padding);  // [B, max(T, T_out), C, K]
    if (windows.size(1) > T_out) windows = narrow(windows, 1, 0, T_out);
    cols = reshape(windows, {B, T_out, in_channels * kernel_size});
  }
  Tensor w2 = reshape(weight, {out_channels, in_channels * kernel_size});
  return transpose(linear(cols, w2, bias), 1, 2);  // [B, out, T_out]
}

}  // namespace tz::nn
