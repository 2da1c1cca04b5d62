// Fused row kernels of the inference path; see fused.h. Each body is a generic lambda run on
// float (the scalar reference, vec == false) or simd::Vec by the loops in simd.h, so the two
// paths cannot drift apart. Formulas and operation order follow the op-by-op path (Linear adds its
// bias to the GEMM result, then the residual is added; LayerNorm as tensor/kernels/layer_norm.cpp;
// GELU as tensor/kernels/elementwise.cpp), so the fused result differs only by float rounding.
#include "tensor/kernels/fused.h"

#include <algorithm>
#include <cmath>

#include "tensor/kernels/gelu.h"
#include "tensor/kernels/simd.h"
#include "tensor/kernels/softmax.h"

namespace tz::kernels {
namespace {

using simd::splat;

struct Identity {
  template <class V> V operator()(V x) const { return x; }
};
struct Relu {
  // NaN stays NaN, as torch.relu.
  template <class V> V operator()(V x) const { return simd::select(x < splat(x, 0.f), splat(x, 0.f), x); }
};

template <class Act>
void bias_act_impl(bool vec, Act act, int64_t rows, int64_t n, float* y, int64_t ldy, const float* bias) {
  for (int64_t r = 0; r < rows; ++r) {
    float* row = y + r * ldy;
    if (bias)
      simd::map2(vec, [&](auto v, auto b) { return act(v + b); }, n, row, bias, row);
    else
      simd::map1(vec, [&](auto v) { return act(v); }, n, row, row);
  }
}

}  // namespace

void bias_act_rows(bool vec, FusedAct act, int64_t rows, int64_t n, float* y, int64_t ldy, const float* bias) {
  switch (act) {
    case FusedAct::None: return bias_act_impl(vec, Identity{}, rows, n, y, ldy, bias);
    case FusedAct::GeluErf: return bias_act_impl(vec, gelu::Gelu{}, rows, n, y, ldy, bias);
    case FusedAct::GeluTanh: return bias_act_impl(vec, gelu::GeluNew{}, rows, n, y, ldy, bias);
    case FusedAct::Relu: return bias_act_impl(vec, Relu{}, rows, n, y, ldy, bias);
  }
}

void bias_mul_rows(bool vec, int64_t rows, int64_t n, float* y, int64_t ldy, const float* bias, const float* other,
                   int64_t ldo) {
  for (int64_t r = 0; r < rows; ++r) {
    float* row = y + r * ldy;
    const float* o = other + r * ldo;
    if (bias)
      simd::map3(vec, [](auto v, auto b, auto w) { return (v + b) * w; }, n, row, bias, o, row);
    else
      simd::map2(vec, [](auto v, auto w) { return v * w; }, n, row, o, row);
  }
}

void bias_residual_layer_norm_rows(bool vec, int64_t rows, int64_t n, float* y, int64_t ldy, const float* bias,
                                   const float* residual, int64_t ldr, const float* gamma, const float* beta,
                                   float eps, float* out, int64_t ldo) {
  const float nf = static_cast<float>(n);
  for (int64_t r = 0; r < rows; ++r) {
    float* x = y + r * ldy;
    const float* res = residual + r * ldr;
    // (dense + bias) + residual, as the op-by-op path adds them.
    if (bias)
      simd::map3(vec, [](auto v, auto b, auto s) { return (v + b) + s; }, n, x, bias, res, x);
    else
      simd::map2(vec, [](auto v, auto s) { return v + s; }, n, x, res, x);
    // Two passes with a mean correction, as tensor/kernels/layer_norm.cpp (see the reason there).
    const float m = simd::sum2(vec, [](auto v, auto) { return v; }, n, x, x) / nf;
    const float corr = simd::sum2(vec, [m](auto v, auto) { return v - splat(v, m); }, n, x, x) / nf;
    const float sq = simd::sum2(vec, [m](auto v, auto) {
      auto d = v - splat(v, m);
      return d * d;
    }, n, x, x) / nf;
    const float var = std::max(sq - corr * corr, 0.f);
    const float rs = 1.f / std::sqrt(var + eps);
    simd::map3(vec, [m, corr, rs](auto v, auto g, auto b) {
      return (v - splat(v, m) - splat(v, corr)) * splat(v, rs) * g + b;
    }, n, x, gamma, beta, out + r * ldo);
  }
}

void softmax_add_rows(bool vec, int64_t rows, int64_t n, float* x, int64_t ldx, const float* add) {
  for (int64_t r = 0; r < rows; ++r) {
    float* row = x + r * ldx;
    if (add) simd::map2(vec, [](auto v, auto a) { return v + a; }, n, row, add, row);
    softmax_row_path(vec, n, row, row);
  }
}

void depthwise_conv_time(bool vec, int64_t T, int64_t C, int64_t K, int64_t pad, const float* x, int64_t ldx,
                         const float* w_kc, float* out, int64_t ldo, int64_t row_begin, int64_t row_end) {
  for (int64_t n = row_begin; n < row_end; ++n) {
    const int64_t b = n / T, t = n % T;
    float* o = out + n * ldo;
    std::fill(o, o + C, 0.f);
    for (int64_t k = 0; k < K; ++k) {
      const int64_t src = t + k - pad;
      if (src < 0 || src >= T) continue;  // zero padding
      const float* xr = x + (b * T + src) * ldx;
      simd::map3(vec, [](auto acc, auto w, auto v) { return acc + w * v; }, C, o, w_kc + k * C, xr, o);
    }
  }
}

void dynamic_conv_rows(bool vec, int64_t T, int64_t heads, int64_t d, int64_t K, int64_t pad, const float* probs,
                       int64_t ldp, const float* v, int64_t ldv, float* out, int64_t ldo, int64_t row_begin,
                       int64_t row_end) {
  for (int64_t n = row_begin; n < row_end; ++n) {
    const int64_t b = n / T, t = n % T;
    for (int64_t h = 0; h < heads; ++h) {
      float* o = out + n * ldo + h * d;
      const float* p = probs + n * ldp + h * K;
      std::fill(o, o + d, 0.f);
      for (int64_t k = 0; k < K; ++k) {
        const int64_t src = t + k - pad;
        if (src < 0 || src >= T) continue;  // unfold's zero padding
        const float pk = p[k];
        simd::map2(vec, [pk](auto acc, auto vv) { return acc + splat(acc, pk) * vv; }, d, o,
                   v + (b * T + src) * ldv + h * d, o);
      }
    }
  }
}

}  // namespace tz::kernels
