// `tensorzoo quantize IN_DIR OUT_DIR --precision int8|bf16`: writes a model directory whose dense
// layers' weights are stored int8 (with per-output-channel scales) or bf16, which from_pretrained
// and every inference command load in that precision without quantizing again. The file layout is
// documented in docs/checkpoints.md; the writer is models::save_quantized (models/registry.h).
#include <filesystem>
#include <iostream>

#include "cli/args.h"
#include "cli/command.h"
#include "cli/text_inputs.h"
#include "models/registry.h"

namespace {

int run_quantize(const std::vector<std::string>& args) {
  tz::cli::ArgParser p("tensorzoo quantize",
                       "Write a copy of a model directory (any family, any head) with every dense layer's weight\n"
                       "stored int8 (symmetric, one float scale per output channel) or bf16. Embeddings, LayerNorms,\n"
                       "biases and weights tied to an embedding stay float32. The copy loads directly in that\n"
                       "precision (tensorzoo run/classify/embed/... or models::from_pretrained).");
  p.positional("IN_DIR OUT_DIR", "the model directory (or model name) to quantize, and where to write the copy", 2);
  tz::cli::add_precision_option(p);
  if (!p.parse(args)) return p.exit_code();
  TZ_CHECK(p.positionals().size() == 2, "quantize: give IN_DIR and OUT_DIR, got ", p.positionals().size(),
           " arguments");
  const auto precision = tz::cli::precision_option(p);
  TZ_CHECK(precision && *precision != tz::nn::Precision::Float32,
           "quantize: --precision int8 or bf16 is required, got '", p.get("precision"), "'");
  const std::string in = tz::cli::resolve_model_arg(p.positionals()[0], "quantize");
  const std::string out = p.positionals()[1];
  TZ_CHECK(std::filesystem::absolute(in) != std::filesystem::absolute(out),
           "quantize: OUT_DIR must differ from IN_DIR '", in, "'");
  tz::models::LoadOptions opt;
  opt.precision = precision;
  tz::models::LoadReport report;
  auto model = tz::models::from_pretrained(in, opt, &report);
  tz::models::save_quantized(*model, out, *precision, in);
  std::cout << "wrote " << model->architecture() << " with " << tz::nn::precision_name(*precision)
            << " dense weights to " << out << "\n";
  return 0;
}

tz::cli::Command reg{"quantize", "write a model directory with int8 or bf16 dense weights (--precision)",
                     run_quantize};

}  // namespace
