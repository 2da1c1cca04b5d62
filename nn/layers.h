// The standard layers (Linear, Embedding, LayerNorm, Dropout, Conv1d); HF activations by name come
// with them (nn/activation.h).
// Parameter layouts and default initialisation follow torch.nn exactly, so HF checkpoints load
// without transposes or renames. The math lives in the differentiable op set (autograd/ops.h);
// a layer only owns its parameters and picks the op. HF's `_init_weights` is in nn/init.h.
#pragma once

#include <cstdint>

#include "nn/activation.h"
#include "nn/module.h"
#include "tensor/random.h"

namespace tz::nn {

/// y = x W^T + b.  x [..., in] -> [..., out]; weight [out, in], bias [out].
/// Default init as torch.nn.Linear: weight and bias ~ U(-1/sqrt(in), 1/sqrt(in)) from
/// default_generator().
class Linear : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, bool bias = true);
  Tensor forward(const Tensor& x);
  /// Ties the weight to `shared` (e.g. an embedding table) in the registry and the member at once.
  void tie_weight(const Tensor& shared);

  int64_t in_features, out_features;
  Tensor weight, bias;  // bias is undefined when built without one
};

/// ids int64 [...] -> [..., dim]; weight [num, dim]. The padding_idx row (if >= 0) starts at zero
/// and receives no gradient. Default init N(0, 1), as torch.nn.Embedding.
class Embedding : public Module {
 public:
  Embedding(int64_t num_embeddings, int64_t embedding_dim, int64_t padding_idx = -1);
  Tensor forward(const Tensor& ids);

  int64_t num_embeddings, embedding_dim;
  Tensor weight;
  int64_t padding_idx;  // -1: none
};

/// Normalises the last dim (biased variance, eps inside the sqrt). x [..., dim].
class LayerNorm : public Module {
 public:
  explicit LayerNorm(int64_t dim, double eps = 1e-5);
  Tensor forward(const Tensor& x);

  int64_t dim;
  Tensor weight, bias;
  double eps;
};

/// Inverted dropout with probability p in training mode, the identity in eval mode. The mask is
/// drawn from `gen` (default_generator() when null), so a seeded generator reproduces a run.
class Dropout : public Module {
 public:
  explicit Dropout(double p, Generator* gen = nullptr);
  Tensor forward(const Tensor& x);

  double p;

 private:
  Generator* gen_;
};

/// torch.nn.Conv1d with stride 1 and zero padding on both sides.
/// x [B, in, T] -> [B, out, T + 2*padding - K + 1]; weight [out, in/groups, K], bias [out].
/// Supported: groups == 1 (any K; K == 1 is the pointwise case) and groups == in == out (the
/// depthwise case); other group counts throw. Default init as torch: U(-b, b), b = 1/sqrt(in/groups*K).
class Conv1d : public Module {
 public:
  Conv1d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, int64_t padding = 0,
         int64_t groups = 1, bool bias = true);
  Tensor forward(const Tensor& x);

  int64_t in_channels, out_channels, kernel_size, padding, groups;
  Tensor weight, bias;
};

}  // namespace tz::nn
