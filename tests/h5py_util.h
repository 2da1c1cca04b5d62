// Running the h5py scripts of the HDF5 tests (tests/io/h5py_files.py, tests/io/h5py_check.py) with
// Debian's python3-h5py: /usr/bin/python3, not a python on PATH that may lack it. When h5py is
// missing, a test skips with a warning, except under CI (TZ_REQUIRE_REFERENCE or CI=true), where
// that is a failure.
#pragma once

#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/test_util.h"

namespace tz::test {

inline bool ci_requires_everything() {
  const char* ci = std::getenv("CI");
  return TZ_REQUIRE_REFERENCE || (ci && std::string(ci) == "true");
}

/// Runs `/usr/bin/python3 <script> <args...>` (script relative to the source tree); returns its
/// exit status, with stdout and stderr in `output`.
inline int run_python(const std::string& script, const std::vector<std::string>& args, std::string& output) {
  std::string cmd = "/usr/bin/python3 '" + std::string(TZ_SOURCE_DIR) + "/" + script + "'";
  for (const auto& a : args) cmd += " '" + a + "'";
  cmd += " 2>&1";
  output.clear();
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return -1;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) output.append(buf, n);
  const int status = ::pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/// True when /usr/bin/python3 imports h5py. Otherwise FAILs under CI, else WARNs and returns false.
inline bool have_h5py() {
  static const int status = std::system("/usr/bin/python3 -c 'import h5py' >/dev/null 2>&1");
  if (status == 0) return true;
  if (ci_requires_everything()) FAIL("h5py is missing: install python3-h5py (scripts/setup.sh does)");
  WARN("h5py is missing (/usr/bin/python3 cannot import it), skipping the h5py cross-checks");
  return false;
}

}  // namespace tz::test
