// Weight initialisation: in-place fills of existing (registered) tensors, and HF's `_init_weights`
// for a whole module tree. Values are drawn in row-major order from an explicit Generator, so a
// seed reproduces a model bit for bit. Not here: torch's per-layer defaults (in the layer
// constructors, nn/layers.cpp).
#pragma once

#include <functional>
#include <string>

#include "nn/module.h"
#include "tensor/random.h"

namespace tz::nn {

/// t ~ N(0, std^2) (float32; t may be a strided view).
void init_normal_(const Tensor& t, double std, Generator& gen);
/// t ~ U[low, high).
void init_uniform_(const Tensor& t, double low, double high, Generator& gen);
void init_constant_(const Tensor& t, double value);
void init_zeros_(const Tensor& t);
void init_ones_(const Tensor& t);
/// Zeroes row `row` of a 2-D tensor (an embedding's padding row).
void init_zero_row_(const Tensor& t, int64_t row);

/// While alive (on this thread), layer constructors leave their parameters at zero instead of
/// drawing torch's default init: for models whose weights come from a checkpoint right after
/// (from_pretrained), as HF's no_init_weights context does. Large zero tensors are lazily mapped
/// pages, so building ConvBERT-base this way costs almost nothing.
class SkipInitGuard {
 public:
  SkipInitGuard();
  ~SkipInitGuard();
  SkipInitGuard(const SkipInitGuard&) = delete;
  SkipInitGuard& operator=(const SkipInitGuard&) = delete;

 private:
  bool previous_;
};
/// True inside a SkipInitGuard.
bool init_skipped();

/// HF PreTrainedModel._init_weights for the standard layers of the tree, visited in the order of
/// torch's Module.apply (children first, then the parent): Linear weight ~ N(0, initializer_range^2) and bias = 0; Embedding weight ~
/// N(0, initializer_range^2) with the padding row zeroed; LayerNorm weight = 1, bias = 0.
/// Other modules (model-specific layers, Conv1d) keep their own init; models initialise those.
void init_weights_like_hf(Module& root, double initializer_range, Generator& gen);
/// The same walk restricted to the modules whose dotted name (as in named_modules(); "" is the
/// root) satisfies `select`: HF's fast init, which initialises only the modules a checkpoint left
/// without weights.
void init_weights_like_hf(Module& root, double initializer_range, Generator& gen,
                          const std::function<bool(const std::string&)>& select);

}  // namespace tz::nn
