// The registry of families and the Auto-style entry points that need no weights file; see
// registry.h. Loading and saving model directories: pretrained.cpp.
#include "models/registry.h"

#include <algorithm>
#include <filesystem>

#include "core/error.h"
#include "models/bert/family.h"
#include "models/convbert/family.h"
#include "models/distilbert/family.h"
#include "models/electra/family.h"

namespace tz::models {

namespace fs = std::filesystem;

const std::vector<Family>& families() {
  // One line per family.
  static const std::vector<Family> all{
      convbert::family(),
      bert::family(),
      electra::family(),
      distilbert::family(),
  };
  return all;
}

namespace {
std::string known_model_types() {
  std::string s;
  for (const auto& f : families()) s += (s.empty() ? "" : ", ") + f.model_type;
  return s;
}

std::string heads_of(const Family& f) {
  std::string s;
  std::vector<std::string> seen;  // a class may serve two tasks (ElectraForPreTraining)
  for (const auto& [task, arch] : f.architectures) {
    if (std::find(seen.begin(), seen.end(), arch) != seen.end()) continue;
    seen.push_back(arch);
    s += (s.empty() ? "" : ", ") + arch;
  }
  return s;
}
}  // namespace

const Family& family(const std::string& model_type) {
  for (const auto& f : families()) {
    if (f.model_type == model_type) return f;
    for (const auto& alias : f.model_type_aliases)
      if (alias == model_type) return f;
  }
  throw Error(detail::concat("model_type '", model_type, "' is not in the zoo (known: ", known_model_types(), ")"));
}

std::string architecture_for(const Family& f, Task task) {
  for (const auto& [t, arch] : f.architectures)
    if (t == task) return arch;
  throw Error(detail::concat(f.model_type, " has no ", task_name(task), " head (its heads: ", heads_of(f), ")"));
}

std::string listing() {
  std::string s;
  for (const auto& f : families()) {
    s += f.model_type + ": " + f.description + "\n  heads: " + heads_of(f) + "\n";
    if (!f.sizes.empty()) {
      s += "  sizes:";
      for (const auto& size : f.sizes) s += " " + size;
      s += "\n";
    }
  }
  return s;
}

std::shared_ptr<PretrainedConfig> config_from_json(const nlohmann::json& j) {
  TZ_CHECK(j.is_object(), "config.json: expected a JSON object, got ", j.type_name());
  auto it = j.find("model_type");
  TZ_CHECK(it != j.end() && it->is_string(), "config.json: no model_type string (the zoo's model types: ",
           known_model_types(), ")");
  auto config = family(it->get<std::string>()).config_from_json(j);
  config->validate();
  return config;
}

std::shared_ptr<PretrainedConfig> load_config(const std::string& path) {
  fs::path p = path;
  if (fs::is_directory(p)) p /= "config.json";
  TZ_CHECK(fs::exists(p), "config: no such file '", p.string(), "'");
  TZ_CHECK(fs::is_regular_file(p), "config: '", p.string(), "' is not a file");
  try {
    return config_from_json(read_json_file(p.string()));
  } catch (const Error& e) {
    const std::string what = e.what();
    if (what.find(p.string()) != std::string::npos) throw;
    throw Error(detail::concat(p.string(), ": ", what));
  }
}

std::shared_ptr<PretrainedConfig> named_config(const std::string& model_type, const std::string& size) {
  const Family& f = family(model_type);
  std::string sizes;
  for (const auto& s : f.sizes) {
    if (s == size) {
      auto c = f.named_config(size);
      c->validate();
      return c;
    }
    sizes += (sizes.empty() ? "" : ", ") + s;
  }
  throw Error(detail::concat(f.model_type, " has no named size '", size, "' (expected one of ", sizes, ")"));
}

std::string resolve_architecture(const PretrainedConfig& config, const std::string& head) {
  const Family& f = family(config.model_type);
  if (head.empty()) return config.architectures.empty() ? f.architectures.front().second : config.architectures.front();
  for (const auto& [task, arch] : f.architectures)
    if (arch == head || head == task_name(task)) return arch;
  throw Error(detail::concat(f.model_type, ": unknown head '", head, "' (expected one of ", heads_of(f),
                             ", or a task name such as masked-lm, sequence-classification)"));
}

std::shared_ptr<PreTrainedModel> create(const PretrainedConfig& config, const std::string& head, uint64_t seed) {
  const Family& f = family(config.model_type);
  config.validate();
  config.check_fits_in_memory();
  auto model = f.build(config, resolve_architecture(config, head));
  Generator gen(seed);
  model->init_weights(gen);
  return model;
}

}  // namespace tz::models
