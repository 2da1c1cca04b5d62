// Test helpers for tests/hub: a scoped environment variable, and FakeHub, which
// runs fake_hub.py (a stand-in for the Hugging Face Hub on 127.0.0.1) as a child process and
// builds the repos it serves. Also python(), to run fake_hub.py's Python-side cache modes.
#pragma once

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/cli/run_cli.h"
#include "tests/test_util.h"

namespace tz::test {

namespace fs = std::filesystem;

inline fs::path fake_hub_script() { return fs::path(TZ_SOURCE_DIR) / "tests" / "hub" / "fake_hub.py"; }

using tz::test::TempDir;

/// Sets (or unsets) an environment variable for the scope, then restores it.
class ScopedEnv {
 public:
  ScopedEnv(const std::string& name, const std::optional<std::string>& value) : name_(name) {
    if (const char* old = std::getenv(name.c_str())) old_ = old;
    if (value) ::setenv(name.c_str(), value->c_str(), 1);
    else ::unsetenv(name.c_str());
  }
  ~ScopedEnv() {
    if (old_) ::setenv(name_.c_str(), old_->c_str(), 1);
    else ::unsetenv(name_.c_str());
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

/// No HF variable of the machine running the tests leaks in: no token, no offline switch, no
/// cache or endpoint, no proxy for the local server.
struct CleanHubEnvironment {
  ScopedEnv vars[11] = {{"HF_TOKEN", std::nullopt},          {"HUGGING_FACE_HUB_TOKEN", std::nullopt},
                        {"HF_TOKEN_PATH", "/nonexistent/tz-token"}, {"HF_HUB_OFFLINE", std::nullopt},
                        {"TRANSFORMERS_OFFLINE", std::nullopt},    {"HF_ENDPOINT", std::nullopt},
                        {"HF_HUB_CACHE", std::nullopt},            {"HUGGINGFACE_HUB_CACHE", std::nullopt},
                        {"HF_HUB_DISABLE_PROGRESS_BARS", std::nullopt}, {"no_proxy", "127.0.0.1,localhost"},
                        {"NO_PROXY", "127.0.0.1,localhost"}};
};

inline std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void write_file(const fs::path& p, const std::string& bytes) {
  fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << bytes;
}

/// Runs fake_hub.py with `args` (already shell-quoted where needed) and returns its stdout.
inline std::string python(const std::string& args, int* code = nullptr) {
  int rc = 0;
  std::string out = capture_command("/usr/bin/python3 " + fake_hub_script().string() + " " + args, &rc);
  if (code) *code = rc;
  else REQUIRE(rc == 0);
  return out;
}

class FakeHub {
 public:
  /// Starts the server on a fresh folder under `root`; waits until it listens.
  explicit FakeHub(const fs::path& root) : root_(root / "hub") {
    fs::create_directories(root_ / "repos");
    const std::string script = fake_hub_script().string(), dir = root_.string(), parent = std::to_string(::getpid());
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::execl("/usr/bin/python3", "python3", script.c_str(), "serve", dir.c_str(), parent.c_str(),
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!fs::exists(root_ / "port")) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        FAIL("fake_hub.py exited before listening (is /usr/bin/python3 there?)");
      }
      if (std::chrono::steady_clock::now() > deadline) FAIL("fake_hub.py did not start listening within 30 s");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    port_ = std::stoi(read_file(root_ / "port"));
  }
  ~FakeHub() { stop(); }
  FakeHub(const FakeHub&) = delete;
  FakeHub& operator=(const FakeHub&) = delete;

  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  fs::path repo_dir(const std::string& repo_id) const { return root_ / "repos" / repo_id; }

  void add_file(const std::string& repo_id, const std::string& commit, const std::string& name, const std::string& bytes) {
    write_file(repo_dir(repo_id) / "commits" / commit / name, bytes);
  }
  void copy_file(const std::string& repo_id, const std::string& commit, const std::string& name, const fs::path& src) {
    add_file(repo_id, commit, name, read_file(src));
  }
  void set_ref(const std::string& repo_id, const std::string& ref, const std::string& commit) {
    write_file(repo_dir(repo_id) / "refs" / ref, commit);
  }
  void gate(const std::string& repo_id, const std::string& token) { write_file(repo_dir(repo_id) / "gated", token); }
  /// The next `n` transfers of the LFS blob with this SHA-256 are cut halfway.
  void cut_transfers(const std::string& sha256, int n) { write_file(root_ / "cut" / sha256, std::to_string(n)); }

  /// Every request so far: {"method", "path", "host", "range", "auth"}.
  std::vector<nlohmann::json> requests() const {
    std::vector<nlohmann::json> out;
    std::istringstream lines(read_file(root_ / "requests.log"));
    for (std::string line; std::getline(lines, line);)
      if (!line.empty()) out.push_back(nlohmann::json::parse(line));
    return out;
  }
  void clear_requests() const { fs::remove(root_ / "requests.log"); }

 private:
  fs::path root_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace tz::test
