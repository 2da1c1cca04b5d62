// Partner of text_inputs.h: shared plumbing of the fill-mask, classify and embed commands.
#include "cli/text_inputs.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include "core/error.h"
#include "hub/hub_error.h"
#include "hub/resolve.h"
#include "tensor/ops.h"

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
                                                        const std::string& command) {
  const std::string dir = resolve_model_arg(name_or_dir, command);
  TZ_CHECK(fs::exists(fs::path(dir) / "config.json"), command, ": '", dir, "' has no config.json");
  auto config = models::load_config(dir);
  const std::string architecture = models::architecture_for(models::family(config->model_type), task);
  models::LoadOptions opt;
  opt.architecture = architecture;
  opt.config = config;
  opt.verbose = false;  // unexpected keys (another head's weights) are fine; missing ones are not
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

tokenizer::WordPiece load_tokenizer_for(const std::string& model_dir, const std::string& tokenizer_path) {
  return tokenizer::WordPiece::from_pretrained(tokenizer_path.empty() ? resolve_model_arg(model_dir, "tokenizer")
                                                                      : tokenizer_path);
}

std::vector<std::string> read_texts(const std::vector<std::string>& positionals, const std::string& file) {
  if (!positionals.empty()) return positionals;
  std::ifstream f;
  std::istream* in = &std::cin;
  if (!file.empty() && file != "-") {
    f.open(file, std::ios::binary);
    TZ_CHECK(f.good(), "cannot open input file '", file, "'");
    in = &f;
  }
  std::vector<std::string> texts;
  std::string line;
  while (std::getline(*in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) texts.push_back(line);
  }
  return texts;
}

tokenizer::EncodeOptions batch_options(const tokenizer::WordPiece& tok, const models::PretrainedConfig& config,
                                       long long max_length) {
  tokenizer::EncodeOptions o;
  std::size_t limit = std::min<std::size_t>(tok.config().model_max_length,
                                            static_cast<std::size_t>(config.max_position_embeddings));
  if (max_length > 0) limit = std::min<std::size_t>(limit, static_cast<std::size_t>(max_length));
  o.truncation = tokenizer::Truncation{limit};
  o.padding = tokenizer::Padding{};
  return o;
}

models::Inputs to_inputs(const std::vector<tokenizer::Encoding>& batch) {
  TZ_CHECK(!batch.empty(), "to_inputs: empty batch");
  const int64_t B = static_cast<int64_t>(batch.size()), T = static_cast<int64_t>(batch[0].size());
  std::vector<int64_t> ids, mask, types;
  ids.reserve(static_cast<std::size_t>(B * T));
  for (const auto& e : batch) {
    TZ_CHECK(static_cast<int64_t>(e.size()) == T, "to_inputs: encodings of different lengths ", e.size(), " and ", T);
    ids.insert(ids.end(), e.ids.begin(), e.ids.end());
    mask.insert(mask.end(), e.attention_mask.begin(), e.attention_mask.end());
    types.insert(types.end(), e.type_ids.begin(), e.type_ids.end());
  }
  models::Inputs in;
  in.input_ids = raw::from_vector(ids, {B, T});
  in.attention_mask = raw::from_vector(mask, {B, T});
  in.token_type_ids = raw::from_vector(types, {B, T});
  return in;
}

std::string json_string(const std::string& s) {
  return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace tz::cli
