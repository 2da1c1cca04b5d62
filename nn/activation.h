// HF's activations by the names config.json gives in `hidden_act` (the keys of HF's ACT2FN), as
// differentiable functions of one tensor. Each name maps to one op of autograd/ops.h.
// Not here: the kernels (tensor/kernels/activations.h), the fused inference epilogues
// (tensor/kernels/fused.h, which know a subset).
#pragma once

#include <functional>
#include <string>

#include "tensor/tensor.h"

namespace tz::nn {

using Activation = std::function<Tensor(const Tensor&)>;
/// The activation HF configs name in `hidden_act`: "gelu", "gelu_new", "relu", "silu", "swish",
/// "tanh", "sigmoid", "linear". Throws listing these for any other name.
Activation activation(const std::string& hf_name);

}  // namespace tz::nn
