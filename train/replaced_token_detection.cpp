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
#include "nn/per_example_rng.h"
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

// The per-example streams of the masks and the noise: far above the dropout streams, which count
// up from 0 within each forward (nn/per_example_rng.h), so the two never draw the same numbers.
constexpr uint64_t kPositionStream = uint64_t{1} << 48;
constexpr uint64_t kNoiseStream = kPositionStream + 1;

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

RtdModels::RtdModels(std::shared_ptr<models::PreTrainedModel> g, std::shared_ptr<models::PreTrainedModel> d)
    : generator(std::move(g)), discriminator(std::move(d)) {
  TZ_CHECK(generator && discriminator, "rtd: a generator and a discriminator are needed");
  share_embeddings(*generator, *discriminator);
  register_module("discriminator", discriminator);
  register_module("generator", generator);
}

void RtdModels::save(const std::string& dir, const std::string& tokenizer_dir) const {
  models::save_pretrained(*discriminator, dir + "/discriminator", tokenizer_dir);
  models::save_pretrained(*generator, dir + "/generator", tokenizer_dir);
}

void RtdModels::load(const std::string& dir) {
  models::LoadOptions lo;
  lo.strict = true;
  lo.verbose = false;
  // The generator's file holds the shared tables too (identical values): they land in the same tensors.
  models::load_weights(*discriminator, dir + "/discriminator", lo);
  models::load_weights(*generator, dir + "/generator", lo);
}

std::shared_ptr<models::PretrainedConfig> generator_config(const models::PretrainedConfig& d, double size, double layers) {
  TZ_CHECK(size > 0 && size <= 1, "rtd: the generator size must be a fraction in (0, 1], got ", size);
  TZ_CHECK(layers > 0 && layers <= 1, "rtd: the generator's layer fraction must be in (0, 1], got ", layers);
  auto g = d.clone();
  g->hidden_size = std::max<int64_t>(1, std::llround(static_cast<double>(d.hidden_size) * size));
  g->num_hidden_layers = std::max<int64_t>(1, std::llround(static_cast<double>(d.num_hidden_layers) * layers));
  g->intermediate_size = 4 * g->hidden_size;
  g->architectures.clear();
  // ELECTRA's head count (one per 64 features), raised until the family accepts the config.
  std::string last_error;
  for (int64_t heads = std::max<int64_t>(1, g->hidden_size / 64); heads <= g->hidden_size; ++heads) {
    if (g->hidden_size % heads != 0) continue;
    g->num_attention_heads = heads;
    try {
      g->validate();
      return g;
    } catch (const Error& e) {
      last_error = e.what();
    }
  }
  throw Error(detail::concat("rtd: no head count makes a valid generator of hidden size ", g->hidden_size, " (",
                             last_error, ")"));
}

Tensor draw_rtd_positions(const Tensor& input_ids, const Tensor& attention_mask, const std::vector<int64_t>& special_ids,
                          double probability, uint64_t seed, int64_t draw, int64_t first_row) {
  const Tensor ids = raw::contiguous(input_ids);
  const Tensor am = attention_mask.defined() ? raw::contiguous(attention_mask) : Tensor();
  const int64_t B = ids.size(0), T = ids.size(1);
  std::vector<int64_t> chosen(static_cast<size_t>(B * T), 0);
  for (int64_t b = 0; b < B; ++b) {
    Generator gen = nn::example_generator(seed, static_cast<uint64_t>(draw), first_row + b, kPositionStream);
    for (int64_t t : choose_rtd_positions(ids.data<int64_t>() + b * T, am.defined() ? am.data<int64_t>() + b * T : nullptr,
                                          T, special_ids, probability, gen))
      chosen[static_cast<size_t>(b * T + t)] = 1;
  }
  return raw::from_vector(chosen, {B, T});
}

Tensor draw_rtd_noise(const Tensor& positions, int64_t V, uint64_t seed, int64_t draw, int64_t first_row) {
  const Tensor p = raw::contiguous(positions);
  const int64_t B = p.size(0), T = p.size(1);
  int64_t N = 0;
  for (int64_t v : p.to_vector<int64_t>()) N += v != 0;
  Tensor noise = Tensor::empty({N, V});
  float* out = noise.data<float>();
  for (int64_t b = 0; b < B; ++b) {
    Generator gen = nn::example_generator(seed, static_cast<uint64_t>(draw), first_row + b, kNoiseStream);
    for (int64_t t = 0; t < T; ++t)
      if (p.data<int64_t>()[b * T + t] != 0)
        for (int64_t v = 0; v < V; ++v) *out++ = gen.uniform();
  }
  return noise;
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
  out.masked_input_ids = raw::from_vector(masked, shape);
  out.generator_labels = raw::from_vector(labels, shape);

  // 1-2. The generator on the masked ids, its masked-LM loss over the chosen positions. A batch
  // without a chosen position (possible in a data-parallel shard) has no generator term.
  std::vector<int64_t> picks;
  if (out.masked == 0) {
    out.generator_loss = raw::scalar(0.f);
  } else {
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
    picks = gumbel_argmax(rows, noise);
  }

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
