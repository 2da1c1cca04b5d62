// gradcheck; see gradcheck.h for the method and the tolerances.
#include "autograd/gradcheck.h"

#include <cmath>
#include <sstream>

#include "autograd/grad_mode.h"
#include "tensor/ops.h"

namespace tz {
namespace {

double weighted_sum(const Tensor& out, const std::vector<float>& w) {
  std::vector<float> v = out.to_vector<float>();
  double s = 0.0;
  for (size_t i = 0; i < v.size(); ++i) s += static_cast<double>(v[i]) * w[i];
  return s;
}

}  // namespace

GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                          const std::vector<Tensor>& inputs, const GradcheckOptions& opt) {
  GradcheckResult result;
  std::ostringstream report;
  for (const auto& t : inputs)
    if (t.defined() && t.dtype() == DType::Float32) t.set_grad(Tensor());

  Tensor out = fn(inputs);
  Generator gen(opt.seed);
  Tensor w = raw::randn(out.shape(), gen);
  std::vector<float> wv = w.to_vector<float>();
  out.backward(w);

  int failures = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& x = inputs[i];
    if (!x.defined() || x.dtype() != DType::Float32 || !x.requires_grad()) continue;
    Tensor analytic = x.grad().defined() ? raw::contiguous(x.grad()) : raw::zeros(x.shape());
    std::vector<float> a = analytic.to_vector<float>();
    // Perturb the input's own memory element by element (x may be a strided view).
    const int64_t n = x.numel();
    const int64_t nd = x.dim();
    std::vector<int64_t> idx(nd, 0);
    float* base = static_cast<float*>(x.storage()->data());
    for (int64_t k = 0; k < n; ++k) {
      int64_t off = x.offset();
      for (int64_t d = 0; d < nd; ++d) off += idx[d] * x.strides()[d];
      float orig = base[off];
      double lp, lm;
      {
        NoGradGuard ng;
        base[off] = static_cast<float>(orig + opt.eps);
        lp = weighted_sum(fn(inputs), wv);
        base[off] = static_cast<float>(orig - opt.eps);
        lm = weighted_sum(fn(inputs), wv);
        base[off] = orig;
      }
      double numeric = (lp - lm) / (2.0 * opt.eps);
      double err = std::fabs(a[k] - numeric);
      result.max_abs_error = std::max(result.max_abs_error, err);
      if (!(err <= opt.atol + opt.rtol * std::fabs(numeric))) {
        result.ok = false;
        if (failures++ < 5)
          report << "input " << i << " element " << k << ": analytic " << a[k] << " numeric " << numeric << "\n";
      }
      for (int64_t d = nd - 1; d >= 0; --d) {
        if (++idx[d] < x.shape()[d]) break;
        idx[d] = 0;
      }
    }
  }
  if (failures > 5) report << "... " << failures << " failures in all\n";
  result.report = report.str();
  return result;
}

}  // namespace tz
