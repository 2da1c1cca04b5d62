// What the inference commands (fill-mask, classify, tag, qa, embed, choose) share: loading a model
// directory with the head a command needs, the options every one of them has (--file, --batch-size,
// --max-length, --threads, --json, --plain-path), reading the inputs (arguments, a file or stdin),
// and printing JSON records.
// Not here: the pipelines themselves (train/pipelines/, the library side C++ users call).
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/args.h"
#include "models/registry.h"
#include "tokenizer/wordpiece.h"

namespace tz::cli {

/// The local directory of a --model argument: a directory as it is, or a model name
/// ("org/name[@revision]") resolved through the HF cache (hub/resolve.h), downloading what is
/// missing unless HF_HUB_OFFLINE=1. Each name is resolved once per process.
std::string resolve_model_arg(const std::string& name_or_dir, const std::string& command);

/// Loads `dir` (a model directory of any family, or a model name) with the head of `task`. Every weight the head
/// needs must be in the checkpoint (a randomly initialised head would print nonsense), so missing
/// weights are an error naming them.
/// `precision` as LoadOptions::precision (unset: what the directory holds).
std::shared_ptr<models::PreTrainedModel> load_model_for(const std::string& dir, models::Task task,
                                                        const std::string& command,
                                                        std::optional<nn::Precision> precision = std::nullopt);

/// --plain-path: run op by op through the differentiable op set instead of the graph-free
/// inference path (models::set_inference_path_enabled), to check or trace the definition.
void add_plain_path_option(ArgParser& p);
void apply_plain_path_option(const ArgParser& p);

/// --precision f32|bf16|int8: the dense layers' inference precision (nn/low_precision.h); absent,
/// the model directory's own (float32, or what `tensorzoo quantize` stored).
void add_precision_option(ArgParser& p);
/// The value of --precision, unset when not given; throws tz::Error naming a bad value.
std::optional<nn::Precision> precision_option(const ArgParser& p);


/// The tokenizer of a model directory or name, or of `tokenizer_path` when it is not empty (a file, a
/// directory or a model name).
tokenizer::WordPiece load_tokenizer_for(const std::string& model_dir, const std::string& tokenizer_path);

/// --model DIR|NAME (required; `kind` says which head, e.g. "token-classification") and --tokenizer PATH|NAME.
void add_model_options(ArgParser& p, const std::string& kind);

/// The options the text-in commands share: --file, --batch-size, --max-length, --threads, --json,
/// --plain-path, --precision. `inputs` names what one line of --file holds.
void add_inference_options(ArgParser& p, const std::string& inputs);

struct InferenceOptions {
  std::size_t batch_size = 32;
  std::size_t max_length = 0;  ///< 0: the model's limit
  bool json = false;
  std::optional<nn::Precision> precision;  ///< --precision; unset: what the model directory holds
};

/// Prints "error: <message>" to stderr and returns 2, the exit code of a usage error.
int usage_error(const std::string& message);

/// Validates and applies the shared options (threads, plain path) into `out`; false (after
/// usage_error) when a value is out of range.
bool apply_inference_options(const ArgParser& p, InferenceOptions& out);

/// Every line of `file` ("" or "-" = stdin), a trailing '\r' removed, empty lines kept.
std::vector<std::string> read_lines(const std::string& file);

/// The texts of a command: the positional arguments, else the lines of `file` ("-" = stdin), else
/// the lines of stdin. Empty lines are skipped; a trailing '\r' is removed.
std::vector<std::string> read_texts(const std::vector<std::string>& positionals, const std::string& file);

/// The non-empty items of a comma-separated list ("O,B-MISC" -> {"O", "B-MISC"}).
std::vector<std::string> split_list(const std::string& list);

/// One JSON record on one line of stdout (ill-formed UTF-8 replaced).
void print_json(const nlohmann::ordered_json& record);

}  // namespace tz::cli
