// Module registry, name walking, state_dict and load_state_dict; ModuleList.
// The declarations and the ownership rule are in nn/module.h; the layers built on this are in
// nn/layers.cpp.
#include "nn/module.h"

#include <set>
#include <sstream>
#include <unordered_set>

#include "autograd/grad_mode.h"
#include "tensor/ops.h"

namespace tz::nn {

namespace {

enum Kind { kParameter = 0, kBuffer = 1, kModule = 2 };
const char* kind_name(int kind) {
  return kind == kParameter ? "parameter" : kind == kBuffer ? "buffer" : "module";
}

std::string join(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
}

}  // namespace

// ---- registration --------------------------------------------------------------------------------

void Module::check_new_name(const std::string& name, const char* what, int kind) const {
  TZ_CHECK(!name.empty(), what, ": the name must not be empty");
  TZ_CHECK(name.find('.') == std::string::npos, what, ": name '", name,
           "' must not contain '.' (dots separate the levels of the module tree)");
  // Re-registering under the same kind replaces the entry; a name shared between kinds would make
  // two state_dict keys collide.
  auto taken = [&](int k) {
    if (k == kind) return false;
    if (k == kParameter)
      for (const auto& p : params_)
        if (p.first == name) return true;
    if (k == kBuffer)
      for (const auto& b : buffers_)
        if (b.name == name) return true;
    if (k == kModule)
      for (const auto& c : children_)
        if (c.first == name) return true;
    return false;
  };
  for (int k = 0; k < 3; ++k)
    TZ_CHECK(!taken(k), what, ": name '", name, "' is already used by a ", kind_name(k));
}

Tensor Module::register_parameter(const std::string& name, Tensor t, bool requires_grad) {
  check_new_name(name, "register_parameter", kParameter);
  TZ_CHECK(t.defined(), "register_parameter: parameter '", name, "' is an undefined tensor");
  TZ_CHECK(t.is_leaf(), "register_parameter: parameter '", name,
           "' was produced by an op; register a leaf tensor (e.g. its detach())");
  if (requires_grad != t.requires_grad()) t.set_requires_grad(requires_grad);
  for (auto& p : params_) {
    if (p.first == name) {
      p.second = t;
      return t;
    }
  }
  params_.emplace_back(name, t);
  return t;
}

Tensor Module::register_buffer(const std::string& name, Tensor t, bool persistent) {
  check_new_name(name, "register_buffer", kBuffer);
  TZ_CHECK(t.defined(), "register_buffer: buffer '", name, "' is an undefined tensor");
  for (auto& b : buffers_) {
    if (b.name == name) {
      b.tensor = t;
      b.persistent = persistent;
      return t;
    }
  }
  buffers_.push_back({name, t, persistent});
  return t;
}

void Module::register_child(const std::string& name, std::shared_ptr<Module> m) {
  check_new_name(name, "register_module", kModule);
  TZ_CHECK(m != nullptr, "register_module: module '", name, "' is null");
  TZ_CHECK(m.get() != this, "register_module: a module cannot be its own child ('", name, "')");
  for (auto& c : children_) {
    if (c.first == name) {
      c.second = std::move(m);
      return;
    }
  }
  children_.emplace_back(name, std::move(m));
}

Tensor Module::find_parameter(const std::string& name) const {
  for (const auto& p : params_)
    if (p.first == name) return p.second;
  return Tensor();
}

// ---- walking the tree ----------------------------------------------------------------------------

std::vector<std::pair<std::string, std::shared_ptr<Module>>> Module::named_children() const {
  return children_;
}

std::vector<std::pair<std::string, std::shared_ptr<Module>>> Module::named_modules() const {
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> out;
  std::unordered_set<const Module*> seen;
  // The root may live on the stack, so its entry aliases nothing and owns nothing.
  std::shared_ptr<Module> self(std::shared_ptr<Module>(), const_cast<Module*>(this));
  // Explicit stack (children pushed in reverse) gives the same pre-order as recursion.
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> stack{{"", self}};
  while (!stack.empty()) {
    auto [prefix, m] = std::move(stack.back());
    stack.pop_back();
    if (!seen.insert(m.get()).second) continue;
    for (auto it = m->children_.rbegin(); it != m->children_.rend(); ++it)
      stack.emplace_back(join(prefix, it->first), it->second);
    out.emplace_back(std::move(prefix), std::move(m));
  }
  return out;
}

NamedTensors Module::named_parameters() const {
  NamedTensors out;
  std::unordered_set<const TensorImpl*> seen;
  for (const auto& [prefix, m] : named_modules())
    for (const auto& [name, t] : m->params_)
      if (seen.insert(t.impl_ptr()).second) out.emplace_back(join(prefix, name), t);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& np : named_parameters()) out.push_back(std::move(np.second));
  return out;
}

NamedTensors Module::named_buffers() const {
  NamedTensors out;
  std::unordered_set<const TensorImpl*> seen;
  for (const auto& [prefix, m] : named_modules())
    for (const auto& b : m->buffers_)
      if (seen.insert(b.tensor.impl_ptr()).second) out.emplace_back(join(prefix, b.name), b.tensor);
  return out;
}

NamedTensors Module::registered_state() const {
  // Plain recursion, no de-duplication: PyTorch writes a shared tensor under every name it has.
  NamedTensors out;
  struct Walk {
    NamedTensors& out;
    void operator()(const Module& m, const std::string& prefix) const {
      for (const auto& [name, t] : m.params_) out.emplace_back(join(prefix, name), t);
      for (const auto& b : m.buffers_)
        if (b.persistent) out.emplace_back(join(prefix, b.name), b.tensor);
      for (const auto& [name, child] : m.children_) (*this)(*child, join(prefix, name));
    }
  };
  Walk{out}(*this, "");
  return out;
}

NamedTensors Module::state_dict() const {
  NamedTensors out = registered_state();
  for (auto& [name, t] : out) t = t.detach();
  return out;
}

// ---- loading -------------------------------------------------------------------------------------

Module::LoadReport Module::load_state_dict(const std::map<std::string, Tensor>& state, bool strict,
                                           bool share_memory) {
  LoadReport report;
  std::vector<std::string> problems;  // the same entries with shapes, for the error message
  std::vector<std::pair<Tensor, Tensor>> copies;  // (registered, source)
  std::set<std::string> expected;
  // The registered handles themselves (state_dict() hands out detached views): sharing memory
  // must repoint the tensor the module and the optimizer hold.
  for (const auto& [name, dst] : registered_state()) {
    expected.insert(name);
    auto it = state.find(name);
    if (it == state.end()) {
      report.missing.push_back(name);
      problems.push_back("missing key '" + name + "' (module expects " + shape_str(dst.shape()) + ")");
      continue;
    }
    const Tensor& src = it->second;
    TZ_CHECK(src.defined(), "load_state_dict: key '", name, "' holds an undefined tensor");
    if (src.shape() != dst.shape()) {
      report.mismatched.push_back(name);
      problems.push_back("shape mismatch for '" + name + "': state has " + shape_str(src.shape()) +
                         ", module expects " + shape_str(dst.shape()));
      continue;
    }
    copies.emplace_back(dst, src);
  }
  for (const auto& [name, src] : state) {
    if (expected.count(name)) continue;
    report.unexpected.push_back(name);
    problems.push_back("unexpected key '" + name + "' " + (src.defined() ? shape_str(src.shape()) : "[]"));
  }
  if (strict && !problems.empty()) {
    std::ostringstream msg;
    msg << "load_state_dict: the state does not match the module (" << report.missing.size()
        << " missing, " << report.unexpected.size() << " unexpected, " << report.mismatched.size()
        << " shape mismatches); nothing was loaded:";
    for (const auto& p : problems) msg << "\n  " << p;
    throw Error(msg.str());
  }
  NoGradGuard no_grad;
  for (const auto& [dst, src] : copies) {
    if (share_memory && src.dtype() == dst.dtype())
      dst.set_data(src);
    else
      raw::copy_(dst, src.dtype() == dst.dtype() ? src : raw::to_dtype(src, dst.dtype()));
  }
  return report;
}

// ---- modes and gradients -------------------------------------------------------------------------

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

void Module::zero_grad() {
  for (const Tensor& p : parameters())
    if (p.grad().defined()) p.set_grad(Tensor());
}

// ---- ModuleList ----------------------------------------------------------------------------------

void ModuleList::push_back(std::shared_ptr<Module> m) {
  register_module(std::to_string(children().size()), std::move(m));
}

std::shared_ptr<Module> ModuleList::operator[](size_t i) const {
  TZ_CHECK(i < children().size(), "ModuleList: index ", i, " out of range for a list of ",
           children().size(), " modules");
  return children()[i].second;
}

}  // namespace tz::nn
