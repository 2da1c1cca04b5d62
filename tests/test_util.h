// Helpers shared by the test executables: where the HuggingFace golden data lives, and the rule
// that decides between "skip" and "fail" when it (or anything else a test needs beyond the build)
// is missing: fail under CI, see scripts/test.sh.
#pragma once

#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iterator>
#include <string>

namespace tz::test {

/// TZ_REFERENCE_DIR from CMake (default ../shared/reference beside the repository).
inline std::filesystem::path reference_dir() { return std::filesystem::path(TZ_REFERENCE_DIR); }

/// True under CI: the build requires the reference data (TZ_REQUIRE_REFERENCE=ON, set by
/// scripts/test.sh when CI=true) or the environment says CI=true. Then nothing may be skipped.
inline bool under_ci() {
  const char* ci = std::getenv("CI");
  return TZ_REQUIRE_REFERENCE || (ci != nullptr && std::string(ci) == "true");
}

/// For a test that needs something beyond the build (`what`: data, packages, MPI): returns
/// `available`; when it is false, FAILs the test under CI, otherwise WARNs so the caller can
/// return early.
inline bool require_or_skip(bool available, const std::string& what) {
  if (available) return true;
  if (under_ci()) FAIL("cannot run under CI: " << what);
  WARN("skipping: " << what);
  return false;
}

/// True when reference_dir()/sub exists. When it does not: FAILs the test under CI, otherwise
/// WARNs and returns false so the caller can return early.
inline bool have_reference(const std::string& sub) {
  auto p = reference_dir() / sub;
  return require_or_skip(std::filesystem::exists(p), "reference data missing: " + p.string());
}

/// A fresh folder under the system's temporary directory, removed with everything in it at the
/// end of the scope. `tag` makes leftovers of a crashed run recognisable.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& tag = "test") {
    static int counter = 0;
    path = std::filesystem::temp_directory_path() /
           ("tz_" + tag + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string operator/(const std::string& name) const { return (path / name).string(); }
  size_t file_count() const {
    return static_cast<size_t>(std::distance(std::filesystem::directory_iterator(path), {}));
  }
};

}  // namespace tz::test
