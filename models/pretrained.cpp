// Loading and saving HF model directories for every family: from_pretrained, load_weights,
// save_pretrained; see registry.h. The rules are HF's (modeling_utils.py): a head model reads
// "<prefix>.*" keys and accepts a base-model checkpoint; the base model accepts a head checkpoint
// and drops its head weights; tied aliases are never read or written; weights a checkpoint lacks
// are initialised by the fast init (only their modules are drawn). A tf_model.h5 is first turned
// into PyTorch names and layouts through the family's TfWeightsTable (tf_weights.h).
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
#include "tensor/io/keras_weights.h"
#include "tensor/io/sharded_checkpoint.h"
#include "tensor/ops.h"

namespace tz::models {

namespace fs = std::filesystem;

namespace {
constexpr const char* kTfWeightsFile = "tf_model.h5";
}  // namespace

const char* weights_file_name(WeightsFormat format) {
  switch (format) {
    case WeightsFormat::Safetensors: return "model.safetensors";
    case WeightsFormat::PytorchBin: return "pytorch_model.bin";
    case WeightsFormat::TfH5: return kTfWeightsFile;
  }
  return "model.safetensors";
}

// PyTorch-side files first (io::find_weights_file); TF weights only when none is there, as HF's
// from_pretrained does without from_tf.
std::string find_weights_file(const std::string& dir) {
  std::string file = io::find_weights_file(dir);
  std::error_code ec;
  if (file.empty() && fs::is_regular_file(fs::path(dir) / kTfWeightsFile, ec)) file = kTfWeightsFile;
  return file;
}

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

// Either side of a tie (an embedding table a dense layer shares).
bool is_tied(const PreTrainedModel& model, const std::string& key) {
  for (const auto& [alias, canonical] : model.tied_weights())
    if (alias == key || canonical == key) return true;
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

const TfWeightsTable& tf_table_of(const PreTrainedModel& model, const char* what) {
  const Family& f = family(model.config().model_type);
  TZ_CHECK(f.tf_weights, what, ": the ", f.model_type, " family has no TensorFlow weights layout (tf_model.h5)");
  return *f.tf_weights;
}

// A tf_model.h5 as the model's state dict: Keras names and layouts converted to PyTorch's.
// Variables the model lacks go to `unexpected`, shape mismatches to `mismatched`.
std::map<std::string, Tensor> tf_state(const PreTrainedModel& model, const std::string& path,
                                       std::vector<std::string>& unexpected, std::vector<std::string>& mismatched) {
  const io::KerasWeights file = io::load_keras_weights(path);
  std::map<std::string, Shape> shapes;
  for (const auto& [name, t] : model.state_dict()) shapes.emplace(name, t.shape());
  TfToPytorch converted;
  try {
    converted = tf_to_pytorch(file, tf_table_of(model, "from_pretrained"), shapes, model.task() == Task::Base);
  } catch (const Error& e) {
    throw Error(std::string(e.what()) + " [" + path + "]");
  }
  for (const auto& name : converted.unexpected)
    if (!model.ignorable_unexpected_key(name)) unexpected.push_back(name);
  mismatched = converted.mismatched;
  for (const auto& [alias, canonical] : model.tied_weights()) converted.tensors.erase(alias);
  return std::move(converted.tensors);
}

// tf_model.h5 as HF's TF class of the model saves it. What TF does not store must be something the
// model rebuilds (a buffer) or ties (an alias); a weight of its own there would be lost.
void save_tf_weights(const PreTrainedModel& model, const std::string& path) {
  const TfWeightsTable& table = tf_table_of(model, "save_pretrained");
  std::set<std::string> buffers;
  for (const auto& [name, t] : model.named_buffers()) buffers.insert(name);
  for (const auto& [name, t] : model.state_dict())
    TZ_CHECK(!is_pytorch_only(name, table) || buffers.count(name) || is_alias(model, name), "save_pretrained: TF",
             model.architecture(), " does not store '", name, "' (HF's TF class rebuilds or ties it), but this model "
             "holds its own value (tie_word_embeddings = false?), which tf_model.h5 cannot keep");
  io::save_keras_weights(path, pytorch_to_tf(model.state_dict(), table, model.architecture(),
                                             model.config().num_hidden_layers));
}

// The metadata key save_quantized writes: the precision the file's dense weights are stored in.
constexpr const char* kPrecisionKey = "tensorzoo.precision";

// A dense layer's int8 weight as a quantized directory stores it: the values and their scales.
struct StoredInt8 {
  nn::LowPrecisionDense* layer;
  Tensor q, scale;
};

// Takes the int8 weights out of `state` (a dense layer's "<layer>.weight" stored as integers, with
// "<layer>.weight_scale" beside it): each is replaced by its float32 value q * scale for the parameter, and returned
// with its layer so the prepared copy can use the stored values as they are.
std::vector<StoredInt8> take_int8_weights(PreTrainedModel& model, std::map<std::string, Tensor>& state,
                                          const std::string& file) {
  std::map<std::string, nn::LowPrecisionDense*> dense;
  for (auto& [path, m] : model.named_modules())
    if (auto* d = dynamic_cast<nn::LowPrecisionDense*>(m.get())) dense[path.empty() ? "weight" : path + ".weight"] = d;
  std::vector<StoredInt8> out;
  for (const auto& [weight_key, layer] : dense) {
    auto w = state.find(weight_key);
    if (w == state.end() || w->second.dtype() != DType::Int64) continue;  // absent, or float32
    auto scale = state.find(weight_key + "_scale");
    TZ_CHECK(scale != state.end(), "from_pretrained: '", file, "' stores the dense weight '", weight_key,
             "' as integers but has no '", weight_key, "_scale' beside it");
    StoredInt8 s{layer, w->second, scale->second};
    const nn::DenseLayout l = s.layer->dense_layout();
    TZ_CHECK(s.q.numel() == l.groups * l.N * l.K && s.scale.numel() == l.groups * l.N &&
                 s.scale.dtype() == DType::Float32,
             "from_pretrained: int8 weight '", weight_key, "' ", shape_str(s.q.shape()), " with scale ",
             shape_str(s.scale.shape()), " does not fit ", l.groups, " groups of [", l.N, ", ", l.K, "]");
    // float value of every element, for the float32 parameter (exact: |q| <= 127 needs 7 bits).
    const std::vector<int64_t> q = raw::contiguous(s.q).to_vector<int64_t>();
    const std::vector<float> sc = raw::contiguous(s.scale).to_vector<float>();
    Tensor f = Tensor::empty(s.q.shape());
    for (int64_t g = 0; g < l.groups; ++g)
      for (int64_t n = 0; n < l.N; ++n)
        for (int64_t k = 0; k < l.K; ++k) {
          const int64_t at = g * l.group_stride + n * l.stride_n + k * l.stride_k;
          f.data<float>()[at] = static_cast<float>(q[static_cast<size_t>(at)]) * sc[static_cast<size_t>(g * l.N + n)];
        }
    w->second = f;
    out.push_back(std::move(s));
    state.erase(scale);
  }
  return out;
}

// The precision a checkpoint's dense weights are stored in: int8 when it has int8 weights, else
// what its metadata names (bf16 from save_quantized), else float32.
nn::Precision stored_precision(const io::Checkpoint& ckpt, bool has_int8) {
  if (has_int8) return nn::Precision::Int8;
  auto it = ckpt.metadata.find(kPrecisionKey);
  return it == ckpt.metadata.end() ? nn::Precision::Float32 : nn::parse_precision(it->second);
}

}  // namespace

LoadReport load_weights(PreTrainedModel& model, const std::string& name_or_dir, const LoadOptions& opt) {
  const std::string dir = hub::resolve_model_dir(name_or_dir, opt.hub);
  LoadReport report;
  report.weights_file = find_weights_file(dir);
  TZ_CHECK(!report.weights_file.empty(), "from_pretrained: no weights in '", dir,
           "' (model.safetensors, pytorch_model.bin, their sharded indexes, or tf_model.h5)");
  std::vector<std::string> tf_mismatched;  // a TF file's variables are checked against TF shapes
  io::Checkpoint ckpt;                      // stays empty for tf_model.h5 (float32 only)
  std::map<std::string, Tensor> state;
  if (report.weights_file == kTfWeightsFile) {
    state = tf_state(model, (fs::path(dir) / kTfWeightsFile).string(), report.unexpected, tf_mismatched);
  } else {
    ckpt = io::load_checkpoint_dir_weights(dir);
    state = keyed_for(model, ckpt, report.unexpected);
  }
  std::vector<StoredInt8> int8 = take_int8_weights(model, state, report.weights_file);

  // Shapes are checked before anything is loaded: a mismatch is an error, or (ignore_mismatched_sizes)
  // the weight is left out and initialised like a missing one.
  std::map<std::string, Tensor> own;
  for (auto& [name, t] : model.state_dict()) own[name] = t;
  std::vector<std::string> mismatch_errors;
  for (const auto& what : tf_mismatched) {
    if (!opt.ignore_mismatched_sizes) mismatch_errors.push_back(what);
    report.mismatched.push_back(what);
  }
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

  // The dense layers' inference precision, prepared once every weight is final: stored int8
  // weights as they are, the rest from their float32 values.
  const nn::Precision precision = opt.precision.value_or(stored_precision(ckpt, !int8.empty()));
  std::set<const nn::LowPrecisionDense*> from_file;
  if (precision == nn::Precision::Int8)
    for (const StoredInt8& s : int8) {
      s.layer->set_int8_weight(s.q, s.scale);
      from_file.insert(s.layer);
    }
  for (auto& [path, m] : model.named_modules())
    if (auto* d = dynamic_cast<nn::LowPrecisionDense*>(m.get()); d && !from_file.count(d)) d->set_precision(precision);

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

void save_quantized(PreTrainedModel& model, const std::string& dir, nn::Precision precision,
                    const std::string& tokenizer_dir) {
  TZ_CHECK(precision != nn::Precision::Float32, "save_quantized: precision f32 is what save_pretrained writes");
  save_pretrained(model, dir, tokenizer_dir);  // config.json and the tokenizer files; the weights follow
  std::map<std::string, nn::LowPrecisionDense*> dense;
  for (auto& [path, m] : model.named_modules())
    if (auto* d = dynamic_cast<nn::LowPrecisionDense*>(m.get())) dense[path.empty() ? "weight" : path + ".weight"] = d;
  std::vector<std::pair<std::string, Tensor>> tensors;
  io::StoreAs store_as;
  for (auto& [name, t] : model.state_dict()) {
    if (is_alias(model, name)) continue;
    auto d = dense.find(name);
    // A weight tied to an embedding table stays float32: the lookup reads it as it is, and the
    // dense layer prepares its copy at load time, as for a float checkpoint.
    if (d == dense.end() || is_tied(model, name)) {
      tensors.emplace_back(name, t);
    } else if (precision == nn::Precision::Bfloat16) {
      tensors.emplace_back(name, t);
      store_as[name] = io::StoredDType::BF16;
    } else {
      if (d->second->precision() != nn::Precision::Int8) d->second->set_precision(nn::Precision::Int8);
      auto [q, scale] = d->second->int8_weight();
      tensors.emplace_back(name, q);
      tensors.emplace_back(name + "_scale", scale);
      store_as[name] = io::StoredDType::I8;
    }
  }
  io::save_safetensors((fs::path(dir) / "model.safetensors").string(), tensors,
                       {{"format", "pt"}, {kPrecisionKey, nn::precision_name(precision)}}, store_as);
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

void save_pretrained(const PreTrainedModel& model, const std::string& dir, const std::string& tokenizer_dir,
                     const SaveOptions& save) {
  TZ_CHECK(save.max_shard_bytes >= 0, "save_pretrained: max_shard_bytes must be >= 0, got ", save.max_shard_bytes);
  TZ_CHECK(save.max_shard_bytes == 0 || save.format == WeightsFormat::Safetensors,
           "save_pretrained: sharding (max_shard_bytes) writes safetensors shards only, not ",
           weights_file_name(save.format));
  const std::string file = weights_file_name(save.format);
  const std::string preferred = find_weights_file(dir);
  const auto& order = hub::weight_file_preference();
  const auto rank = [&](const std::string& f) { return std::find(order.begin(), order.end(), f); };
  // Safetensors replaces the old safetensors files (single or sharded); another format must not
  // be shadowed by a file from_pretrained reads first.
  const bool safetensors_kind = preferred == "model.safetensors" || preferred == "model.safetensors.index.json";
  TZ_CHECK(preferred.empty() || rank(preferred) >= rank(file) ||
               (save.format == WeightsFormat::Safetensors && safetensors_kind),
           "save_pretrained: '", dir, "' already holds ", preferred, ", which from_pretrained reads before ", file,
           "; remove it or save into another directory");
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (auto& [name, t] : model.state_dict())
    if (!is_alias(model, name)) tensors.emplace_back(name, t);

  // The directory is written whole and swapped in (tensor/io/atomic_directory.h): a process killed
  // between config.json and the weights must not leave one file of each version.
  io::ReplaceDirectoryOptions options;
  options.keep_other_entries = true;
  if (save.format == WeightsFormat::Safetensors)
    options.drop_old_entry = [](const std::string& name) {  // the old save's safetensors, single or sharded
      const std::string ext = ".safetensors";
      return name == "model.safetensors" || name == "model.safetensors.index.json" ||
             (name.rfind("model-", 0) == 0 && name.find("-of-") != std::string::npos && name.size() > ext.size() &&
              name.compare(name.size() - ext.size(), ext.size(), ext) == 0);
    };
  io::replace_directory(dir, [&](const std::string& tmp) {
    std::shared_ptr<PretrainedConfig> config = model.config().clone();
    config->architectures = {model.architecture()};
    config->torch_dtype = "float32";  // what the weights file holds
    config->save((fs::path(tmp) / "config.json").string());

    const std::string path = (fs::path(tmp) / file).string();
    switch (save.format) {
      case WeightsFormat::Safetensors:
        if (save.max_shard_bytes > 0)
          io::save_safetensors_sharded(tmp, tensors, save.max_shard_bytes);
        else
          io::save_safetensors(path, tensors, {{"format", "pt"}});
        break;
      case WeightsFormat::PytorchBin: io::save_pytorch(path, tensors); break;
      case WeightsFormat::TfH5: save_tf_weights(model, path); break;
    }
    if (save.tf_weights && save.format != WeightsFormat::TfH5)
      save_tf_weights(model, (fs::path(tmp) / kTfWeightsFile).string());

    if (!tokenizer_dir.empty()) {
      for (const char* f : {"vocab.txt", "tokenizer_config.json", "tokenizer.json", "special_tokens_map.json"}) {
        fs::path src = fs::path(tokenizer_dir) / f;
        if (fs::exists(src)) fs::copy_file(src, fs::path(tmp) / f, fs::copy_options::overwrite_existing);
      }
    }
  }, options);
}

}  // namespace tz::models
