// The graph-free inference path of the ConvBERT base model: the same math as embeddings.cpp,
// encoder.cpp and self_attention.cpp, computed straight on raw float buffers with no autograd tape,
// no intermediate tensors kept alive, strided GEMMs instead of permute/contiguous copies, fused
// epilogues (bias + GELU, bias + residual + LayerNorm, scale + mask + softmax) and the span-based
// dynamic convolution as a direct kernel. Buffers live in a per-thread workspace that is reused
// across calls, so the steady state allocates only the returned tensor. Kernels:
// tensor/kernels/fused.h.
//
// When it runs: ConvBertModel::forward (model.cpp) takes it on its own, on every call where
// can_use_inference_path holds: grad mode off (NoGradGuard), the model in eval mode, no head mask,
// no hidden states or attentions asked for, an odd conv kernel, an activation with a fused kernel
// (gelu, gelu_new, relu, linear), every parameter float32 and contiguous, and the switch below on.
// With input_ids the whole base model runs here; with inputs_embeds the embeddings run op by op
// and the encoder here. The heads' own layers always run op by op on the returned hidden state.
// Otherwise (training, or any condition unmet) forward runs the modules op by op: that path is
// the definition.
// How the two are kept equal: tests/models/test_inference_path.cpp runs every reference case
// through both (1 and 2 threads, both work splits) and compares them with each other and with
// HF's outputs; they agree to float rounding, not bit for bit.
// Forcing the op-by-op path: models::set_inference_path_enabled(false), TZ_INFERENCE_PATH=0 in the
// environment, or --plain-path on the CLI's inference commands. docs/05-convbert.md tells the
// same story for readers.
#pragma once

#include <cstdint>

#include "models/convbert/config.h"
#include "models/convbert/encoder.h"
#include "models/convbert/model.h"

namespace tz::convbert {

/// Whether the encoder may take the fast path: grad mode off, eval mode (no dropout), no head
/// mask, no per-layer outputs requested, an odd conv kernel, a supported activation, and the
/// path not switched off with models::set_inference_path_enabled(false) (models/model.h).
bool can_use_inference_path(const Encoder& encoder, const ConvBertConfig& config, bool has_head_mask,
                            bool output_hidden_states, bool output_attentions);

/// The same conditions for a whole ConvBertModel forward on `inputs` (input_ids given, not
/// inputs_embeds; every parameter float32 and contiguous; the model in eval mode).
bool can_use_inference_path(const ConvBertModel& model, const models::Inputs& inputs);

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
