// Depthwise conv1d and unfold kernels; see conv.h. The vector versions run the same sums as the
// references but reorder them: for each tap k, one axpy (forward, input grad) or one dot product
// (weight grad) over the whole valid time range, so the inner loops are long and unit-stride.
#include "tensor/kernels/conv.h"

#include <algorithm>
#include <cstring>

#include "tensor/kernels/fma.h"
#include "tensor/kernels/kernel_mode.h"
#include "tensor/kernels/xsimd.h"

namespace tz::kernels {
namespace {

using Batch = xsimd::batch<float>;
constexpr int64_t kW = static_cast<int64_t>(Batch::size);

// acc + a * x, written once for float and for xsimd batches.
template <class T>
T fma_op(T a, T x, T acc) {
  return kernels::fma(a, x, acc);
}
template <>
float fma_op<float>(float a, float x, float acc) {
  return a * x + acc;
}

// y[i] += a * x[i], i < n
void axpy(float a, const float* x, float* y, int64_t n) {
  const Batch va(a);
  int64_t i = 0;
  for (; i + kW <= n; i += kW)
    fma_op(va, Batch::load_unaligned(x + i), Batch::load_unaligned(y + i)).store_unaligned(y + i);
  for (; i < n; ++i) y[i] = fma_op(a, x[i], y[i]);
}

// sum_i x[i] * y[i]
float dot(const float* x, const float* y, int64_t n) {
  Batch acc(0.f);
  int64_t i = 0;
  for (; i + kW <= n; i += kW) acc = fma_op(Batch::load_unaligned(x + i), Batch::load_unaligned(y + i), acc);
  float s = xsimd::hadd(acc);
  for (; i < n; ++i) s = fma_op(x[i], y[i], s);
  return s;
}

// The output steps t whose input x[t + k - pad] lies inside [0, T): [lo, hi).
inline void valid_range(int64_t k, int64_t pad, int64_t T, int64_t To, int64_t& lo, int64_t& hi) {
  lo = std::max<int64_t>(0, pad - k);
  hi = std::min<int64_t>(To, T + pad - k);
  if (hi < lo) hi = lo;
}

}  // namespace

void dwconv1d_row_reference(const float* x, int64_t T, const float* w, int64_t K, float bias,
                            int64_t pad, float* y, int64_t To) {
  for (int64_t t = 0; t < To; ++t) {
    float acc = bias;
    for (int64_t k = 0; k < K; ++k) {
      const int64_t s = t + k - pad;
      if (s >= 0 && s < T) acc += w[k] * x[s];
    }
    y[t] = acc;
  }
}

void dwconv1d_row(const float* x, int64_t T, const float* w, int64_t K, float bias, int64_t pad,
                  float* y, int64_t To) {
  if (use_reference()) return dwconv1d_row_reference(x, T, w, K, bias, pad, y, To);
  std::fill(y, y + To, bias);
  for (int64_t k = 0; k < K; ++k) {
    int64_t lo, hi;
    valid_range(k, pad, T, To, lo, hi);
    if (hi > lo) axpy(w[k], x + lo + k - pad, y + lo, hi - lo);
  }
}

void dwconv1d_row_backward_input_reference(const float* g, int64_t To, const float* w, int64_t K,
                                           int64_t pad, float* dx, int64_t T) {
  for (int64_t t = 0; t < To; ++t)
    for (int64_t k = 0; k < K; ++k) {
      const int64_t s = t + k - pad;
      if (s >= 0 && s < T) dx[s] += w[k] * g[t];
    }
}

void dwconv1d_row_backward_input(const float* g, int64_t To, const float* w, int64_t K, int64_t pad,
                                 float* dx, int64_t T) {
  if (use_reference()) return dwconv1d_row_backward_input_reference(g, To, w, K, pad, dx, T);
  for (int64_t k = 0; k < K; ++k) {
    int64_t lo, hi;
    valid_range(k, pad, T, To, lo, hi);
    if (hi > lo) axpy(w[k], g + lo, dx + lo + k - pad, hi - lo);
  }
}

void dwconv1d_row_backward_weight_reference(const float* g, int64_t To, const float* x, int64_t T,
                                            int64_t K, int64_t pad, float* dw) {
  for (int64_t k = 0; k < K; ++k) {
    float acc = 0.f;
    for (int64_t t = 0; t < To; ++t) {
      const int64_t s = t + k - pad;
      if (s >= 0 && s < T) acc += g[t] * x[s];
    }
    dw[k] += acc;
  }
}

void dwconv1d_row_backward_weight(const float* g, int64_t To, const float* x, int64_t T, int64_t K,
                                  int64_t pad, float* dw) {
  if (use_reference()) return dwconv1d_row_backward_weight_reference(g, To, x, T, K, pad, dw);
  for (int64_t k = 0; k < K; ++k) {
    int64_t lo, hi;
    valid_range(k, pad, T, To, lo, hi);
    if (hi > lo) dw[k] += dot(g + lo, x + lo + k - pad, hi - lo);
  }
}

void unfold1d_step(const float* x, int64_t T, int64_t C, int64_t K, int64_t pad, int64_t t, float* out) {
  for (int64_t c = 0; c < C; ++c) {
    float* o = out + c * K;
    for (int64_t k = 0; k < K; ++k) {
      const int64_t s = t + k - pad;
      o[k] = s >= 0 && s < T ? x[s * C + c] : 0.f;
    }
  }
}

void unfold1d_backward_step(const float* g, int64_t To, int64_t C, int64_t K, int64_t pad, int64_t s,
                            float* dx) {
  std::fill(dx, dx + C, 0.f);
  for (int64_t k = 0; k < K; ++k) {
    const int64_t t = s - k + pad;
    if (t < 0 || t >= To) continue;
    const float* row = g + t * C * K + k;  // g[t, :, k], stride K
    for (int64_t c = 0; c < C; ++c) dx[c] += row[c * K];
  }
}

}  // namespace tz::kernels
