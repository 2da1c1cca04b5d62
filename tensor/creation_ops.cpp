// Creation: zeros/ones/full, arange, from_vector and seeded random tensors (see ops.h).
#include <cmath>
#include <cstring>

#include "tensor/ops.h"

namespace tz::raw {

Tensor zeros(const Shape& shape, DType dtype) { return Tensor::empty(shape, dtype); }

Tensor full(const Shape& shape, double value, DType dtype) {
  Tensor t = Tensor::uninitialized(shape, dtype);
  fill_(t, value);
  return t;
}

Tensor ones(const Shape& shape, DType dtype) { return full(shape, 1.0, dtype); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.dtype()); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), t.dtype()); }
Tensor full_like(const Tensor& t, double value) { return full(t.shape(), value, t.dtype()); }

Tensor scalar(float value) { return full({}, value); }

Tensor arange(int64_t n, DType dtype) {
  TZ_CHECK(n >= 0, "arange: expected n >= 0, got ", n);
  Tensor t = Tensor::uninitialized({n}, dtype);
  if (dtype == DType::Int64) {
    int64_t* p = t.data<int64_t>();
    for (int64_t i = 0; i < n; ++i) p[i] = i;
  } else {
    float* p = t.data<float>();
    for (int64_t i = 0; i < n; ++i) p[i] = static_cast<float>(i);
  }
  return t;
}

template <class T>
static Tensor from_values(const std::vector<T>& values, const Shape& shape) {
  TZ_CHECK(static_cast<int64_t>(values.size()) == shape_numel(shape), "from_vector: ", values.size(),
           " values do not fill shape ", shape_str(shape), " (", shape_numel(shape), " elements)");
  Tensor t = Tensor::uninitialized(shape, dtype_of<T>());
  if (!values.empty()) std::memcpy(t.data<T>(), values.data(), values.size() * sizeof(T));
  return t;
}

Tensor from_vector(const std::vector<float>& values, const Shape& shape) { return from_values(values, shape); }
Tensor from_vector(const std::vector<int64_t>& values, const Shape& shape) { return from_values(values, shape); }

namespace {

// Fills t in place with fn() in row-major element order (the order randn/rand draw in), writing
// straight into a contiguous tensor; any other layout goes through one contiguous temporary.
template <class Fn>
void fill_random_(const Tensor& t, const char* op, Fn&& fn) {
  TZ_CHECK(t.defined() && t.dtype() == DType::Float32, op, ": expected a float32 tensor, got ",
           t.defined() ? dtype_name(t.dtype()) : "an undefined tensor");
  if (t.is_contiguous()) {
    float* p = t.data<float>();
    for (int64_t i = 0, n = t.numel(); i < n; ++i) p[i] = fn();
    return;
  }
  Tensor tmp = Tensor::uninitialized(t.shape());
  float* p = tmp.data<float>();
  for (int64_t i = 0, n = tmp.numel(); i < n; ++i) p[i] = fn();
  copy_(t, tmp);
}

}  // namespace

void normal_(const Tensor& t, Generator& gen, float mean, float std) {
  fill_random_(t, "normal_", [&] { return static_cast<float>(mean + std * gen.normal()); });
}

void uniform_(const Tensor& t, Generator& gen, float low, float high) {
  fill_random_(t, "uniform_", [&] { return low + (high - low) * gen.uniform(); });
}

Tensor randn(const Shape& shape, Generator& gen, float mean, float std) {
  Tensor t = Tensor::uninitialized(shape);
  normal_(t, gen, mean, std);
  return t;
}

Tensor rand(const Shape& shape, Generator& gen, float low, float high) {
  Tensor t = Tensor::uninitialized(shape);
  uniform_(t, gen, low, high);
  return t;
}

Tensor randint(const Shape& shape, int64_t low, int64_t high, Generator& gen) {
  Tensor t = Tensor::uninitialized(shape, DType::Int64);
  int64_t* p = t.data<int64_t>();
  for (int64_t i = 0, n = t.numel(); i < n; ++i) p[i] = gen.randint(low, high);
  return t;
}

void fill_dropout_mask(float* out, int64_t n, double p, Generator& gen) {
  TZ_CHECK(p >= 0.0 && p < 1.0, "dropout: probability must be in [0, 1), got ", p);
  const float keep_scale = static_cast<float>(1.0 / (1.0 - p));
  // uniform_double() < p, in integers: uniform_double() is (next_u64() >> 11) / 2^53, and for an
  // integer u, u / 2^53 < p exactly when u < ceil(p * 2^53). Same masks, without a conversion to
  // double per draw.
  const uint64_t threshold = static_cast<uint64_t>(std::ceil(std::ldexp(p, 53)));
  for (int64_t i = 0; i < n; ++i) out[i] = (gen.next_u64() >> 11) < threshold ? 0.f : keep_scale;
}

Tensor dropout_mask(const Shape& shape, double p, Generator& gen) {
  Tensor t = Tensor::uninitialized(shape);
  fill_dropout_mask(t.data<float>(), t.numel(), p, gen);
  return t;
}

}  // namespace tz::raw
