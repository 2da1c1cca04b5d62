// Scanning the cache and removing from it (see cache_scan.h). Sizes count each blob once per
// repo, as huggingface_hub's scan does; removal deletes refs and snapshots before blobs, so an
// interruption never leaves a snapshot pointing at a deleted blob.
#include "hub/cache_scan.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <system_error>
#include <tuple>

#include "hub/cache_layout.h"
#include "hub/hub_error.h"
#include "hub/repo_ref.h"

namespace fs = std::filesystem;

namespace tz::hub {

namespace {

// A repo folder that does not follow the layout.
struct Corrupt {
  std::string why;
};

std::string read_small_text(const fs::path& path) {
  std::ifstream in(path);
  std::string text(128, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\r')) text.pop_back();
  return text;
}

CachedRepo scan_repo(const fs::path& dir, const std::string& type, const std::string& repo_id) {
  CachedRepo repo;
  repo.repo_type = type;
  repo.repo_id = repo_id;
  repo.dir = dir.string();
  const fs::path snapshots = dir / "snapshots";
  std::error_code ec;
  if (!fs::is_directory(snapshots, ec)) throw Corrupt{"no snapshots folder in " + dir.string()};

  std::map<std::string, std::set<std::string>> refs_by_commit;
  const fs::path refs = dir / "refs";
  if (fs::is_directory(refs, ec)) {
    for (auto it = fs::recursive_directory_iterator(refs, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      if (it->is_regular_file(ec))
        refs_by_commit[read_small_text(it->path())].insert(it->path().lexically_relative(refs).generic_string());
    }
  }

  std::map<std::string, std::pair<int64_t, std::time_t>> blobs;  // canonical path -> size, mtime
  for (const auto& snapshot : fs::directory_iterator(snapshots, ec)) {
    if (!snapshot.is_directory(ec)) throw Corrupt{"a file among the snapshots: " + snapshot.path().string()};
    CachedRevision rev;
    rev.commit = snapshot.path().filename().string();
    rev.snapshot_dir = snapshot.path().string();
    std::set<std::string> rev_blobs;
    for (auto it = fs::recursive_directory_iterator(snapshot.path(), ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      if (it->is_directory(ec)) continue;
      std::error_code ec2;
      const fs::path blob = fs::canonical(it->path(), ec2);
      if (ec2) throw Corrupt{"broken symlink " + it->path().string()};
      if (!blobs.count(blob.string())) {
        const auto size = static_cast<int64_t>(fs::file_size(blob, ec2));
        const auto mtime = fs::last_write_time(blob, ec2);
        const auto sys = std::chrono::time_point_cast<std::chrono::system_clock::duration>(
            mtime - fs::file_time_type::clock::now() + std::chrono::system_clock::now());
        blobs[blob.string()] = {size, std::chrono::system_clock::to_time_t(sys)};
      }
      rev.files.push_back({it->path().lexically_relative(snapshot.path()).generic_string(), blob.string(),
                           blobs[blob.string()].first});
      if (rev_blobs.insert(blob.string()).second) rev.size += blobs[blob.string()].first;
    }
    std::sort(rev.files.begin(), rev.files.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    auto refs_here = refs_by_commit.find(rev.commit);
    if (refs_here != refs_by_commit.end()) {
      rev.refs.assign(refs_here->second.begin(), refs_here->second.end());
      refs_by_commit.erase(refs_here);
    }
    repo.revisions.push_back(std::move(rev));
  }
  if (!refs_by_commit.empty())
    throw Corrupt{"ref '" + *refs_by_commit.begin()->second.begin() + "' names the commit '" +
                  refs_by_commit.begin()->first + "', which has no snapshot, in " + dir.string()};
  std::sort(repo.revisions.begin(), repo.revisions.end(), [](const auto& a, const auto& b) { return a.commit < b.commit; });
  for (const auto& [path, info] : blobs) {
    repo.size += info.first;
    repo.last_modified = std::max(repo.last_modified, info.second);
  }
  repo.blob_count = static_cast<int64_t>(blobs.size());
  return repo;
}

}  // namespace

CacheReport scan_cache(const std::string& cache_dir) {
  CacheReport report;
  report.cache_dir = cache_dir;
  std::error_code ec;
  if (!fs::is_directory(cache_dir, ec)) return report;
  for (const auto& entry : fs::directory_iterator(cache_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name == ".locks" || name == "CACHEDIR.TAG" || name == ".DS_Store" || name == "version.txt") continue;
    const size_t sep = name.find("--");
    const std::string prefix = sep == std::string::npos ? "" : name.substr(0, sep);
    if (!entry.is_directory(ec) || (prefix != "models" && prefix != "datasets" && prefix != "spaces")) {
      report.warnings.push_back("not a cached repo: " + entry.path().string());
      continue;
    }
    std::string repo_id = name.substr(sep + 2);
    for (size_t p; (p = repo_id.find("--")) != std::string::npos;) repo_id.replace(p, 2, "/");
    try {
      report.repos.push_back(scan_repo(entry.path(), prefix.substr(0, prefix.size() - 1), repo_id));
      report.size += report.repos.back().size;
    } catch (const Corrupt& c) {
      report.warnings.push_back("skipped: " + c.why);
    }
    const fs::path blobs = entry.path() / "blobs";
    for (const auto& blob : fs::directory_iterator(blobs, ec))
      if (blob.path().extension() == ".incomplete") report.incomplete.push_back(blob.path().string());
    ec.clear();
  }
  std::sort(report.repos.begin(), report.repos.end(), [](const auto& a, const auto& b) {
    return std::tie(a.repo_type, a.repo_id) < std::tie(b.repo_type, b.repo_id);
  });
  std::sort(report.incomplete.begin(), report.incomplete.end());
  return report;
}

RemovalPlan plan_removal(const CacheReport& report, const std::string& what) {
  const RepoRef ref = parse_repo_ref(what);
  const bool whole = what.find('@') == std::string::npos;
  auto repo = std::find_if(report.repos.begin(), report.repos.end(),
                           [&](const CachedRepo& r) { return r.repo_type == "model" && r.repo_id == ref.repo_id; });
  if (repo == report.repos.end()) {
    // A folder the scan skipped as corrupt can still go as a whole.
    const fs::path dir = fs::path(report.cache_dir) / repo_folder_name(ref.repo_id);
    std::error_code ec;
    if (whole && fs::is_directory(dir, ec)) return RemovalPlan{ref.repo_id + " (a folder the scan skipped)", {dir.string()}, 0};
    throw HubError(HubErrorKind::NotCached, "cache remove: '" + ref.repo_id + "' is not in the cache (" +
                                                report.cache_dir + ")");
  }
  RemovalPlan plan;
  auto target = std::find_if(repo->revisions.begin(), repo->revisions.end(), [&](const CachedRevision& r) {
    return r.commit == ref.revision || std::count(r.refs.begin(), r.refs.end(), ref.revision);
  });
  if (!whole && target == repo->revisions.end()) {
    std::string known;
    for (const auto& r : repo->revisions) {
      known += (known.empty() ? "" : ", ") + r.commit;
      for (const auto& name : r.refs) known += " (" + name + ")";
    }
    throw HubError(HubErrorKind::NotCached, "cache remove: '" + ref.repo_id + "' has no cached revision '" +
                                                ref.revision + "'; cached: " + known);
  }
  if (whole || repo->revisions.size() == 1) {
    plan.description = ref.repo_id + " (all revisions)";
    plan.paths.push_back(repo->dir);
    plan.freed = repo->size;
    return plan;
  }
  std::string refs;
  for (const auto& name : target->refs) refs += (refs.empty() ? "" : ", ") + name;
  plan.description = "revision " + target->commit + (refs.empty() ? "" : " (refs: " + refs + ")") + " of " + ref.repo_id;
  const fs::path dir(repo->dir);
  plan.paths.push_back(target->snapshot_dir);
  for (const auto& name : target->refs) plan.paths.push_back((dir / "refs" / name).string());
  plan.paths.push_back((dir / ".no_exist" / target->commit).string());
  std::set<std::string> kept;
  for (const auto& r : repo->revisions)
    if (r.commit != target->commit)
      for (const auto& f : r.files) kept.insert(f.blob);
  std::error_code ec;
  const fs::path blobs_dir = fs::canonical(dir / "blobs", ec);
  std::set<std::string> planned;
  for (const auto& f : target->files) {
    if (kept.count(f.blob) || !planned.insert(f.blob).second) continue;
    if (ec || fs::path(f.blob).parent_path() != blobs_dir) continue;  // not one of this repo's blobs
    plan.paths.push_back(f.blob);
    plan.freed += f.size;
  }
  return plan;
}

void execute_removal(const RemovalPlan& plan) {
  for (const std::string& path : plan.paths) {
    std::error_code ec;
    fs::remove_all(path, ec);
    if (ec) throw HubError(HubErrorKind::Io, "cache remove: cannot delete '" + path + "': " + ec.message());
  }
}

}  // namespace tz::hub
