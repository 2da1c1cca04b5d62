// Loading and saving HF model directories for every family: from_pretrained, load_weights,
// save_pretrained; see registry.h. The rules are HF's (modeling_utils.py): a head model reads
// "<prefix>.*" keys and accepts a base-model checkpoint; the base model accepts a head checkpoint
// and drops its head weights; tied aliases are never read or written; weights a checkpoint lacks
// are initialised by the fast init (only their modules are drawn).
#include "models/registry.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <limits>
#include <map>
#include <set>

#include "autograd/grad_mode.h"
#include "core/error.h"
#include "nn/init.h"
#include "tensor/io/atomic_directory.h"
#include "tensor/io/checkpoint.h"
#include "tensor/io/sharded_checkpoint.h"
#include "tensor/ops.h"

namespace tz::models {

namespace fs = std::filesystem;

std::string find_weights_file(const std::string& dir) { return io::find_weights_file(dir); }

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
  return s;
}

bool is_alias(const PreTrainedModel& model, const std::string& key) {
  for (const auto& [alias, canonical] : model.tied_weights())
    if (alias == key) return true;
  return false;
}

// A weight holding NaN or Inf (a corrupt file, or a run that diverged) would make every output NaN
// without a word. Checked in blocks without branching, so the loop vectorises.
void check_finite(const Tensor& t, const std::string& name, const std::string& file) {
  if (t.dtype() != DType::Float32 || t.numel() == 0) return;
  const Tensor c = t.is_contiguous() ? t : raw::contiguous(t);
  const float* p = c.data<float>();
  const int64_t n = c.numel();
  constexpr int64_t kBlock = 4096;
  for (int64_t start = 0; start < n; start += kBlock) {
    const int64_t end = std::min(n, start + kBlock);
    bool bad = false;
    for (int64_t i = start; i < end; ++i) bad |= !(std::fabs(p[i]) <= std::numeric_limits<float>::max());
    if (!bad) continue;
    int64_t at = start;
    while (std::isfinite(p[at])) ++at;
    throw Error(detail::concat("from_pretrained: '", file, "': weight '", name, "' holds ", p[at],
                               " at element ", at, " (weights must be finite numbers; is the file corrupt?)"));
  }
}

// HF's rename of the TF-era LayerNorm names that old checkpoints still carry (bert-base-uncased's
// LayerNorm.gamma / LayerNorm.beta): every "gamma" becomes "weight", every "beta" "bias".
std::string fix_legacy_key(std::string key) {
  auto replace_all = [&](const std::string& from, const std::string& to) {
    for (size_t at = key.find(from); at != std::string::npos; at = key.find(from, at + to.size()))
      key.replace(at, from.size(), to);
  };
  replace_all("gamma", "weight");
  replace_all("beta", "bias");
  return key;
}

// The checkpoint's tensors under the model's names: legacy names fixed, the base-model prefix
// added or dropped.
std::map<std::string, Tensor> keyed_for(const PreTrainedModel& model, const io::Checkpoint& ckpt,
                                        std::vector<std::string>& unexpected) {
  const std::string prefix = model.base_model_prefix() + ".";
  const bool model_is_head = model.task() != Task::Base;
  bool file_has_prefix = false;
  for (const auto& name : ckpt.names) file_has_prefix |= name.rfind(prefix, 0) == 0;
  std::map<std::string, Tensor> state;
  for (const auto& name : ckpt.names) {
    std::string key = fix_legacy_key(name);
    if (model_is_head && !file_has_prefix) key = prefix + key;
    if (!model_is_head && file_has_prefix) {
      if (key.rfind(prefix, 0) != 0) {  // a head weight: not part of the base model
        if (!model.ignorable_unexpected_key(name)) unexpected.push_back(name);
        continue;
      }
      key = key.substr(prefix.size());
    }
    state[key] = ckpt.tensors.at(name);
  }
  for (const auto& [alias, canonical] : model.tied_weights()) state.erase(alias);
  return state;
}

}  // namespace

LoadReport load_weights(PreTrainedModel& model, const std::string& name_or_dir, const LoadOptions& opt) {
  const std::string dir = hub::resolve_model_dir(name_or_dir, opt.hub);
  LoadReport report;
  report.weights_file = find_weights_file(dir);
  TZ_CHECK(!report.weights_file.empty(), "from_pretrained: no weights in '", dir,
           "' (model.safetensors, pytorch_model.bin or their sharded indexes)");
  io::Checkpoint ckpt = io::load_checkpoint_dir_weights(dir);
  std::map<std::string, Tensor> state = keyed_for(model, ckpt, report.unexpected);

  // Shapes are checked before anything is loaded: a mismatch is an error, or (ignore_mismatched_sizes)
  // the weight is left out and initialised like a missing one.
  std::map<std::string, Tensor> own;
  for (auto& [name, t] : model.state_dict()) own[name] = t;
  std::vector<std::string> mismatch_errors;
  for (auto it = state.begin(); it != state.end();) {
    auto o = own.find(it->first);
    if (o != own.end() && o->second.shape() != it->second.shape()) {
      const std::string what = it->first + " (checkpoint " + shape_str(it->second.shape()) + ", model " +
                               shape_str(o->second.shape()) + ")";
      if (!opt.ignore_mismatched_sizes) mismatch_errors.push_back(what);
      report.mismatched.push_back(what);
      it = state.erase(it);
    } else {
      ++it;
    }
  }
  TZ_CHECK(mismatch_errors.empty(), "from_pretrained: '", report.weights_file, "' does not fit ",
           model.architecture(), ": shape mismatch for ", join(mismatch_errors));

  // Weights are used where they lie: a float32 tensor of a safetensors file is a view of the mapped
  // file, and the parameter takes that memory instead of a copy (no load time, no second copy in
  // RSS; pages are read on first use). The mapping is private copy-on-write, so training can
  // update such a parameter in place without touching the file.
  for (auto& [key, t] : state)
    if (!t.storage()->writable()) t.storage()->set_writable(true);
  if (opt.check_finite)
    for (const auto& [key, t] : state) check_finite(t, key, report.weights_file);
  NoGradGuard ng;
  nn::Module::LoadReport r = model.load_state_dict(state, /*strict=*/false, /*share_memory=*/true);
  std::vector<std::string> to_init;
  for (const auto& k : r.missing) {
    if (is_alias(model, k)) continue;
    to_init.push_back(k);
    if (!model.ignorable_missing_key(k)) report.missing.push_back(k);
  }
  for (const auto& k : r.unexpected)
    if (!model.ignorable_unexpected_key(k)) report.unexpected.push_back(k);

  // HF's fast init: only the modules owning a missing weight are drawn, in module order.
  if (!to_init.empty()) {
    std::set<std::string> owners;
    for (const auto& name : to_init) {
      const size_t dot = name.rfind('.');
      owners.insert(dot == std::string::npos ? "" : name.substr(0, dot));
    }
    Generator gen(opt.seed);
    model.init_weights(gen, [&](const std::string& path) { return owners.count(path) != 0; });
  } else {
    model.tie_weights();
  }

  if (opt.strict)
    TZ_CHECK(report.missing.empty() && report.unexpected.empty() && report.mismatched.empty(), "from_pretrained: '",
             report.weights_file, "' does not match ", model.architecture(), " (strict): missing [",
             join(report.missing), "], unexpected [", join(report.unexpected), "], mismatched [",
             join(report.mismatched), "]");
  if (opt.verbose) {
    if (!report.missing.empty())
      std::cerr << "warning: some weights of " << model.architecture() << " were not in " << report.weights_file
                << " and are newly initialised: " << join(report.missing)
                << "\n  (train the model on a downstream task before using it for predictions)\n";
    if (!report.mismatched.empty())
      std::cerr << "warning: some weights of " << report.weights_file << " have another shape in "
                << model.architecture() << " and are newly initialised: " << join(report.mismatched) << "\n";
    if (!report.unexpected.empty())
      std::cerr << "warning: some weights in " << report.weights_file << " were not used by " << model.architecture()
                << ": " << join(report.unexpected) << "\n";
  }
  return report;
}

std::shared_ptr<PreTrainedModel> from_pretrained(const std::string& name_or_dir, const LoadOptions& opt,
                                                 LoadReport* report_out) {
  const std::string dir = hub::resolve_model_dir(name_or_dir, opt.hub);
  std::shared_ptr<PretrainedConfig> config = opt.config;
  if (!config) {
    TZ_CHECK(fs::exists(fs::path(dir) / "config.json"), "from_pretrained: no config.json in '", dir, "'");
    config = load_config(dir);
  }
  const std::string arch = resolve_architecture(*config, opt.architecture);
  config->check_fits_in_memory();
  // No random init here: the checkpoint provides (nearly) every weight, and drawing 110M normals
  // for a base-size model only to overwrite them takes seconds. The few it does not provide are
  // initialised by load_weights, as HF's fast init does.
  std::shared_ptr<PreTrainedModel> model;
  {
    nn::SkipInitGuard skip_init;
    model = family(config->model_type).build(*config, arch);
  }
  LoadReport report = load_weights(*model, dir, opt);
  if (report_out) *report_out = report;
  return model;
}

void save_pretrained(const PreTrainedModel& model, const std::string& dir, const std::string& tokenizer_dir) {
  // The directory is written whole and swapped in (tensor/io/atomic_directory.h): a process killed
  // between config.json and model.safetensors must not leave one file of each version.
  io::ReplaceDirectoryOptions options;
  options.keep_other_entries = true;
  io::replace_directory(dir, [&](const std::string& tmp) {
    std::shared_ptr<PretrainedConfig> config = model.config().clone();
    config->architectures = {model.architecture()};
    config->torch_dtype = "float32";  // what model.safetensors holds
    config->save((fs::path(tmp) / "config.json").string());

    std::vector<std::pair<std::string, Tensor>> tensors;
    for (auto& [name, t] : model.state_dict())
      if (!is_alias(model, name)) tensors.emplace_back(name, t);
    io::save_safetensors((fs::path(tmp) / "model.safetensors").string(), tensors, {{"format", "pt"}});

    if (!tokenizer_dir.empty()) {
      for (const char* f : {"vocab.txt", "tokenizer_config.json", "tokenizer.json", "special_tokens_map.json"}) {
        fs::path src = fs::path(tokenizer_dir) / f;
        if (fs::exists(src)) fs::copy_file(src, fs::path(tmp) / f, fs::copy_options::overwrite_existing);
      }
    }
  }, options);
}

}  // namespace tz::models
