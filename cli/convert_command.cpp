// `tensorzoo convert IN_DIR OUT_DIR --to safetensors|bin|tf`: a model directory's weights in another
// of HF's three formats (model.safetensors, pytorch_model.bin, tf_model.h5), with its config and
// tokenizer files. The model is loaded as from_pretrained loads it and saved by save_pretrained, so
// every family and head of the zoo converts, and names and layouts follow HF's rules both ways.
// OUT_DIR appears complete or not at all: it is written as a temporary sibling and renamed.
#include <unistd.h>

#include <filesystem>
#include <iostream>

#include "cli/args.h"
#include "cli/command.h"
#include "cli/text_inputs.h"
#include "core/error.h"
#include "models/registry.h"
#include "tensor/io/sharded_checkpoint.h"

namespace {

namespace fs = std::filesystem;
using tz::models::WeightsFormat;

WeightsFormat parse_format(const std::string& to) {
  if (to == "safetensors") return WeightsFormat::Safetensors;
  if (to == "bin") return WeightsFormat::PytorchBin;
  if (to == "tf") return WeightsFormat::TfH5;
  throw tz::Error("convert: --to '" + to + "' is not a format (expected safetensors, bin or tf)");
}

std::string first_names(const std::vector<std::string>& names) {
  std::string s;
  for (size_t i = 0; i < names.size() && i < 5; ++i) s += (i ? ", " : "") + names[i];
  return names.size() > 5 ? s + ", ..." : s;
}

// Removes the temporary output unless it was renamed into place.
struct TemporaryDir {
  fs::path path;
  bool keep = false;
  ~TemporaryDir() {
    std::error_code ec;
    if (!keep) fs::remove_all(path, ec);
  }
};

int run_convert(const std::vector<std::string>& args) {
  tz::cli::ArgParser p("tensorzoo convert",
                       "Convert a HuggingFace model directory to another weights format: model.safetensors,\n"
                       "pytorch_model.bin (torch.save) or tf_model.h5 (HF's TF classes, Keras weights). config.json\n"
                       "and the tokenizer files are copied; OUT_DIR must not exist yet (or be empty) and appears\n"
                       "only once complete. Weights are float32.");
  p.positional("IN_DIR OUT_DIR", "the model directory (or Hub name) to read, and the directory to create", 0);
  p.option("to", "FORMAT", "the weights format to write: safetensors, bin or tf", "", true);
  p.option("max-shard-size", "SIZE",
           "with --to safetensors: shards of at most SIZE (\"200MB\", \"5GB\", bytes) and model.safetensors.index.json, as HF's max_shard_size",
           "");
  if (!p.parse(args)) return p.exit_code();
  TZ_CHECK(p.positionals().size() == 2, "convert: give IN_DIR and OUT_DIR (got ", p.positionals().size(),
           " arguments); see tensorzoo convert --help");
  const WeightsFormat format = parse_format(p.get("to"));
  tz::models::SaveOptions save{.format = format};
  if (!p.get("max-shard-size").empty()) {
    TZ_CHECK(format == WeightsFormat::Safetensors, "convert: --max-shard-size needs --to safetensors (got --to ",
             p.get("to"), ")");
    save.max_shard_bytes = tz::io::parse_shard_size(p.get("max-shard-size"));
  }
  const fs::path out = p.positionals()[1];
  std::error_code ec;
  TZ_CHECK(!fs::exists(out, ec) || (fs::is_directory(out, ec) && fs::is_empty(out, ec)), "convert: '", out.string(),
           "' already exists and is not an empty directory; choose a new OUT_DIR");
  const std::string in = tz::cli::resolve_model_arg(p.positionals()[0], "convert");
  TZ_CHECK(fs::weakly_canonical(in, ec) != fs::weakly_canonical(out, ec), "convert: IN_DIR and OUT_DIR are the same");

  tz::models::LoadOptions opt;
  opt.verbose = false;
  tz::models::LoadReport report;
  auto model = tz::models::from_pretrained(in, opt, &report);
  // A converted file must hold what the source holds: nothing invented, nothing dropped unseen.
  TZ_CHECK(report.missing.empty(), "convert: ", report.weights_file, " in '", in, "' lacks ", report.missing.size(),
           " weights of ", model->architecture(), " (", first_names(report.missing),
           "); a converted file would hold made-up values for them");
  if (!report.unexpected.empty())
    std::cerr << "note: " << report.unexpected.size() << " tensors of " << report.weights_file << " are not part of "
              << model->architecture() << " and are not converted (" << first_names(report.unexpected) << ")\n";

  const fs::path parent = out.has_parent_path() ? out.parent_path() : fs::path(".");
  fs::create_directories(parent);
  TemporaryDir tmp{parent / (out.filename().string() + ".convert-" + std::to_string(::getpid()))};
  fs::remove_all(tmp.path);
  tz::models::save_pretrained(*model, tmp.path.string(), in, save);
  if (fs::exists(out, ec)) fs::remove(out);  // empty (checked above)
  fs::rename(tmp.path, out);
  tmp.keep = true;
  std::cout << "converted " << in << " (" << report.weights_file << ", " << model->architecture() << ") -> "
            << (out / tz::models::find_weights_file(out.string())).string() << "\n";
  return 0;
}

tz::cli::Command reg{"convert", "convert a model directory to model.safetensors, pytorch_model.bin or tf_model.h5",
                     run_convert};

}  // namespace
