// Loading and saving HuggingFace model directories:
//   config.json + (model.safetensors | pytorch_model.bin) [+ vocab.txt, tokenizer_config.json, ...]
// from_pretrained accepts checkpoints saved from the base model or from any head (with or without
// the "convbert." prefix) and reports missing/unexpected keys like HF: newly initialised head
// weights are a warning, an error in strict mode; HF's authorised keys are ignored silently.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "models/convbert/heads.h"

namespace tz::convbert {

struct LoadOptions {
  /// HF architecture to build; empty = the first of config.json's "architectures" (or ConvBertModel).
  std::string architecture;
  /// Missing or unexpected weights are an error instead of a warning.
  bool strict = false;
  /// Seed for the weights the checkpoint does not provide (a new head).
  uint64_t seed = 0;
  /// Print the warnings (missing / unexpected keys) to stderr.
  bool verbose = true;
  /// Refuse weights holding NaN or Inf (reads every float32 weight once, so the file's pages are
  /// read at load rather than on first use).
  bool check_finite = true;
};

struct LoadReport {
  std::string weights_file;                 // the file the weights came from
  std::vector<std::string> missing;         // newly initialised
  std::vector<std::string> unexpected;      // in the file, not in the model (ignored)
};

/// Loads `dir`; throws tz::Error naming the file and key for anything wrong.
/// Float32 weights of a model.safetensors file are not copied: the parameters view the file's
/// private (copy-on-write) mapping, so loading ConvBERT-base copies nothing (the finiteness check
/// reads each page once; with check_finite off, pages are read on first use); training may update
/// them in place and the file never changes. (Like any
/// mmap, a file truncated by another process while loaded raises SIGBUS; save_pretrained replaces
/// files atomically, so saving over the loaded directory is safe.) Weights the file lacks (a new
/// head) are initialised from `seed` as HF's fast init does, without drawing the others.
std::shared_ptr<PreTrainedModel> from_pretrained(const std::string& dir, const LoadOptions& options = {},
                                                 LoadReport* report = nullptr);

/// Writes config.json (with "architectures") and model.safetensors into `dir` (created if needed),
/// plus the tokenizer files found in `tokenizer_dir` when given. Tied aliases are not written.
/// The directory is replaced as a whole (other files in it are kept): a process killed during the
/// save leaves the previous model or the new one, never a mix of the two.
void save_pretrained(const PreTrainedModel& model, const std::string& dir, const std::string& tokenizer_dir = "");

/// Initialises every weight as HF's _init_weights does (normal(0, initializer_range) for Linear,
/// Embedding, conv and grouped weights; zero biases and padding row; LayerNorm ones/zeros).
void init_weights(PreTrainedModel& model, uint64_t seed);

/// The weights file of a model directory (model.safetensors preferred), or "" when none.
std::string find_weights_file(const std::string& dir);

}  // namespace tz::convbert
