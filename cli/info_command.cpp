// `tensorzoo info DIR`: what a model directory holds (config, head, parameters, weight file).
#include <iostream>

#include "cli/args.h"
#include "cli/command.h"
#include "models/convbert/pretrained.h"

namespace {

int run_info(const std::vector<std::string>& args) {
  tz::cli::ArgParser p("tensorzoo info", "Show a HuggingFace ConvBERT model directory: config, head, "
                                         "parameter count and weights file.");
  p.positional("DIR", "the model directory (config.json + model.safetensors or pytorch_model.bin)", 1);
  if (!p.parse(args)) return p.exit_code();
  const std::string dir = p.positionals()[0];
  tz::convbert::LoadOptions opt;
  opt.verbose = false;
  tz::convbert::LoadReport report;
  auto model = tz::convbert::from_pretrained(dir, opt, &report);
  const auto& c = model->config();
  int64_t params = 0;
  for (auto& [name, t] : model->named_parameters()) params += t.numel();
  std::cout << "model directory: " << dir << "\n"
            << "head:            " << model->architecture() << "\n"
            << "weights file:    " << report.weights_file << "\n"
            << "parameters:      " << params << "\n"
            << "layers:          " << c.num_hidden_layers << "\n"
            << "hidden / embedding / intermediate: " << c.hidden_size << " / " << c.embedding_size << " / "
            << c.intermediate_size << "\n"
            << "heads (attention half): " << c.attention_heads() << " of size " << c.attention_head_size()
            << ", head_ratio " << c.head_ratio << ", conv kernel " << c.conv_kernel_size << ", groups "
            << c.num_groups << "\n"
            << "vocab: " << c.vocab_size << ", max positions: " << c.max_position_embeddings
            << ", labels: " << c.num_labels() << "\n";
  if (!report.missing.empty()) std::cout << "newly initialised: " << report.missing.size() << " tensors\n";
  if (!report.unexpected.empty()) std::cout << "unused in file:    " << report.unexpected.size() << " tensors\n";
  std::cout << "config.json:\n" << c.to_json().dump(2) << "\n";
  return 0;
}

tz::cli::Command reg{"info", "show a model directory: config, head, parameter count, weights file", run_info};

}  // namespace
