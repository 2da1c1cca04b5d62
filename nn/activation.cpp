// The table from HF's `hidden_act` names to the op set. Formulas as HF writes them (checked in
// double precision by tests/nn/test_activation.cpp):
//   gelu, gelu_python   x * 0.5 * (1 + erf(x / sqrt(2)))          tz::gelu
//   gelu_new            0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))   tz::gelu_new
//   gelu_pytorch_tanh   torch's gelu(approximate="tanh"): the same formula
//   gelu_fast           0.5 x (1 + tanh(0.7978845608 x (1 + 0.044715 x^2))): the same function with
//                       the cubic factored and sqrt(2/pi) rounded to 10 digits (2.9e-12 relative,
//                       below float's resolution), so it is gelu_new as well
//   quick_gelu          x sigmoid(1.702 x)                          tz::quick_gelu
//   mish                x tanh(softplus(x))                         tz::mish
//   relu / relu6        max(x, 0) / min(max(x, 0), 6)               tz::relu / tz::relu6
//   silu, swish         x sigmoid(x)                                tz::silu
//   sigmoid, tanh       the functions                               tz::sigmoid / tz::tanh
//   linear              the identity
// Partner: nn/activation.h.
#include "nn/activation.h"

#include "autograd/ops.h"
#include "core/error.h"

namespace tz::nn {
namespace {

struct Entry {
  const char* name;
  Tensor (*fn)(const Tensor&);
};

Tensor identity(const Tensor& x) { return x; }

// Sorted by name, as activation_names() and the error message list them.
constexpr Entry kActivations[] = {
    {"gelu", tz::gelu},
    {"gelu_fast", tz::gelu_new},
    {"gelu_new", tz::gelu_new},
    {"gelu_python", tz::gelu},
    {"gelu_pytorch_tanh", tz::gelu_new},
    {"linear", identity},
    {"mish", tz::mish},
    {"quick_gelu", tz::quick_gelu},
    {"relu", tz::relu},
    {"relu6", tz::relu6},
    {"sigmoid", tz::sigmoid},
    {"silu", tz::silu},
    {"swish", tz::silu},
    {"tanh", tz::tanh},
};

}  // namespace

Activation activation(const std::string& hf_name) {
  for (const Entry& e : kActivations)
    if (hf_name == e.name) return e.fn;
  std::string known;
  for (const std::string& name : activation_names()) known += (known.empty() ? "" : ", ") + name;
  throw Error("activation: unknown name '" + hf_name + "'; supported: " + known);
}

std::vector<std::string> activation_names() {
  std::vector<std::string> names;
  for (const Entry& e : kActivations) names.emplace_back(e.name);
  return names;
}

}  // namespace tz::nn
