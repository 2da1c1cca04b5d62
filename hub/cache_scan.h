// The cache as a whole, like `huggingface-cli scan-cache` and `delete-cache`: which repos and
// revisions it holds, their refs and sizes, and removing a revision (its snapshot and the blobs
// no other revision uses) or a whole repo. Not here: the layout's paths (cache_layout.h).
#pragma once

#include <cstdint>
#include <ctime>
#include <string>
#include <vector>

namespace tz::hub {

struct CachedFileInfo {
  std::string name;  ///< relative to the snapshot ("1_Pooling/config.json")
  std::string blob;  ///< the file it resolves to
  int64_t size = 0;
};

struct CachedRevision {
  std::string commit;
  std::vector<std::string> refs;  ///< branches and tags pointing here, sorted
  std::vector<CachedFileInfo> files;
  int64_t size = 0;  ///< distinct blobs of this revision
  std::string snapshot_dir;
};

struct CachedRepo {
  std::string repo_type;  ///< "model", "dataset" or "space"
  std::string repo_id;
  std::string dir;
  std::vector<CachedRevision> revisions;  ///< sorted by commit
  int64_t size = 0;                       ///< distinct blobs of all revisions
  int64_t blob_count = 0;
  std::time_t last_modified = 0;  ///< newest blob
};

struct CacheReport {
  std::string cache_dir;
  std::vector<CachedRepo> repos;       ///< sorted by type, then id
  std::vector<std::string> warnings;   ///< folders skipped as corrupt, and why
  std::vector<std::string> incomplete; ///< partial downloads (blobs/*.incomplete)
  int64_t size = 0;
};

/// Scans `cache_dir`. A missing folder is an empty cache; a repo folder that does not follow the
/// layout (no snapshots/, a broken symlink, a ref naming no snapshot) is skipped with a warning.
CacheReport scan_cache(const std::string& cache_dir);

/// What removing a model (or one of its revisions) deletes.
struct RemovalPlan {
  std::string description;         ///< "revision <commit> (refs: main) of org/name", "org/name (all revisions)"
  std::vector<std::string> paths;  ///< deleted in this order: the repo, or snapshot, refs, markers, then blobs
  int64_t freed = 0;
};

/// Plans removing `what`: "org/name" (the whole repo) or "org/name@revision" (a commit hash or a
/// ref the cache knows). Removing a repo's last revision removes the repo. Throws HubError
/// naming what the cache holds when the repo or revision is not there. Only blobs directly in the
/// repo's blobs/ folder are ever planned for deletion.
RemovalPlan plan_removal(const CacheReport& report, const std::string& what);

/// Deletes the plan's paths (missing ones are skipped).
void execute_removal(const RemovalPlan& plan);

}  // namespace tz::hub
