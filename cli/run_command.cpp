// `tensorzoo run`: one forward pass of a model directory on inputs from a safetensors file, the
// outputs written under HF's names. This is how a researcher compares us with PyTorch.
#include <iostream>

#include "autograd/grad_mode.h"
#include "cli/args.h"
#include "cli/command.h"
#include "models/convbert/pretrained.h"
#include "tensor/io/checkpoint.h"

namespace {

int run_run(const std::vector<std::string>& args) {
  tz::cli::ArgParser p("tensorzoo run",
                       "Run a ConvBERT model directory on input tensors and write its outputs.\n"
                       "Inputs (by name): input_ids, attention_mask (default all ones), token_type_ids (default\n"
                       "zeros), and the head's labels when present (labels, start_positions, end_positions).\n"
                       "Outputs: last_hidden_state or logits / start_logits / end_logits, loss (with labels),\n"
                       "hidden_states.<i> and attentions.<i> on request.");
  p.option("model", "DIR", "model directory (config.json + weights)", "", true);
  p.option("inputs", "IN.safetensors", "input tensors", "", true);
  p.option("output", "OUT.safetensors", "where to write the outputs", "", true);
  p.option("head", "ARCH", "HF architecture to run instead of config.json's (e.g. ConvBertModel)", "");
  p.flag("hidden-states", "also write hidden_states.<i> (0 = embeddings output)");
  p.flag("attentions", "also write attentions.<i> (attention-half probabilities)");
  if (!p.parse(args)) return p.exit_code();

  tz::convbert::LoadOptions opt;
  opt.architecture = p.get("head");
  auto model = tz::convbert::from_pretrained(p.get("model"), opt);
  model->eval();
  tz::io::Checkpoint in = tz::io::load_safetensors(p.get("inputs"));
  auto pick = [&](const char* name) {
    auto it = in.tensors.find(name);
    return it == in.tensors.end() ? tz::Tensor() : it->second;
  };
  tz::convbert::Inputs inputs;
  inputs.input_ids = pick("input_ids");
  TZ_CHECK(inputs.input_ids.defined(), "run: '", p.get("inputs"), "' has no tensor named input_ids");
  inputs.attention_mask = pick("attention_mask");
  inputs.token_type_ids = pick("token_type_ids");
  inputs.labels = pick("labels");
  inputs.start_positions = pick("start_positions");
  inputs.end_positions = pick("end_positions");
  inputs.output_hidden_states = p.get_flag("hidden-states");
  inputs.output_attentions = p.get_flag("attentions");

  tz::NoGradGuard no_grad;
  tz::convbert::Output out = model->forward(inputs);
  std::vector<std::pair<std::string, tz::Tensor>> tensors;
  if (out.logits.defined()) tensors.emplace_back("logits", out.logits);
  if (out.start_logits.defined()) tensors.emplace_back("start_logits", out.start_logits);
  if (out.end_logits.defined()) tensors.emplace_back("end_logits", out.end_logits);
  if (!out.logits.defined() && !out.start_logits.defined()) tensors.emplace_back("last_hidden_state", out.last_hidden_state);
  if (out.loss.defined()) tensors.emplace_back("loss", out.loss);
  for (size_t i = 0; i < out.hidden_states.size(); ++i) tensors.emplace_back("hidden_states." + std::to_string(i), out.hidden_states[i]);
  for (size_t i = 0; i < out.attentions.size(); ++i) tensors.emplace_back("attentions." + std::to_string(i), out.attentions[i]);
  tz::io::save_safetensors(p.get("output"), tensors, {{"format", "pt"}, {"producer", "tensorzoo run"}});
  std::cerr << "wrote " << tensors.size() << " tensors (" << model->architecture() << ") to " << p.get("output") << "\n";
  return 0;
}

tz::cli::Command reg{"run", "run a model directory on input tensors, write HF-named outputs", run_run};

}  // namespace
