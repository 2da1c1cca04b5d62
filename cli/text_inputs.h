// What the text-in commands (fill-mask, classify, embed) share: loading a model directory with
// the head a command needs, reading the input texts (arguments, a file or stdin), and turning a
// batch of encodings into model inputs.
#pragma once

#include <memory>
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
std::shared_ptr<models::PreTrainedModel> load_model_for(const std::string& dir, models::Task task,
                                                        const std::string& command);

/// --plain-path: run op by op through the differentiable op set instead of the graph-free
/// inference path (models::set_inference_path_enabled), to check or trace the definition.
void add_plain_path_option(ArgParser& p);
void apply_plain_path_option(const ArgParser& p);

/// The tokenizer of a model directory, or of `tokenizer_path` when it is not empty.
tokenizer::WordPiece load_tokenizer_for(const std::string& model_dir, const std::string& tokenizer_path);

/// The texts of a command: the positional arguments, else the lines of `file` ("-" = stdin), else
/// the lines of stdin. Empty lines are skipped; a trailing '\r' is removed.
std::vector<std::string> read_texts(const std::vector<std::string>& positionals, const std::string& file);

/// Encoding options for a batch: special tokens, truncation to `max_length` (0: the smaller of the
/// tokenizer's model_max_length and the model's max_position_embeddings) and padding to the longest.
tokenizer::EncodeOptions batch_options(const tokenizer::WordPiece& tok, const models::PretrainedConfig& config,
                                       long long max_length);

/// input_ids, attention_mask and token_type_ids [B, T] from encodings of equal length.
models::Inputs to_inputs(const std::vector<tokenizer::Encoding>& batch);

/// A JSON string literal of `s` (ill-formed UTF-8 replaced).
std::string json_string(const std::string& s);

}  // namespace tz::cli
