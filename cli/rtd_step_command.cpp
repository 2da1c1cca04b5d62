// `tensorzoo rtd-step`: one replaced-token-detection step replayed from recorded masks and noise,
// and the step after one AdamW update, every value written under the reference's names (the
// layout of shared/reference/rtd: inputs, step 0's tensors and losses, grad.<model>.<name>,
// param_after.<model>.<name>, step1.*). It is how the recipe is checked against another
// implementation, as `tensorzoo run` checks a forward pass. The math: train/replaced_token_detection.h.
#include <iostream>
#include <set>

#include "autograd/grad_mode.h"
#include "cli/args.h"
#include "cli/command.h"
#include "cli/text_inputs.h"
#include "models/registry.h"
#include "nn/optim.h"
#include "tensor/io/checkpoint.h"
#include "tensor/ops.h"
#include "tokenizer/wordpiece.h"
#include "train/replaced_token_detection.h"

namespace {

namespace models = tz::models;
namespace tr = tz::train;
using tz::Tensor;

// The recorded noise rows of the masked positions, [N, V] in row-major order.
Tensor noise_rows(const Tensor& noise, const Tensor& chosen) {
  TZ_CHECK(noise.dim() == 3 && noise.size(0) == chosen.size(0) && noise.size(1) == chosen.size(1),
           "rtd-step: noise must be [batch, seq, vocab] over the batch ", tz::shape_str(chosen.shape()), ", got ",
           tz::shape_str(noise.shape()));
  std::vector<int64_t> rows;
  const auto c = tz::raw::contiguous(chosen).to_vector<int64_t>();
  for (size_t i = 0; i < c.size(); ++i)
    if (c[i] != 0) rows.push_back(static_cast<int64_t>(i));
  TZ_CHECK(noise.dtype() == tz::DType::Float32, "rtd-step: noise must be float32, got ", tz::dtype_name(noise.dtype()));
  Tensor picked = tz::raw::embedding(tz::raw::reshape(noise, {-1, noise.size(2)}),
                                     tz::raw::from_vector(rows, {static_cast<int64_t>(rows.size())}));
  // Gumbel-max takes -log(-log(u)): a value outside [0, 1] (or NaN) would sample an arbitrary token.
  const auto u = picked.to_vector<float>();
  for (size_t i = 0; i < u.size(); ++i)
    TZ_CHECK(u[i] >= 0.0f && u[i] <= 1.0f, "rtd-step: noise value ", u[i], " at chosen row ",
             i / static_cast<size_t>(noise.size(2)), ", token ", i % static_cast<size_t>(noise.size(2)),
             " is not a uniform sample in [0, 1]");
  return picked;
}

int run_rtd_step(const std::vector<std::string>& args) {
  tz::cli::ArgParser p("tensorzoo rtd-step",
                       "Replay one replaced-token-detection step (ELECTRA's and the ConvBERT paper's pretraining)\n"
                       "from recorded masks and noise: the generator masked-LM, Gumbel-max sampling, the\n"
                       "discriminator, generator loss + W x discriminator loss, the gradients, one AdamW update,\n"
                       "and the same step again with the updated weights and the second noise.\n"
                       "Inputs (by name): input_ids, attention_mask, token_type_ids, mlm_positions_mask (int64\n"
                       "[B, T]), noise_u and step1.noise_u (float32 [B, T, V], uniform). Outputs as in\n"
                       "shared/reference/rtd: masked_input_ids, generator_labels, generator_logits, sampled_ids,\n"
                       "disc_labels, discriminator_logits, the losses, grad.<model>.<name>,\n"
                       "param_after.<model>.<name>, loss.step1 and step1.*.");
  p.option("generator", "DIR", "the generator: a masked-LM model directory", "", true);
  p.option("discriminator", "DIR", "the discriminator: a replaced-token-detection model directory", "", true);
  p.option("inputs", "IN.safetensors", "the batch, chosen positions and noise", "", true);
  p.option("output", "OUT.safetensors", "where to write every value", "", true);
  p.option("lr", "X", "AdamW learning rate of the update", "1e-3");
  p.option("weight-decay", "X", "AdamW weight decay, on every parameter", "0.01");
  p.option("eps", "X", "AdamW epsilon", "1e-6");
  p.option("discriminator-weight", "W", "the discriminator loss's weight in the total", "50");
  if (!p.parse(args)) return p.exit_code();

  models::LoadOptions lo;
  lo.precision = tz::nn::Precision::Float32;  // training runs float32 (a quantized directory loads as its float values)
  lo.strict = true;
  lo.verbose = false;
  lo.architecture = "masked-lm";
  auto generator = models::from_pretrained(tz::cli::resolve_model_arg(p.get("generator"), "rtd-step"), lo);
  lo.architecture = "replaced-token-detection";
  const std::string disc_dir = tz::cli::resolve_model_arg(p.get("discriminator"), "rtd-step");
  auto discriminator = models::from_pretrained(disc_dir, lo);
  tr::share_embeddings(*generator, *discriminator);
  generator->train();
  discriminator->train();
  auto tok = tz::tokenizer::WordPiece::from_pretrained(disc_dir);

  tz::io::Checkpoint in = tz::io::load_safetensors(p.get("inputs"));
  tr::RtdBatch batch{in.at("input_ids"), in.at("attention_mask"),
                     in.contains("token_type_ids") ? in.at("token_type_ids") : Tensor(), in.at("mlm_positions_mask")};
  tr::RtdOptions o;
  o.mask_token_id = tok.token_to_id(tok.config().mask_token);
  TZ_CHECK(o.mask_token_id >= 0, "rtd-step: the tokenizer has no mask token '", tok.config().mask_token, "'");
  o.discriminator_weight = p.get_double("discriminator-weight");
  o.full_generator_logits = true;  // the reference records them at every position

  std::vector<std::pair<std::string, Tensor>> out;
  tr::RtdOutput s0 = tr::rtd_forward(*generator, *discriminator, batch, noise_rows(in.at("noise_u"), batch.mlm_positions_mask), o);
  for (auto& [name, t] : std::vector<std::pair<std::string, Tensor>>{
           {"masked_input_ids", s0.masked_input_ids}, {"generator_labels", s0.generator_labels},
           {"generator_logits", s0.generator_logits}, {"sampled_ids", s0.sampled_ids}, {"disc_labels", s0.disc_labels},
           {"discriminator_logits", s0.discriminator_logits}, {"generator_loss", s0.generator_loss},
           {"discriminator_loss", s0.discriminator_loss}, {"total_loss", s0.total_loss}, {"loss.step0", s0.total_loss}})
    out.emplace_back(name, t.detach());
  s0.total_loss.backward();

  // Gradients: every discriminator parameter, then the generator's own (a shared tensor once).
  std::set<const void*> shared;
  for (auto& [name, t] : discriminator->named_parameters()) shared.insert(t.impl_ptr());
  auto grad_of = [](const Tensor& t) { return t.grad().defined() ? t.grad() : tz::raw::zeros_like(t); };
  std::vector<std::pair<std::string, Tensor>> params;
  for (auto& [name, t] : discriminator->named_parameters()) params.emplace_back("discriminator." + name, t);
  for (auto& [name, t] : generator->named_parameters())
    if (!shared.count(t.impl_ptr())) params.emplace_back("generator." + name, t);
  for (auto& [name, t] : params) out.emplace_back("grad." + name, tz::raw::clone(grad_of(t)));

  tz::optim::AdamWOptions ao;
  ao.lr = p.get_double("lr");
  ao.weight_decay = p.get_double("weight-decay");
  ao.eps = p.get_double("eps");
  std::vector<Tensor> distinct;
  for (auto& [name, t] : tr::rtd_parameters(*generator, *discriminator)) distinct.push_back(t);
  tz::optim::AdamW opt(distinct, ao);
  opt.step();
  opt.zero_grad();
  for (auto& [name, t] : params) out.emplace_back("param_after." + name, tz::raw::clone(t.detach()));

  {
    tz::NoGradGuard ng;
    tr::RtdOutput s1 =
        tr::rtd_forward(*generator, *discriminator, batch, noise_rows(in.at("step1.noise_u"), batch.mlm_positions_mask), o);
    out.emplace_back("loss.step1", s1.total_loss);
    out.emplace_back("step1.generator_loss", s1.generator_loss);
    out.emplace_back("step1.discriminator_loss", s1.discriminator_loss);
    out.emplace_back("step1.sampled_ids", s1.sampled_ids);
    out.emplace_back("step1.disc_labels", s1.disc_labels);
  }
  tz::io::save_safetensors(p.get("output"), out, {{"format", "pt"}, {"producer", "tensorzoo rtd-step"}});
  std::cerr << "rtd-step: " << s0.masked << " masked, " << s0.replaced << " replaced; total loss "
            << s0.total_loss.item() << "; wrote " << out.size() << " tensors to " << p.get("output") << "\n";
  return 0;
}

tz::cli::Command reg{"rtd-step", "replay one replaced-token-detection step from recorded masks and noise",
                     run_rtd_step};

}  // namespace
