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
  // How to rebuild this tensor's values from tensors the graph keeps anyway (set_recompute):
  // empty for most tensors.
  std::function<Tensor()> recompute;
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

/// Marks `out`, a recorded op output, as cheap to rebuild: `recompute()` returns the same values
/// (bit for bit) from tensors the graph keeps alive anyway, e.g. gelu's output from its input,
/// which gelu's backward saves. A later op that saves `out` with `saved_or_recompute` then keeps
/// the recipe instead of the data, and `out` is freed as soon as the forward pass drops it: the
/// activation memory of a training step shrinks by the size of every such tensor (sizes for
/// ConvBERT-base in docs/03-autograd.md). Does nothing when `out` was not recorded (grad mode off, or no input
/// requires grad). View ops pass the recipe on to their outputs. As with every saved tensor, a
/// raw in-place write to a recorded tensor between forward and backward is not supported: a
/// recipe rebuilds the values the op produced, not the written ones.
void set_recompute(const Tensor& out, std::function<Tensor()> recompute);

/// What a backward closure keeps of a tensor it needs: the data, or the producer's recipe.
class SavedTensor {
 public:
  SavedTensor() = default;
  /// The tensor's data, or its recipe when it has one.
  explicit SavedTensor(const Tensor& t);
  /// The saved values: the data, or a freshly rebuilt copy of it.
  Tensor get() const { return recompute_ ? recompute_() : data_; }
  bool defined() const { return data_.defined() || recompute_ != nullptr; }

 private:
  Tensor data_;
  std::function<Tensor()> recompute_;
};

/// `saved(t)`, or t's recipe when its producer set one (set_recompute). For ops whose backward
/// needs an input that is often the output of a cheap op: linear, matmul, mul.
inline SavedTensor saved_or_recompute(const Tensor& t) { return SavedTensor(t); }

/// Whether input i of the node being built needs a gradient (cheap test inside backward closures
/// is done by the engine: gradients for inputs with no edge are dropped).
bool any_requires_grad(const std::vector<Tensor>& inputs);

/// Runs backpropagation from `root` (engine.cpp).
void run_backward(const Tensor& root, const Tensor& grad_root, bool retain_graph);

}  // namespace autograd
}  // namespace tz
