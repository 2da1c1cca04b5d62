// `tensorzoo run`: one forward pass of a model directory on inputs from a safetensors file, the
// outputs written under HF's names. This is how a researcher compares us with PyTorch.
#include <iostream>

#include "autograd/grad_mode.h"
#include "cli/args.h"
#include "cli/command.h"
#include "cli/text_inputs.h"
#include "models/registry.h"
#include "tensor/io/checkpoint.h"

namespace {

int run_run(const std::vector<std::string>& args) {
  tz::cli::ArgParser p("tensorzoo run",
                       "Run a model directory of any family on input tensors and write its outputs under HF's\n"
                       "names. Inputs (by name): input_ids, attention_mask (default all ones), token_type_ids\n"
                       "(default zeros), position_ids (default 0..T-1), head_mask (default all ones), and the\n"
                       "head's labels when present (labels, next_sentence_label, start_positions, end_positions).\n"
                       "Outputs: last_hidden_state (and pooler_output) for a base model, else logits /\n"
                       "start_logits, end_logits / prediction_logits, seq_relationship_logits; loss with labels;\n"
                       "hidden_states.<i> and attentions.<i> on request.");
  p.option("model", "DIR", "model directory (config.json + weights)", "", true);
  p.option("inputs", "IN.safetensors", "input tensors", "", true);
  p.option("output", "OUT.safetensors", "where to write the outputs", "", true);
  p.option("head", "ARCH", "HF architecture or task to run instead of config.json's (e.g. BertModel, masked-lm)", "");
  p.flag("hidden-states", "also write hidden_states.<i> (0 = embeddings output)");
  p.flag("attentions", "also write attentions.<i> (attention probabilities)");
  p.flag("plain-path", "run op by op through the differentiable op set, never the graph-free inference path");
  if (!p.parse(args)) return p.exit_code();
  if (p.get_flag("plain-path")) tz::models::set_inference_path_enabled(false);

  tz::models::LoadOptions opt;
  opt.architecture = p.get("head");
  auto model = tz::models::from_pretrained(tz::cli::resolve_model_arg(p.get("model"), "run"), opt);
  model->eval();
  tz::io::Checkpoint in = tz::io::load_safetensors(p.get("inputs"));
  auto pick = [&](const char* name) {
    auto it = in.tensors.find(name);
    return it == in.tensors.end() ? tz::Tensor() : it->second;
  };
  tz::models::Inputs inputs;
  inputs.input_ids = pick("input_ids");
  TZ_CHECK(inputs.input_ids.defined(), "run: '", p.get("inputs"), "' has no tensor named input_ids");
  inputs.attention_mask = pick("attention_mask");
  inputs.token_type_ids = pick("token_type_ids");
  inputs.position_ids = pick("position_ids");
  inputs.head_mask = pick("head_mask");
  inputs.labels = pick("labels");
  inputs.next_sentence_label = pick("next_sentence_label");
  inputs.start_positions = pick("start_positions");
  inputs.end_positions = pick("end_positions");
  inputs.output_hidden_states = p.get_flag("hidden-states");
  inputs.output_attentions = p.get_flag("attentions");

  tz::NoGradGuard no_grad;
  tz::models::Output out = model->forward(inputs);
  // A head returns what HF's head returns: its logits, not the encoder's last hidden state.
  const bool base = model->task() == tz::models::Task::Base;
  std::vector<std::pair<std::string, tz::Tensor>> tensors;
  for (auto& [name, t] : out.named())
    if (base || (name != "last_hidden_state" && name != "pooler_output")) tensors.emplace_back(name, t);
  tz::io::save_safetensors(p.get("output"), tensors, {{"format", "pt"}, {"producer", "tensorzoo run"}});
  std::cerr << "wrote " << tensors.size() << " tensors (" << model->architecture() << ") to " << p.get("output") << "\n";
  return 0;
}

tz::cli::Command reg{"run", "run a model directory of any family on input tensors, write HF-named outputs", run_run};

}  // namespace
