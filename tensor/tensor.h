// Tensor: a cheap handle (shared pointer) to a TensorImpl: shared Storage, dtype, shape, strides
// (in elements) and an offset. Copying a Tensor copies the handle, never the data; views share
// storage. The graph-free operations on tensors live in tensor/ops.h (namespace tz::raw); the
// differentiable op set everyone uses lives in autograd/ (namespace tz).
//
// The autograd slot: a TensorImpl carries an opaque `AutogradMeta` pointer (defined in
// autograd/node.h). The tensor layer never looks inside it; the methods marked "autograd" below
// are defined in autograd/variable.cpp.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "tensor/shape.h"
#include "tensor/storage.h"

namespace tz {

enum class DType : uint8_t { Float32, Int64 };

const char* dtype_name(DType dt);  // "float32", "int64"
size_t dtype_size(DType dt);        // bytes per element

template <class T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::Float32; }
template <> constexpr DType dtype_of<int64_t>() { return DType::Int64; }

struct AutogradMeta;  // defined in autograd/node.h
class Tensor;

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  DType dtype = DType::Float32;
  Shape shape;
  Shape strides;  // in elements
  int64_t offset = 0;  // in elements
  std::shared_ptr<AutogradMeta> autograd;  // null for plain tensors
};

class Tensor {
 public:
  /// An undefined tensor (defined() is false); used for "no tensor" (e.g. an absent bias).
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  /// A new contiguous tensor of this shape filled with zeros.
  static Tensor empty(const Shape& shape, DType dtype = DType::Float32);
  /// A new contiguous tensor whose elements are NOT initialised (see Storage::Uninitialized): only
  /// for results the caller overwrites completely before anyone reads them.
  static Tensor uninitialized(const Shape& shape, DType dtype = DType::Float32);
  /// A tensor that views existing storage (no copy).
  static Tensor view_of(std::shared_ptr<Storage> storage, DType dtype, Shape shape, Shape strides,
                        int64_t offset);

  bool defined() const { return impl_ != nullptr; }
  DType dtype() const { return impl().dtype; }
  const Shape& shape() const { return impl().shape; }
  const Shape& strides() const { return impl().strides; }
  int64_t offset() const { return impl().offset; }
  int64_t dim() const { return static_cast<int64_t>(impl().shape.size()); }
  /// Size of dim `d` (negative counts from the end).
  int64_t size(int64_t d) const;
  int64_t stride(int64_t d) const;
  int64_t numel() const { return shape_numel(impl().shape); }
  bool is_contiguous() const;
  /// True when nothing but this handle can reach the tensor's memory: it is the only handle to its
  /// TensorImpl, that impl is the only user of its storage (no views), the storage is writable, and
  /// the tensor covers all of it contiguously from offset 0 with no autograd metadata. A caller
  /// holding such a tensor may take it over (keep it as a gradient, add into it) instead of copying.
  bool is_sole_owner() const;
  const std::shared_ptr<Storage>& storage() const { return impl().storage; }
  /// Makes this tensor view `src`'s memory (storage, offset, strides) instead of its own, like
  /// torch's `param.data = src`: every handle of this tensor (a module member and its registry
  /// entry) sees the new data, and nothing is copied. dtype and shape must match. Used to load
  /// checkpoint weights in place from a memory-mapped file.
  void set_data(const Tensor& src) const;
  /// True when both handles point at the same TensorImpl (the same tensor, not just equal data).
  bool is_same(const Tensor& other) const { return impl_ == other.impl_; }
  TensorImpl* impl_ptr() const { return impl_.get(); }

  /// Pointer to the first element (storage + offset). Throws when T does not match the dtype.
  template <class T> T* data() const;
  /// The single value of a one-element tensor, converted to double.
  double item() const;
  /// Element at a full index (for tests and small code; slow). Negative indices are not allowed.
  double at(const std::vector<int64_t>& index) const;
  /// Copies all elements (in logical row-major order) into a vector.
  template <class T> std::vector<T> to_vector() const;

  /// "Tensor float32 [2,3] {0.1, 0.2, ...}" with up to `max_values` values.
  std::string to_string(int max_values = 8) const;

  // ---- autograd (defined in autograd/variable.cpp) ------------------------------------------
  /// Whether gradients flow to this tensor. Setting it is allowed on leaves only.
  bool requires_grad() const;
  Tensor& set_requires_grad(bool value = true);
  /// The accumulated gradient of a leaf (undefined until a backward pass reaches it).
  Tensor grad() const;
  void set_grad(const Tensor& g) const;
  /// True for tensors created by the user (not by a recorded op).
  bool is_leaf() const;
  /// Backpropagates from this tensor. Without `grad_output` the tensor must have one element.
  /// `retain_graph` keeps the graph for another backward pass.
  void backward(const Tensor& grad_output = Tensor(), bool retain_graph = false) const;
  /// A tensor sharing this one's data with no graph history and requires_grad false.
  Tensor detach() const;
  AutogradMeta* autograd_meta() const { return impl_ ? impl_->autograd.get() : nullptr; }
  AutogradMeta& ensure_autograd_meta() const;

 private:
  TensorImpl& impl() const {
    if (!impl_) throw Error("tensor: use of an undefined tensor");
    return *impl_;
  }
  std::shared_ptr<TensorImpl> impl_;
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);

template <class T>
T* Tensor::data() const {
  TZ_CHECK(dtype() == dtype_of<T>(), "tensor: data<", dtype_name(dtype_of<T>()),
           ">() called on a ", dtype_name(dtype()), " tensor");
  return static_cast<T*>(impl().storage->data()) + impl().offset;
}

}  // namespace tz
