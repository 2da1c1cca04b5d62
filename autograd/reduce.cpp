// Reductions: sum and mean. The backward broadcasts the incoming gradient back over the reduced
// dims (each input element contributed once, with weight 1 or 1/n).
#include <algorithm>

#include "autograd/node.h"
#include "autograd/ops.h"

namespace tz {

using autograd::record;

namespace {
// Broadcasts a reduced gradient back over the reduced dims of `in`.
Tensor expand_reduced(const Tensor& g, const Shape& in, std::vector<int64_t> dims, bool keepdim) {
  Tensor t = g;
  if (!keepdim) {
    if (dims.empty())
      t = raw::reshape(g, Shape(in.size(), 1));
    else {
      for (auto& d : dims) d = wrap_dim(d, static_cast<int64_t>(in.size()), "sum");
      std::sort(dims.begin(), dims.end());
      for (int64_t d : dims) t = raw::unsqueeze(t, d);
    }
  }
  return raw::expand(t, in);
}

int64_t reduced_count(const Shape& in, const std::vector<int64_t>& dims) {
  if (dims.empty()) return shape_numel(in);
  int64_t n = 1;
  for (int64_t d : dims) n *= in[wrap_dim(d, static_cast<int64_t>(in.size()), "mean")];
  return n;
}
}  // namespace

Tensor sum(const Tensor& a, const std::vector<int64_t>& dims, bool keepdim) {
  return record("sum", raw::sum(a, dims, keepdim), {a}, [in = a.shape(), dims, keepdim](const Tensor& g) {
    return std::vector<Tensor>{expand_reduced(g, in, dims, keepdim)};
  });
}

Tensor mean(const Tensor& a, const std::vector<int64_t>& dims, bool keepdim) {
  return record("mean", raw::mean(a, dims, keepdim), {a}, [in = a.shape(), dims, keepdim](const Tensor& g) {
    double n = static_cast<double>(reduced_count(in, dims));
    return std::vector<Tensor>{expand_reduced(raw::mul(g, 1.0 / n), in, dims, keepdim)};
  });
}

}  // namespace tz
