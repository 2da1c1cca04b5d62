// Runs a shell command line (for the CLI tests: the built `tensorzoo` with arguments) and returns
// what it wrote to stdout, with its exit code (-1 when it did not exit normally). Shared by the
// tests/cli files so each one does not carry its own popen loop.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <stdexcept>
#include <string>

namespace tz::test {

inline std::string capture_command(const std::string& command, int* exit_code) {
  FILE* f = popen(command.c_str(), "r");
  if (!f) throw std::runtime_error("popen failed for: " + command);
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), f)) > 0) out.append(buf.data(), n);
  const int status = pclose(f);
  *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

}  // namespace tz::test
