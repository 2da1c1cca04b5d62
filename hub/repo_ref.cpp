// Validation of repo ids, revisions and repo file names (see repo_ref.h for the rules).
#include "hub/repo_ref.h"

#include <cctype>
#include <vector>

#include "hub/hub_error.h"

namespace tz::hub {

namespace {

bool is_name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'; }

// Why `repo_id` is not a valid id, or empty when it is.
std::string repo_id_problem(const std::string& repo_id) {
  if (repo_id.empty()) return "it is empty";
  const size_t slash = repo_id.find('/');
  if (slash != std::string::npos && repo_id.find('/', slash + 1) != std::string::npos)
    return "it has more than one '/' (expected 'org/name')";
  std::vector<std::string> parts{repo_id};
  if (slash != std::string::npos) parts = {repo_id.substr(0, slash), repo_id.substr(slash + 1)};
  for (const std::string& part : parts) {
    if (part.empty()) return "the part before or after '/' is empty";
    for (char c : part)
      if (!is_name_char(c)) return std::string("it has the character '") + c + "' (allowed: letters, digits, '-', '_', '.')";
    if (part.front() == '-' || part.front() == '.' || part.back() == '-' || part.back() == '.')
      return "a part starts or ends with '-' or '.'";
  }
  if (parts.back().size() > 96) return "the name is longer than 96 characters";
  if (repo_id.find("--") != std::string::npos || repo_id.find("..") != std::string::npos)
    return "it contains '--' or '..'";
  if (repo_id.size() >= 4 && repo_id.compare(repo_id.size() - 4, 4, ".git") == 0) return "it ends with '.git'";
  return {};
}

// Why `path` is not a safe relative path of '/'-separated parts, or empty when it is.
std::string relative_path_problem(const std::string& path, size_t max_bytes) {
  if (path.empty()) return "it is empty";
  if (path.size() > max_bytes) return "it is longer than " + std::to_string(max_bytes) + " bytes";
  if (path.front() == '/') return "it is absolute";
  size_t begin = 0;
  while (true) {
    const size_t end = path.find('/', begin);
    const std::string part = path.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
    if (part.empty()) return "it has an empty part ('//' or a trailing '/')";
    if (part == "." || part == "..") return "it has a '" + part + "' part";
    if (end == std::string::npos) break;
    begin = end + 1;
  }
  for (char c : path) {
    if (c == '\\') return "it contains a backslash";
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return "it contains a control character";
  }
  return {};
}

// Why `revision` cannot be used, or empty when it can.
std::string revision_problem(const std::string& revision) {
  std::string problem = relative_path_problem(revision, 255);
  if (problem.empty())
    for (char c : revision)
      if (static_cast<unsigned char>(c) > 0x7e || c == ' ') problem = "it contains a space or a non-ASCII byte";
  return problem;
}

}  // namespace

bool is_commit_hash(const std::string& revision) {
  if (revision.size() != 40) return false;
  for (char c : revision)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

void check_revision(const std::string& revision) {
  const std::string problem = revision_problem(revision);
  if (!problem.empty()) throw HubError(HubErrorKind::InvalidName, "hub: revision '" + revision + "' is not valid: " + problem);
}

void check_repo_filename(const std::string& filename, const std::string& what) {
  const std::string problem = relative_path_problem(filename, 1024);
  if (!problem.empty())
    throw HubError(HubErrorKind::InvalidName, "hub: file name '" + filename + "' (" + what + ") is not a safe relative path: " + problem);
}

void check_repo_id(const std::string& repo_id) {
  const std::string problem = repo_id_problem(repo_id);
  if (!problem.empty()) throw HubError(HubErrorKind::InvalidName, "hub: '" + repo_id + "' is not a Hub repo id: " + problem);
}

RepoRef parse_repo_ref(const std::string& text) {
  RepoRef ref;
  const size_t at = text.find('@');
  ref.repo_id = text.substr(0, at);
  if (at != std::string::npos) ref.revision = text.substr(at + 1);
  const std::string problem = repo_id_problem(ref.repo_id);
  if (!problem.empty())
    throw HubError(HubErrorKind::InvalidName, "hub: '" + text + "' is not a Hub model name (org/name[@revision]): " + problem);
  const std::string revision = revision_problem(ref.revision);
  if (!revision.empty())
    throw HubError(HubErrorKind::InvalidName,
                   "hub: '" + text + "' names the revision '" + ref.revision + "', which is not valid: " + revision);
  return ref;
}

bool is_repo_ref(const std::string& text) {
  try {
    parse_repo_ref(text);
    return true;
  } catch (const HubError&) {
    return false;
  }
}

}  // namespace tz::hub
