// Whole-file I/O and typed field access for HF's tokenizer JSON files (partner header:
// json_files.h).
#include "tokenizer/json_files.h"

#include <algorithm>
#include <fstream>
#include <sstream>

namespace tz::tokenizer::detail {

namespace fs = std::filesystem;
using nlohmann::json;

std::string read_text_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  TZ_CHECK(in.good(), "tokenizer: cannot open '", path.string(), "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  TZ_CHECK(!in.bad(), "tokenizer: error while reading '", path.string(), "'");
  return ss.str();
}

void write_text_file(const fs::path& path, const std::string& text, const char* op) {
  std::ofstream f(path, std::ios::binary);
  TZ_CHECK(f.good(), op, ": cannot write '", path.string(), "'");
  f << text;
  f.flush();
  TZ_CHECK(f.good(), op, ": error while writing '", path.string(), "'");
}

json read_json_file(const fs::path& path) {
  std::string text = read_text_file(path);
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    std::size_t at = std::min<std::size_t>(e.byte > 0 ? e.byte - 1 : 0, text.size());
    auto line = 1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n');
    throw Error(::tz::detail::concat(path.string(), ":", line, ": invalid JSON (", e.what(), ")"));
  } catch (const json::exception& e) {  // e.g. a number too large for a double (out_of_range 406)
    throw Error(::tz::detail::concat(path.string(), ": invalid JSON (", e.what(), ")"));
  }
}

bool json_bool(const json& j, const char* key, bool fallback) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  return j[key].get<bool>();
}

std::size_t json_size(const json& j, const char* key, std::size_t limit, const std::string& what) {
  TZ_CHECK(j.contains(key) && j[key].is_number_unsigned(), what, ".", key, " must be a non-negative integer");
  auto v = j[key].get<uint64_t>();
  TZ_CHECK(v <= limit, what, ".", key, " is ", v, ", out of range (expected <= ", limit, ")");
  return static_cast<std::size_t>(v);
}

AddedToken added_token_from_json(const json& t) {
  AddedToken a;
  a.content = t.at("content").get<std::string>();
  a.single_word = json_bool(t, "single_word", false);
  a.lstrip = json_bool(t, "lstrip", false);
  a.rstrip = json_bool(t, "rstrip", false);
  a.normalized = json_bool(t, "normalized", false);
  a.special = json_bool(t, "special", false);
  return a;
}

void check_token_id(std::size_t id, const fs::path& path) {
  TZ_CHECK(id < (std::size_t{1} << 24), path.string(), ": token id ", id, " is out of range (expected < 2^24)");
}

}  // namespace tz::tokenizer::detail
