// HF's activations by the names config.json gives in `hidden_act` (the keys of HF's ACT2FN that
// these encoders use), as differentiable functions of one tensor. Each name maps to one op of
// autograd/ops.h; where HF has several spellings of one function (gelu / gelu_python, gelu_new /
// gelu_pytorch_tanh / gelu_fast, silu / swish) they map to the same op.
// Not here: the kernels (tensor/kernels/activations.h), the fused inference epilogues
// (tensor/kernels/fused.h, which know a subset).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace tz::nn {

using Activation = std::function<Tensor(const Tensor&)>;

/// The activation HF names `hf_name`: "gelu", "gelu_fast", "gelu_new", "gelu_python",
/// "gelu_pytorch_tanh", "linear", "mish", "quick_gelu", "relu", "relu6", "sigmoid", "silu", "swish",
/// "tanh". Throws tz::Error naming the unknown name and listing these for any other name.
Activation activation(const std::string& hf_name);

/// The names activation() knows, in the order above (sorted).
std::vector<std::string> activation_names();

}  // namespace tz::nn
