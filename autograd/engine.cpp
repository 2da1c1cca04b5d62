// The backward engine: order the graph topologically from the root, seed the root's gradient,
// walk the nodes in reverse order calling each one's backward, and hand every input gradient to
// the next node (summing when a tensor was used several times) or accumulate it into a leaf.
// Graph format: node.h. The ops that record nodes: the other files in autograd/.
#include <atomic>
#include <vector>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "tensor/ops.h"

namespace tz::autograd {
namespace {

// Each backward pass gets a fresh mark; a node whose visit_mark equals it has been seen.
std::atomic<uint64_t> g_pass_counter{0};

// Post-order DFS (iterative: a deep model gives graphs thousands of nodes deep).
std::vector<Node*> topological_order(Node* root, uint64_t mark) {
  std::vector<Node*> order;
  std::vector<std::pair<Node*, size_t>> stack{{root, 0}};
  root->visit_mark = mark;
  while (!stack.empty()) {
    auto& [node, i] = stack.back();
    if (i < node->next.size()) {
      Node* child = node->next[i++].node.get();
      if (child && child->visit_mark != mark) {
        child->visit_mark = mark;
        stack.push_back({child, 0});
      }
    } else {
      order.push_back(node);
      stack.pop_back();
    }
  }
  return order;  // children before parents; the root is last
}

// The leaf's first gradient becomes its .grad. A gradient nothing else can reach (a fresh op result,
// not a view) is kept as it is; any other (a view, a broadcast, a tensor a node also saved) is copied,
// so that .grad owns its memory and a later add_ into it cannot change anything else. Keeping it
// saves a copy of every parameter gradient per step, and the fresh pages that copy would touch.
void accumulate_into_leaf(const Tensor& leaf, Tensor g) {
  AutogradMeta& meta = leaf.ensure_autograd_meta();
  if (!meta.grad.defined())
    meta.grad = g.is_sole_owner() ? std::move(g) : raw::clone(g);
  else
    raw::add_(meta.grad, g);
}

// A node reached twice sums its gradients; in place when the first one is ours alone and has the
// sum's shape (no broadcast), else into a new tensor.
void accumulate(Node* node, Tensor g) {
  Tensor& pending = node->pending_grad;
  if (!pending.defined())
    pending = std::move(g);
  else if (pending.dtype() == g.dtype() && pending.shape() == g.shape() && pending.is_sole_owner())
    raw::add_(pending, g);
  else
    pending = raw::add(pending, g);
}

// Drops the gradients still parked in nodes when a backward pass ends early (an exception), so a
// failed pass leaves nothing behind for the next one.
struct PendingGradsCleanup {
  const std::vector<Node*>& order;
  ~PendingGradsCleanup() {
    for (Node* n : order) n->pending_grad = Tensor();
  }
};

}  // namespace

void run_backward(const Tensor& root, const Tensor& grad_root, bool retain_graph) {
  TZ_CHECK(root.requires_grad(), "backward: tensor does not require grad and has no grad_fn");
  Tensor seed = grad_root;
  if (!seed.defined()) {
    TZ_CHECK(root.numel() == 1, "backward: grad can be implicitly created only for a tensor with one "
                                "element, got shape ", shape_str(root.shape()));
    seed = raw::ones(root.shape());
  }
  TZ_CHECK(seed.shape() == root.shape(), "backward: gradient shape ", shape_str(seed.shape()),
           " does not match output shape ", shape_str(root.shape()));
  NoGradGuard no_grad;  // backward closures use raw ops; nothing records
  if (root.is_leaf()) {
    accumulate_into_leaf(root, seed);
    return;
  }
  Node* root_node = root.autograd_meta()->grad_fn.get();
  const std::vector<Node*> order = topological_order(root_node, ++g_pass_counter);
  PendingGradsCleanup cleanup{order};
  root_node->pending_grad = seed;
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    Node* node = *it;
    if (!node->pending_grad.defined()) continue;
    TZ_CHECK(node->backward, "backward: the graph through '", node->name, "' has already been freed "
             "by an earlier backward(); pass retain_graph=true to the first call to backward twice");
    const Tensor grad_out = std::move(node->pending_grad);
    node->pending_grad = Tensor();
    std::vector<Tensor> grad_in = node->backward(grad_out);
    TZ_CHECK(grad_in.size() == node->next.size(), "backward: node '", node->name, "' returned ",
             grad_in.size(), " gradients for ", node->next.size(), " inputs (internal error)");
    for (size_t i = 0; i < grad_in.size(); ++i) {
      const Edge& e = node->next[i];
      if (!e.needs_grad() || !grad_in[i].defined()) continue;
      if (e.node)
        accumulate(e.node.get(), std::move(grad_in[i]));
      else
        accumulate_into_leaf(e.leaf, std::move(grad_in[i]));
    }
    if (!retain_graph) node->backward = nullptr;  // frees the tensors the closure saved
  }
}

}  // namespace tz::autograd
