// A ready test setting for tests/hub: a clean HF environment, a fake Hub serving a model repo
// built from the reference case convbert/tiny-masked-lm at two commits (main, and an older one
// that the tag v1.0 and the branch dev point to), an empty cache, and checks shared by the tests:
// tensors equal to the reference's, and the ETags the Hub gives files (computed by Python).
#pragma once

#include <catch2/catch.hpp>

#include "hub/resolve.h"
#include "tensor/io/checkpoint.h"
#include "tests/hub/fake_hub.h"
#include "tests/test_util.h"

namespace tz::test {

inline const std::string kMainCommit = "1a2b3c4d5e6f708192a3b4c5d6e7f80910111213";
inline const std::string kOldCommit = "f0e1d2c3b4a5968778695a4b3c2d1e0ff0e1d2c3";
inline const std::string kRepo = "tz-test/tiny-mlm";

inline fs::path reference_case() { return reference_dir() / "convbert" / "tiny-masked-lm"; }

/// The Hub's ETag for a file: SHA-256 for LFS (weight) files, the git blob SHA-1 otherwise,
/// computed by Python's hashlib (independently of the code under test).
inline std::string hub_etag(const fs::path& file, bool lfs) {
  int code = 0;
  const std::string expr = lfs ? "hashlib.sha256(d).hexdigest()" : "hashlib.sha1(b\"blob %d\\0\" % len(d) + d).hexdigest()";
  std::string out = capture_command("/usr/bin/python3 -c 'import hashlib,sys; d=open(sys.argv[1],\"rb\").read(); print(" +
                                        expr + ")' " + file.string(), &code);
  REQUIRE(code == 0);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

/// Every tensor of `a` equals the one of the same name in `b`, and they have the same names.
inline void check_same_tensors(const io::Checkpoint& a, const io::Checkpoint& b) {
  REQUIRE(a.tensors.size() == b.tensors.size());
  for (const auto& [name, t] : a.tensors) {
    INFO(name);
    REQUIRE(b.contains(name));
    CHECK(t.shape() == b.at(name).shape());
    if (t.dtype() == DType::Float32) CHECK(t.to_vector<float>() == b.at(name).to_vector<float>());
    else CHECK(t.to_vector<int64_t>() == b.at(name).to_vector<int64_t>());
  }
}

struct HubCase {
  CleanHubEnvironment env;
  TempDir dir{"hubcase"};
  FakeHub hub{dir.path};
  fs::path cache = dir.path / "cache";

  HubCase() {
    for (const char* f : {"config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json"})
      hub.copy_file(kRepo, kMainCommit, f, reference_case() / f);
    // The older commit differs in config.json only: the weights' blob is shared.
    std::string config = read_file(reference_case() / "config.json");
    config.insert(config.find('{') + 1, "\n  \"tz_revision\": \"old\",");
    hub.add_file(kRepo, kOldCommit, "config.json", config);
    hub.copy_file(kRepo, kOldCommit, "model.safetensors", reference_case() / "model.safetensors");
    hub.copy_file(kRepo, kOldCommit, "vocab.txt", reference_case() / "vocab.txt");
    hub.set_ref(kRepo, "main", kMainCommit);
    hub.set_ref(kRepo, "v1.0", kOldCommit);
    hub.set_ref(kRepo, "dev", kOldCommit);
  }

  hub::ResolveOptions options() const {
    hub::ResolveOptions o;
    o.cache_dir = cache.string();
    o.endpoint = hub.endpoint();
    o.quiet = true;
    return o;
  }
  fs::path repo_cache() const { return cache / "models--tz-test--tiny-mlm"; }
};

}  // namespace tz::test
