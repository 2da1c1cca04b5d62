// Reading and writing the JSON files of HF tokenizers (internal to the tokenizer): whole-file
// I/O with errors that name the file and line, typed field access that names the field, and the
// AddedToken object both tokenizer.json and tokenizer_config.json use. Every file is untrusted.
// Not here: what the files mean (tokenizer_json.cpp, wordpiece_io.cpp).
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

#include "core/error.h"
#include "tokenizer/wordpiece.h"

namespace tz::tokenizer::detail {

/// The bytes of `path`; throws naming the file when it cannot be read.
std::string read_text_file(const std::filesystem::path& path);

/// Writes `text` to `path`; `op` names the operation in errors ("save_pretrained").
void write_text_file(const std::filesystem::path& path, const std::string& text, const char* op);

/// Parses `path`; a syntax error names the file and line.
nlohmann::json read_json_file(const std::filesystem::path& path);

/// Runs `fn` and turns nlohmann's type errors (a field of the wrong type) into tz::Error naming
/// the file.
template <class Fn>
auto with_file_context(const std::filesystem::path& path, Fn&& fn) {
  try {
    return fn();
  } catch (const nlohmann::json::exception& e) {
    throw Error(::tz::detail::concat(path.string(), ": unexpected content (", e.what(), ")"));
  }
}

/// j[key] as a bool; `fallback` when missing or null.
bool json_bool(const nlohmann::json& j, const char* key, bool fallback);

/// j[key] as an unsigned integer no larger than `limit`; `what` names the field in errors.
std::size_t json_size(const nlohmann::json& j, const char* key, std::size_t limit, const std::string& what);

/// An AddedToken object {"content", "single_word", "lstrip", "rstrip", "normalized", "special"}
/// (the id is read by the caller: the two files store it differently).
AddedToken added_token_from_json(const nlohmann::json& t);

/// A WordPiece vocabulary has tens of thousands of entries: an id from a file beyond 2^24 means a
/// corrupt file (and would make us allocate for it).
void check_token_id(std::size_t id, const std::filesystem::path& path);

}  // namespace tz::tokenizer::detail
