// `tensorzoo download org/name[@revision]`: brings a model from the HuggingFace Hub into the
// shared HF cache (or finds it there) and prints its snapshot folder, which every command that
// takes a model directory accepts. The resolution itself is hub/resolve.h.
#include <iostream>

#include "cli/args.h"
#include "cli/command.h"
#include "hub/resolve.h"

namespace tz::cli {
namespace {

int run_download(const std::vector<std::string>& args) {
  ArgParser p("tensorzoo download",
              "Download a model from the HuggingFace Hub into the HF cache (shared with Python's\n"
              "huggingface_hub) and print its local folder. Fetches config.json, the weights (the first of\n"
              "model.safetensors, its sharded index, pytorch_model.bin, its index, tf_model.h5), the tokenizer\n"
              "files and sentence-transformers' module files. Files already cached are not fetched again.\n"
              "Environment: HF_HUB_CACHE / HF_HOME (cache), HF_ENDPOINT, HF_TOKEN (gated or private models),\n"
              "HF_HUB_OFFLINE=1 (never use the network).");
  p.option("cache-dir", "DIR", "the cache folder (default: HF_HUB_CACHE, HF_HOME/hub or ~/.cache/huggingface/hub)");
  p.flag("quiet", "no progress bars or warnings");
  p.flag("offline", "use only the cache (as HF_HUB_OFFLINE=1); fails naming the first file it lacks");
  p.flag("no-tokenizer", "skip the tokenizer files");
  p.positional("MODEL", "org/name or org/name@revision (a branch, tag or commit hash)", 1);
  if (!p.parse(args)) return p.exit_code();
  if (p.positionals().size() != 1) {
    std::cerr << "error: give exactly one MODEL\n\n" << p.help();
    return 2;
  }
  hub::ResolveOptions options;
  options.cache_dir = p.get("cache-dir");
  options.quiet = p.get_flag("quiet");
  if (p.get_flag("offline")) options.offline = true;
  options.tokenizer = !p.get_flag("no-tokenizer");
  const hub::ResolvedModel model = hub::resolve_model(p.positionals()[0], options);
  if (!model.from_hub) {
    std::cerr << "error: '" << p.positionals()[0] << "' is a local directory, not a Hub model name\n";
    return 2;
  }
  if (!options.quiet)
    std::cerr << model.repo_id << "@" << model.revision << ": commit " << model.commit << ", "
              << model.files.size() << " files (weights: " << model.weights_file << ")"
              << (model.downloaded ? "" : ", all from the cache") << "\n";
  std::cout << model.dir << "\n";
  return 0;
}

Command reg{"download", "download a HuggingFace Hub model into the HF cache and print its folder", run_download};

}  // namespace
}  // namespace tz::cli
