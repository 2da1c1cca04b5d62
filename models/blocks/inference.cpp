// The graph-free inference path of the BERT-style encoders; see inference.h.
//
// One layer, on token rows n = b*T + t of the row-major activations (x [N, H], N = B*T):
//   phase 1, over rows or columns:  q, k, v = x W^T + b                         [N, H] each
//   phase 2, over (b, head):        context[:, head] = softmax(scale q k^T + mask) v
//   phase 3, over rows or columns:  a = LN(context W_o^T + b + x)
//                                   y = LN(act(a W_i^T + b) W_2^T + b + a)
// By rows, phases 1 and 3 only read the rows they write, so each thread runs whole sequences of
// products and epilogues on its own rows; by columns, each product is shared out by output
// columns and each LayerNorm is a row pass of its own. All parallelism is ours
// (tensor/parallel.h); OpenBLAS always runs single-threaded.
#include "models/blocks/inference.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>

#include "autograd/grad_mode.h"
#include "core/error.h"
#include "tensor/kernels/aligned_vector.h"
#include "tensor/kernels/gemm.h"
#include "tensor/kernels/kernel_mode.h"
#include "tensor/ops.h"
#include "tensor/parallel.h"

namespace tz::blocks {

using kernels::FusedAct;

namespace {

// Below this many token rows per thread the weight products are split by columns (WorkSplit::Auto):
// with few rows (batch 1 x 128 over 2 threads) the weights are most of the memory traffic, and by
// columns each weight is read once; with many, each thread's rows reuse every packed panel of the
// weight well, and the row split runs each thread's products and epilogues without barriers.
constexpr int64_t kColumnSplitRows = 128;

std::atomic<int64_t> g_calls{0};
std::atomic<WorkSplit> g_split{WorkSplit::Auto};

bool split_by_columns(int64_t rows) {
  const int64_t threads = get_num_threads();
  switch (g_split.load()) {
    case WorkSplit::Rows: return false;
    case WorkSplit::Columns: return threads > 1;
    case WorkSplit::Auto: break;
  }
  return threads > 1 && rows < kColumnSplitRows * threads;
}

// The buffers of one forward, carved from one allocation kept per thread and only grown, so a
// steady stream of same-sized calls allocates nothing. Every buffer starts on a 64-byte boundary.
class Workspace {
 public:
  static size_t padded(int64_t n) { return static_cast<size_t>((n + 15) / 16 * 16); }
  void reset(size_t total_floats) {
    if (storage_.size() < total_floats) storage_.resize(total_floats);
    used_ = 0;
  }
  float* take(int64_t n) {
    float* p = storage_.data() + used_;
    used_ += padded(n);
    TZ_CHECK(used_ <= storage_.size(), "inference workspace: ", used_, " floats taken, ", storage_.size(), " reserved");
    return p;
  }

 private:
  kernels::AlignedVector<float> storage_;
  size_t used_ = 0;
};

Workspace& workspace() {
  thread_local Workspace ws;
  return ws;
}

struct LayerBuffers {
  float *q, *k, *v, *context, *tmp, *attn_out, *inter, *ping;
  float* scores;  // one [T, T] per task group of phase 2
};

int64_t score_groups(const EncoderWeights& e, int64_t B) { return std::min<int64_t>(B * e.heads, get_num_threads()); }

size_t layer_buffer_floats(const EncoderWeights& e, int64_t B, int64_t T) {
  const int64_t N = B * T;
  return Workspace::padded(N * e.hidden) * 7 + Workspace::padded(N * e.intermediate) +
         Workspace::padded(score_groups(e, B) * T * T);
}

LayerBuffers take_layer_buffers(Workspace& ws, const EncoderWeights& e, int64_t B, int64_t T) {
  const int64_t N = B * T, H = e.hidden;
  LayerBuffers buf;
  for (float** p : {&buf.q, &buf.k, &buf.v, &buf.context, &buf.tmp, &buf.attn_out, &buf.ping}) *p = ws.take(N * H);
  buf.inter = ws.take(N * e.intermediate);
  buf.scores = ws.take(score_groups(e, B) * T * T);
  return buf;
}

// What attention_mask [B, T] adds to each key's score, into out [B*T]. Returns whether any value
// is non-zero (all zeros: the mask can be skipped, adding 0 changes nothing).
bool additive_mask(const Tensor& attention_mask, MaskRule rule, float* out, int64_t n) {
  TZ_CHECK(attention_mask.numel() == n, "inference path: attention_mask ", shape_str(attention_mask.shape()),
           " does not match the input's ", n, " tokens");
  const Tensor m = raw::to_dtype(raw::contiguous(attention_mask), DType::Float32);
  const float* v = m.data<float>();
  bool any = false;
  for (int64_t i = 0; i < n; ++i) {
    if (rule.kind == MaskRule::Kind::ZeroIsMasked)
      out[i] = v[i] == 0.f ? rule.masked_value : 0.f;
    else
      out[i] = (-v[i] + 1.f) * rule.masked_value;  // models::additive_attention_mask's order
    any = any || out[i] != 0.f;
  }
  return any;
}

// Phase 2: attention for one (batch item, head) per task. The scale rides on the q k^T product and
// the mask row on the softmax's input pass, while the scores are in L1. HF divides q k^T by
// sqrt(d) (DistilBERT divides q first); multiplying by 1/sqrt(d) instead differs by rounding only.
void attention(const EncoderWeights& e, bool vec, int64_t B, int64_t T, const float* mask, const LayerBuffers& buf) {
  const int64_t H = e.hidden, nh = e.heads, d = H / nh;
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(d)));
  const int64_t U = B * nh, P = score_groups(e, B);
  parallel_for(0, P, 1, [&](int64_t g0, int64_t g1) {
    for (int64_t g = g0; g < g1; ++g) {
      float* S = buf.scores + g * T * T;  // [T, T]
      for (int64_t u = g * U / P; u < (g + 1) * U / P; ++u) {
        const int64_t b = u / nh, h = u % nh, off = b * T * H + h * d;
        kernels::sgemm(false, true, T, T, d, scale, buf.q + off, H, buf.k + off, H, 0.f, S, T);
        kernels::softmax_add_rows(vec, T, T, S, T, mask ? mask + b * T : nullptr);
        kernels::sgemm(false, false, T, d, T, 1.f, S, T, buf.v + off, H, 0.f, buf.context + off, H);
      }
    }
  });
}

// One layer from x [N, H] into y [N, H] (y may be x: phase 3 reads a row of x only before it
// writes that row of y, and phases 1-2 are done with x by then).
void layer_forward(const EncoderLayerWeights& l, const EncoderWeights& e, bool vec, bool by_columns, int64_t B,
                   int64_t T, const float* x, const float* mask, const LayerBuffers& buf, float* y) {
  const int64_t N = B * T, H = e.hidden, I = e.intermediate;
  const DenseProduct q{&l.query, x, H, buf.q, H}, k{&l.key, x, H, buf.k, H}, v{&l.value, x, H, buf.v, H};
  const DenseProduct attn_dense{&l.attention_output, buf.context, H, buf.tmp, H};
  const DenseProduct ffn_in{&l.intermediate, buf.attn_out, H, buf.inter, I, e.act};
  const DenseProduct ffn_out{&l.output, buf.inter, I, buf.tmp, H};
  // LayerNorm(tmp + residual) of rows [r0, r1) into out.
  auto norm_rows = [&](const LayerNormWeights& n, const float* residual, float* out, int64_t r0, int64_t r1) {
    kernels::bias_residual_layer_norm_rows(vec, r1 - r0, H, buf.tmp + r0 * H, H, nullptr, residual + r0 * H, H,
                                           n.gamma, n.beta, n.eps, out + r0 * H, H);
  };

  if (by_columns) {
    dense_columns_parallel(vec, N, {q, k, v});
  } else {
    parallel_row_chunks(N, [&](int64_t r0, int64_t r1) {
      for (const DenseProduct* p : {&q, &k, &v}) dense_rows(vec, *p, r0, r1);
    });
  }

  attention(e, vec, B, T, mask, buf);

  if (by_columns) {
    dense_columns_parallel(vec, N, {attn_dense});
    parallel_row_chunks(N, [&](int64_t r0, int64_t r1) { norm_rows(l.attention_norm, x, buf.attn_out, r0, r1); });
    dense_columns_parallel(vec, N, {ffn_in});
    dense_columns_parallel(vec, N, {ffn_out});
    parallel_row_chunks(N, [&](int64_t r0, int64_t r1) { norm_rows(l.output_norm, buf.attn_out, y, r0, r1); });
  } else {
    parallel_row_chunks(N, [&](int64_t r0, int64_t r1) {
      dense_rows(vec, attn_dense, r0, r1);
      norm_rows(l.attention_norm, x, buf.attn_out, r0, r1);
      dense_rows(vec, ffn_in, r0, r1);
      dense_rows(vec, ffn_out, r0, r1);
      norm_rows(l.output_norm, buf.attn_out, y, r0, r1);
    });
  }
}

// Every layer on x [B*T, H] with the additive mask [B*T] (or null), into a new [B, T, H] tensor.
Tensor run_layers(const EncoderWeights& e, int64_t B, int64_t T, const float* x, const float* mask,
                  const LayerBuffers& buf) {
  const int64_t N = B * T, H = e.hidden;
  const bool vec = !kernels::use_reference();
  const bool by_columns = split_by_columns(N);
  ++g_calls;
  Tensor out = Tensor::empty({B, T, H});
  const float* cur = x;
  for (size_t i = 0; i < e.layers.size(); ++i) {
    // Layers after the first run in place on `ping`; the last writes straight into the result.
    float* dst = i + 1 == e.layers.size() ? out.data<float>() : buf.ping;
    layer_forward(e.layers[i], e, vec, by_columns, B, T, cur, mask, buf, dst);
    cur = dst;
  }
  if (e.layers.empty()) std::memcpy(out.data<float>(), x, static_cast<size_t>(N * H) * sizeof(float));
  return out;
}

void check_encoder(const EncoderWeights& e) {
  TZ_CHECK(e.hidden > 0 && e.heads > 0 && e.hidden % e.heads == 0 && e.intermediate > 0,
           "inference path: hidden ", e.hidden, " must be a positive multiple of heads ", e.heads,
           " and intermediate ", e.intermediate, " positive");
}

}  // namespace

std::optional<FusedAct> fused_activation(const std::string& hf_name) {
  if (hf_name == "gelu") return FusedAct::GeluErf;
  if (hf_name == "gelu_new") return FusedAct::GeluTanh;
  if (hf_name == "relu") return FusedAct::Relu;
  if (hf_name == "linear") return FusedAct::None;
  return std::nullopt;
}

bool can_use_inference_path(const nn::Module& model, const models::Inputs& in, const std::string& hidden_act) {
  if (!models::inference_path_enabled() || is_grad_enabled() || model.is_training()) return false;
  if (in.head_mask.defined() || in.output_hidden_states || in.output_attentions) return false;
  if (!fused_activation(hidden_act)) return false;
  for (const Tensor& p : model.parameters())
    if (p.dtype() != DType::Float32 || !p.is_contiguous()) return false;
  return true;
}

LayerNormWeights layer_norm_weights(const nn::LayerNorm& norm) {
  return {norm.weight.data<float>(), norm.bias.data<float>(), static_cast<float>(norm.eps)};
}

EncoderWeights encoder_weights(const Encoder& encoder, const models::PretrainedConfig& c) {
  EncoderWeights e;
  e.hidden = c.hidden_size;
  e.heads = c.num_attention_heads;
  e.intermediate = c.intermediate_size;
  auto act = fused_activation(c.hidden_act);
  TZ_CHECK(act.has_value(), "inference path: activation '", c.hidden_act, "' has no fused kernel");
  e.act = *act;
  e.layers.reserve(encoder.layer->size());
  for (size_t i = 0; i < encoder.layer->size(); ++i) {
    const Layer& layer = *encoder.layer->get<Layer>(i);
    const SelfAttention& sa = *layer.attention->self;
    EncoderLayerWeights w;
    w.query = dense_weights(*sa.query);
    w.key = dense_weights(*sa.key);
    w.value = dense_weights(*sa.value);
    w.attention_output = dense_weights(*layer.attention->output->dense);
    w.attention_norm = layer_norm_weights(*layer.attention->output->layer_norm);
    w.intermediate = dense_weights(*layer.intermediate->dense);
    w.output = dense_weights(*layer.output->dense);
    w.output_norm = layer_norm_weights(*layer.output->layer_norm);
    e.layers.push_back(w);
  }
  return e;
}

EmbeddingsWeights embeddings_weights(const Embeddings& emb) {
  TZ_CHECK(!emb.options.positions_before_token_types,
           "inference path: the embeddings sum (word + token type) + position; these add positions first");
  EmbeddingsWeights w;
  w.word = emb.word_embeddings->weight.data<float>();
  w.position = emb.position_embeddings->weight.data<float>();
  w.token_type = emb.token_type_embeddings ? emb.token_type_embeddings->weight.data<float>() : nullptr;
  w.dim = emb.options.embedding_size;
  w.norm = layer_norm_weights(*emb.layer_norm);
  return w;
}

void set_inference_work_split(WorkSplit split) { g_split.store(split); }
WorkSplit inference_work_split() { return g_split.load(); }
int64_t inference_path_calls() { return g_calls.load(); }

Tensor encoder_forward_inference(const EncoderWeights& e, const Tensor& x_in, const Tensor& attention_mask,
                                 MaskRule rule) {
  check_encoder(e);
  TZ_CHECK(x_in.dim() == 3 && x_in.size(2) == e.hidden && x_in.dtype() == DType::Float32,
           "inference path: expected float32 input [B, T, ", e.hidden, "], got ", shape_str(x_in.shape()));
  const int64_t B = x_in.size(0), T = x_in.size(1), N = B * T;
  const Tensor x = raw::contiguous(x_in);
  Workspace& ws = workspace();
  ws.reset(layer_buffer_floats(e, B, T) + Workspace::padded(N));
  const LayerBuffers buf = take_layer_buffers(ws, e, B, T);
  float* mask = ws.take(N);
  const bool masked = attention_mask.defined() && additive_mask(attention_mask, rule, mask, N);
  return run_layers(e, B, T, x.data<float>(), masked ? mask : nullptr, buf);
}

Tensor model_forward_inference(const EmbeddingsWeights& emb, const EncoderWeights& e, const Tensor& input_ids,
                               const Tensor& token_type_ids, const Tensor& position_ids, const Tensor& attention_mask,
                               MaskRule rule) {
  check_encoder(e);
  TZ_CHECK(input_ids.defined() && input_ids.dim() == 2 && input_ids.dtype() == DType::Int64,
           "inference path: expected int64 input_ids [B, T]");
  const int64_t B = input_ids.size(0), T = input_ids.size(1), N = B * T, E = emb.dim, H = e.hidden;
  const bool project = emb.project.weight != nullptr;
  TZ_CHECK(project ? (emb.project.in == E && emb.project.out == H) : E == H, "inference path: embeddings of size ", E,
           " do not lead to hidden size ", H);
  const bool vec = !kernels::use_reference();
  const Tensor ids = raw::contiguous(input_ids);
  const Tensor types = token_type_ids.defined() ? raw::contiguous(token_type_ids) : Tensor();
  const Tensor pos = position_ids.defined() ? raw::contiguous(position_ids) : Tensor();

  Workspace& ws = workspace();
  ws.reset(layer_buffer_floats(e, B, T) + Workspace::padded(N) + Workspace::padded(N * E) +
           (project ? Workspace::padded(N * H) : 0));
  const LayerBuffers buf = take_layer_buffers(ws, e, B, T);
  float* mask = ws.take(N);
  float* embedded = ws.take(N * E);
  float* hidden = project ? ws.take(N * H) : embedded;
  const bool masked = attention_mask.defined() && additive_mask(attention_mask, rule, mask, N);

  // (word + token type) + position, then LayerNorm, one row at a time; dropout is off in eval mode.
  const int64_t* id = ids.data<int64_t>();
  parallel_row_chunks(N, [&](int64_t r0, int64_t r1) {
    for (int64_t n = r0; n < r1; ++n) {
      const int64_t p = pos.defined() ? pos.data<int64_t>()[n] : n % T;
      const float* type = nullptr;
      if (emb.token_type) type = emb.token_type + (types.defined() ? types.data<int64_t>()[n] : 0) * E;
      float* row = embedded + n * E;
      std::memcpy(row, emb.word + id[n] * E, static_cast<size_t>(E) * sizeof(float));
      kernels::bias_residual_layer_norm_rows(vec, 1, E, row, E, type, emb.position + p * E, E, emb.norm.gamma,
                                             emb.norm.beta, emb.norm.eps, row, E);
    }
  });
  if (project) {
    const DenseProduct p{&emb.project, embedded, E, hidden, H};
    if (split_by_columns(N))
      dense_columns_parallel(vec, N, {p});
    else
      parallel_row_chunks(N, [&](int64_t r0, int64_t r1) { dense_rows(vec, p, r0, r1); });
  }
  return run_layers(e, B, T, hidden, masked ? mask : nullptr, buf);
}

Tensor encode_inference(Embeddings& embeddings, const nn::Linear* project, const Encoder& encoder,
                        const models::PretrainedConfig& config, const models::Inputs& in) {
  const EncoderWeights e = encoder_weights(encoder, config);
  const MaskRule rule{MaskRule::Kind::ScaledComplement, kMaskedScore};
  if (in.input_ids.defined()) {
    EmbeddingsWeights emb = embeddings_weights(embeddings);
    if (project) emb.project = dense_weights(*project);
    return model_forward_inference(emb, e, in.input_ids, in.token_type_ids, in.position_ids, in.attention_mask, rule);
  }
  Tensor h = embeddings.forward(Tensor(), in.token_type_ids, in.position_ids, in.inputs_embeds);
  if (project) h = raw::linear(h, project->weight, project->bias);
  return encoder_forward_inference(e, h, in.attention_mask, rule);
}

}  // namespace tz::blocks
