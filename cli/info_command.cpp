// `tensorzoo info DIR`: what a model directory holds (config, head, parameters, weight file).
#include <iostream>

#include "cli/args.h"
#include "cli/command.h"
#include "cli/text_inputs.h"
#include "models/registry.h"

namespace {

int run_info(const std::vector<std::string>& args) {
  tz::cli::ArgParser p("tensorzoo info", "Show a HuggingFace model directory of any family in the zoo: config, head,\n"
                                         "parameter count and weights file; or, with --list, the zoo itself.");
  p.positional("DIR", "the model directory (config.json + model.safetensors or pytorch_model.bin)", 0);
  p.flag("list", "list the families of the zoo, their heads and named sizes");
  p.option("seq", "T", "also print the encoder's forward FLOPs for one sequence of T tokens", "0");
  if (!p.parse(args)) return p.exit_code();
  if (p.get_flag("list")) {
    std::cout << tz::models::listing();
    return 0;
  }
  TZ_CHECK(p.positionals().size() == 1, "info: give one model directory (or --list)");
  const std::string dir = tz::cli::resolve_model_arg(p.positionals()[0], "info");
  tz::models::LoadOptions opt;
  opt.verbose = false;
  tz::models::LoadReport report;
  auto model = tz::models::from_pretrained(dir, opt, &report);
  const auto& c = model->config();
  int64_t params = 0;
  for (auto& [name, t] : model->named_parameters()) params += t.numel();
  std::cout << "model directory: " << dir << "\n"
            << "family:          " << c.model_type << "\n"
            << "head:            " << model->architecture() << "\n"
            << "weights file:    " << report.weights_file << "\n"
            << "parameters:      " << params << "\n"
            << "layers:          " << c.num_hidden_layers << "\n"
            << "hidden / intermediate: " << c.hidden_size << " / " << c.intermediate_size << ", heads "
            << c.num_attention_heads << ", activation " << c.hidden_act << "\n"
            << "vocab: " << c.vocab_size << ", max positions: " << c.max_position_embeddings
            << ", token types: " << c.type_vocab_size << ", labels: " << c.num_labels() << "\n";
  if (!report.missing.empty()) std::cout << "newly initialised: " << report.missing.size() << " tensors\n";
  if (!report.unexpected.empty()) std::cout << "unused in file:    " << report.unexpected.size() << " tensors\n";
  if (p.get_int("seq") > 0)
    std::cout << "forward_flops_per_sequence=" << model->forward_flops(1, p.get_int("seq")) << "\n";
  std::cout << "config.json:\n" << c.to_json().dump(2) << "\n";
  return 0;
}

tz::cli::Command reg{"info", "show a model directory (config, head, parameters) or list the zoo (--list)", run_info};

}  // namespace
