// Paths of the HF cache layout and the few writes that keep it consistent: refs replaced
// atomically, snapshot symlinks relative (so a moved or mounted cache stays valid, as
// huggingface_hub makes them), absence markers. Not here: downloading blobs (file_download.cpp).
#include "hub/cache_layout.h"

#include <unistd.h>

#include <atomic>
#include <cctype>
#include <fstream>
#include <sstream>
#include <system_error>

#include "hub/hub_error.h"
#include "hub/repo_ref.h"

namespace fs = std::filesystem;

namespace tz::hub {

namespace {

// A name for a temporary file beside `path`, unique within this process and across processes.
fs::path temporary_beside(const fs::path& path) {
  static std::atomic<unsigned> counter{0};
  return fs::path(path.string() + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
}

void create_dirs(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw HubError(HubErrorKind::Io, "hub: cannot create folder '" + dir.string() + "': " + ec.message());
}

void check_commit(const std::string& commit) {
  if (!is_commit_hash(commit))
    throw HubError(HubErrorKind::InvalidName, "hub: '" + commit + "' is not a commit hash (40 lowercase hex digits)");
}

}  // namespace

std::string repo_folder_name(const std::string& repo_id) {
  std::string name = "models--";
  for (char c : repo_id) {
    if (c == '/') name += "--";
    else name.push_back(c);
  }
  return name;
}

void check_etag(const std::string& etag, const std::string& url) {
  bool ok = !etag.empty() && etag.size() <= 128 && etag[0] != '.';
  for (char c : etag) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.');
  if (!ok)
    throw HubError(HubErrorKind::BadResponse, "hub: the ETag '" + etag + "' of " + url +
                                                  " cannot name a blob (expected 1 to 128 letters, digits, '-', '_' or '.')");
}

RepoCache::RepoCache(const std::string& cache_dir, const std::string& repo_id) : cache_dir_(cache_dir), repo_id_(repo_id) {
  check_repo_id(repo_id);
  if (cache_dir.empty()) throw HubError(HubErrorKind::Io, "hub: the cache folder is an empty path");
  dir_ = cache_dir_ / repo_folder_name(repo_id);
}

fs::path RepoCache::ref_path(const std::string& revision) const {
  check_revision(revision);
  return dir_ / "refs" / revision;
}

fs::path RepoCache::snapshot_dir(const std::string& commit) const {
  check_commit(commit);
  return dir_ / "snapshots" / commit;
}

fs::path RepoCache::snapshot_file(const std::string& commit, const std::string& filename) const {
  check_repo_filename(filename, "snapshot file");
  return snapshot_dir(commit) / filename;
}

fs::path RepoCache::blob_path(const std::string& etag) const {
  check_etag(etag, "the cache");
  return dir_ / "blobs" / etag;
}

fs::path RepoCache::incomplete_path(const std::string& etag) const { return fs::path(blob_path(etag).string() + ".incomplete"); }

fs::path RepoCache::no_exist_path(const std::string& commit, const std::string& filename) const {
  check_commit(commit);
  check_repo_filename(filename, "absence marker");
  return dir_ / ".no_exist" / commit / filename;
}

fs::path RepoCache::lock_path(const std::string& etag) const {
  check_etag(etag, "the cache");
  return cache_dir_ / ".locks" / repo_folder_name(repo_id_) / (etag + ".lock");
}

std::optional<std::string> RepoCache::cached_commit(const std::string& revision) const {
  if (is_commit_hash(revision)) return revision;
  const fs::path path = ref_path(revision);
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return std::nullopt;
  std::ifstream in(path);
  std::string text;
  // A ref holds 40 characters; reading a little more is enough to notice anything else.
  text.resize(64);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  if (!is_commit_hash(text))
    throw HubError(HubErrorKind::Io, "hub: the ref file '" + path.string() + "' holds '" + text.substr(0, 48) +
                                         "', not a commit hash; remove it to resolve the revision again");
  return text;
}

void RepoCache::write_ref(const std::string& revision, const std::string& commit) const {
  check_commit(commit);
  if (revision == commit) return;
  const fs::path path = ref_path(revision);
  try {
    if (cached_commit(revision) == commit) return;
  } catch (const HubError&) {
    // A malformed ref is simply replaced.
  }
  create_dirs(path.parent_path());
  const fs::path tmp = temporary_beside(path);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << commit;
    if (!out.flush()) throw HubError(HubErrorKind::Io, "hub: cannot write '" + tmp.string() + "'");
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw HubError(HubErrorKind::Io, "hub: cannot write the ref '" + path.string() + "'");
  }
}

CachedFile RepoCache::lookup(const std::string& commit, const std::string& filename) const {
  std::error_code ec;
  if (fs::is_regular_file(snapshot_file(commit, filename), ec)) return CachedFile::Present;  // follows the symlink
  if (fs::is_regular_file(no_exist_path(commit, filename), ec)) return CachedFile::Absent;
  return CachedFile::Unknown;
}

void RepoCache::mark_absent(const std::string& commit, const std::string& filename) const {
  const fs::path path = no_exist_path(commit, filename);
  create_dirs(path.parent_path());
  std::ofstream touch(path, std::ios::app);
  if (!touch) throw HubError(HubErrorKind::Io, "hub: cannot create the absence marker '" + path.string() + "'");
}

void RepoCache::link_snapshot_file(const std::string& commit, const std::string& filename, const std::string& etag) const {
  const fs::path pointer = snapshot_file(commit, filename);
  check_etag(etag, "the cache");
  // From snapshots/<commit>/<folders...>/ up to the repo folder, then down into blobs/.
  std::string target = "../../";
  for (char c : filename)
    if (c == '/') target += "../";
  target += "blobs/" + etag;
  create_dirs(pointer.parent_path());
  const fs::path tmp = temporary_beside(pointer);
  std::error_code ec;
  fs::create_symlink(target, tmp, ec);
  if (!ec) fs::rename(tmp, pointer, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw HubError(HubErrorKind::Io, "hub: cannot link '" + pointer.string() + "' to '" + target + "': " + ec.message());
  }
}

void RepoCache::tag_cache_dir() const {
  const fs::path tag = cache_dir_ / "CACHEDIR.TAG";
  std::error_code ec;
  if (fs::exists(tag, ec)) return;
  std::ofstream out(tag);
  out << "Signature: 8a477f597d28d172789f06886806bc55\n"
         "# This folder is a HuggingFace Hub cache (written by tensorzoo or huggingface_hub).\n"
         "# Cache directory tags: https://bford.info/cachedir/\n";
}

}  // namespace tz::hub
