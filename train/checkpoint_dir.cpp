// Atomic checkpoint folders; see checkpoint_dir.h.
#include "train/checkpoint_dir.h"

#include <algorithm>
#include <filesystem>

#include "tensor/io/atomic_directory.h"

namespace tz::train {

namespace fs = std::filesystem;

CheckpointDir::CheckpointDir(std::string root) : root_(std::move(root)) {}

std::string CheckpointDir::path_for(int64_t step) const {
  return (fs::path(root_) / ("step-" + std::to_string(step))).string();
}

namespace {
// The N of "step-N" (digits only), or -1 for any other name (including "step-N.tmp-...").
int64_t step_of(const std::string& name) {
  if (name.rfind("step-", 0) != 0 || name.size() == 5 || name.size() > 5 + 18) return -1;
  for (size_t i = 5; i < name.size(); ++i)
    if (name[i] < '0' || name[i] > '9') return -1;
  return std::stoll(name.substr(5));
}
}  // namespace

std::vector<int64_t> CheckpointDir::complete_steps(const std::string& marker_file) const {
  std::vector<int64_t> steps;
  std::error_code ec;
  if (!fs::is_directory(root_, ec)) return steps;
  for (const auto& entry : fs::directory_iterator(root_)) {
    int64_t s = step_of(entry.path().filename().string());
    if (s >= 0 && entry.is_directory() && fs::exists(entry.path() / marker_file)) steps.push_back(s);
  }
  std::sort(steps.begin(), steps.end());
  return steps;
}

std::string CheckpointDir::latest(const std::string& marker_file) const {
  auto steps = complete_steps(marker_file);
  return steps.empty() ? "" : path_for(steps.back());
}

std::string CheckpointDir::save(int64_t step, const std::function<void(const std::string&)>& write, int keep,
                                const std::function<void(const std::string&)>& before_rename) {
  fs::create_directories(root_);
  // Leftovers of a crashed save are never valid checkpoints; clear them before starting.
  for (const auto& entry : fs::directory_iterator(root_)) {
    std::string name = entry.path().filename().string();
    if (name.find(".tmp-") != std::string::npos || name.find(".old-") != std::string::npos) fs::remove_all(entry.path());
  }
  const std::string final_dir = path_for(step);
  io::ReplaceDirectoryOptions options;
  options.before_swap = before_rename;
  io::replace_directory(final_dir, write, options);
  if (keep > 0) {
    auto steps = complete_steps();
    for (size_t i = 0; i + static_cast<size_t>(keep) < steps.size(); ++i) fs::remove_all(path_for(steps[i]));
  }
  return final_dir;
}

}  // namespace tz::train
