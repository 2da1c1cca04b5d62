// One file of a Hub repo into the HF cache, as huggingface_hub's hf_hub_download does it: ask the
// resolve URL for the commit, ETag and size (HEAD), download the blob once (resuming a partial
// one, verifying its size and, for LFS files, its SHA-256), link it into the commit's snapshot,
// and record the branch or tag under refs/. Offline, or when the Hub cannot be reached, the cache
// answers alone. Not here: which files a model needs (resolve.h).
#pragma once

#include <string>

#include "hub/cache_layout.h"

namespace tz::hub {

/// Everything a download needs to know, already decided (resolve.h fills it from ResolveOptions
/// and the environment).
struct HubSettings {
  std::string cache_dir;
  std::string endpoint = "https://huggingface.co";
  std::string token;         ///< sent as "Authorization: Bearer" to the endpoint (never to a CDN)
  std::string token_source;  ///< where the token came from, for messages ("HF_TOKEN", a path)
  std::string token_path;    ///< where a token would be read from, for messages
  bool offline = false;
  /// Why the network is off, for messages ("offline mode (HF_HUB_OFFLINE=1)").
  std::string offline_reason = "offline mode (HF_HUB_OFFLINE=1)";
  bool progress = true;  ///< draw progress bars (only ever on a terminal)
  /// Reconnections within one call after a connection cut mid-transfer (each resumes with a Range
  /// request); 0 leaves the partial blob for the next call to resume.
  int resume_attempts = 3;
  long metadata_timeout_seconds = 10;
  long download_timeout_seconds = 10;
};

/// What became of one file.
struct FileResult {
  CachedFile state = CachedFile::Unknown;  ///< Present or Absent (never Unknown on return)
  std::string path;                        ///< snapshots/<commit>/<file> when Present
  std::string commit;                      ///< the commit the revision resolved to ("" if unknown)
  bool downloaded = false;                 ///< bytes came over the network in this call
  /// When Absent: how that is known ("HTTP 404 EntryNotFound for <url>", or the cache's marker).
  std::string absent_because;
  /// Set when the Hub could not be reached (or refused) and the cache answered instead: the error.
  std::string fallback_reason;
};

/// Brings `filename` of `repo_id` at `revision` into the cache, or finds that the repo lacks it
/// (404 EntryNotFound: recorded as .no_exist/<commit>/<file>, returned as Absent). With
/// settings.offline the network is never used. Throws HubError: RevisionNotFound at once;
/// RepoNotFound, Unauthorized, Network and BadResponse only when the cache has no answer either
/// (a network error then says that HF_HUB_OFFLINE=1 uses the cache); NotCached when offline and
/// the cache has no answer, naming what it looked for; Corrupt for a bad size or SHA-256.
FileResult download_file(const HubSettings& settings, const std::string& repo_id, const std::string& revision,
                         const std::string& filename);

/// The resolve URL of a file: {endpoint}/{repo_id}/resolve/{revision}/{filename}, quoted.
std::string resolve_url(const std::string& endpoint, const std::string& repo_id, const std::string& revision,
                        const std::string& filename);

}  // namespace tz::hub
