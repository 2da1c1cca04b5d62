// Sharded checkpoints and a model directory's weights (declared in sharded_checkpoint.h).
// The index is untrusted like any file: its size and nesting are bounded, and a shard name that
// could leave the folder ("../x", "/etc/x", "a\\b") is refused before any path is built from it.
// Not here: reading one checkpoint file (safetensors.cpp, pytorch.cpp).
#include "tensor/io/sharded_checkpoint.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

namespace fs = std::filesystem;

namespace tz::io {

namespace {

constexpr uintmax_t kMaxIndexBytes = 64u << 20;  // an index of millions of names stays far below
constexpr int kMaxIndexDepth = 16;               // legal indexes nest three levels

const char* const kWeightFiles[] = {"model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                                    "pytorch_model.bin.index.json"};

nlohmann::json read_index(const fs::path& path) {
  std::error_code ec;
  const uintmax_t size = fs::file_size(path, ec);
  TZ_CHECK(!ec, "load_sharded: cannot read the index '", path.string(), "': ", ec.message());
  TZ_CHECK(size <= kMaxIndexBytes, "load_sharded: the index '", path.string(), "' is ", size, " bytes, more than ",
           kMaxIndexBytes);
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  // The callback sees the depth of each value as it is parsed, before anything deeper is built.
  nlohmann::json::parser_callback_t limit_depth = [&](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
    TZ_CHECK(depth <= kMaxIndexDepth, "load_sharded: the index '", path.string(), "' nests deeper than ",
             kMaxIndexDepth, " levels");
    return true;
  };
  try {
    return nlohmann::json::parse(text.str(), limit_depth);
  } catch (const nlohmann::json::exception& e) {
    throw Error("load_sharded: the index '" + path.string() + "' is not valid JSON: " + e.what());
  }
}

// A shard name must stay inside the index's folder: relative, without "." or ".." parts,
// backslashes or control characters.
void check_shard_name(const std::string& name, const fs::path& index_path) {
  bool ok = !name.empty() && name.front() != '/' && name.size() <= 1024;
  for (char c : name) ok = ok && c != '\\' && static_cast<unsigned char>(c) >= 0x20;
  std::stringstream parts(name);
  for (std::string part; ok && std::getline(parts, part, '/');) ok = !part.empty() && part != "." && part != "..";
  ok = ok && name.back() != '/';
  TZ_CHECK(ok, "load_sharded: the index '", index_path.string(), "' names the shard '", name,
           "', which is not a file name inside its folder");
}

// "a", "b", "c" and 7 more.
std::string some_names(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < 5; ++i) out += (i ? ", '" : "'") + names[i] + "'";
  if (names.size() > 5) out += " and " + std::to_string(names.size() - 5) + " more";
  return out;
}

void write_text_atomically(const fs::path& path, const std::string& text) {
  static std::atomic<unsigned> counter{0};
  const fs::path tmp = path.string() + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) {
      std::error_code ec;
      fs::remove(tmp, ec);
      throw Error("save_safetensors_sharded: cannot write '" + tmp.string() + "'");
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw Error("save_safetensors_sharded: cannot rename '" + tmp.string() + "' to '" + path.string() + "'");
  }
}

std::string shard_name(size_t index, size_t count) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "model-%05zu-of-%05zu.safetensors", index + 1, count);
  return buf;
}

}  // namespace

Checkpoint load_sharded(const std::string& index_path) {
  const fs::path index_file(index_path);
  const nlohmann::json index = read_index(index_file);
  TZ_CHECK(index.is_object() && index.contains("weight_map") && index["weight_map"].is_object(),
           "load_sharded: the index '", index_path, "' has no \"weight_map\" object");
  // shard file -> the names the index places in it
  std::map<std::string, std::vector<std::string>> listed;
  for (const auto& [name, shard] : index["weight_map"].items()) {
    TZ_CHECK(shard.is_string(), "load_sharded: the index '", index_path, "' maps '", name, "' to ", shard.type_name(),
             ", expected a shard file name");
    check_shard_name(shard.get<std::string>(), index_file);
    listed[shard.get<std::string>()].push_back(name);
  }
  TZ_CHECK(!listed.empty(), "load_sharded: the index '", index_path, "' lists no tensors");

  Checkpoint out;
  std::map<std::string, std::string> shard_of;  // tensor name -> the shard it was read from
  const fs::path folder = index_file.parent_path();
  for (const auto& [shard, names] : listed) {
    const fs::path shard_path = folder / shard;
    std::error_code ec;
    TZ_CHECK(fs::is_regular_file(shard_path, ec), "load_sharded: the index '", index_path, "' lists the shard '", shard,
             "' (for ", some_names(names), ") but '", shard_path.string(), "' does not exist");
    Checkpoint part = load_checkpoint(shard_path.string());
    std::vector<std::string> missing;
    for (const std::string& name : names)
      if (!part.contains(name)) missing.push_back(name);
    TZ_CHECK(missing.empty(), "load_sharded: the index '", index_path, "' places ", some_names(missing), " in '", shard,
             "', which does not hold ", missing.size() == 1 ? "it" : "them");
    for (const std::string& name : part.names) {
      auto [it, fresh] = shard_of.emplace(name, shard);
      TZ_CHECK(fresh, "load_sharded: tensor '", name, "' is in two shards, '", it->second, "' and '", shard, "' (index '",
               index_path, "')");
      out.names.push_back(name);
      out.tensors.emplace(name, part.tensors.at(name));
      out.source_dtype.emplace(name, part.source_dtype.at(name));
    }
    if (out.metadata.empty()) out.metadata = part.metadata;
  }
  return out;
}

std::string find_weights_file(const std::string& dir) {
  std::error_code ec;
  for (const char* name : kWeightFiles)
    if (fs::is_regular_file(fs::path(dir) / name, ec)) return name;
  return {};
}

Checkpoint load_checkpoint_dir_weights(const std::string& dir, std::string* chosen) {
  const std::string file = find_weights_file(dir);
  if (file.empty()) {
    std::string names;
    for (const char* name : kWeightFiles) names += (names.empty() ? "" : ", ") + std::string(name);
    throw Error("load_checkpoint_dir_weights: no weights in '" + dir + "' (looked for " + names + ")");
  }
  if (chosen) *chosen = file;
  const std::string path = (fs::path(dir) / file).string();
  return file.size() > 11 && file.compare(file.size() - 11, 11, ".index.json") == 0 ? load_sharded(path)
                                                                                   : load_checkpoint(path);
}

int64_t parse_shard_size(const std::string& text) {
  static const std::regex pattern(R"(\s*([0-9]+(\.[0-9]+)?)\s*([KMGT]I?B)?\s*)", std::regex::icase);
  std::smatch m;
  TZ_CHECK(std::regex_match(text, m, pattern), "parse_shard_size: '", text,
           "' is not a size (expected e.g. 5GB, 200MB, 10KB, 2GiB or a number of bytes)");
  std::string unit = m[3].str();
  for (char& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const bool binary = unit.size() == 3;
  const std::string prefixes = "KMGT";
  const int power = unit.empty() ? 0 : static_cast<int>(prefixes.find(unit[0])) + 1;
  const double value = std::stod(m[1].str()) * std::pow(binary ? 1024.0 : 1000.0, power);
  TZ_CHECK(value >= 1 && value < 9.0e18, "parse_shard_size: '", text, "' is out of range (1 byte to 9 EB)");
  return static_cast<int64_t>(value);
}

ShardedSave save_safetensors_sharded(const std::string& dir, const std::vector<std::pair<std::string, Tensor>>& tensors,
                                     int64_t max_shard_bytes, const std::map<std::string, std::string>& metadata) {
  TZ_CHECK(max_shard_bytes > 0, "save_safetensors_sharded: max_shard_bytes must be positive, got ", max_shard_bytes);
  // huggingface_hub's split: fill in order; a tensor above the limit gets a shard of its own.
  std::vector<std::vector<std::pair<std::string, Tensor>>> shards;
  std::vector<std::pair<std::string, Tensor>> current;
  int64_t current_size = 0;
  ShardedSave saved;
  for (const auto& entry : tensors) {
    TZ_CHECK(entry.second.defined(), "save_safetensors_sharded: tensor '", entry.first, "' is undefined");
    const int64_t bytes = entry.second.numel() * static_cast<int64_t>(dtype_size(entry.second.dtype()));
    saved.total_size += bytes;
    if (bytes > max_shard_bytes) {
      shards.push_back({entry});
      continue;
    }
    if (current_size + bytes > max_shard_bytes) {
      shards.push_back(std::move(current));
      current = {};
      current_size = 0;
    }
    current.push_back(entry);
    current_size += bytes;
  }
  if (!current.empty() || shards.empty()) shards.push_back(std::move(current));

  std::error_code ec;
  fs::create_directories(dir, ec);
  TZ_CHECK(!ec, "save_safetensors_sharded: cannot create '", dir, "': ", ec.message());
  std::map<std::string, std::string> weight_map;
  for (size_t i = 0; i < shards.size(); ++i) {
    const std::string file = shards.size() == 1 ? "model.safetensors" : shard_name(i, shards.size());
    save_safetensors((fs::path(dir) / file).string(), shards[i], metadata);
    saved.files.push_back(file);
    for (const auto& [name, t] : shards[i]) weight_map[name] = file;
  }
  if (shards.size() > 1) {
    saved.index_file = "model.safetensors.index.json";
    const nlohmann::json index = {{"metadata", {{"total_size", saved.total_size}}}, {"weight_map", weight_map}};
    write_text_atomically(fs::path(dir) / saved.index_file, index.dump(2) + "\n");
  }

  // Weight files of an earlier save would shadow or contradict the new ones.
  static const std::regex shard_pattern(R"(model-[0-9]{5}-of-[0-9]{5}\.safetensors)");
  const std::set<std::string> kept(saved.files.begin(), saved.files.end());
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    const bool weights = name == "model.safetensors" || name == "model.safetensors.index.json" ||
                         std::regex_match(name, shard_pattern);
    if (weights && !kept.count(name) && name != saved.index_file) fs::remove(entry.path(), ec);
  }
  return saved;
}

}  // namespace tz::io
