// The graph-free inference path of the ConvBERT base model; see inference.h.
// Long by design: the embeddings and a layer's three phases share one buffer layout and work split.
//
// One layer, on token rows n = b*T + t of the row-major activations (x [N, H]):
//   phase 1, over row chunks:  q, k, v, conv_in = x W^T + b        [N, A] each
//                              k_span = pointwise(depthwise(x)) + b; conv_attn = k_span * q
//                              kernel = softmax_K(conv_attn W_ck^T + b)   [N, heads*K]
//   phase 2, over (b, head):   context[:, head]     = softmax(q k^T / sqrt(d) + mask) v
//                              context[:, A + head] = dynamic conv of conv_in with kernel
//   phase 3, over row chunks:  a = LN(context W_d^T + b + x); y = LN(act(a W_i^T + b) W_o^T + b + a)
// Phases 1 and 3 only read the rows they write (the depthwise conv reads x's neighbours, which
// are complete before the phase starts), so each thread runs whole GEMM + epilogue sequences on
// its own rows. All parallelism is ours (tensor/parallel.h); OpenBLAS always runs single-threaded.
#include "models/convbert/inference.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <optional>
#include <vector>

#include "autograd/grad_mode.h"
#include "tensor/kernels/fused.h"
#include "tensor/kernels/gemm.h"
#include "tensor/kernels/kernel_mode.h"
#include "tensor/ops.h"
#include "tensor/parallel.h"

namespace tz::convbert {
namespace {

using kernels::FusedAct;

// WorkSplit::Auto splits weight products by columns below this many token rows per thread. With
// few rows (batch 1 x 128 over 2 threads) the weights are most of the memory traffic, and by
// columns each weight is read (and packed) by one thread only; with many (batch 8 x 128: 512 per
// thread) each thread's rows reuse every packed weight panel well, and the row split, which runs
// each thread's products and epilogues without barriers in between, is ahead.
constexpr int64_t kColumnSplitRows = 128;

std::optional<FusedAct> fused_act(const std::string& hf_name) {
  if (hf_name == "gelu") return FusedAct::GeluErf;
  if (hf_name == "gelu_new") return FusedAct::GeluTanh;
  if (hf_name == "relu") return FusedAct::Relu;
  if (hf_name == "linear") return FusedAct::None;
  return std::nullopt;
}

const float* fptr(const Tensor& t) { return t.data<float>(); }

// Buffers of one forward, carved from one growing allocation that is kept per thread, so a
// steady stream of same-sized calls allocates nothing.
class Workspace {
 public:
  void reset(size_t total_floats) {
    if (storage_.size() < total_floats) storage_.resize(total_floats);
    used_ = 0;
  }
  float* take(size_t n) {
    float* p = storage_.data() + used_;
    used_ += (n + 15) / 16 * 16;  // keep every buffer 64-byte aligned relative to the first
    return p;
  }

 private:
  std::vector<float> storage_;
  size_t used_ = 0;
};

Workspace& workspace() {
  thread_local Workspace ws;
  return ws;
}

const float* bias_of(const nn::Linear& l) { return l.bias.defined() ? fptr(l.bias) : nullptr; }

// Splits [0, N) rows into one chunk per thread.
void parallel_rows(int64_t N, const std::function<void(int64_t, int64_t)>& fn) {
  const int64_t threads = get_num_threads();
  parallel_for(0, N, std::max<int64_t>(1, (N + threads - 1) / threads), fn);
}

// One dense layer's product with its bias, Y[m, out] = X[m, in] W^T + bias, as a list entry whose
// output columns can be shared out between threads (see column_split). W is a Linear weight
// [out, in] (grouped = false) or a GroupedLinear weight [G, in/G, out/G].
struct DenseProduct {
  const float* W;
  int64_t in, out, groups;
  bool grouped;
  const float* bias;  // [out] or null
  const float* X;
  int64_t ldx;
  float* Y;
  int64_t ldy;
};

DenseProduct product_of(nn::Module& dense, const float* X, int64_t ldx, float* Y, int64_t ldy) {
  if (auto* lin = dynamic_cast<nn::Linear*>(&dense))
    return {fptr(lin->weight), lin->weight.size(1), lin->weight.size(0), 1, false, bias_of(*lin), X, ldx, Y, ldy};
  auto& g = static_cast<GroupedLinear&>(dense);
  return {fptr(g.weight), g.in, g.out, g.groups, true, fptr(g.bias), X, ldx, Y, ldy};
}

// Columns [c0, c1) of one DenseProduct on m rows (0..out: the whole product); single-threaded (we
// are inside a chunk).
// - Few rows against a Linear weight, or any rows when OpenBLAS runs narrower vectors than this
//   build (kernels::sgemm_nt_direct_pays): sgemm_nt_direct reads the weight in place instead of
//   packing it, and adds the bias as it writes Y.
// - Otherwise OpenBLAS: the bias is written first and the GEMM accumulates onto it (beta = 1), which
//   spares both OpenBLAS's separate C-zeroing pass and a bias pass afterwards. Only the order of the
//   float additions changes (OpenBLAS adds its K-blocks into C one by one either way), well inside
//   the parity tolerance (tests/models/test_inference_path.cpp). A GroupedLinear runs one GEMM per
//   group the columns touch, on column slices of X and Y (no copies).
void dense_bias_cols(const DenseProduct& p, int64_t m, int64_t c0, int64_t c1) {
  if (c0 >= c1) return;
  if (!p.grouped && kernels::sgemm_nt_direct_pays(m, c1 - c0, p.in))
    return kernels::sgemm_nt_direct(m, c1 - c0, p.in, p.X, p.ldx, p.W + c0 * p.in, p.in, p.bias ? p.bias + c0 : nullptr,
                                    p.Y + c0, p.ldy);
  if (p.bias)
    for (int64_t r = 0; r < m; ++r)
      std::memcpy(p.Y + r * p.ldy + c0, p.bias + c0, static_cast<size_t>(c1 - c0) * sizeof(float));
  const float beta = p.bias ? 1.f : 0.f;
  if (!p.grouped) {
    kernels::sgemm(false, true, m, c1 - c0, p.in, 1.f, p.X, p.ldx, p.W + c0 * p.in, p.in, beta, p.Y + c0, p.ldy);
    return;
  }
  const int64_t gi = p.in / p.groups, go = p.out / p.groups;
  for (int64_t k = c0 / go; k < p.groups && k * go < c1; ++k) {  // the groups that columns c0..c1 touch
    const int64_t j0 = std::max(c0, k * go) - k * go, j1 = std::min(c1, (k + 1) * go) - k * go;
    kernels::sgemm(false, false, m, j1 - j0, gi, 1.f, p.X + k * gi, p.ldx, p.W + k * gi * go + j0, go, beta,
                   p.Y + k * go + j0, p.ldy);
  }
}

// Y[m, N] = X[m, K] W^T + bias for a Linear weight W [N, K] (bias may be null), as dense_bias_cols.
void linear_bias_rows(int64_t m, const float* X, int64_t ldx, const Tensor& W, const float* bias, float* Y,
                      int64_t ldy) {
  const int64_t out = W.size(0), in = W.size(1);
  dense_bias_cols({fptr(W), in, out, 1, false, bias, X, ldx, Y, ldy}, m, 0, out);
}

// The products side by side, as if their weights were one matrix of sum(out) rows: thread t of P
// takes one band of those columns (a multiple of 16 wide) and runs, on all m rows, the pieces of
// the products that fall in its band, each followed by after(product index, c0, c1) on the same
// columns; then also(t, P), for row-parallel work that reads none of the products.
// Splitting a short product by columns rather than rows means each weight is read and packed by
// one thread only: for a batch of one sequence, the weights are most of the memory traffic.
constexpr size_t kMaxSplitProducts = 4;  // q, k, v and conv_out share one split

void column_split(int64_t m, std::initializer_list<DenseProduct> list,
                  const std::function<void(size_t, int64_t, int64_t)>& after = nullptr,
                  const std::function<void(int64_t, int64_t)>& also = nullptr) {
  TZ_CHECK(list.size() <= kMaxSplitProducts, "column_split: at most ", kMaxSplitProducts, " products, got ",
           list.size());
  const DenseProduct* products = list.begin();
  std::array<int64_t, kMaxSplitProducts + 1> start{};  // column offsets, no allocation per call
  for (size_t i = 0; i < list.size(); ++i) start[i + 1] = start[i] + products[i].out;
  const int64_t total = start[list.size()], P = get_num_threads();
  parallel_for(0, P, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t lo = std::min(total, (total * t / P + 8) / 16 * 16);
      const int64_t hi = t + 1 == P ? total : std::min(total, (total * (t + 1) / P + 8) / 16 * 16);
      for (size_t i = 0; i < list.size(); ++i) {
        const int64_t c0 = std::max(lo, start[i]) - start[i], c1 = std::min(hi, start[i + 1]) - start[i];
        if (c0 >= c1) continue;
        dense_bias_cols(products[i], m, c0, c1);
        if (after) after(i, c0, c1);
      }
      if (also) also(t, P);
    }
  });
}

struct LayerBuffers {
  float *q, *k, *v, *conv_in, *k_span, *dw, *kernel, *scores, *context, *tmp, *attn_out, *inter;
  float* dw_weight;  // [K, H] tap-major copy of the depthwise weight
  int64_t hidden;    // H, the leading dimension of context
};

// Phase 2 of a layer: attention and dynamic convolution, one (batch item, head) per task.
void attention_and_dynamic_conv(SelfAttention& sa, bool vec, int64_t B, int64_t T, const float* mask,
                                const LayerBuffers& buf) {
  const int64_t A = sa.all_head_size, nh = sa.heads, d = sa.head_size, H = buf.hidden;
  const int64_t K = sa.kernel_size, pad = (K - 1) / 2;
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(d)));
  // One scores buffer [T, T] per task group (not per (b, head)): tasks are split into P groups,
  // one per thread, so the scratch stays P*T*T floats however large the batch.
  const int64_t U = B * nh, P = std::min<int64_t>(U, get_num_threads());
  parallel_for(0, P, 1, [&](int64_t g0, int64_t g1) {
    for (int64_t g = g0; g < g1; ++g) {
      float* S = buf.scores + g * T * T;  // [T, T]
      for (int64_t u = g * U / P; u < (g + 1) * U / P; ++u) {
        const int64_t b = u / nh, h = u % nh;
        const int64_t off = b * T * A + h * d;
        // S = mask + scale * q k^T: the mask rows are written first and the GEMM adds onto them.
        if (mask) {
          for (int64_t r = 0; r < T; ++r) std::memcpy(S + r * T, mask + b * T, static_cast<size_t>(T) * sizeof(float));
        }
        kernels::sgemm(false, true, T, T, d, scale, buf.q + off, A, buf.k + off, A, mask ? 1.f : 0.f, S, T);
        kernels::softmax_add_rows(vec, T, T, S, T, nullptr);
        kernels::sgemm(false, false, T, d, T, 1.f, S, T, buf.v + off, A, 0.f, buf.context + b * T * H + h * d, H);
        kernels::dynamic_conv_rows(vec, T, 1, d, K, pad, buf.kernel + h * K, nh * K, buf.conv_in + h * d, A,
                                   buf.context + A + h * d, H, b * T, (b + 1) * T);
      }
    }
  });
}

// Depthwise weight [H, 1, K] -> [K, H], so the conv runs along contiguous channels.
void tap_major_depthwise(SelfAttention& sa, int64_t H, float* out) {
  const float* w = fptr(sa.key_conv_attn_layer->depthwise->weight);
  const int64_t K = sa.kernel_size;
  for (int64_t ch = 0; ch < H; ++ch)
    for (int64_t t = 0; t < K; ++t) out[t * H + ch] = w[ch * K + t];
}

// One layer. With by_columns, every weight product is split by output columns (column_split), so
// each weight is read and packed by one thread only, on all rows, and the row-wise steps (kernel
// softmax, LayerNorms) run as row-parallel passes in between (see WorkSplit in inference.h).
// Otherwise each thread runs whole sequences of products and epilogues on its own rows.
void layer_forward(Layer& layer, const ConvBertConfig& c, FusedAct act, bool vec, bool by_columns, int64_t B,
                   int64_t T, const float* x, const float* mask, const LayerBuffers& buf, float* y) {
  SelfAttention& sa = *layer.attention->self;
  blocks::ResidualOutput& so = *layer.attention->output;
  const int64_t N = B * T, H = c.hidden_size, A = sa.all_head_size, nh = sa.heads;
  const int64_t K = sa.kernel_size, pad = (K - 1) / 2, I = c.intermediate_size;
  const float eps = static_cast<float>(c.layer_norm_eps);

  tap_major_depthwise(sa, H, buf.dw_weight);
  const Tensor& pw = sa.key_conv_attn_layer->pointwise->weight;  // [A, H, 1], used as [A, H]

  // ---- phase 1: projections, span-aware key, dynamic kernels ----
  if (by_columns) {
    // q, k, v and conv_in by columns; alongside, each thread's share of the depthwise conv's rows.
    column_split(N,
                 {product_of(*sa.query, x, H, buf.q, A), product_of(*sa.key, x, H, buf.k, A),
                  product_of(*sa.value, x, H, buf.v, A), product_of(*sa.conv_out_layer, x, H, buf.conv_in, A)},
                 nullptr, [&](int64_t t, int64_t P) {
                   kernels::depthwise_conv_time(vec, T, H, K, pad, x, H, buf.dw_weight, buf.dw, H, N * t / P,
                                                N * (t + 1) / P);
                 });
    // The pointwise conv by columns, then k_span * q on the same columns.
    const float* pw_bias = fptr(sa.key_conv_attn_layer->bias);
    const DenseProduct pointwise{fptr(pw), H, A, 1, false, pw_bias, buf.dw, H, buf.k_span, A};
    column_split(N, {pointwise}, [&](size_t, int64_t c0, int64_t c1) {
      kernels::bias_mul_rows(vec, N, c1 - c0, buf.k_span + c0, A, nullptr, buf.q + c0, A);
    });
    // The dynamic kernels by rows (a small weight; the softmax needs whole rows).
    parallel_rows(N, [&](int64_t r0, int64_t r1) {
      float* kr = buf.kernel + r0 * nh * K;
      linear_bias_rows(r1 - r0, buf.k_span + r0 * A, A, sa.conv_kernel_layer->weight, bias_of(*sa.conv_kernel_layer),
                       kr, nh * K);
      kernels::softmax_add_rows(vec, (r1 - r0) * nh, K, kr, K, nullptr);
    });
  } else {
    parallel_rows(N, [&](int64_t r0, int64_t r1) {
      const int64_t m = r1 - r0;
      const float* xr = x + r0 * H;
      auto proj = [&](nn::Linear& l, float* out) { linear_bias_rows(m, xr, H, l.weight, bias_of(l), out + r0 * A, A); };
      proj(*sa.query, buf.q);
      proj(*sa.key, buf.k);
      proj(*sa.value, buf.v);
      proj(*sa.conv_out_layer, buf.conv_in);
      kernels::depthwise_conv_time(vec, T, H, K, pad, x, H, buf.dw_weight, buf.dw, H, r0, r1);
      linear_bias_rows(m, buf.dw + r0 * H, H, pw, fptr(sa.key_conv_attn_layer->bias), buf.k_span + r0 * A, A);
      kernels::bias_mul_rows(vec, m, A, buf.k_span + r0 * A, A, nullptr, buf.q + r0 * A, A);
      float* kr = buf.kernel + r0 * nh * K;
      linear_bias_rows(m, buf.k_span + r0 * A, A, sa.conv_kernel_layer->weight, bias_of(*sa.conv_kernel_layer), kr,
                       nh * K);
      kernels::softmax_add_rows(vec, m * nh, K, kr, K, nullptr);
    });
  }

  attention_and_dynamic_conv(sa, vec, B, T, mask, buf);

  // ---- phase 3: attention output, feed-forward, both LayerNorms ----
  if (by_columns) {
    column_split(N, {product_of(*so.dense, buf.context, H, buf.tmp, H)});
    parallel_rows(N, [&](int64_t r0, int64_t r1) {
      kernels::bias_residual_layer_norm_rows(vec, r1 - r0, H, buf.tmp + r0 * H, H, nullptr, x + r0 * H, H,
                                             fptr(so.layer_norm->weight), fptr(so.layer_norm->bias), eps,
                                             buf.attn_out + r0 * H, H);
    });
    column_split(N, {product_of(*layer.intermediate->dense, buf.attn_out, H, buf.inter, I)},
                 [&](size_t, int64_t c0, int64_t c1) {
                   kernels::bias_act_rows(vec, act, N, c1 - c0, buf.inter + c0, I, nullptr);
                 });
    column_split(N, {product_of(*layer.output->dense, buf.inter, I, buf.tmp, H)});
    parallel_rows(N, [&](int64_t r0, int64_t r1) {
      kernels::bias_residual_layer_norm_rows(vec, r1 - r0, H, buf.tmp + r0 * H, H, nullptr, buf.attn_out + r0 * H, H,
                                             fptr(layer.output->layer_norm->weight),
                                             fptr(layer.output->layer_norm->bias), eps, y + r0 * H, H);
    });
  } else {
    parallel_rows(N, [&](int64_t r0, int64_t r1) {
      const int64_t m = r1 - r0;
      float* tmp = buf.tmp + r0 * H;
      float* a = buf.attn_out + r0 * H;
      float* inter = buf.inter + r0 * I;
      linear_bias_rows(m, buf.context + r0 * H, H, so.dense->weight, bias_of(*so.dense), tmp, H);
      kernels::bias_residual_layer_norm_rows(vec, m, H, tmp, H, nullptr, x + r0 * H, H,
                                             fptr(so.layer_norm->weight), fptr(so.layer_norm->bias), eps, a, H);
      dense_bias_cols(product_of(*layer.intermediate->dense, a, H, inter, I), m, 0, I);
      kernels::bias_act_rows(vec, act, m, I, inter, I, nullptr);
      dense_bias_cols(product_of(*layer.output->dense, inter, I, tmp, H), m, 0, H);
      kernels::bias_residual_layer_norm_rows(vec, m, H, tmp, H, nullptr, a, H,
                                             fptr(layer.output->layer_norm->weight),
                                             fptr(layer.output->layer_norm->bias), eps, y + r0 * H, H);
    });
  }
}

}  // namespace

static std::atomic<int64_t> g_calls{0};
static std::atomic<WorkSplit> g_split{WorkSplit::Auto};

void set_inference_work_split(WorkSplit split) { g_split.store(split); }
WorkSplit inference_work_split() { return g_split.load(); }

namespace {

// Whether the weight products of a forward on n token rows are split by columns (see WorkSplit).
bool columns_for(int64_t n) {
  const int64_t threads = get_num_threads();
  switch (g_split.load()) {
    case WorkSplit::Rows: return false;
    case WorkSplit::Columns: return threads > 1;
    case WorkSplit::Auto: break;
  }
  return threads > 1 && n < kColumnSplitRows * threads;
}

}  // namespace

int64_t inference_path_calls() { return g_calls.load(); }

bool can_use_inference_path(const Encoder& encoder, const ConvBertConfig& c, bool has_head_mask,
                            bool output_hidden_states, bool output_attentions) {
  if (!models::inference_path_enabled() || is_grad_enabled() || encoder.is_training()) return false;
  if (has_head_mask || output_hidden_states || output_attentions) return false;
  if (c.conv_kernel_size % 2 == 0 || !fused_act(c.hidden_act)) return false;
  for (const Tensor& p : encoder.parameters())
    if (p.dtype() != DType::Float32 || !p.is_contiguous()) return false;
  return true;
}

namespace {

// Every layer on x [B*T, H] with the additive mask row per batch item (mask [B*T] or null).
Tensor run_encoder(Encoder& encoder, const ConvBertConfig& c, int64_t B, int64_t T, const float* x,
                   const float* mask) {
  auto act = fused_act(c.hidden_act);
  TZ_CHECK(act.has_value(), "convbert inference: activation '", c.hidden_act, "' has no fused kernel");
  TZ_CHECK(c.conv_kernel_size % 2 == 1, "convbert inference: conv_kernel_size must be odd, got ", c.conv_kernel_size);
  const int64_t N = B * T, H = c.hidden_size;
  const int64_t A = c.all_head_size(), nh = c.attention_heads(), K = c.conv_kernel_size, I = c.intermediate_size;
  const bool vec = !kernels::use_reference();
  ++g_calls;

  Workspace& ws = workspace();
  auto padded = [](int64_t n) { return static_cast<size_t>((n + 15) / 16 * 16); };
  const int64_t score_groups = std::min<int64_t>(B * nh, get_num_threads());
  ws.reset(padded(N * A) * 5 + padded(N * H) * 5 + padded(N * nh * K) + padded(score_groups * T * T) + padded(N * I) +
           padded(K * H));
  LayerBuffers buf;
  buf.q = ws.take(N * A);
  buf.k = ws.take(N * A);
  buf.v = ws.take(N * A);
  buf.conv_in = ws.take(N * A);
  buf.k_span = ws.take(N * A);
  buf.dw = ws.take(N * H);
  buf.context = ws.take(N * H);
  buf.tmp = ws.take(N * H);
  buf.attn_out = ws.take(N * H);
  float* ping = ws.take(N * H);
  buf.kernel = ws.take(N * nh * K);
  buf.scores = ws.take(score_groups * T * T);
  buf.inter = ws.take(N * I);
  buf.dw_weight = ws.take(K * H);
  buf.hidden = H;

  const bool by_columns = columns_for(N);
  Tensor out = Tensor::empty({B, T, H});
  const size_t L = encoder.layer->size();
  const float* cur = x;
  for (size_t i = 0; i < L; ++i) {
    // Layers after the first run in place on `ping` (phase 3 reads only the rows it writes, after
    // phases 1-2 are done with the whole input); the last layer writes straight into the result.
    float* dst = (i + 1 == L) ? out.data<float>() : ping;
    layer_forward(*encoder.layer->get<Layer>(i), c, *act, vec, by_columns, B, T, cur, mask, buf, dst);
    cur = dst;
  }
  if (L == 0) std::memcpy(out.data<float>(), x, static_cast<size_t>(N * H) * sizeof(float));
  return out;
}

// Buffers of the embeddings stage (a second workspace: run_encoder resets its own).
Workspace& embedding_workspace() {
  thread_local Workspace ws;
  return ws;
}

}  // namespace

bool can_use_inference_path(const ConvBertModel& model, const models::Inputs& in) {
  if (!in.input_ids.defined() || in.inputs_embeds.defined() || model.is_training()) return false;
  if (!can_use_inference_path(*model.encoder, model.config(), in.head_mask.defined(), in.output_hidden_states,
                              in.output_attentions))
    return false;
  for (const Tensor& p : model.parameters())
    if (p.dtype() != DType::Float32 || !p.is_contiguous()) return false;
  return true;
}

Tensor encoder_forward_inference(Encoder& encoder, const ConvBertConfig& c, const Tensor& x_in,
                                 const Tensor& additive_mask) {
  TZ_CHECK(x_in.dim() == 3 && x_in.size(2) == c.hidden_size && x_in.dtype() == DType::Float32,
           "convbert inference: expected float32 input [B, T, ", c.hidden_size, "], got ", shape_str(x_in.shape()));
  const int64_t B = x_in.size(0), T = x_in.size(1);
  Tensor x = raw::contiguous(x_in);
  Tensor mask;
  if (additive_mask.defined()) {
    TZ_CHECK(additive_mask.numel() == B * T, "convbert inference: additive mask ", shape_str(additive_mask.shape()),
             " does not match input [", B, ", ", T, "]");
    mask = raw::contiguous(additive_mask);
  }
  return run_encoder(encoder, c, B, T, x.data<float>(), mask.defined() ? mask.data<float>() : nullptr);
}

Tensor model_forward_inference(ConvBertModel& model, const Tensor& input_ids, const Tensor& token_type_ids,
                               const Tensor& position_ids, const Tensor& attention_mask) {
  const ConvBertConfig& c = model.config();
  TZ_CHECK(input_ids.defined() && input_ids.dim() == 2 && input_ids.dtype() == DType::Int64,
           "convbert inference: expected int64 input_ids [B, T]");
  const int64_t B = input_ids.size(0), T = input_ids.size(1), N = B * T, E = c.embedding_size, H = c.hidden_size;
  const bool vec = !kernels::use_reference();
  Tensor ids = raw::contiguous(input_ids);
  Tensor types = token_type_ids.defined() ? raw::contiguous(token_type_ids) : Tensor();
  Tensor pos = position_ids.defined() ? raw::contiguous(position_ids) : Tensor();
  Tensor am = attention_mask.defined() ? raw::contiguous(attention_mask) : Tensor();
  TZ_CHECK(!am.defined() || am.dtype() == DType::Int64 || am.dtype() == DType::Float32,
           "convbert inference: attention_mask must be int64 or float32");

  Workspace& ws = embedding_workspace();
  const bool project = static_cast<bool>(model.embeddings_project);
  ws.reset(static_cast<size_t>((N * E + 15) / 16 * 16 + (project ? (N * H + 15) / 16 * 16 : 0) + N + 16));
  float* emb = ws.take(N * E);
  float* hidden = project ? ws.take(N * H) : emb;
  float* mask = am.defined() ? ws.take(N) : nullptr;

  // HF's extended mask (1 - mask) * float32 lowest, as models::additive_attention_mask computes it.
  if (mask) {
    constexpr float lowest = std::numeric_limits<float>::lowest();
    for (int64_t n = 0; n < N; ++n) {
      const float m = am.dtype() == DType::Int64 ? static_cast<float>(am.data<int64_t>()[n]) : am.data<float>()[n];
      mask[n] = (-m + 1.f) * lowest;
    }
  }

  // word + position + token type (in HF's order), then LayerNorm; dropout is off in eval mode.
  blocks::Embeddings& e = *model.embeddings;
  const float* word = fptr(e.word_embeddings->weight);
  const float* position = fptr(e.position_embeddings->weight);
  const float* type = fptr(e.token_type_embeddings->weight);
  const int64_t* id = ids.data<int64_t>();
  parallel_rows(N, [&](int64_t r0, int64_t r1) {
    for (int64_t n = r0; n < r1; ++n) {
      const int64_t p = pos.defined() ? pos.data<int64_t>()[n] : n % T;
      const int64_t ty = types.defined() ? types.data<int64_t>()[n] : 0;
      float* row = emb + n * E;
      std::memcpy(row, word + id[n] * E, static_cast<size_t>(E) * sizeof(float));
      kernels::bias_residual_layer_norm_rows(vec, 1, E, row, E, position + p * E, type + ty * E, E,
                                             fptr(e.layer_norm->weight), fptr(e.layer_norm->bias),
                                             static_cast<float>(c.layer_norm_eps), row, E);
    }
  });
  if (project && columns_for(N)) {
    column_split(N, {product_of(*model.embeddings_project, emb, E, hidden, H)});
  } else if (project) {
    parallel_rows(N, [&](int64_t r0, int64_t r1) {
      linear_bias_rows(r1 - r0, emb + r0 * E, E, model.embeddings_project->weight,
                       bias_of(*model.embeddings_project), hidden + r0 * H, H);
    });
  }
  return run_encoder(*model.encoder, c, B, T, hidden, mask);
}

double forward_flops(const ConvBertConfig& c, int64_t B, int64_t T) {
  const double N = static_cast<double>(B * T), H = c.hidden_size, A = c.all_head_size();
  const double h = c.attention_heads(), d = c.attention_head_size(), K = c.conv_kernel_size;
  const double I = c.intermediate_size, G = c.num_groups, E = c.embedding_size;
  double layer = 3 * 2 * N * H * A                   // query, key, value
                 + 2 * N * H * K + 2 * N * H * A      // separable conv: depthwise + pointwise
                 + 2 * N * A * (h * K)                // conv_kernel_layer
                 + 2 * N * H * A                      // conv_out_layer
                 + 2 * N * A * K                      // dynamic convolution
                 + 2 * (2 * B * h * T * T * d)        // QK^T and PV
                 + 2 * N * H * H                      // attention output dense
                 + 2 * (2 * N * H * I / G);           // feed-forward (grouped: 1/G of the dense work)
  double total = layer * static_cast<double>(c.num_hidden_layers);
  if (c.embedding_size != c.hidden_size) total += 2 * N * E * H;  // embeddings_project
  return total;
}

}  // namespace tz::convbert
