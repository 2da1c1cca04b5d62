// The HuggingFace cache layout, shared with Python's huggingface_hub in both directions: a model
// Python downloaded is found here, and one downloaded here is found by Python.
//
//   <cache>/models--org--name/
//     refs/<revision>               the commit hash a branch or tag pointed to when last asked
//     blobs/<etag>                  file contents, named by ETag (SHA-256 for LFS files, the git
//                                   blob SHA-1 otherwise); blobs/<etag>.incomplete while downloading
//     snapshots/<commit>/<file>     relative symlinks to ../../blobs/<etag> (one more ../ per folder)
//     .no_exist/<commit>/<file>     empty files recording that <file> is absent at <commit>
//   <cache>/.locks/models--org--name/<etag>.lock   held while a blob downloads
//   <cache>/CACHEDIR.TAG            marks the folder as a cache for backup tools
//
// Not here: reading the cache as a whole (cache_scan.h), downloading (file_download.h).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace tz::hub {

/// "models--org--name": the folder of a model repo inside the cache.
std::string repo_folder_name(const std::string& repo_id);

/// An ETag becomes a blob's file name, so it must be 1 to 128 letters, digits, '-', '_' or '.',
/// not starting with '.'. Throws HubError(BadResponse) naming `url` otherwise.
void check_etag(const std::string& etag, const std::string& url);

/// What the cache knows about one file at one commit.
enum class CachedFile { Present, Absent, Unknown };

/// One model repo's folder in a cache. Every name passed in is validated before it becomes a path.
class RepoCache {
 public:
  RepoCache(const std::string& cache_dir, const std::string& repo_id);

  const std::filesystem::path& cache_dir() const { return cache_dir_; }
  const std::filesystem::path& dir() const { return dir_; }
  const std::string& repo_id() const { return repo_id_; }

  std::filesystem::path ref_path(const std::string& revision) const;
  std::filesystem::path snapshot_dir(const std::string& commit) const;
  std::filesystem::path snapshot_file(const std::string& commit, const std::string& filename) const;
  std::filesystem::path blob_path(const std::string& etag) const;
  std::filesystem::path incomplete_path(const std::string& etag) const;
  std::filesystem::path no_exist_path(const std::string& commit, const std::string& filename) const;
  std::filesystem::path lock_path(const std::string& etag) const;

  /// The commit `revision` stands for without asking the Hub: itself when it is a commit hash,
  /// else the contents of refs/<revision>; nullopt when there is no such ref. Throws
  /// HubError(Io) when the ref file holds something other than a commit hash.
  std::optional<std::string> cached_commit(const std::string& revision) const;

  /// Records that `revision` points at `commit` (refs/<revision>, replaced atomically). Nothing to
  /// do when `revision` is that commit, or when the ref already says so (so a read-only cache
  /// that is up to date is never written).
  void write_ref(const std::string& revision, const std::string& commit) const;

  /// Present when snapshots/<commit>/<filename> exists (its blob too), Absent when
  /// .no_exist/<commit>/<filename> does, else Unknown.
  CachedFile lookup(const std::string& commit, const std::string& filename) const;

  /// Creates .no_exist/<commit>/<filename>.
  void mark_absent(const std::string& commit, const std::string& filename) const;

  /// Makes snapshots/<commit>/<filename> a relative symlink to blobs/<etag>, replacing any
  /// previous entry atomically.
  void link_snapshot_file(const std::string& commit, const std::string& filename, const std::string& etag) const;

  /// Writes <cache>/CACHEDIR.TAG unless present (failures are ignored: the tag is a courtesy).
  void tag_cache_dir() const;

 private:
  std::filesystem::path cache_dir_;
  std::filesystem::path dir_;
  std::string repo_id_;
};

}  // namespace tz::hub
