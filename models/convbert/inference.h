// The graph-free inference path of the ConvBERT encoder: the same math as encoder.cpp and
// self_attention.cpp, computed straight on raw float buffers with no autograd tape, no
// intermediate tensors kept alive, strided GEMMs instead of permute/contiguous copies, fused
// epilogues (bias + GELU, bias + residual + LayerNorm, scale + mask + softmax) and the span-based
// dynamic convolution as a direct kernel. Buffers live in a per-thread workspace that is reused
// across calls, so the steady state allocates only the returned tensor.
//
// ConvBertModel::forward takes this path by itself when it may (see can_use_inference_path); the
// plain op-by-op path stays the definition, and tests/models/test_inference_path.cpp checks that the
// two agree on every reference case. Kernels: tensor/kernels/fused.h.
#pragma once

#include <cstdint>

#include "models/convbert/config.h"
#include "models/convbert/encoder.h"
#include "models/convbert/model.h"

namespace tz::convbert {

/// Whether the encoder may take the fast path: grad mode off, eval mode (no dropout), no head
/// mask, no per-layer outputs requested, an odd conv kernel, a supported activation, and the
/// path not switched off with set_inference_path_enabled(false).
bool can_use_inference_path(const Encoder& encoder, const ConvBertConfig& config, bool has_head_mask,
                            bool output_hidden_states, bool output_attentions);

/// The same conditions for a whole ConvBertModel forward on `inputs` (input_ids given, not
/// inputs_embeds; every parameter float32 and contiguous; the model in eval mode).
bool can_use_inference_path(const ConvBertModel& model, const Inputs& inputs);

/// Runs every encoder layer on x [B, T, H] (float32) with the additive mask [B, 1, 1, T] (or
/// undefined for no mask). Returns the last hidden state [B, T, H] as a new tensor.
Tensor encoder_forward_inference(Encoder& encoder, const ConvBertConfig& config, const Tensor& x,
                                 const Tensor& additive_mask);

/// The whole ConvBertModel forward on the fast path: embeddings (gather, sum, LayerNorm),
/// embeddings_project, the additive mask and the encoder, all in reused buffers. Inputs as
/// ConvBertModel::forward takes them (already validated there); token_type_ids, position_ids and
/// attention_mask may be undefined (zeros, 0..T-1, no mask). Returns the last hidden state.
Tensor model_forward_inference(ConvBertModel& model, const Tensor& input_ids, const Tensor& token_type_ids,
                               const Tensor& position_ids, const Tensor& attention_mask);

/// Global switch (default on; also off when the environment sets TZ_INFERENCE_PATH=0). Used by
/// benchmarks and tests to time or check the plain path.
void set_inference_path_enabled(bool on);
bool inference_path_enabled();
/// How the layers' weight products share out work between threads.
///   Rows:    each thread runs whole layer steps (products and their epilogues) on its own token
///            rows; every thread reads every weight.
///   Columns: each product is split by output columns, so each weight is read (and packed by
///            OpenBLAS) by one thread only; the row-wise steps (LayerNorm, the kernel softmax) run
///            as separate passes. Pays off when there are few rows: at batch 1 the weights are
///            most of the memory traffic.
///   Auto:    (default) Columns below 128 token rows per thread, else Rows.
/// The two agree to float rounding (OpenBLAS's edge tiles sum in another order), not bit for bit;
/// tests/models/test_inference_path.cpp runs every reference case both ways.
enum class WorkSplit { Auto, Rows, Columns };
void set_inference_work_split(WorkSplit split);
WorkSplit inference_work_split();

/// How many times encoder_forward_inference has run in this process (lets tests prove the path ran).
int64_t inference_path_calls();

/// Matrix-multiply-like FLOPs of one ConvBertModel forward on [B, T] (a multiply-add counts 2).
/// Per layer, with N = B*T tokens, H hidden, A = all_head_size, h heads of size d, K kernel, I
/// intermediate, G groups:
///   query/key/value           3 * 2*N*H*A
///   separable conv            2*N*H*K (depthwise) + 2*N*H*A (pointwise)
///   conv_kernel_layer         2*N*A*(h*K)
///   conv_out_layer            2*N*H*A
///   dynamic convolution       2*N*A*K
///   QK^T and PV               2 * 2*B*h*T*T*d
///   attention output dense    2*N*H*H
///   feed-forward              2 * 2*N*H*I / G
/// plus embeddings_project 2*N*E*H when embedding_size != hidden_size. Embedding lookups,
/// LayerNorms, softmaxes and activations are not counted: their cost is memory traffic, not
/// arithmetic.
double forward_flops(const ConvBertConfig& config, int64_t B, int64_t T);

}  // namespace tz::convbert
