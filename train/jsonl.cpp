// JSON Lines input: see train/jsonl.h.
#include "train/jsonl.h"

#include <fstream>

#include "core/error.h"

namespace tz::train {

void for_each_jsonl_object(const std::filesystem::path& path, const char* reader,
                           const std::function<void(const nlohmann::json&, const std::string&)>& on_object) {
  std::ifstream in(path);
  TZ_CHECK(in, reader, ": cannot open '", path.string(), "'");
  std::string line;
  for (std::size_t line_no = 1; std::getline(in, line); ++line_no) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = path.string() + ":" + std::to_string(line_no);
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      TZ_CHECK(false, where, ": not valid JSON (", e.what(), ")");
    }
    TZ_CHECK(j.is_object(), where, ": expected a JSON object");
    on_object(j, where);
  }
}

}  // namespace tz::train
