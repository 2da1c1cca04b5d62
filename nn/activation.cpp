// The table from HF's `hidden_act` names to the op set. Partner: nn/activation.h.
#include "nn/activation.h"

#include "autograd/ops.h"
#include "core/error.h"

namespace tz::nn {

Activation activation(const std::string& name) {
  if (name == "gelu") return [](const Tensor& x) { return gelu(x); };
  if (name == "gelu_new") return [](const Tensor& x) { return gelu_new(x); };
  if (name == "relu") return [](const Tensor& x) { return relu(x); };
  if (name == "silu" || name == "swish") return [](const Tensor& x) { return silu(x); };
  if (name == "tanh") return [](const Tensor& x) { return tz::tanh(x); };
  if (name == "sigmoid") return [](const Tensor& x) { return sigmoid(x); };
  if (name == "linear") return [](const Tensor& x) { return x; };
  throw Error("activation: unknown name '" + name +
              "'; supported: gelu, gelu_new, relu, silu, swish, tanh, sigmoid, linear");
}

}  // namespace tz::nn
