// Module: the tree of named parameters, buffers and child modules that every layer and model is
// built from. Names follow PyTorch exactly (dotted paths in registration order), so a module's
// state_dict() keys are the keys of the matching HuggingFace checkpoint.
// Not here: the layers themselves (nn/layers.h), initialisation (nn/init.h), optimizers
// (nn/optim.h); reading and writing checkpoint files is tensor/io/'s job.
//
// Ownership rule (the trap PyTorch's C++ frontend leaves open): a layer's member tensor and its
// registry entry are the same handle. load_state_dict() copies data INTO that storage (or, asked to
// share, points that same tensor at the new memory) and never reseats a handle, so members can
// never silently diverge from what optimizers and checkpoints see.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace tz::nn {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  // A module is a node in a tree of shared_ptrs; copying one would duplicate its parameter handles.
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  /// Registers (or, when `name` exists, replaces: that is how weights are tied) a parameter and
  /// returns the handle stored in the registry. Keep the returned handle in the member:
  /// `weight = register_parameter("weight", w)`. `requires_grad` needs a float32 leaf tensor.
  Tensor register_parameter(const std::string& name, Tensor t, bool requires_grad = true);
  /// Buffers are state that is not trained (position ids, running statistics). Non-persistent
  /// buffers are left out of state_dict().
  Tensor register_buffer(const std::string& name, Tensor t, bool persistent = true);
  /// Registers (or replaces) a child module; its parameters appear under "name.".
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
    register_child(name, m);
    return m;
  }

  /// Recursive, dotted names: this module's parameters first, then each child's in registration
  /// order (PyTorch's order). A tensor reachable under several names (tied weights) appears once,
  /// under the first name.
  NamedTensors named_parameters() const;
  std::vector<Tensor> parameters() const;
  /// Persistent and non-persistent buffers, same order and de-duplication as named_parameters().
  NamedTensors named_buffers() const;
  /// Every parameter name (tied weights under each of their names) and the persistent buffers:
  /// per module its parameters, then its buffers, then its children. The tensors share storage
  /// with the module but carry no autograd history.
  NamedTensors state_dict() const;

  struct LoadReport {
    std::vector<std::string> missing;     // expected by the module, absent from the state
    std::vector<std::string> unexpected;  // in the state, unknown to the module
    std::vector<std::string> mismatched;  // present in both with different shapes (not loaded)
    bool ok() const { return missing.empty() && unexpected.empty() && mismatched.empty(); }
  };
  /// Copies each tensor of `state` into the registered tensor of the same name (float32 <-> int64
  /// converted as needed). strict: when any key is missing, unexpected or has the wrong shape,
  /// throws one tz::Error listing all of them (with shapes) and loads nothing. Not strict: loads
  /// every key that fits and returns the report (PyTorch would still throw on shape mismatches;
  /// here the caller decides).
  /// share_memory: where dtypes match, the registered tensor views the state's tensor instead of
  /// receiving a copy (Tensor::set_data; the handle itself is not reseated), so later writes to
  /// the parameter land in that memory. from_pretrained uses it to keep weights in the mapped file.
  LoadReport load_state_dict(const std::map<std::string, Tensor>& state, bool strict = true,
                             bool share_memory = false);

  /// Sets training mode on this module and all descendants (dropout is active only in training).
  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

  /// Makes every parameter's grad undefined (PyTorch's set_to_none behaviour).
  void zero_grad();

  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_children() const;
  /// Pre-order, "" for this module itself (a non-owning pointer), each module once.
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_modules() const;

 protected:
  /// The registry entry of a parameter of this module (not recursive); undefined when absent.
  Tensor find_parameter(const std::string& name) const;
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& children() const { return children_; }

 private:
  /// state_dict()'s entries as the registered handles (not detached).
  NamedTensors registered_state() const;
  struct Buffer {
    std::string name;
    Tensor tensor;
    bool persistent;
  };
  void register_child(const std::string& name, std::shared_ptr<Module> m);
  void check_new_name(const std::string& name, const char* what, int kind) const;

  NamedTensors params_;
  std::vector<Buffer> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

/// A list of modules named "0", "1", ... like torch.nn.ModuleList (HF's `encoder.layer.N`).
class ModuleList : public Module {
 public:
  ModuleList() = default;
  void push_back(std::shared_ptr<Module> m);
  size_t size() const { return children().size(); }
  std::shared_ptr<Module> operator[](size_t i) const;
  /// The i-th module as a T; throws when it is of another type.
  template <class T>
  std::shared_ptr<T> get(size_t i) const {
    auto m = std::dynamic_pointer_cast<T>((*this)[i]);
    TZ_CHECK(m, "ModuleList::get: module ", i, " is not of the requested type");
    return m;
  }
};

}  // namespace tz::nn
