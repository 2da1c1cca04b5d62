// The graph-free inference path of the BERT-style encoders (BERT, ELECTRA, DistilBERT): the same
// math as embeddings.cpp, attention.cpp and encoder.cpp (and DistilBERT's transformer.cpp),
// computed on raw float buffers with no autograd tape and no intermediate tensors: per layer, the
// q, k and v products as one product split by columns, attention per (batch item, head) with the
// scale, the additive mask and the softmax fused, the output dense with bias + residual +
// LayerNorm fused, the feed-forward with bias + activation fused, the second feed-forward product
// with bias + residual + LayerNorm; before the layers, the embeddings gathered, summed and
// normalised in one pass per row (and ELECTRA's projection). Buffers live in a per-thread
// workspace reused across calls, so the steady state allocates only the returned tensor. Every
// weight product goes through dense_product.h (the one place a weight format is chosen).
//
// Family-neutral: a family describes its modules as EmbeddingsWeights and EncoderWeights (borrowed
// pointers, built per call) and its mask rule; models/bert, models/electra and models/distilbert
// build them in their base model's forward.
//
// When it runs: the base model's forward takes it when can_use_inference_path holds: grad mode off
// (NoGradGuard), the model in eval mode, no head mask, no hidden states or attentions asked for,
// an activation with a fused kernel (gelu, gelu_new, relu, linear), every parameter float32 and
// contiguous, and models::inference_path_enabled() (off: TZ_INFERENCE_PATH=0, or --plain-path on
// the CLI). With input_ids the whole base model runs here; with inputs_embeds the embeddings run
// op by op and the layers here. Heads run op by op on the returned hidden state. Otherwise the
// modules run op by op: that path is the definition. The two agree to float rounding, not bit for
// bit (tests/models/test_bert_inference_path.cpp runs every reference case of the three families
// through both). ConvBERT has its own path (models/convbert/inference.h) for its convolution.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "models/blocks/dense_product.h"
#include "models/blocks/embeddings.h"
#include "models/blocks/encoder.h"
#include "models/model.h"
#include "nn/layers.h"
#include "tensor/kernels/fused.h"

namespace tz::blocks {

/// The fused kernel for an HF activation name ("gelu", "gelu_new", "relu", "linear"), or none.
std::optional<kernels::FusedAct> fused_activation(const std::string& hf_name);

/// Whether `model` (a family's base model) may take the fast path on `inputs`: see the file
/// comment. `hidden_act` is the config's activation.
bool can_use_inference_path(const nn::Module& model, const models::Inputs& inputs, const std::string& hidden_act);

/// A LayerNorm's parameters: gamma, beta [dim], eps.
struct LayerNormWeights {
  const float* gamma = nullptr;
  const float* beta = nullptr;
  float eps = 1e-12f;
};
LayerNormWeights layer_norm_weights(const nn::LayerNorm& norm);

/// One BERT-style layer: attention products, the attention output block, the feed-forward.
///   a = LN_attention(attention_output(attend(query(x), key(x), value(x))) + x)
///   y = LN_output(output(act(intermediate(a))) + a)
struct EncoderLayerWeights {
  DenseWeights query, key, value, attention_output, intermediate, output;
  LayerNormWeights attention_norm, output_norm;
};

struct EncoderWeights {
  int64_t hidden = 0, heads = 0, intermediate = 0;
  kernels::FusedAct act = kernels::FusedAct::GeluErf;
  std::vector<EncoderLayerWeights> layers;
};

/// The layers of a BERT/ELECTRA encoder (blocks::Encoder) with the config's activation.
EncoderWeights encoder_weights(const Encoder& encoder, const models::PretrainedConfig& config);

/// How attention_mask [B, T] becomes what is added to the scores of each key.
struct MaskRule {
  enum class Kind {
    ScaledComplement,  // (1 - mask) * masked_value: BERT and ELECTRA (HF 4.19: -10000)
    ZeroIsMasked,      // masked_value where mask == 0, else 0: DistilBERT's masked_fill (-inf)
  };
  Kind kind = Kind::ScaledComplement;
  float masked_value = kMaskedScore;
};

/// Token embeddings: word [vocab, E], position [positions, E], token type [types, E] (null: none),
/// then LayerNorm; then `project` (E -> hidden) when it has weights (ELECTRA's embeddings_project).
/// The sum is (word + token type) + position, as BERT's and ELECTRA's embeddings add them.
struct EmbeddingsWeights {
  const float* word = nullptr;
  const float* position = nullptr;
  const float* token_type = nullptr;
  int64_t dim = 0;
  LayerNormWeights norm;
  DenseWeights project;  // weight null: no projection
};
EmbeddingsWeights embeddings_weights(const Embeddings& embeddings);

/// Every layer on x [B, T, hidden] (float32) with attention_mask [B, T] (int64 or float32; undefined:
/// every key attends) under `rule`. Returns the last hidden state [B, T, hidden] as a new tensor.
Tensor encoder_forward_inference(const EncoderWeights& encoder, const Tensor& x, const Tensor& attention_mask,
                                 MaskRule rule);

/// The whole base model: embeddings, projection, mask and layers. input_ids [B, T] int64, already
/// checked against the tables (blocks::check_inputs); token_type_ids and position_ids [B, T] or
/// undefined (zeros; 0..T-1), attention_mask as above. Returns the last hidden state.
Tensor model_forward_inference(const EmbeddingsWeights& embeddings, const EncoderWeights& encoder,
                               const Tensor& input_ids, const Tensor& token_type_ids, const Tensor& position_ids,
                               const Tensor& attention_mask, MaskRule rule);

/// The forward of a BERT or ELECTRA base model on this path (HF 4.19's -10000 mask): with
/// input_ids, embeddings, `project` (null: none) and layers here; with inputs_embeds, the
/// embeddings op by op (`embeddings.forward`) and then `project` and the layers here. `inputs`
/// already checked (check_inputs). Returns the last hidden state [B, T, hidden].
Tensor encode_inference(Embeddings& embeddings, const nn::Linear* project, const Encoder& encoder,
                        const models::PretrainedConfig& config, const models::Inputs& inputs);

/// How the layers' weight products share out work between threads.
///   Rows:    each thread runs whole layer steps (products and epilogues) on its own token rows;
///            every thread reads every weight.
///   Columns: each product is split by output columns (dense_columns_parallel), so each weight is
///            read by one thread only; the row-wise steps (LayerNorm) run as separate passes. Pays
///            when there are few rows: at batch 1 the weights are most of the memory traffic.
///   Auto:    (default) Columns below 128 token rows per thread, else Rows.
/// The two agree to float rounding, not bit for bit.
enum class WorkSplit { Auto, Rows, Columns };
void set_inference_work_split(WorkSplit split);
WorkSplit inference_work_split();

/// How many times the layers have run on this path in this process (lets tests prove it ran).
int64_t inference_path_calls();

}  // namespace tz::blocks
