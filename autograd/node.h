// The graph: every recorded op output points at a Node; a Node knows how to turn the gradient of
// its output into gradients of its inputs, and where each input's gradient goes next (an Edge to
// the Node that produced that input, or to a leaf tensor whose .grad() accumulates it).
// The engine that walks this graph is engine.cpp; the ops that build it are the files in autograd/.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace tz {
namespace autograd {

struct Node;

/// Where one input's gradient flows: into `node` (a non-leaf input), into `leaf` (a leaf that
/// requires grad), or nowhere (both empty: the input needs no gradient).
struct Edge {
  std::shared_ptr<Node> node;
  Tensor leaf;
  bool needs_grad() const { return node != nullptr || leaf.defined(); }
};

/// Maps the output gradient to one gradient per input (undefined where an input needs none).
using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_output)>;

struct Node {
  std::string name;        // the op, for error messages and debugging ("matmul", "softmax", ...)
  std::vector<Edge> next;  // one per input, in the op's argument order
  BackwardFn backward;     // empty once released (the graph was freed by a backward pass)
  Shape output_shape;      // to check incoming gradients

  // Scratch space of the engine during one backward pass (engine.cpp), kept in the node so the
  // engine needs no hash maps: the pass that last visited it, and the gradient summed so far.
  uint64_t visit_mark = 0;
  Tensor pending_grad;
};

}  // namespace autograd

/// Per-tensor autograd state (the opaque slot of TensorImpl).
struct AutogradMeta {
  bool requires_grad = false;                   // set on leaves by the user
  Tensor grad;                                  // accumulated gradient (leaves)
  std::shared_ptr<autograd::Node> grad_fn;      // the op that produced this tensor (non-leaves)
};

namespace autograd {

/// Records `out` as the result of op `name` applied to `inputs`, when grad mode is on and any
/// input requires grad; otherwise returns `out` untouched. `backward` receives d(loss)/d(out) and
/// returns d(loss)/d(input) for each input (shapes equal to the inputs'; may be undefined for
/// inputs that need no gradient). Capture saved tensors with `saved(t)` so the graph does not
/// hold their history.
Tensor record(const char* name, Tensor out, const std::vector<Tensor>& inputs, BackwardFn backward);
/// The same for a braced list of inputs (`record("mul", y, {a, b}, ...)`), without building a vector.
Tensor record(const char* name, Tensor out, std::initializer_list<Tensor> inputs, BackwardFn backward);

/// A handle to t's data without its autograd history (what a backward closure should capture).
inline Tensor saved(const Tensor& t) { return t.defined() ? t.detach() : Tensor(); }

/// Whether input i of the node being built needs a gradient (cheap test inside backward closures
/// is done by the engine: gradients for inputs with no edge are dropped).
bool any_requires_grad(const std::vector<Tensor>& inputs);

/// Runs backpropagation from `root` (engine.cpp).
void run_backward(const Tensor& root, const Tensor& grad_root, bool retain_graph);

}  // namespace autograd
}  // namespace tz
