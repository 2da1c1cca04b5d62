// Partner of text_inputs.h: shared plumbing of the inference commands.
#include "cli/text_inputs.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include "core/error.h"
#include "hub/hub_error.h"
#include "hub/resolve.h"
#include "tensor/parallel.h"

namespace tz::cli {

namespace fs = std::filesystem;

std::string resolve_model_arg(const std::string& name_or_dir, const std::string& command) {
  static std::map<std::string, std::string> resolved;
  auto it = resolved.find(name_or_dir);
  if (it != resolved.end()) return it->second;
  std::string dir;
  try {
    dir = hub::resolve_model_dir(name_or_dir);
  } catch (const hub::HubError& e) {
    if (e.kind() != hub::HubErrorKind::InvalidName) throw;
    throw Error(detail::concat(command, ": model directory '", name_or_dir, "' does not exist (", e.what(), ")"));
  }
  return resolved[name_or_dir] = dir;
}

std::shared_ptr<models::PreTrainedModel> load_model_for(const std::string& name_or_dir, models::Task task,
                                                        const std::string& command,
                                                        std::optional<nn::Precision> precision) {
  const std::string dir = resolve_model_arg(name_or_dir, command);
  TZ_CHECK(fs::exists(fs::path(dir) / "config.json"), command, ": '", dir, "' has no config.json");
  auto config = models::load_config(dir);
  const std::string architecture = models::architecture_for(models::family(config->model_type), task);
  models::LoadOptions opt;
  opt.architecture = architecture;
  opt.config = config;
  opt.verbose = false;  // unexpected keys (another head's weights) are fine; missing ones are not
  opt.precision = precision;
  models::LoadReport report;
  auto model = models::from_pretrained(dir, opt, &report);
  if (!report.missing.empty()) {
    std::string names;
    for (std::size_t i = 0; i < report.missing.size() && i < 4; ++i) names += (i ? ", " : "") + report.missing[i];
    if (report.missing.size() > 4) names += ", ...";
    throw Error(detail::concat(command, ": '", dir, "' has no trained weights for ", architecture, " (",
                               report.missing.size(), " missing: ", names, ")"));
  }
  model->eval();
  return model;
}

void add_plain_path_option(ArgParser& p) {
  p.flag("plain-path", "run op by op through the differentiable op set, never the graph-free inference path");
}

void apply_plain_path_option(const ArgParser& p) {
  if (p.get_flag("plain-path")) models::set_inference_path_enabled(false);
}

void add_model_options(ArgParser& p, const std::string& kind) {
  p.option("model", "DIR|NAME",
           kind + " model of any family: a directory (config.json, weights, tokenizer files) or a Hub name "
                  "org/name[@rev] from the HF cache",
           "", true);
  p.option("tokenizer", "PATH|NAME", "tokenizer to use instead of the model's (a file, a directory or a Hub name)", "");
}

void add_precision_option(ArgParser& p) {
  p.option("precision", "f32|bf16|int8",
           "dense layers' precision at inference (default: the model directory's own, f32 unless quantized)", "");
}

std::optional<nn::Precision> precision_option(const ArgParser& p) {
  const std::string v = p.get("precision");
  if (v.empty()) return std::nullopt;
  try {
    return nn::parse_precision(v);
  } catch (const Error&) {
    throw Error("--precision: '" + v + "' is not one of f32, bf16, int8");
  }
}

void add_inference_options(ArgParser& p, const std::string& inputs) {
  p.option("file", "F", "read " + inputs + " from F, one per line ('-' = stdin), when none is given as arguments", "");
  p.option("batch-size", "N", "inputs per forward pass (only inputs of equal token length share one: nothing is padded)",
           "32");
  p.option("max-length", "N", "truncate inputs to N tokens (0: the model's limit)", "0");
  p.option("threads", "N", "threads for the math (0: all cores)", "0");
  p.flag("json", "one JSON record per input (JSONL), shaped and named as HF's pipeline returns it");
  add_plain_path_option(p);
  add_precision_option(p);
}

int usage_error(const std::string& message) {
  std::cerr << "error: " << message << "\n";
  return 2;
}

bool apply_inference_options(const ArgParser& p, InferenceOptions& o) {
  const long long batch_size = p.get_int("batch-size"), max_length = p.get_int("max-length"),
                  threads = p.get_int("threads");
  if (batch_size <= 0) return usage_error("--batch-size must be positive, got " + std::to_string(batch_size)) == 0;
  if (max_length < 0) return usage_error("--max-length must be 0 (the model's limit) or positive") == 0;
  if (threads < 0) return usage_error("--threads must be 0 (all cores) or positive") == 0;
  if (threads > 0) set_num_threads(static_cast<int>(threads));
  apply_plain_path_option(p);
  o.batch_size = static_cast<std::size_t>(batch_size);
  o.max_length = static_cast<std::size_t>(max_length);
  o.json = p.get_flag("json");
  o.precision = precision_option(p);
  return true;
}

tokenizer::WordPiece load_tokenizer_for(const std::string& model_dir, const std::string& tokenizer_path) {
  if (tokenizer_path.empty()) return tokenizer::WordPiece::from_pretrained(resolve_model_arg(model_dir, "tokenizer"));
  // A file (vocab.txt, tokenizer.json) is read as it is; a directory or a model name resolves as --model does.
  std::error_code ec;
  if (fs::is_regular_file(tokenizer_path, ec)) return tokenizer::WordPiece::from_pretrained(tokenizer_path);
  return tokenizer::WordPiece::from_pretrained(resolve_model_arg(tokenizer_path, "tokenizer"));
}

std::vector<std::string> read_lines(const std::string& file) {
  std::ifstream f;
  std::istream* in = &std::cin;
  if (!file.empty() && file != "-") {
    f.open(file, std::ios::binary);
    TZ_CHECK(f.good(), "cannot open input file '", file, "'");
    in = &f;
  }
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(*in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  return lines;
}

std::vector<std::string> read_texts(const std::vector<std::string>& positionals, const std::string& file) {
  if (!positionals.empty()) return positionals;
  std::vector<std::string> texts = read_lines(file);
  std::erase_if(texts, [](const std::string& t) { return t.empty(); });
  return texts;
}

std::vector<std::string> split_list(const std::string& list) {
  std::vector<std::string> items;
  std::size_t start = 0;
  while (start <= list.size()) {
    std::size_t comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    if (comma > start) items.push_back(list.substr(start, comma - start));
    start = comma + 1;
  }
  return items;
}

void print_json(const nlohmann::ordered_json& record) {
  std::cout << record.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
}

}  // namespace tz::cli
