// The activations that have a kernel for their value and one for their derivative: the one list
// both op sets use. tz::raw::pointwise / pointwise_backward (tensor/ops.h) run the kernels without a
// graph; tz::pointwise and its named shorthands (tz::gelu, tz::mish, ... in autograd/ops.h) record
// them. Each entry's definition is its kernel struct (tensor/kernels/activations.h): value and
// derivative, scalar reference and vector path side by side.
// Not here: tanh, sigmoid and relu, whose backward is built from other ops (tensor/ops.h,
// autograd/elementwise.cpp); the lookup by HF's `hidden_act` names (nn/activation.h).
#pragma once

#include <cstdint>

namespace tz {

/// An activation with its own derivative kernel. The quoted names are HF's (ACT2FN keys).
enum class Pointwise : uint8_t {
  Gelu,       ///< "gelu", "gelu_python": x/2 (1 + erf(x / sqrt 2)), the exact GELU x Phi(x)
  GeluNew,    ///< "gelu_new", "gelu_pytorch_tanh": x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
  Silu,       ///< "silu", "swish": x sigmoid(x)
  QuickGelu,  ///< "quick_gelu": x sigmoid(1.702 x)
  Mish,       ///< "mish": x tanh(softplus(x)) = x tanh(log(1 + e^x))
  Relu6,      ///< "relu6": min(max(x, 0), 6)
};

/// The name errors and graph nodes use: "gelu", "gelu_new", "silu", "quick_gelu", "mish", "relu6".
const char* pointwise_name(Pointwise f);

}  // namespace tz
