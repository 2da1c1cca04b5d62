// Replaced-token detection (RTD), ELECTRA's pretraining and the ConvBERT paper's: a small masked-LM
// generator fills in masked positions by Gumbel-max sampling, a discriminator tags every real token
// as original or replaced, and the two train together on
//     generator loss + discriminator_weight (50) x discriminator loss,
// sharing one embedding layer (word, position and token-type tables and their LayerNorm). One step,
// written out (shared/reference/rtd/README.md has it formula by formula):
//   1. masked = where(M, [MASK], ids); labels = where(M, ids, -100)    every chosen position masked
//   2. generator loss = mean over M of -log_softmax(G(masked))[ids]   HF's masked-LM loss
//   3. pick = argmax_v(G logits + gumbel(noise)), no gradient; sampled = where(M, pick, ids)
//   4. disc labels = (sampled != ids)                                  a lucky sample is "original"
//   5. discriminator loss = BCE(D(sampled)) averaged over attention_mask == 1
// The sampled ids are integers, so the discriminator loss sends no gradient into the generator;
// the shared embeddings get the sum of both losses' gradients.
// Not here: the discriminator head (models/replaced_token_detection.h), the training loop and its
// data (cli/train_rtd_command.cpp on train/trainer.h).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "models/model.h"
#include "nn/module.h"
#include "tensor/random.h"
#include "tensor/tensor.h"

namespace tz::train {

/// Makes the generator's embedding layer the discriminator's, as ELECTRA's code does: each shared
/// tensor is then one parameter with one gradient and one optimizer state. Throws before changing
/// anything when the two cannot share: another family, or a different vocab_size, embedding size,
/// max_position_embeddings, type_vocab_size, layer_norm_eps or pad_token_id (each named).
void share_embeddings(models::PreTrainedModel& generator, models::PreTrainedModel& discriminator);

/// Every distinct parameter of the two models (shared ones once), discriminator first, each under
/// the name it has in its own model: what one optimizer updates.
std::vector<std::pair<std::string, Tensor>> rtd_parameters(const models::PreTrainedModel& generator,
                                                           const models::PreTrainedModel& discriminator);

/// One batch: ids, mask and token types [B, T] int64, and the chosen positions M (1 = masked).
struct RtdBatch {
  Tensor input_ids, attention_mask, token_type_ids, mlm_positions_mask;
};

struct RtdOptions {
  int64_t mask_token_id = 103;
  double discriminator_weight = 50.0;
  /// Compute the generator's logits at every position ([B, T, V], as HF) instead of only at the
  /// masked ones ([N, V], the same loss and samples at a fraction of the cost).
  bool full_generator_logits = false;
};

struct RtdOutput {
  Tensor masked_input_ids, generator_labels, sampled_ids;  // int64 [B, T]
  Tensor generator_logits;      // [B, T, V], or [N, V] at the masked positions in row-major order
  Tensor disc_labels;           // float32 [B, T]: 1 where the sample differs from the original
  Tensor discriminator_logits;  // [B, T]
  Tensor generator_loss, discriminator_loss, total_loss;  // 0-dim, with graphs
  int64_t masked = 0;           // N: positions chosen
  int64_t replaced = 0;         // of them, sampled differently from the original
};

/// One RTD forward (both models as they are: train or eval mode). `noise` holds uniform draws in
/// [0, 1) for the masked positions, [N, V] in row-major order of the positions.
RtdOutput rtd_forward(models::PreTrainedModel& generator, models::PreTrainedModel& discriminator,
                      const RtdBatch& batch, const Tensor& noise, const RtdOptions& options);

/// The generator and the discriminator as one module, for the training loop and its optimizer and
/// checkpoints: the discriminator registered first, so each shared tensor is named (and stepped)
/// once, under its discriminator name. Building it shares the embeddings (share_embeddings).
class RtdModels : public nn::Module {
 public:
  RtdModels(std::shared_ptr<models::PreTrainedModel> generator, std::shared_ptr<models::PreTrainedModel> discriminator);
  /// Writes dir/discriminator and dir/generator (HF model directories, with the tokenizer files of
  /// `tokenizer_dir` when given).
  void save(const std::string& dir, const std::string& tokenizer_dir = "") const;
  /// Loads the weights of a save() directory into both models (the shared tensors stay shared).
  void load(const std::string& dir);

  std::shared_ptr<models::PreTrainedModel> generator, discriminator;
};

/// The generator config ELECTRA's and ConvBERT's pretraining code derive from the
/// discriminator's (get_generator_config): hidden_size round(H x size), num_hidden_layers
/// round(L x layers), intermediate_size 4 x hidden, num_attention_heads max(1, hidden / 64) raised
/// to the smallest count the family accepts; everything else (embedding size, vocabulary,
/// positions) as the discriminator, so the two can share embeddings.
std::shared_ptr<models::PretrainedConfig> generator_config(const models::PretrainedConfig& discriminator,
                                                           double size, double layers = 1.0);

/// The masked positions of rows [first_row, first_row + B) of a global micro-batch (ids and mask
/// [B, T]), each row's from its own stream (nn::example_generator(seed, draw, global row, s), with s
/// apart from the dropout streams), with
/// choose_rtd_positions: the same masks whatever the process count or batch split. int64 [B, T].
Tensor draw_rtd_positions(const Tensor& input_ids, const Tensor& attention_mask, const std::vector<int64_t>& special_ids,
                          double probability, uint64_t seed, int64_t draw, int64_t first_row);
/// Uniform noise [N, V] for the masked positions of `positions` (row-major), each row's from its
/// example's own noise stream.
Tensor draw_rtd_noise(const Tensor& positions, int64_t vocab_size, uint64_t seed, int64_t draw, int64_t first_row);

/// Gumbel-max sampling at temperature 1: for each row n, argmax_v of
/// logits[n, v] - log(-log(noise[n, v] + 1e-9) + 1e-9), computed in float32 (ties: the first).
std::vector<int64_t> gumbel_argmax(const Tensor& logits, const Tensor& noise);

/// The positions RTD masks in one row of `ids` (length T): of the n positions with attention_mask 1
/// whose id is not in `special_ids`, floor(probability * n + 0.5) (at least 1 when n > 0), drawn
/// without replacement from `gen`; returned sorted.
std::vector<int64_t> choose_rtd_positions(const int64_t* ids, const int64_t* attention_mask, int64_t T,
                                          const std::vector<int64_t>& special_ids, double probability,
                                          Generator& gen);

}  // namespace tz::train
