// Helpers shared by the test executables: where the HuggingFace golden data lives, and the rule
// that decides between "skip" and "fail" when it is missing (fail under CI, see scripts/test.sh).
#pragma once

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

namespace tz::test {

/// TZ_REFERENCE_DIR from CMake (default ../shared/reference beside the repository).
inline std::filesystem::path reference_dir() { return std::filesystem::path(TZ_REFERENCE_DIR); }

/// True when reference_dir()/sub exists. When it does not: FAILs the test if the build requires
/// the reference data (TZ_REQUIRE_REFERENCE=ON, set by CI), otherwise WARNs and returns false so
/// the caller can return early.
inline bool have_reference(const std::string& sub) {
  auto p = reference_dir() / sub;
  if (std::filesystem::exists(p)) return true;
  if (TZ_REQUIRE_REFERENCE) FAIL("reference data missing: " << p.string());
  WARN("reference data missing, skipping: " << p.string());
  return false;
}

}  // namespace tz::test
