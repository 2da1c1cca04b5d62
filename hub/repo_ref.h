// Names on the Hub: a model repo id ("org/name" or a legacy "name"), an optional "@revision"
// (a branch, a tag or a commit hash), and the file names inside a repo. These strings become
// parts of cache paths and URLs, so each is validated here before any use.
// Not here: where those paths are (cache_layout.h).
#pragma once

#include <string>

namespace tz::hub {

/// A model on the Hub at a revision.
struct RepoRef {
  std::string repo_id;            ///< "org/name" (or "name")
  std::string revision = "main";  ///< branch, tag or commit hash
};

/// Parses "org/name" or "org/name@revision". Throws HubError(InvalidName) naming the text and
/// the rule it breaks: repo ids follow huggingface_hub (at most 96 characters of letters, digits,
/// '-', '_', '.', one optional '/', no "--" or "..", not starting or ending with '-' or '.', not
/// ending in ".git"); revisions are checked by check_revision.
RepoRef parse_repo_ref(const std::string& text);

/// Throws HubError(InvalidName) unless `repo_id` is a valid repo id (the rules above).
void check_repo_id(const std::string& repo_id);

/// True when `text` parses as a RepoRef.
bool is_repo_ref(const std::string& text);

/// True for a full commit hash: 40 lowercase hex digits.
bool is_commit_hash(const std::string& revision);

/// A revision becomes a path under refs/ ("refs/pr/1" is a valid branch-like name), so it must be
/// 1 to 255 printable ASCII characters, with '/'-separated parts that are neither empty nor "."
/// or "..", and no backslash. Throws HubError(InvalidName).
void check_revision(const std::string& revision);

/// A file name inside a repo ("config.json", "1_Pooling/config.json"): a relative path with
/// non-empty parts other than "." and "..", no backslash or control character, at most 1024
/// bytes. Throws HubError(InvalidName) saying where the name came from (`what`).
void check_repo_filename(const std::string& filename, const std::string& what);

}  // namespace tz::hub
