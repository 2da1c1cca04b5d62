// The autograd side of Tensor (requires_grad, grad, backward, detach), grad mode, and record():
// the one function every differentiable op calls to attach its backward to the graph.
#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "tensor/ops.h"

namespace tz {

// ---- grad mode -----------------------------------------------------------------------------------
namespace {
thread_local bool t_grad_enabled = true;
}
bool is_grad_enabled() { return t_grad_enabled; }
void set_grad_enabled(bool enabled) { t_grad_enabled = enabled; }

// ---- Tensor methods ------------------------------------------------------------------------------
AutogradMeta& Tensor::ensure_autograd_meta() const {
  TensorImpl* impl = impl_ptr();
  TZ_CHECK(impl, "autograd: use of an undefined tensor");
  if (!impl->autograd) impl->autograd = std::make_shared<AutogradMeta>();
  return *impl->autograd;
}

bool Tensor::requires_grad() const {
  const AutogradMeta* m = autograd_meta();
  return m && (m->requires_grad || m->grad_fn);
}

Tensor& Tensor::set_requires_grad(bool value) {
  TZ_CHECK(is_leaf(), "set_requires_grad: only leaf tensors can change requires_grad (this tensor "
                      "was produced by '", autograd_meta()->grad_fn->name, "'; use detach() first)");
  TZ_CHECK(!value || dtype() == DType::Float32, "set_requires_grad: only float32 tensors can require "
                                                "gradients, got ", dtype_name(dtype()));
  ensure_autograd_meta().requires_grad = value;
  return *this;
}

Tensor Tensor::grad() const {
  const AutogradMeta* m = autograd_meta();
  return m ? m->grad : Tensor();
}

void Tensor::set_grad(const Tensor& g) const {
  TZ_CHECK(!g.defined() || g.shape() == shape(), "set_grad: gradient shape ", shape_str(g.shape()),
           " does not match tensor shape ", shape_str(shape()));
  ensure_autograd_meta().grad = g;
}

bool Tensor::is_leaf() const {
  const AutogradMeta* m = autograd_meta();
  return !m || !m->grad_fn;
}

void Tensor::backward(const Tensor& grad_output, bool retain_graph) const {
  autograd::run_backward(*this, grad_output, retain_graph);
}

Tensor Tensor::detach() const {
  return Tensor::view_of(storage(), dtype(), shape(), strides(), offset());
}

// ---- record --------------------------------------------------------------------------------------
namespace autograd {

namespace {

template <class Inputs>
bool any_input_requires_grad(const Inputs& inputs) {
  for (const auto& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

template <class Inputs>
Tensor record_node(const char* name, Tensor out, const Inputs& inputs, BackwardFn&& backward) {
  if (!is_grad_enabled() || !any_input_requires_grad(inputs)) return out;
  auto node = std::make_shared<Node>();
  node->name = name;
  node->output_shape = out.shape();
  node->backward = std::move(backward);
  node->next.reserve(inputs.size());
  for (const auto& t : inputs) {
    Edge e;
    if (t.defined() && t.requires_grad()) {
      if (t.is_leaf())
        e.leaf = t;
      else
        e.node = t.autograd_meta()->grad_fn;
    }
    node->next.push_back(std::move(e));
  }
  // A raw op may hand back one of its inputs (contiguous() of a contiguous tensor, a no-op view);
  // give the result its own TensorImpl so that attaching history never changes an input handle.
  for (const auto& t : inputs)
    if (out.is_same(t)) out = out.detach();
  out.ensure_autograd_meta().grad_fn = std::move(node);
  return out;
}

}  // namespace

bool any_requires_grad(const std::vector<Tensor>& inputs) { return any_input_requires_grad(inputs); }

void set_recompute(const Tensor& out, std::function<Tensor()> recompute) {
  AutogradMeta* m = out.autograd_meta();
  if (m && m->grad_fn) m->recompute = std::move(recompute);
}

SavedTensor::SavedTensor(const Tensor& t) {
  const AutogradMeta* m = t.autograd_meta();
  if (m && m->recompute)
    recompute_ = m->recompute;
  else
    data_ = saved(t);
}

Tensor record(const char* name, Tensor out, const std::vector<Tensor>& inputs, BackwardFn backward) {
  return record_node(name, std::move(out), inputs, std::move(backward));
}

Tensor record(const char* name, Tensor out, std::initializer_list<Tensor> inputs, BackwardFn backward) {
  return record_node(name, std::move(out), inputs, std::move(backward));
}

}  // namespace autograd
}  // namespace tz
