// Layer norm kernels; see layer_norm.h. With xhat = (x - mean) * rstd:
//   forward:  y  = xhat * w + b
//   backward: g  = dy * w,  dx = rstd * (g - mean(g) - xhat * mean(g * xhat)),
//             dw += dy * xhat,  db += dy
// Formulas are generic lambdas run on float (reference) or simd::Vec by the loops in simd.h.
#include "tensor/kernels/layer_norm.h"

#include <algorithm>
#include <cmath>

#include "tensor/kernels/kernel_mode.h"
#include "tensor/kernels/simd.h"

namespace tz::kernels {

using simd::splat;

void layer_norm_row(int64_t C, const float* x, const float* weight, const float* bias, float eps,
                    float* y, float* mean, float* rstd) {
  const bool vec = !use_reference();
  const float n = static_cast<float>(C);
  // Two passes with a correction: the first mean m can be off by a few ulp of |mean| when the row
  // sits far from zero (e.g. 1e4 + noise); the deviations d = x - m are exact there, so their mean
  // `corr` measures that error and removes it from both the mean and the variance. For rows near
  // zero corr is ~1e-9 and this is the plain two-pass algorithm.
  const float m = simd::sum2(vec, [](auto v, auto) { return v; }, C, x, x) / n;
  const auto [sum_d, sum_d2] = simd::sum_pair(vec, [m](auto v, auto, auto& s, auto& s2) {
    auto d = v - splat(v, m);
    s += d;
    s2 += d * d;
  }, C, x, x);
  const float corr = sum_d / n;
  const float sq = sum_d2 / n;
  const float var = std::max(sq - corr * corr, 0.f);
  const float r = 1.f / std::sqrt(var + eps);
  *mean = m + corr;
  *rstd = r;
  auto xhat = [m, corr, r](auto v) { return (v - splat(v, m) - splat(v, corr)) * splat(v, r); };
  if (weight && bias)
    simd::map3(vec, [&](auto v, auto w, auto b) { return xhat(v) * w + b; }, C, x, weight, bias, y);
  else if (weight)
    simd::map2(vec, [&](auto v, auto w) { return xhat(v) * w; }, C, x, weight, y);
  else if (bias)
    simd::map2(vec, [&](auto v, auto b) { return xhat(v) + b; }, C, x, bias, y);
  else
    simd::map1(vec, xhat, C, x, y);
}

void layer_norm_backward_row(int64_t C, const float* dy, const float* x, float mean, float rstd,
                             const float* weight, float* dx, float* dweight_acc, float* dbias_acc) {
  const bool vec = !use_reference();
  const float n = static_cast<float>(C);
  auto xhat = [mean, rstd](auto v) { return (v - splat(v, mean)) * splat(v, rstd); };
  // One pass for both row sums (sum g and sum g * xhat), one for dx, one for the parameter sums.
  float mean_g = 0.f, mean_gx = 0.f;
  if (weight) {
    const auto [sg, sgx] = simd::sum_pair3(vec, [&](auto d, auto w, auto v, auto& s, auto& s2) {
      auto g = d * w;
      s += g;
      s2 += g * xhat(v);
    }, C, dy, weight, x);
    mean_g = sg / n;
    mean_gx = sgx / n;
    simd::map3(vec, [&](auto d, auto v, auto w) {
      return splat(d, rstd) * (d * w - splat(d, mean_g) - xhat(v) * splat(d, mean_gx));
    }, C, dy, x, weight, dx);
  } else {
    const auto [sg, sgx] = simd::sum_pair(vec, [&](auto d, auto v, auto& s, auto& s2) {
      s += d;
      s2 += d * xhat(v);
    }, C, dy, x);
    mean_g = sg / n;
    mean_gx = sgx / n;
    simd::map2(vec, [&](auto d, auto v) {
      return splat(d, rstd) * (d - splat(d, mean_g) - xhat(v) * splat(d, mean_gx));
    }, C, dy, x, dx);
  }
  if (dweight_acc && dbias_acc)
    simd::update2(vec, [&](auto& dw, auto& db, auto d, auto v) {
      dw += d * xhat(v);
      db += d;
    }, C, dweight_acc, dbias_acc, dy, x);
  else if (dweight_acc)
    simd::map3(vec, [&](auto acc, auto d, auto v) { return acc + d * xhat(v); }, C, dweight_acc, dy, x, dweight_acc);
  else if (dbias_acc)
    simd::map2(vec, [](auto acc, auto d) { return acc + d; }, C, dbias_acc, dy, dbias_acc);
}

}  // namespace tz::kernels
