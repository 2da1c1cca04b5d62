// HubError: the tz::Error that hub/ throws, with a kind the caller can act on (fall back to a
// local folder, ask for a token, suggest offline mode) without parsing the message. The message
// itself names the repo, the revision, the file and the URL or cache path involved.
// Not here: how errors are detected (http_client.cpp, file_download.cpp).
#pragma once

#include <string>

#include "core/error.h"

namespace tz::hub {

enum class HubErrorKind {
  InvalidName,       ///< not a valid repo id, revision or file name
  RepoNotFound,      ///< the Hub has no such repository (HTTP 404, X-Error-Code RepoNotFound)
  RevisionNotFound,  ///< the repository has no such branch, tag or commit
  EntryNotFound,     ///< the revision has no such file (only for files a model needs)
  Unauthorized,      ///< gated or private: HTTP 401/403, a token is missing or lacks access
  Network,           ///< no answer, a cut connection, a timeout or a server error (5xx)
  NotCached,         ///< offline (or unreachable) and the cache has no copy of a needed file
  BadResponse,       ///< the server's answer lacks the commit, ETag or size headers, or is malformed
  Corrupt,           ///< a download's size or SHA-256 does not match what the Hub announced
  Io,                ///< the cache folder cannot be read or written
};

/// Every error from hub/ is a HubError; catch tz::Error to treat them like any other.
class HubError : public Error {
 public:
  HubError(HubErrorKind kind, const std::string& message) : Error(message), kind_(kind) {}
  HubErrorKind kind() const { return kind_; }

 private:
  HubErrorKind kind_;
};

}  // namespace tz::hub
