// hf_hub_download's cache path, step by step (see file_download.h): the metadata request, the
// cache answer when the Hub cannot give one, and the blob download with resume and verification.
// The Hub's conventions followed here:
//  - HEAD {endpoint}/{repo}/resolve/{revision}/{file} answers with X-Repo-Commit and the file's
//    ETag, or redirects: relative redirects (a renamed repo, the resolve cache) are followed,
//    absolute ones (LFS files on a CDN) are not, and that redirect itself carries X-Repo-Commit,
//    X-Linked-Etag (the SHA-256 of an LFS file) and X-Linked-Size.
//  - Errors carry X-Error-Code: RepoNotFound, RevisionNotFound, EntryNotFound, GatedRepo.
//  - The token goes only to the endpoint's host: a CDN URL is already signed.
#include "hub/file_download.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "hub/http_client.h"
#include "hub/hub_error.h"
#include "hub/progress_bar.h"
#include "hub/repo_ref.h"
#include "hub/sha256.h"

namespace fs = std::filesystem;

namespace tz::hub {

namespace {

// What the metadata request learnt about a file.
struct FileMetadata {
  bool absent = false;   // 404 EntryNotFound
  std::string absent_because;
  std::string commit;    // X-Repo-Commit ("" only when absent and the Hub did not say)
  std::string etag;      // normalized ETag
  int64_t size = -1;
  std::string location;  // where the bytes are (the CDN for LFS files)
};

// Who asked for what, for error messages.
struct Request {
  const HubSettings& settings;
  const std::string& repo_id;
  const std::string& revision;
  const std::string& filename;
};

// An exclusive flock on <cache>/.locks/<repo>/<etag>.lock, the lock huggingface_hub takes
// (its filelock uses flock too), so Python and tensorzoo never write the same blob at once.
class FileLock {
 public:
  explicit FileLock(const fs::path& path) {
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) throw HubError(HubErrorKind::Io, "hub: cannot open the lock file '" + path.string() + "': " + std::strerror(errno));
    while (::flock(fd_, LOCK_EX) != 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd_);
      throw HubError(HubErrorKind::Io, "hub: cannot lock '" + path.string() + "': " + std::strerror(err));
    }
  }
  ~FileLock() { ::close(fd_); }  // closing releases the lock
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_ = -1;
};

// The blob being written; closed on every path out.
class PartialFile {
 public:
  explicit PartialFile(const fs::path& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) fail("open");
    struct stat st;
    if (::fstat(fd_, &st) != 0) fail("stat");
    size_ = st.st_size;
  }
  ~PartialFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  PartialFile(const PartialFile&) = delete;
  PartialFile& operator=(const PartialFile&) = delete;

  int64_t size() const { return size_; }
  void truncate() {
    if (::ftruncate(fd_, 0) != 0) fail("truncate");
    size_ = 0;
  }
  void append(const char* data, size_t n) {
    while (n > 0) {
      const ssize_t w = ::pwrite(fd_, data, n, size_);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) fail("write");
      data += w;
      n -= static_cast<size_t>(w);
      size_ += w;
    }
  }
  void close_synced() {
    if (::fsync(fd_) != 0) fail("flush");
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) fail("close");
  }

 private:
  [[noreturn]] void fail(const char* what) const {
    throw HubError(HubErrorKind::Io, std::string("hub: cannot ") + what + " '" + path_.string() + "': " + std::strerror(errno));
  }
  fs::path path_;
  int fd_ = -1;
  int64_t size_ = 0;
};

// scheme://host[:port] of a URL ("" when it has none).
std::string origin_of(const std::string& url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos) return {};
  const size_t path = url.find_first_of("/?#", scheme + 3);
  return url.substr(0, path);
}

// host[:port], what huggingface_hub compares to decide whether the token may follow a redirect.
std::string netloc_of(const std::string& url) {
  const std::string origin = origin_of(url);
  const size_t scheme = origin.find("://");
  return scheme == std::string::npos ? std::string() : origin.substr(scheme + 3);
}

// A Location header made absolute against the URL it answered.
std::string absolute_location(const std::string& base, const std::string& location) {
  if (location.rfind("http://", 0) == 0 || location.rfind("https://", 0) == 0) return location;
  if (location.rfind("//", 0) == 0) return base.substr(0, base.find("://") + 1) + location;
  if (!location.empty() && location[0] == '/') return origin_of(base) + location;
  std::string dir = base.substr(0, base.find_first_of("?#"));
  dir = dir.substr(0, dir.rfind('/') + 1);
  return dir + location;
}

bool is_relative_location(const std::string& location) {
  return location.find("://") == std::string::npos && location.rfind("//", 0) != 0;
}

// Header values from a server end up in messages: keep them printable and short.
std::string printable(const std::string& s) {
  std::string out;
  for (char c : s.substr(0, 300)) out.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? ' ' : c);
  return out;
}

// ETag: W/"abc" or "abc" -> abc.
std::string normalize_etag(std::string etag) {
  if (etag.rfind("W/", 0) == 0) etag = etag.substr(2);
  while (!etag.empty() && etag.front() == '"') etag.erase(etag.begin());
  while (!etag.empty() && etag.back() == '"') etag.pop_back();
  return etag;
}

// A non-negative decimal byte count, or -1.
int64_t parse_size(const std::string& text) {
  if (text.empty() || text.size() > 18) return -1;
  int64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
  }
  return v;
}

bool is_sha256_hex(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::vector<std::string> request_headers(const HubSettings& s, bool send_token) {
  std::vector<std::string> headers;
  if (send_token && !s.token.empty()) {
    for (char c : s.token)
      if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f)
        throw HubError(HubErrorKind::InvalidName, "hub: the token from " + s.token_source +
                                                      " contains a space, a control character or a non-ASCII byte; it cannot be sent");
    headers.push_back("Authorization: Bearer " + s.token);
  }
  return headers;
}

std::string token_advice(const HubSettings& s) {
  if (s.token.empty())
    return "no token was sent: set HF_TOKEN to a token with read access to it (or run `huggingface-cli login`, "
           "which saves one to " + s.token_path + ")";
  return "the token from " + s.token_source +
         " was sent but has no access: request access on the model's Hub page, or use a token with read access";
}

// The HubError for an HTTP error answer.
HubError error_from_response(const HttpResponse& r, const std::string& url, const Request& req) {
  const std::string code = printable(r.header("X-Error-Code"));
  const std::string message = printable(r.header("X-Error-Message"));
  const std::string where = " (HTTP " + std::to_string(r.status) + (code.empty() ? "" : " " + code) + " for " + url +
                            (message.empty() ? "" : ": " + message) + ")";
  const std::string repo = "'" + req.repo_id + "'";
  if (code == "RevisionNotFound")
    return HubError(HubErrorKind::RevisionNotFound, "hub: revision '" + req.revision + "' not found in " + repo + where +
                                                        "; give a branch, tag or commit hash of the repo");
  if (code == "EntryNotFound")
    return HubError(HubErrorKind::EntryNotFound,
                    "hub: " + repo + " at revision '" + req.revision + "' has no file '" + req.filename + "'" + where);
  if (code == "GatedRepo" || r.status == 401 || r.status == 403) {
    const std::string what = code == "GatedRepo"  ? " is a gated model"
                             : r.status == 403    ? ": access denied"
                                                  : " was not found, or is private or gated";
    return HubError(HubErrorKind::Unauthorized, "hub: " + repo + what + where + "; " + token_advice(req.settings));
  }
  if (code == "RepoNotFound")
    return HubError(HubErrorKind::RepoNotFound, "hub: repository " + repo + " not found on " + req.settings.endpoint +
                                                    where + "; check the name (a private repo also needs HF_TOKEN)");
  if (r.status >= 500 || r.status == 429 || r.status == 408)
    return HubError(HubErrorKind::Network, "hub: the Hub could not serve " + url + where + "; try again later");
  return HubError(HubErrorKind::BadResponse,
                  "hub: unexpected answer for " + url + where +
                      (r.status == 404 ? "; a 404 without X-Error-Code does not come from a Hub: check HF_ENDPOINT" : ""));
}

FileMetadata fetch_metadata(const Request& req) {
  const HubSettings& s = req.settings;
  const std::string first_url = resolve_url(s.endpoint, req.repo_id, req.revision, req.filename);
  std::string url = first_url;
  HttpRequest http;
  http.headers = request_headers(s, true);
  // The true size of the file, not of a compressed transfer.
  http.headers.push_back("Accept-Encoding: identity");
  http.connect_timeout_seconds = http.stall_timeout_seconds = s.metadata_timeout_seconds;
  HttpResponse r;
  for (int hops = 0;; ++hops) {
    http.url = url;
    r = http_head(http);
    const std::string location = r.header("Location");
    if (r.status < 300 || r.status > 399 || location.empty() || !is_relative_location(location)) break;
    if (hops == 10) throw HubError(HubErrorKind::BadResponse, "hub: more than 10 redirects from " + first_url);
    url = absolute_location(url, location);
  }
  FileMetadata m;
  if (r.status >= 400) {
    HubError error = error_from_response(r, url, req);
    if (error.kind() != HubErrorKind::EntryNotFound) throw error;
    m.absent = true;
    m.absent_because = "HTTP 404 EntryNotFound for " + url;
    const std::string commit = r.header("X-Repo-Commit");
    if (is_commit_hash(commit)) m.commit = commit;
    return m;
  }
  const bool redirected = r.status >= 300;
  m.commit = r.header("X-Repo-Commit");
  if (!is_commit_hash(m.commit))
    throw HubError(HubErrorKind::BadResponse,
                   "hub: " + url + " answered without an X-Repo-Commit commit hash (got '" + printable(m.commit) +
                       "'): is HF_ENDPOINT a Hugging Face Hub, and no proxy in between rewriting answers?");
  std::string etag = r.header("X-Linked-Etag");
  if (etag.empty()) etag = r.header("ETag");
  m.etag = normalize_etag(etag);
  if (m.etag.empty()) throw HubError(HubErrorKind::BadResponse, "hub: " + url + " answered without an ETag");
  check_etag(m.etag, url);
  std::string size = r.header("X-Linked-Size");
  if (size.empty() && !redirected) size = r.header("Content-Length");
  m.size = parse_size(size);
  if (m.size < 0)
    throw HubError(HubErrorKind::BadResponse, "hub: " + url + " answered without a valid size (X-Linked-Size or "
                                                  "Content-Length: '" + printable(size) + "')");
  m.location = redirected ? absolute_location(url, r.header("Location")) : url;
  return m;
}

// The cache's answer when the Hub gives none: `error` is why (null when offline by choice).
FileResult from_cache(const RepoCache& cache, const Request& req, const HubError* error) {
  std::string looked_at;
  std::optional<std::string> commit = cache.cached_commit(req.revision);
  if (commit) {
    const CachedFile state = cache.lookup(*commit, req.filename);
    if (state != CachedFile::Unknown) {
      FileResult result;
      result.state = state;
      result.commit = *commit;
      if (state == CachedFile::Present) result.path = cache.snapshot_file(*commit, req.filename).string();
      else result.absent_because = "recorded absent in " + cache.no_exist_path(*commit, req.filename).string();
      if (error) result.fallback_reason = error->what();
      return result;
    }
    looked_at = cache.snapshot_file(*commit, req.filename).string() + " (and the absence marker " +
                cache.no_exist_path(*commit, req.filename).string() + ")";
  } else {
    looked_at = cache.ref_path(req.revision).string() + " (no such ref: the revision was never resolved here)";
  }
  const std::string what = "'" + req.filename + "' of '" + req.repo_id + "' at revision '" + req.revision + "'";
  if (!error)
    throw HubError(HubErrorKind::NotCached, "hub: " + req.settings.offline_reason + " and the cache has no " + what +
                                                "; looked for " + looked_at);
  if (error->kind() == HubErrorKind::RepoNotFound || error->kind() == HubErrorKind::Unauthorized) throw *error;
  throw HubError(error->kind(), std::string(error->what()) +
                                    ". Check the connection, HF_ENDPOINT and proxy settings; HF_HUB_OFFLINE=1 would use "
                                    "the cache alone, but it has no " + what + " either (looked for " + looked_at + ")");
}

void download_blob(const Request& req, const RepoCache& cache, const FileMetadata& m) {
  const HubSettings& s = req.settings;
  const fs::path blob = cache.blob_path(m.etag);
  const fs::path part_path = cache.incomplete_path(m.etag);
  std::error_code ec;
  fs::create_directories(blob.parent_path(), ec);
  if (ec) throw HubError(HubErrorKind::Io, "hub: cannot create '" + blob.parent_path().string() + "': " + ec.message());
  FileLock lock(cache.lock_path(m.etag));
  if (fs::exists(blob, ec)) return;  // another process finished it while we waited

  PartialFile part(part_path);
  if (part.size() > m.size) part.truncate();
  const bool same_host = netloc_of(m.location) == netloc_of(s.endpoint);
  ProgressBar bar(req.filename, m.size, part.size(), s.progress);
  int reconnects_left = s.resume_attempts;
  bool restarted = false;
  while (part.size() < m.size) {
    const int64_t start = part.size();
    int64_t received = 0;  // in this attempt: a cut after progress is worth resuming
    HttpRequest http;
    http.url = m.location;
    http.headers = request_headers(s, same_host);
    if (start > 0) http.headers.push_back("Range: bytes=" + std::to_string(start) + "-");
    http.connect_timeout_seconds = s.metadata_timeout_seconds;
    http.stall_timeout_seconds = s.download_timeout_seconds;
    auto accept = [&](const HttpResponse& r) {
      if (r.status == 200) {
        if (part.size() > 0) part.truncate();  // the server ignored the Range: start over
        return true;
      }
      if (r.status != 206) return false;
      const std::string range = r.header("Content-Range");
      if (range.rfind("bytes " + std::to_string(start) + "-", 0) != 0)
        throw HubError(HubErrorKind::BadResponse, "hub: asked " + m.location + " for bytes from " + std::to_string(start) +
                                                      ", got Content-Range '" + printable(range) + "'");
      return true;
    };
    auto on_data = [&](const char* data, size_t n) {
      if (part.size() + static_cast<int64_t>(n) > m.size)
        throw HubError(HubErrorKind::Corrupt, "hub: " + m.location + " sent more than the " + std::to_string(m.size) +
                                                  " bytes the Hub announced for '" + req.filename + "'");
      part.append(data, n);
      received += static_cast<int64_t>(n);
      bar.update(part.size());
    };
    HttpResponse r;
    try {
      r = http_get(http, accept, on_data);
    } catch (const HubError& e) {
      if (e.kind() != HubErrorKind::Network) throw;
      if (received > 0 && reconnects_left-- > 0) continue;  // it was moving: resume
      throw HubError(HubErrorKind::Network,
                     std::string(e.what()) + "; " + std::to_string(part.size()) + " of " + std::to_string(m.size) +
                         " bytes of '" + req.filename + "' are kept in " + part_path.string() +
                         " and the next download resumes from there");
    }
    if (r.status == 416 && !restarted) {  // the partial file does not fit the blob: start over once
      part.truncate();
      restarted = true;
      continue;
    }
    if (r.status != 200 && r.status != 206) throw error_from_response(r, m.location, req);
    if (part.size() < m.size) {
      if (received > 0 && reconnects_left-- > 0) continue;
      throw HubError(HubErrorKind::Network, "hub: " + m.location + " ended after " + std::to_string(part.size()) +
                                                " of " + std::to_string(m.size) + " bytes; run again to resume");
    }
  }
  bar.finish();
  part.close_synced();

  const int64_t on_disk = static_cast<int64_t>(fs::file_size(part_path, ec));
  if (ec || on_disk != m.size) {
    fs::remove(part_path, ec);
    throw HubError(HubErrorKind::Corrupt, "hub: '" + req.filename + "' downloaded as " + std::to_string(on_disk) +
                                              " bytes, the Hub announced " + std::to_string(m.size) + "; removed, run again");
  }
  // An LFS file's ETag is the SHA-256 of its contents; a git file's is a git object id (SHA-1 of
  // a header and the contents), checked by size only.
  if (is_sha256_hex(m.etag)) {
    const std::string digest = sha256_file_hex(part_path.string());
    if (digest != m.etag) {
      fs::remove(part_path, ec);
      throw HubError(HubErrorKind::Corrupt, "hub: '" + req.filename + "' from " + m.location + " has SHA-256 " + digest +
                                                ", the Hub announced " + m.etag + "; removed the download, run again");
    }
  }
  fs::rename(part_path, blob, ec);
  if (ec) throw HubError(HubErrorKind::Io, "hub: cannot move '" + part_path.string() + "' to '" + blob.string() + "': " + ec.message());
}

}  // namespace

std::string resolve_url(const std::string& endpoint, const std::string& repo_id, const std::string& revision,
                        const std::string& filename) {
  return endpoint + "/" + repo_id + "/resolve/" + url_quote(revision, false) + "/" + url_quote(filename, true);
}

FileResult download_file(const HubSettings& settings, const std::string& repo_id, const std::string& revision,
                         const std::string& filename) {
  check_revision(revision);
  check_repo_filename(filename, "requested from " + repo_id);
  const RepoCache cache(settings.cache_dir, repo_id);
  const Request req{settings, repo_id, revision, filename};

  // A commit never changes: what the cache knows about it needs no confirmation.
  if (is_commit_hash(revision)) {
    FileResult known;
    known.state = cache.lookup(revision, filename);
    known.commit = revision;
    if (known.state == CachedFile::Present) known.path = cache.snapshot_file(revision, filename).string();
    else known.absent_because = "recorded absent in " + cache.no_exist_path(revision, filename).string();
    if (known.state != CachedFile::Unknown) return known;
  }
  if (settings.offline) return from_cache(cache, req, nullptr);

  FileMetadata m;
  try {
    m = fetch_metadata(req);
  } catch (const HubError& e) {
    if (e.kind() == HubErrorKind::RevisionNotFound || e.kind() == HubErrorKind::InvalidName) throw;
    return from_cache(cache, req, &e);
  }

  FileResult result;
  result.commit = m.commit;
  if (m.absent) {
    result.state = CachedFile::Absent;
    result.absent_because = m.absent_because;
    if (!m.commit.empty()) {
      // Best effort, as huggingface_hub: a read-only cache still gets its answer.
      try {
        cache.mark_absent(m.commit, filename);
        cache.write_ref(revision, m.commit);
      } catch (const HubError&) {
      }
    }
    return result;
  }
  const fs::path pointer = cache.snapshot_file(m.commit, filename);
  result.state = CachedFile::Present;
  result.path = pointer.string();
  std::error_code ec;
  if (fs::exists(pointer, ec)) {
    try {
      cache.write_ref(revision, m.commit);
    } catch (const HubError&) {
    }
    return result;
  }
  cache.tag_cache_dir();
  cache.write_ref(revision, m.commit);
  if (!fs::exists(cache.blob_path(m.etag), ec)) {
    download_blob(req, cache, m);
    result.downloaded = true;
  }
  cache.link_snapshot_file(m.commit, filename, m.etag);
  return result;
}

}  // namespace tz::hub
