// Whole-directory replacement; see atomic_directory.h.
#include "tensor/io/atomic_directory.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "core/error.h"

namespace tz::io {

namespace fs = std::filesystem;

void fsync_path(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  TZ_CHECK(fd >= 0, "fsync: cannot open '", path, "': ", std::strerror(errno));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  TZ_CHECK(rc == 0, "fsync: syncing '", path, "' failed: ", std::strerror(err));
}

namespace {

// "<name>.tmp-<pid>" folders beside `name` whose process is gone: what a killed save left.
void remove_stale_temporaries(const fs::path& parent, const std::string& name) {
  const std::string prefix = name + ".tmp-";
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(parent, ec)) {
    const std::string file = entry.path().filename().string();
    if (file.size() <= prefix.size() || file.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string digits = file.substr(prefix.size());
    if (digits.size() > 9 || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
      continue;
    const pid_t pid = static_cast<pid_t>(std::stol(digits));
    const bool alive = pid == ::getpid() || ::kill(pid, 0) == 0 || errno == EPERM;
    if (!alive) fs::remove_all(entry.path(), ec);
  }
}

// Every regular file and folder under `root`, then `root` itself, flushed to disk.
void sync_tree(const fs::path& root) {
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.is_symlink()) continue;
    if (entry.is_regular_file() || entry.is_directory()) fsync_path(entry.path().string());
  }
  fsync_path(root.string());
}

// Entries of `from` that `to` lacks: folders recreated, files hard-linked (copied where the file
// system cannot link), symlinks copied as links.
void carry_over(const fs::path& from, const fs::path& to,
                const std::function<bool(const std::string&)>& drop = nullptr) {
  for (const auto& entry : fs::directory_iterator(from)) {
    const fs::path target = to / entry.path().filename();
    std::error_code ec;
    if (fs::exists(fs::symlink_status(target, ec))) continue;  // the new save wrote it
    if (drop && drop(entry.path().filename().string())) continue;
    if (entry.is_symlink()) {
      fs::copy_symlink(entry.path(), target);
    } else if (entry.is_directory()) {
      fs::create_directory(target);
      carry_over(entry.path(), target);
    } else if (entry.is_regular_file()) {
      fs::create_hard_link(entry.path(), target, ec);
      if (ec) fs::copy_file(entry.path(), target);
    }
  }
}

// True when `dir` is the working directory or one of its ancestors: swapping it would leave the
// process inside the deleted old folder.
bool holds_working_directory(const fs::path& dir) {
  std::error_code ec;
  const fs::path cwd = fs::canonical(fs::current_path(ec), ec);
  if (ec) return false;
  const fs::path d = fs::canonical(dir, ec);
  if (ec) return false;
  auto [d_end, cwd_end] = std::mismatch(d.begin(), d.end(), cwd.begin(), cwd.end());
  (void)cwd_end;
  return d_end == d.end();
}

// The fallback swap: each entry of `from` renamed over its namesake in `to` (atomic per file).
void move_entries(const fs::path& from, const fs::path& to) {
  for (const auto& entry : fs::directory_iterator(from)) {
    const fs::path target = to / entry.path().filename();
    std::error_code ec;
    if (entry.is_directory() && !entry.is_symlink() && fs::is_directory(fs::symlink_status(target, ec)))
      fs::remove_all(target);  // rename() cannot replace a non-empty folder
    fs::rename(entry.path(), target);
  }
}

}  // namespace

std::string replace_directory(const std::string& dir, const std::function<void(const std::string& tmp)>& fill,
                              const ReplaceDirectoryOptions& options) {
  TZ_CHECK(!dir.empty(), "replace_directory: the directory path is empty");
  fs::path target = fs::absolute(dir).lexically_normal();
  if (target.filename().empty()) target = target.parent_path();  // "dir/" names dir
  std::error_code ec;
  if (fs::is_symlink(target, ec)) target = fs::canonical(target);  // replace what the link points at
  const std::string name = target.filename().string();
  TZ_CHECK(!name.empty() && name != "." && name != "..", "replace_directory: cannot replace '", dir, "'");
  const fs::path parent = target.parent_path();
  fs::create_directories(parent);
  remove_stale_temporaries(parent, name);

  const fs::path tmp = parent / (name + ".tmp-" + std::to_string(::getpid()));
  fs::remove_all(tmp);
  fs::create_directory(tmp);
  // Removes the temporary folder however this function ends; after an exchange it holds the old
  // directory, which is deleted the same way.
  struct RemoveOnExit {
    fs::path path;
    ~RemoveOnExit() {
      std::error_code ignored;
      fs::remove_all(path, ignored);
    }
  } remove_tmp{tmp};

  fill(tmp.string());
  const bool existed = fs::exists(target);
  TZ_CHECK(!existed || fs::is_directory(target), "replace_directory: '", target.string(),
           "' exists and is not a directory");
  if (existed && options.keep_other_entries) carry_over(target, tmp, options.drop_old_entry);
  sync_tree(tmp);
  if (options.before_swap) options.before_swap(tmp.string());

  if (!existed) {
    TZ_CHECK(::rename(tmp.c_str(), target.c_str()) == 0, "replace_directory: cannot rename '", tmp.string(), "' to '",
             target.string(), "': ", std::strerror(errno));
  } else if (holds_working_directory(target) ||
             ::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, target.c_str(), RENAME_EXCHANGE) != 0) {
    move_entries(tmp, target);
  }
  fsync_path(parent.string());
  return target.string();
}

}  // namespace tz::io
