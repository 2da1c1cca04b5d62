// from_pretrained / save_pretrained / init_weights; see pretrained.h.
#include "models/convbert/pretrained.h"

#include <cmath>
#include <filesystem>
#include <iostream>
#include <limits>
#include <map>
#include <regex>
#include <set>

#include "autograd/grad_mode.h"
#include "tensor/io/atomic_directory.h"
#include "tensor/io/checkpoint.h"
#include "nn/init.h"
#include "tensor/ops.h"

namespace tz::convbert {

namespace fs = std::filesystem;

std::string find_weights_file(const std::string& dir) {
  for (const char* name : {"model.safetensors", "pytorch_model.bin"}) {
    fs::path p = fs::path(dir) / name;
    if (fs::exists(p)) return p.string();
  }
  return "";
}

void init_weights(PreTrainedModel& model, uint64_t seed) {
  Generator gen(seed);
  nn::init_weights_like_hf(model, model.config().initializer_range, gen);
  // Modules nn does not know: ConvBERT's separable conv and grouped linear (HF leaves the grouped
  // weights uninitialised; we use the Linear rule so that fresh models train).
  NoGradGuard ng;
  for (auto& [name, m] : model.named_modules()) {
    if (auto* g = dynamic_cast<GroupedLinear*>(m.get())) {
      nn::init_normal_(g->weight, model.config().initializer_range, gen);
      raw::fill_(g->bias, 0.0);
    } else if (auto* s = dynamic_cast<SeparableConv1D*>(m.get())) {
      raw::fill_(s->bias, 0.0);
    }
  }
  if (auto* mlm = dynamic_cast<ForMaskedLM*>(&model); mlm && model.config().tie_word_embeddings) mlm->tie_weights();
}

namespace {

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

// HF's fast init (_init_weights on the modules a checkpoint left without weights): the modules that
// own one of `missing` (parameter names) get the same rules as init_weights, in the same order,
// drawn from `seed`; everything else keeps the loaded values. The Conv1d pair of a separable
// convolution gets N(0, initializer_range^2), as HF's SeparableConv1D draws in its constructor.
void init_missing_weights(PreTrainedModel& model, uint64_t seed, const std::vector<std::string>& missing) {
  if (missing.empty()) return;
  std::set<std::string> owners;
  for (const auto& name : missing) {
    const size_t dot = name.rfind('.');
    owners.insert(dot == std::string::npos ? "" : name.substr(0, dot));
  }
  const double range = model.config().initializer_range;
  Generator gen(seed);
  nn::init_weights_like_hf(model, range, gen, [&](const std::string& path) { return owners.count(path) != 0; });
  NoGradGuard ng;
  for (auto& [name, m] : model.named_modules()) {
    if (!owners.count(name)) continue;
    if (auto* g = dynamic_cast<GroupedLinear*>(m.get())) {
      nn::init_normal_(g->weight, range, gen);
      raw::fill_(g->bias, 0.0);
    } else if (auto* s = dynamic_cast<SeparableConv1D*>(m.get())) {
      raw::fill_(s->bias, 0.0);
    } else if (auto* conv = dynamic_cast<nn::Conv1d*>(m.get())) {
      nn::init_normal_(conv->weight, range, gen);
      if (conv->bias.defined()) raw::fill_(conv->bias, 0.0);
    }
  }
}

// HF's _keys_to_ignore_on_load_missing / _unexpected for ConvBERT.
bool ignorable_missing(const std::string& key) {
  return key.find("position_ids") != std::string::npos;
}
bool ignorable_unexpected(const std::string& key) {
  return key == "convbert.embeddings_project.weight" || key == "convbert.embeddings_project.bias" ||
         key.find("embeddings.token_type_ids") != std::string::npos;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
  return s;
}

}  // namespace

std::shared_ptr<PreTrainedModel> from_pretrained(const std::string& dir, const LoadOptions& opt, LoadReport* report_out) {
  TZ_CHECK(fs::is_directory(dir), "from_pretrained: '", dir, "' is not a directory");
  fs::path config_path = fs::path(dir) / "config.json";
  TZ_CHECK(fs::exists(config_path), "from_pretrained: no config.json in '", dir, "'");
  ConvBertConfig config = ConvBertConfig::load(config_path.string());
  std::string arch = opt.architecture;
  if (arch.empty()) arch = config.architectures.empty() ? "ConvBertModel" : config.architectures.front();
  // No random init here: the checkpoint provides (nearly) every weight, and drawing 110M normals
  // for ConvBERT-base only to overwrite them took seconds. The few it does not provide are
  // initialised below, as HF's fast init does.
  std::shared_ptr<PreTrainedModel> model;
  {
    nn::SkipInitGuard skip_init;
    model = create_model(config, arch);
  }

  LoadReport report;
  report.weights_file = find_weights_file(dir);
  TZ_CHECK(!report.weights_file.empty(), "from_pretrained: no model.safetensors or pytorch_model.bin in '", dir, "'");
  io::Checkpoint ckpt = io::load_checkpoint(report.weights_file);

  // Decide how file keys map to model keys: a head model reads "convbert.*" keys, and accepts a
  // base-model checkpoint (no prefix); the base model accepts a head checkpoint (prefix stripped).
  const bool model_is_head = arch != "ConvBertModel";
  bool file_has_prefix = false;
  for (const auto& name : ckpt.names)
    if (name.rfind("convbert.", 0) == 0) file_has_prefix = true;

  std::map<std::string, Tensor> state;
  for (const auto& name : ckpt.names) {
    std::string key = name;
    if (model_is_head && !file_has_prefix) key = "convbert." + key;
    if (!model_is_head && file_has_prefix) {
      if (key.rfind("convbert.", 0) != 0) {  // a head weight: not part of the base model
        report.unexpected.push_back(name);
        continue;
      }
      key = key.substr(9);
    }
    state[key] = ckpt.tensors.at(name);
  }
  // Tied aliases (e.g. the MLM decoder) come from their canonical tensor, never from the file.
  for (const auto& [alias, canonical] : model->tied_weights()) state.erase(alias);

  // Weights are used where they lie: a float32 tensor of a safetensors file is a view of the mapped
  // file, and the parameter takes that memory instead of a copy (no load time, no second copy in
  // RSS; pages are read on first use). The mapping is private copy-on-write, so training can
  // update such a parameter in place without touching the file.
  for (auto& [key, t] : state)
    if (!t.storage()->writable()) t.storage()->set_writable(true);
  if (opt.check_finite)
    for (const auto& [key, t] : state) check_finite(t, key, report.weights_file);
  NoGradGuard ng;
  nn::Module::LoadReport r = model->load_state_dict(state, /*strict=*/false, /*share_memory=*/true);
  TZ_CHECK(r.mismatched.empty(), "from_pretrained: '", report.weights_file, "': shape mismatch for ", join(r.mismatched));
  std::vector<std::string> tied;
  for (const auto& [alias, canonical] : model->tied_weights()) tied.push_back(alias);
  for (const auto& k : r.missing)
    if (!ignorable_missing(k) && std::find(tied.begin(), tied.end(), k) == tied.end()) report.missing.push_back(k);
  for (const auto& k : r.unexpected)
    if (!ignorable_unexpected(k)) report.unexpected.push_back(k);
  std::vector<std::string> to_init;
  for (const auto& k : r.missing)
    if (std::find(tied.begin(), tied.end(), k) == tied.end()) to_init.push_back(k);
  init_missing_weights(*model, opt.seed, to_init);

  if (opt.strict)
    TZ_CHECK(report.missing.empty() && report.unexpected.empty(), "from_pretrained: '", report.weights_file,
             "' does not match ", arch, " (strict): missing [", join(report.missing), "], unexpected [",
             join(report.unexpected), "]");
  if (opt.verbose) {
    if (!report.missing.empty())
      std::cerr << "warning: some weights of " << arch << " were not in " << report.weights_file
                << " and are newly initialised: " << join(report.missing)
                << "\n  (train the model on a downstream task before using it for predictions)\n";
    if (!report.unexpected.empty())
      std::cerr << "warning: some weights in " << report.weights_file << " were not used by " << arch << ": "
                << join(report.unexpected) << "\n";
  }
  if (report_out) *report_out = report;
  return model;
}

void save_pretrained(const PreTrainedModel& model, const std::string& dir, const std::string& tokenizer_dir) {
  // The directory is written whole and swapped in (tensor/io/atomic_directory.h): a process killed
  // between config.json and model.safetensors must not leave one file of each version.
  io::ReplaceDirectoryOptions options;
  options.keep_other_entries = true;
  io::replace_directory(dir, [&](const std::string& tmp) {
    ConvBertConfig config = model.config();
    config.architectures = {model.architecture()};
    config.save((fs::path(tmp) / "config.json").string());

    std::vector<std::string> skip;
    for (const auto& [alias, canonical] : model.tied_weights()) skip.push_back(alias);
    std::vector<std::pair<std::string, Tensor>> tensors;
    for (auto& [name, t] : model.state_dict())
      if (std::find(skip.begin(), skip.end(), name) == skip.end()) tensors.emplace_back(name, t);
    io::save_safetensors((fs::path(tmp) / "model.safetensors").string(), tensors, {{"format", "pt"}});

    if (!tokenizer_dir.empty()) {
      for (const char* f : {"vocab.txt", "tokenizer_config.json", "tokenizer.json", "special_tokens_map.json"}) {
        fs::path src = fs::path(tokenizer_dir) / f;
        if (fs::exists(src)) fs::copy_file(src, fs::path(tmp) / f, fs::copy_options::overwrite_existing);
      }
    }
  }, options);
}

}  // namespace tz::convbert
