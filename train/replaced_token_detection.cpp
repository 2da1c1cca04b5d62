// Replaced-token detection: sharing, one step's math, sampling, position choice; see
// replaced_token_detection.h. HF has no RTD trainer; the step follows ELECTRA's pretraining code
// (run_pretraining.py: _get_masked_lm_output, _get_fake_data, _get_discriminator_output) with
// HF's losses, as shared/reference/rtd records it.
#include "train/replaced_token_detection.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "core/error.h"
#include "models/registry.h"
#include "tensor/ops.h"

namespace tz::train {

namespace {

// What a differing shape of an embedding table says about the configs.
const char* what_must_match(const std::string& name) {
  if (name.find("word_embeddings") != std::string::npos) return "vocab_size and the embedding size";
  if (name.find("position_embeddings") != std::string::npos) return "max_position_embeddings and the embedding size";
  if (name.find("token_type_embeddings") != std::string::npos) return "type_vocab_size and the embedding size";
  return "the embedding size";
}

}  // namespace

void share_embeddings(models::PreTrainedModel& generator, models::PreTrainedModel& discriminator) {
  const auto& gc = generator.config();
  const auto& dc = discriminator.config();
  const std::string gf = models::family(gc.model_type).model_type, df = models::family(dc.model_type).model_type;
  TZ_CHECK(gf == df, "rtd: the generator (", gf, ") and the discriminator (", df,
           ") must be of one family to share an embedding layer");
  auto g = generator.embedding_layer(), d = discriminator.embedding_layer();
  std::map<std::string, Shape> gshapes;
  for (const auto& [name, t] : g->named_parameters()) gshapes[name] = t.shape();
  for (const auto& [name, t] : d->named_parameters()) {
    auto it = gshapes.find(name);
    TZ_CHECK(it != gshapes.end(), "rtd: the generator's embedding layer has no ", name);
    TZ_CHECK(it->second == t.shape(), "rtd: the generator and the discriminator cannot share embeddings: ", name, " is ",
             shape_str(it->second), " in the generator and ", shape_str(t.shape()), " in the discriminator (",
             what_must_match(name), " must be equal in the two configs)");
  }
  TZ_CHECK(gc.layer_norm_eps == dc.layer_norm_eps, "rtd: layer_norm_eps differs (generator ", gc.layer_norm_eps,
           ", discriminator ", dc.layer_norm_eps, "); the shared embedding LayerNorm needs one value");
  TZ_CHECK(gc.pad_token_id == dc.pad_token_id, "rtd: pad_token_id differs (generator ", gc.pad_token_id,
           ", discriminator ", dc.pad_token_id, ")");
  generator.set_embedding_layer(d);
}

std::vector<std::pair<std::string, Tensor>> rtd_parameters(const models::PreTrainedModel& generator,
                                                           const models::PreTrainedModel& discriminator) {
  std::vector<std::pair<std::string, Tensor>> out;
  std::set<const void*> seen;
  for (const auto* m : {&discriminator, &generator})
    for (auto& [name, t] : m->named_parameters())
      if (seen.insert(t.impl_ptr()).second) out.emplace_back(name, t);
  return out;
}

std::vector<int64_t> gumbel_argmax(const Tensor& logits_in, const Tensor& noise_in) {
  TZ_CHECK(logits_in.dim() == 2 && noise_in.shape() == logits_in.shape(), "rtd: noise ", shape_str(noise_in.shape()),
           " must match the logits ", shape_str(logits_in.shape()));
  const Tensor logits = raw::contiguous(logits_in), noise = raw::contiguous(noise_in);
  const int64_t N = logits.size(0), V = logits.size(1);
  const float* z = logits.data<float>();
  const float* u = noise.data<float>();
  std::vector<int64_t> picks(static_cast<size_t>(N));
  for (int64_t n = 0; n < N; ++n) {
    int64_t best = 0;
    float best_value = -std::numeric_limits<float>::infinity();
    for (int64_t v = 0; v < V; ++v) {
      // float32 throughout, as the reference: -log(-log(u + 1e-9) + 1e-9)
      const float gumbel = -std::log(-std::log(u[n * V + v] + 1e-9f) + 1e-9f);
      const float value = z[n * V + v] + gumbel;
      if (value > best_value) best_value = value, best = v;
    }
    picks[static_cast<size_t>(n)] = best;
  }
  return picks;
}

RtdOutput rtd_forward(models::PreTrainedModel& generator, models::PreTrainedModel& discriminator, const RtdBatch& batch,
                      const Tensor& noise, const RtdOptions& o) {
  TZ_CHECK(batch.input_ids.defined() && batch.input_ids.dim() == 2 && batch.input_ids.dtype() == DType::Int64,
           "rtd: input_ids must be int64 [batch, seq]");
  TZ_CHECK(batch.mlm_positions_mask.defined() && batch.mlm_positions_mask.shape() == batch.input_ids.shape(),
           "rtd: mlm_positions_mask must have the shape of input_ids ", shape_str(batch.input_ids.shape()));
  const Shape shape = batch.input_ids.shape();
  const std::vector<int64_t> ids = raw::contiguous(batch.input_ids).to_vector<int64_t>();
  const std::vector<int64_t> chosen = raw::to_dtype(raw::contiguous(batch.mlm_positions_mask), DType::Int64).to_vector<int64_t>();
  RtdOutput out;
  std::vector<int64_t> masked = ids, labels(ids.size(), -100), positions;
  for (size_t i = 0; i < ids.size(); ++i)
    if (chosen[i] != 0) masked[i] = o.mask_token_id, labels[i] = ids[i], positions.push_back(static_cast<int64_t>(i));
  out.masked = static_cast<int64_t>(positions.size());
  TZ_CHECK(out.masked > 0, "rtd: the batch has no masked position");
  out.masked_input_ids = raw::from_vector(masked, shape);
  out.generator_labels = raw::from_vector(labels, shape);

  // 1-2. The generator on the masked ids, its masked-LM loss over the chosen positions.
  models::Inputs g;
  g.input_ids = out.masked_input_ids;
  g.attention_mask = batch.attention_mask;
  g.token_type_ids = batch.token_type_ids;
  g.labels = out.generator_labels;
  g.mlm_logits_at_labels_only = !o.full_generator_logits;
  models::Output go = generator.forward(g);
  out.generator_logits = go.logits;
  out.generator_loss = go.loss;

  // 3. Gumbel-max samples at the chosen positions, outside the graph.
  const int64_t V = go.logits.size(-1);
  TZ_CHECK(noise.dim() == 2 && noise.size(0) == out.masked && noise.size(1) == V, "rtd: noise must be [",
           out.masked, ", ", V, "] (a row per masked position), got ", shape_str(noise.shape()));
  Tensor rows = raw::reshape(go.logits.detach(), {-1, V});
  if (o.full_generator_logits) rows = raw::embedding(rows, raw::from_vector(positions, {out.masked}));
  const std::vector<int64_t> picks = gumbel_argmax(rows, noise);

  // 4. The discriminator's input and labels.
  std::vector<int64_t> sampled = ids;
  std::vector<float> disc_labels(ids.size(), 0.f);
  for (size_t k = 0; k < positions.size(); ++k) {
    const auto i = static_cast<size_t>(positions[k]);
    sampled[i] = picks[k];
    disc_labels[i] = sampled[i] != ids[i] ? 1.f : 0.f;
    out.replaced += sampled[i] != ids[i];
  }
  out.sampled_ids = raw::from_vector(sampled, shape);
  out.disc_labels = raw::from_vector(disc_labels, shape);

  // 5. The discriminator's loss over the real tokens, then the total.
  models::Inputs d;
  d.input_ids = out.sampled_ids;
  d.attention_mask = batch.attention_mask;
  d.token_type_ids = batch.token_type_ids;
  d.labels = out.disc_labels;
  models::Output dout = discriminator.forward(d);
  out.discriminator_logits = dout.logits;
  out.discriminator_loss = dout.loss;
  out.total_loss = add(out.generator_loss, mul(out.discriminator_loss, o.discriminator_weight));
  return out;
}

std::vector<int64_t> choose_rtd_positions(const int64_t* ids, const int64_t* attention_mask, int64_t T,
                                          const std::vector<int64_t>& special_ids, double probability,
                                          Generator& gen) {
  std::vector<int64_t> candidates;
  for (int64_t t = 0; t < T; ++t)
    if ((!attention_mask || attention_mask[t] != 0) &&
        std::find(special_ids.begin(), special_ids.end(), ids[t]) == special_ids.end())
      candidates.push_back(t);
  const auto n = static_cast<int64_t>(candidates.size());
  if (n == 0) return {};
  const int64_t k = std::max<int64_t>(1, static_cast<int64_t>(std::floor(probability * static_cast<double>(n) + 0.5)));
  // A partial Fisher-Yates shuffle: the first k of a uniform random permutation.
  for (int64_t i = 0; i < std::min(k, n); ++i) std::swap(candidates[i], candidates[gen.randint(i, n)]);
  candidates.resize(static_cast<size_t>(std::min(k, n)));
  std::sort(candidates.begin(), candidates.end());
  return candidates;
}

}  // namespace tz::train
