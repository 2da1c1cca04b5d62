// Which files a model needs, fetched in the order transformers asks for them: config.json (its
// answer pins the commit, so every later file comes from the same snapshot), the first weights
// format the repo has (an index brings its shards), the tokenizer files, and sentence-transformers'
// module files. Once the Hub cannot be reached, the remaining files come from the cache alone
// instead of waiting for a timeout each.
#include "hub/resolve.h"

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <system_error>

#include "hub/environment.h"
#include "hub/hub_error.h"
#include "hub/repo_ref.h"

namespace fs = std::filesystem;

namespace tz::hub {

namespace {

constexpr int kMaxJsonDepth = 16;
constexpr size_t kMaxModules = 64;

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A small JSON file of the model (an index, modules.json), read with bounds on its size and on
// its nesting (the parser reports each value's depth before building anything deeper).
nlohmann::json read_json(const fs::path& path, size_t max_bytes) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) throw HubError(HubErrorKind::Io, "hub: cannot read '" + path.string() + "': " + ec.message());
  if (size > max_bytes)
    throw HubError(HubErrorKind::BadResponse, "hub: '" + path.string() + "' is " + std::to_string(size) +
                                                  " bytes, more than the " + std::to_string(max_bytes) + " expected");
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  nlohmann::json::parser_callback_t limit_depth = [&](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
    if (depth > kMaxJsonDepth)
      throw HubError(HubErrorKind::BadResponse, "hub: '" + path.string() + "' nests deeper than " +
                                                    std::to_string(kMaxJsonDepth) + " levels");
    return true;
  };
  try {
    return nlohmann::json::parse(text.str(), limit_depth);
  } catch (const nlohmann::json::exception& e) {
    throw HubError(HubErrorKind::BadResponse, "hub: '" + path.string() + "' is not valid JSON: " + e.what());
  }
}

// The shard files an index's weight_map names, sorted and without repeats (as transformers
// lists them).
std::vector<std::string> shard_files(const fs::path& index_path) {
  const nlohmann::json index = read_json(index_path, 64u << 20);
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object())
    throw HubError(HubErrorKind::BadResponse, "hub: '" + index_path.string() + "' has no \"weight_map\" object");
  std::set<std::string> files;
  for (const auto& [name, file] : index["weight_map"].items()) {
    if (!file.is_string())
      throw HubError(HubErrorKind::BadResponse, "hub: '" + index_path.string() + "' maps '" + name + "' to " +
                                                    file.type_name() + ", expected a file name");
    check_repo_filename(file.get<std::string>(), "a shard in " + index_path.filename().string());
    files.insert(file.get<std::string>());
  }
  return {files.begin(), files.end()};
}

// Module folders of a sentence-transformers model (modules.json), with their types.
std::vector<std::pair<std::string, std::string>> module_folders(const fs::path& modules_path) {
  const nlohmann::json modules = read_json(modules_path, 1u << 20);
  if (!modules.is_array())
    throw HubError(HubErrorKind::BadResponse, "hub: '" + modules_path.string() + "' is not a JSON array of modules");
  if (modules.size() > kMaxModules)
    throw HubError(HubErrorKind::BadResponse, "hub: '" + modules_path.string() + "' lists " +
                                                  std::to_string(modules.size()) + " modules, more than " +
                                                  std::to_string(kMaxModules));
  std::vector<std::pair<std::string, std::string>> folders;
  for (const auto& m : modules) {
    if (!m.is_object() || !m.contains("path") || !m["path"].is_string()) continue;
    const std::string path = m["path"].get<std::string>();
    if (path.empty()) continue;  // the transformer itself, at the top of the repo
    check_repo_filename(path, "a module folder in modules.json");
    folders.emplace_back(path, m.contains("type") && m["type"].is_string() ? m["type"].get<std::string>() : "");
  }
  return folders;
}

bool is_path_like(const std::string& s) {
  return s.empty() || s[0] == '/' || s[0] == '~' || s == "." || s == ".." || s.rfind("./", 0) == 0 ||
         s.rfind("../", 0) == 0;
}

// Fetches the files of one model, keeping the commit pinned and the fallback state.
class ModelFetcher {
 public:
  ModelFetcher(HubSettings settings, ResolvedModel& out, bool quiet) : settings_(std::move(settings)), out_(out), quiet_(quiet) {}

  // True when present; false when absent (optional files only: a required one throws).
  bool fetch(const std::string& filename, bool required) {
    const std::string revision = out_.commit.empty() ? out_.revision : out_.commit;
    FileResult f;
    try {
      f = download_file(settings_, out_.repo_id, revision, filename);
    } catch (const HubError& e) {
      if (required || e.kind() != HubErrorKind::NotCached) throw;
      out_.absent.push_back(filename);  // offline and never seen: treated as absent
      return false;
    }
    if (!f.fallback_reason.empty() && !settings_.offline) {
      // The Hub could not answer: the rest comes from the cache, without waiting on the network.
      settings_.offline = true;
      settings_.offline_reason = "the Hub could not be reached";
      warn("hub: using the cached snapshot of '" + out_.repo_id + "' because " + f.fallback_reason);
    }
    if (out_.commit.empty()) out_.commit = f.commit;
    out_.downloaded = out_.downloaded || f.downloaded;
    if (f.state == CachedFile::Present) {
      out_.files.push_back(filename);
      return true;
    }
    if (required)
      throw HubError(HubErrorKind::EntryNotFound, "hub: '" + out_.repo_id + "' at revision '" + out_.revision +
                                                      "' (commit " + out_.commit + ") has no file '" + filename +
                                                      "' (" + f.absent_because + ")");
    out_.absent.push_back(filename);
    return false;
  }

  fs::path local(const std::string& filename) const { return fs::path(out_.dir) / filename; }
  const HubSettings& settings() const { return settings_; }

 private:
  void warn(const std::string& message) {
    out_.warnings.push_back(message);
    if (!quiet_) std::cerr << message << "\n";
  }
  HubSettings settings_;
  ResolvedModel& out_;
  bool quiet_;
};

}  // namespace

const std::vector<std::string>& weight_file_preference() {
  static const std::vector<std::string> files = {"model.safetensors", "model.safetensors.index.json",
                                                 "pytorch_model.bin", "pytorch_model.bin.index.json", "tf_model.h5"};
  return files;
}

HubSettings hub_settings(const ResolveOptions& options) {
  const HubEnvironment env = read_hub_environment();
  HubSettings s;
  s.cache_dir = options.cache_dir.empty() ? env.cache_dir : options.cache_dir;
  s.endpoint = options.endpoint.empty() ? env.endpoint : options.endpoint;
  while (s.endpoint.size() > 1 && s.endpoint.back() == '/') s.endpoint.pop_back();
  s.token = options.token.empty() ? env.token : options.token;
  s.token_source = options.token.empty() ? env.token_source : "the token option";
  s.token_path = env.token_path;
  s.offline = options.offline.value_or(env.offline);
  s.offline_reason = options.offline.has_value() ? "offline mode" : "offline mode (HF_HUB_OFFLINE=1)";
  s.progress = !options.quiet && !env.progress_bars_disabled;
  s.resume_attempts = options.resume_attempts;
  s.metadata_timeout_seconds = env.metadata_timeout_seconds;
  s.download_timeout_seconds = env.download_timeout_seconds;
  return s;
}

ResolvedModel resolve_model(const std::string& name_or_path, const ResolveOptions& options) {
  ResolvedModel out;
  std::error_code ec;
  if (fs::is_directory(name_or_path, ec)) {
    out.dir = name_or_path;
    return out;
  }
  if (is_path_like(name_or_path))
    throw HubError(HubErrorKind::InvalidName, "hub: '" + name_or_path + "' is not a directory");
  RepoRef ref;
  try {
    ref = parse_repo_ref(name_or_path);
  } catch (const HubError& e) {
    throw HubError(HubErrorKind::InvalidName,
                   std::string(e.what()) + "; and '" + name_or_path + "' is not a directory either");
  }
  out.from_hub = true;
  out.repo_id = ref.repo_id;
  out.revision = ref.revision;
  ModelFetcher fetcher(hub_settings(options), out, options.quiet);

  try {
    fetcher.fetch("config.json", true);
  } catch (const HubError& e) {
    // A mistyped local path reads as a repo id: say that both were tried.
    if (e.kind() != HubErrorKind::RepoNotFound && e.kind() != HubErrorKind::Unauthorized &&
        e.kind() != HubErrorKind::NotCached)
      throw;
    throw HubError(e.kind(), std::string(e.what()) + " ('" + name_or_path + "' is not a local directory either)");
  }
  out.dir = RepoCache(fetcher.settings().cache_dir, out.repo_id).snapshot_dir(out.commit).string();

  if (options.weights) {
    for (const std::string& candidate : weight_file_preference()) {
      if (!fetcher.fetch(candidate, false)) continue;
      out.weights_file = candidate;
      if (ends_with(candidate, ".index.json"))
        for (const std::string& shard : shard_files(fetcher.local(candidate))) fetcher.fetch(shard, true);
      break;
    }
    if (out.weights_file.empty()) {
      std::string names;
      for (const std::string& f : weight_file_preference()) names += (names.empty() ? "" : ", ") + f;
      throw HubError(fetcher.settings().offline ? HubErrorKind::NotCached : HubErrorKind::EntryNotFound,
                     "hub: '" + out.repo_id + "' at revision '" + out.revision + "' (commit " + out.commit + ") " +
                         (fetcher.settings().offline ? "has none of these weight files in the cache (" + out.dir + "): "
                                                     : "has none of these weight files: ") + names);
    }
  }
  if (options.tokenizer)
    for (const char* f : {"vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"})
      fetcher.fetch(f, false);
  if (options.sentence_transformers && fetcher.fetch("modules.json", false)) {
    for (const auto& [folder, type] : module_folders(fetcher.local("modules.json"))) {
      fetcher.fetch(folder + "/config.json", false);
      // A Dense layer has weights of its own; Pooling and Normalize have none.
      if (ends_with(type, "Dense") && !fetcher.fetch(folder + "/model.safetensors", false))
        fetcher.fetch(folder + "/pytorch_model.bin", false);
    }
    fetcher.fetch("sentence_bert_config.json", false);
  }
  return out;
}

std::string resolve_model_dir(const std::string& name_or_path, const ResolveOptions& options) {
  return resolve_model(name_or_path, options).dir;
}

}  // namespace tz::hub
