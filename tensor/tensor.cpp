// Tensor handle basics: metadata queries, element access and printing. The operations on tensors
// are in ops.h / the *_ops.cpp files; the autograd methods are in autograd/variable.cpp.
#include "tensor/tensor.h"

#include <cmath>
#include <cstring>
#include <iomanip>
#include <ostream>
#include <sstream>

namespace tz {

const char* dtype_name(DType dt) {
  switch (dt) {
    case DType::Float32: return "float32";
    case DType::Int64: return "int64";
  }
  return "?";
}

size_t dtype_size(DType dt) { return dt == DType::Float32 ? 4 : 8; }

namespace {

template <class... StorageArgs>
Tensor new_contiguous(const Shape& shape, DType dtype, StorageArgs... args) {
  for (int64_t s : shape)
    TZ_CHECK(s >= 0, "tensor: negative size in shape ", shape_str(shape));
  auto impl = std::make_shared<TensorImpl>();
  impl->storage =
      std::make_shared<Storage>(static_cast<size_t>(shape_numel(shape)) * dtype_size(dtype), args...);
  impl->dtype = dtype;
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  return Tensor(std::move(impl));
}

}  // namespace

Tensor Tensor::empty(const Shape& shape, DType dtype) { return new_contiguous(shape, dtype); }

Tensor Tensor::uninitialized(const Shape& shape, DType dtype) {
  return new_contiguous(shape, dtype, Storage::Uninitialized{});
}

Tensor Tensor::view_of(std::shared_ptr<Storage> storage, DType dtype, Shape shape, Shape strides,
                       int64_t offset) {
  TZ_CHECK(shape.size() == strides.size(), "tensor: shape ", shape_str(shape), " and strides ",
           shape_str(strides), " differ in length");
  // The furthest element reached must lie inside the storage.
  int64_t last = offset;
  bool empty = false;
  for (size_t i = 0; i < shape.size(); ++i) {
    TZ_CHECK(shape[i] >= 0 && strides[i] >= 0, "tensor: negative size or stride in view ",
             shape_str(shape), " / ", shape_str(strides));
    if (shape[i] == 0) empty = true;
    else last += (shape[i] - 1) * strides[i];
  }
  TZ_CHECK(offset >= 0 && (empty || static_cast<size_t>(last + 1) * dtype_size(dtype) <= storage->nbytes()),
           "tensor: view ", shape_str(shape), " at offset ", offset, " exceeds storage of ",
           storage->nbytes(), " bytes");
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::move(storage);
  impl->dtype = dtype;
  impl->shape = std::move(shape);
  impl->strides = std::move(strides);
  impl->offset = offset;
  return Tensor(std::move(impl));
}

int64_t Tensor::size(int64_t d) const { return shape()[wrap_dim(d, dim(), "size")]; }
int64_t Tensor::stride(int64_t d) const { return strides()[wrap_dim(d, dim(), "stride")]; }

void Tensor::set_data(const Tensor& src) const {
  TZ_CHECK(src.defined(), "set_data: source tensor is undefined");
  TZ_CHECK(src.dtype() == dtype() && src.shape() == shape(), "set_data: source ", dtype_name(src.dtype()), " ",
           shape_str(src.shape()), " does not match ", dtype_name(dtype()), " ", shape_str(shape()));
  TensorImpl& self = impl();
  self.storage = src.storage();
  self.strides = src.strides();
  self.offset = src.offset();
}

bool Tensor::is_sole_owner() const {
  if (!impl_ || impl_.use_count() != 1 || impl_->autograd) return false;
  const auto& st = impl_->storage;
  return st && st.use_count() == 1 && st->writable() && impl_->offset == 0 && is_contiguous() &&
         st->nbytes() == static_cast<size_t>(numel()) * dtype_size(impl_->dtype);
}

bool Tensor::is_contiguous() const {
  int64_t expected = 1;
  const auto& sh = shape();
  const auto& st = strides();
  for (size_t i = sh.size(); i-- > 0;) {
    if (sh[i] == 1) continue;
    if (st[i] != expected) return false;
    expected *= sh[i];
  }
  return true;
}

double Tensor::item() const {
  TZ_CHECK(numel() == 1, "item: expected a tensor with one element, got shape ", shape_str(shape()));
  return at(std::vector<int64_t>(shape().size(), 0));
}

double Tensor::at(const std::vector<int64_t>& index) const {
  TZ_CHECK(static_cast<int64_t>(index.size()) == dim(), "at: index has ", index.size(),
           " entries for a tensor with ", dim(), " dims");
  int64_t off = offset();
  for (size_t i = 0; i < index.size(); ++i) {
    TZ_CHECK(index[i] >= 0 && index[i] < shape()[i], "at: index ", index[i], " out of range for dim ",
             i, " of size ", shape()[i]);
    off += index[i] * strides()[i];
  }
  const void* base = storage()->data();
  if (dtype() == DType::Float32) return static_cast<const float*>(base)[off];
  return static_cast<double>(static_cast<const int64_t*>(base)[off]);
}

template <class T>
std::vector<T> Tensor::to_vector() const {
  TZ_CHECK(dtype() == dtype_of<T>(), "to_vector: tensor is ", dtype_name(dtype()), ", asked for ",
           dtype_name(dtype_of<T>()));
  std::vector<T> out(static_cast<size_t>(numel()));
  const T* base = static_cast<const T*>(storage()->data());
  const int64_t n = dim();
  std::vector<int64_t> idx(static_cast<size_t>(n), 0);
  for (size_t k = 0; k < out.size(); ++k) {
    int64_t off = offset();
    for (int64_t i = 0; i < n; ++i) off += idx[i] * strides()[i];
    out[k] = base[off];
    for (int64_t i = n - 1; i >= 0; --i) {
      if (++idx[i] < shape()[i]) break;
      idx[i] = 0;
    }
  }
  return out;
}
template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<int64_t> Tensor::to_vector<int64_t>() const;

std::string Tensor::to_string(int max_values) const {
  if (!defined()) return "Tensor(undefined)";
  std::ostringstream os;
  os << "Tensor " << dtype_name(dtype()) << " " << shape_str(shape()) << " {";
  int64_t n = numel();
  int64_t shown = std::min<int64_t>(n, max_values);
  if (dtype() == DType::Float32) {
    auto v = to_vector<float>();
    os << std::setprecision(6);
    for (int64_t i = 0; i < shown; ++i) os << (i ? ", " : "") << v[i];
  } else {
    auto v = to_vector<int64_t>();
    for (int64_t i = 0; i < shown; ++i) os << (i ? ", " : "") << v[i];
  }
  if (n > shown) os << ", ... (" << n << " values)";
  os << "}";
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << t.to_string(); }

}  // namespace tz
