// Replacing a whole directory of files (a model directory, a training checkpoint) so that a
// process killed at any moment leaves either the complete old directory or the complete new one,
// never a mix: everything is written into a sibling folder, made durable (fsync), and swapped in
// with one rename. Not here: what goes into the folder (models/*/pretrained.cpp,
// train/checkpoint_dir.cpp); single files are replaced the same way by save_safetensors.
#pragma once

#include <functional>
#include <string>

namespace tz::io {

/// Flushes a file or directory to stable storage (fsync). Throws tz::Error naming the path.
void fsync_path(const std::string& path);

struct ReplaceDirectoryOptions {
  /// Entries of the old directory that `fill` did not write are carried into the new one (as
  /// hard links, so nothing is copied): a README or a tokenizer file beside a model survives a
  /// save_pretrained into the same folder, as with HF.
  bool keep_other_entries = false;
  /// With keep_other_entries: old top-level entries for which this returns true are not carried
  /// over (a save that writes model.safetensors drops the old shards, which would shadow it).
  std::function<bool(const std::string& name)> drop_old_entry;
  /// Runs after the new folder is complete and durable, just before the swap (tests throw or
  /// stop here to simulate a crash).
  std::function<void(const std::string& new_dir)> before_swap;
};

/// Makes `dir` hold exactly what `fill(tmp)` writes into the fresh folder `tmp` (plus, with
/// keep_other_entries, the old directory's other entries). `dir` need not exist. The swap is
/// renameat2(RENAME_EXCHANGE) when `dir` exists (one atomic step; the old folder is deleted
/// afterwards), a plain rename otherwise. Leftover temporary folders of killed processes are
/// removed first. Where the swap cannot be atomic (a file system without RENAME_EXCHANGE; `dir`
/// is the working directory or holds it) the files are renamed into `dir` one by one, each of
/// them atomically. Returns the absolute path of `dir`.
std::string replace_directory(const std::string& dir, const std::function<void(const std::string& tmp)>& fill,
                              const ReplaceDirectoryOptions& options = {});

}  // namespace tz::io
