// JSON Lines input: one JSON object per line, as HF datasets export them.
#pragma once

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

namespace tz::train {

/// Calls `on_object(object, where)` for every non-blank line of `path`, in order; `where` is
/// "path:line" for messages. Throws tz::Error naming `reader` when the file cannot be opened, and
/// naming the file and line when a line is not valid JSON or not an object.
void for_each_jsonl_object(const std::filesystem::path& path, const char* reader,
                           const std::function<void(const nlohmann::json& object, const std::string& where)>& on_object);

}  // namespace tz::train
