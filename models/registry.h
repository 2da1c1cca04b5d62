// The zoo's registry, like HF's Auto classes: config.json's `model_type` picks the family, its
// `architectures` (or the caller's choice of head) the class. Building a model from a config,
// loading and saving HF model directories, and listing what exists all go through here.
//
//   auto model = tz::models::from_pretrained("runs/cls/model");        // the head config.json names
//   auto mlm   = tz::models::create(*tz::models::named_config("bert", "base"), "masked-lm", seed);
//
// A family registers itself with one line in registry.cpp (its Family description, built in
// models/<family>/family.cpp). Not here: the model interface (model.h), the shared config fields
// (config.h), reading weight files (tensor/io/).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "hub/resolve.h"
#include "models/config.h"
#include "models/model.h"
#include "models/tf_weights.h"
#include "nn/low_precision.h"

namespace tz::models {

/// Everything the registry knows of one family.
struct Family {
  std::string model_type;                  // "convbert"
  std::vector<std::string> model_type_aliases;  // other spellings seen on the Hub ("conv_bert")
  std::string description;                 // one line for listings
  /// (task, HF class name) for every head the family has; the first entry is the base model.
  std::vector<std::pair<Task, std::string>> architectures;
  /// Parses config.json (HF's defaults for absent keys); validate() is called by the registry.
  std::function<std::shared_ptr<PretrainedConfig>(const nlohmann::json&)> config_from_json;
  /// Named sizes (e.g. "small", "base") for models built from scratch.
  std::vector<std::string> sizes;
  std::function<std::shared_ptr<PretrainedConfig>(const std::string& size)> named_config;
  /// Builds the class for `architecture` (one of `architectures`) with uninitialised weights
  /// (torch's per-layer defaults, or zeros under nn::SkipInitGuard).
  std::function<std::shared_ptr<PreTrainedModel>(const PretrainedConfig&, const std::string& architecture)> build;
  /// HF's TensorFlow weights layout (tf_model.h5; see tf_weights.h); null when HF has no TF classes
  /// for the family.
  const TfWeightsTable* tf_weights = nullptr;
};

/// Every registered family, in registration order.
const std::vector<Family>& families();
/// The family of a model_type (or an alias); throws naming it and listing the known ones.
const Family& family(const std::string& model_type);
/// The HF class name of `task` in `family`; throws naming the family's heads when it has none.
std::string architecture_for(const Family& family, Task task);
/// One line per family with its heads and sizes, for --help texts and `tensorzoo info --list`.
std::string listing();

/// A config from parsed config.json, by its model_type; validated.
std::shared_ptr<PretrainedConfig> config_from_json(const nlohmann::json& j);
/// A config.json file, or a model directory holding one.
std::shared_ptr<PretrainedConfig> load_config(const std::string& path);
/// A family's named size ("small", "base", ...).
std::shared_ptr<PretrainedConfig> named_config(const std::string& model_type, const std::string& size);

/// The architecture a head choice stands for: an HF class name of the config's family, or a task
/// name (task_name(): "masked-lm", "sequence-classification", ...); empty: the config's first
/// architecture, else the base model. Throws naming the choice and listing the family's heads.
std::string resolve_architecture(const PretrainedConfig& config, const std::string& head);

/// A new model of `head` (see resolve_architecture) with HF's initialisation drawn from `seed`.
std::shared_ptr<PreTrainedModel> create(const PretrainedConfig& config, const std::string& head, uint64_t seed);

struct LoadOptions {
  /// The head to build (resolve_architecture); empty: config.json's first architecture.
  std::string architecture;
  /// Used instead of the directory's config.json (e.g. with new labels for fine-tuning).
  std::shared_ptr<PretrainedConfig> config = nullptr;
  /// Missing or unexpected weights are an error instead of a warning.
  bool strict = false;
  /// Weights whose shape differs from the model's (a new label set) are skipped and initialised
  /// instead of being an error, as HF's ignore_mismatched_sizes.
  bool ignore_mismatched_sizes = false;
  /// Seed for the weights the checkpoint does not provide (a new head).
  uint64_t seed = 0;
  /// Print the warnings (missing / unexpected / mismatched keys) to stderr.
  bool verbose = true;
  /// Refuse weights holding NaN or Inf (reads every float32 weight once, so the file's pages are
  /// read at load rather than on first use).
  bool check_finite = true;
  /// How a model name ("org/name[@revision]") resolves to a directory: the HF cache, offline mode,
  /// downloads (hub/resolve.h). An existing directory is used as it is.
  hub::ResolveOptions hub{};
  /// The precision of the dense layers' products at inference (nn/low_precision.h): int8 or bf16
  /// weights are prepared beside the float32 parameters, which training and saving keep using.
  /// Unset: what the directory holds (float32, or the int8 / bf16 of `tensorzoo quantize`, whose
  /// int8 weights are used as stored, without quantizing again).
  std::optional<nn::Precision> precision{};
};

struct LoadReport {
  std::string weights_file;                 // the file the weights came from
  std::vector<std::string> missing;         // newly initialised
  std::vector<std::string> unexpected;      // in the file, not in the model (ignored)
  std::vector<std::string> mismatched;      // skipped for their shape (ignore_mismatched_sizes)
};

/// Loads a model directory, or a model by name ("org/name[@revision]", through the HF cache as
/// huggingface_hub: options.hub): config.json, then model.safetensors (or its sharded index),
/// pytorch_model.bin (or its index), or tf_model.h5 (HF's TensorFlow weights, converted through
/// the family's TfWeightsTable). Checkpoints
/// saved from the base model or from any head load into any head of the family (the base-model
/// prefix is added or dropped as HF does); weights the file lacks (a new head) are initialised
/// from options.seed as HF's fast init does, without drawing the others. Float32 weights of a
/// safetensors file are not copied: parameters view the file's private copy-on-write mapping
/// (the finiteness check reads each page once; with check_finite off, pages are read on first
/// use). Like any mmap, a file truncated by another process while loaded raises SIGBUS;
/// save_pretrained replaces directories atomically, so saving over the loaded directory is safe.
/// Throws tz::Error naming the file and key for anything wrong.
std::shared_ptr<PreTrainedModel> from_pretrained(const std::string& dir, const LoadOptions& options = {},
                                                 LoadReport* report = nullptr);

/// Loads the weights of model directory `dir` into an existing model (the same rules as
/// from_pretrained; the model's config is kept).
LoadReport load_weights(PreTrainedModel& model, const std::string& dir, const LoadOptions& options = {});

/// The three weights files HF reads: model.safetensors, pytorch_model.bin (torch.save's zip
/// format) and tf_model.h5 (HF's TF classes through Keras, see tf_weights.h).
enum class WeightsFormat { Safetensors, PytorchBin, TfH5 };

/// The file name of a weights format ("model.safetensors", "pytorch_model.bin", "tf_model.h5").
const char* weights_file_name(WeightsFormat format);

struct SaveOptions {
  /// The weights file to write.
  WeightsFormat format = WeightsFormat::Safetensors;
  /// Also write tf_model.h5, as HF's TF class of the model saves it (the family needs a
  /// TfWeightsTable; Keras 2.4 / h5py 2 conventions, see tf_weights.h).
  bool tf_weights = false;
  /// HF's max_shard_size for safetensors, in bytes (io::parse_shard_size reads "200MB"): above it
  /// the weights go to model-0000i-of-0000N.safetensors with model.safetensors.index.json. 0: one
  /// file whatever its size. Only with WeightsFormat::Safetensors.
  int64_t max_shard_bytes = 0;
};

/// Writes config.json (with "architectures") and the weights file of options.format into `dir`
/// (created if needed), plus the tokenizer files found in `tokenizer_dir` when given. Tied aliases
/// are not written. A weights file already in `dir` that from_pretrained would read before the one
/// written (model.safetensors before pytorch_model.bin, ...) is an error, not silently shadowing it.
/// The directory is replaced as a whole (other files in it are kept): a process killed during the
/// save leaves the previous model or the new one, never a mix of the two.
void save_pretrained(const PreTrainedModel& model, const std::string& dir, const std::string& tokenizer_dir = "",
                     const SaveOptions& options = {});

/// Writes `model` as a model directory like save_pretrained, with every dense layer's weight in
/// `precision`: int8 as I8 values in the parameter's own shape plus "<name>_scale" (F32, one scale
/// per output channel), bf16 as BF16 (docs/checkpoints.md). from_pretrained loads it back in that
/// precision. Tied aliases and the other parameters (embeddings, LayerNorms, biases) stay F32.
void save_quantized(PreTrainedModel& model, const std::string& dir, nn::Precision precision,
                    const std::string& tokenizer_dir = "");

/// The weights file of a model directory, as a file name: model.safetensors, its index,
/// pytorch_model.bin, its index, tf_model.h5 (HF's order of preference), or "" when none.
std::string find_weights_file(const std::string& dir);

}  // namespace tz::models
