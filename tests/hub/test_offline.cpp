// Offline: a cache laid out by Python (fake_hub.py python-cache, as huggingface_hub leaves it)
// resolves with HF_HUB_OFFLINE=1 and no server at all; missing files are named with the paths
// looked at; and when the Hub stops answering, a cached model still loads (with a warning).
#include <catch2/catch.hpp>

#include "hub/hub_error.h"
#include "tests/hub/hub_case.h"

using namespace tz;
using namespace tz::test;

namespace {

const std::string kPythonCommit = "0123456789abcdef0123456789abcdef01234567";

// A cache Python left: tiny-masked-lm at kPythonCommit, refs main and v2, tokenizer.json absent.
fs::path python_made_cache(const TempDir& dir) {
  const fs::path cache = dir.path / "pycache";
  python("python-cache " + cache.string() + " tz-test/from-python " + kPythonCommit + " " +
         reference_case().string() + " --ref main --ref v2 --absent tokenizer.json");
  return cache;
}

hub::HubError resolve_error(const std::string& name, const hub::ResolveOptions& options) {
  try {
    hub::resolve_model(name, options);
  } catch (const hub::HubError& e) {
    return e;
  }
  FAIL("no error for " << name);
  return hub::HubError(hub::HubErrorKind::Io, "unreachable");
}

}  // namespace

TEST_CASE("a cache Python left resolves offline, with no server", "[hub][offline]") {
  if (!have_reference("convbert/tiny-masked-lm")) return;
  CleanHubEnvironment env;
  TempDir dir("offline");
  const fs::path cache = python_made_cache(dir);
  ScopedEnv offline("HF_HUB_OFFLINE", "1");
  ScopedEnv hub_cache("HF_HUB_CACHE", cache.string());
  ScopedEnv endpoint("HF_ENDPOINT", "http://127.0.0.1:1");  // nothing listens: any request would fail

  hub::ResolveOptions options;
  options.quiet = true;
  const hub::ResolvedModel m = hub::resolve_model("tz-test/from-python", options);
  const fs::path snapshot = cache / "models--tz-test--from-python" / "snapshots" / kPythonCommit;
  CHECK(m.dir == snapshot.string());
  CHECK(m.commit == kPythonCommit);
  CHECK_FALSE(m.downloaded);
  CHECK(m.weights_file == "model.safetensors");
  CHECK(std::count(m.files.begin(), m.files.end(), "vocab.txt") == 1);
  CHECK(std::count(m.absent.begin(), m.absent.end(), "tokenizer.json") == 1);
  check_same_tensors(io::load_checkpoint(m.dir + "/model.safetensors"),
                     io::load_checkpoint((reference_case() / "model.safetensors").string()));
  CHECK(hub::resolve_model_dir("tz-test/from-python@v2", options) == snapshot.string());
  CHECK(hub::resolve_model_dir("tz-test/from-python@" + kPythonCommit, options) == snapshot.string());
  // Offline never writes to the cache.
  CHECK_FALSE(fs::exists(cache / "CACHEDIR.TAG"));
  CHECK_FALSE(fs::exists(cache / "models--tz-test--from-python" / ".no_exist" / kPythonCommit / "modules.json"));
}

TEST_CASE("offline errors name the missing file and where they looked", "[hub][offline]") {
  if (!have_reference("convbert/tiny-masked-lm")) return;
  CleanHubEnvironment env;
  TempDir dir("offline_err");
  const fs::path cache = python_made_cache(dir);
  const fs::path repo = cache / "models--tz-test--from-python";
  hub::ResolveOptions options;
  options.cache_dir = cache.string();
  options.endpoint = "http://127.0.0.1:1";
  options.quiet = true;
  ScopedEnv offline("HF_HUB_OFFLINE", "1");

  hub::HubError e = resolve_error("tz-test/from-python@v9", options);
  CHECK(e.kind() == hub::HubErrorKind::NotCached);
  CHECK_THAT(e.what(), Catch::Contains("HF_HUB_OFFLINE") && Catch::Contains("'config.json'") &&
                           Catch::Contains((repo / "refs" / "v9").string()));

  e = resolve_error("tz-test/never-downloaded", options);
  CHECK(e.kind() == hub::HubErrorKind::NotCached);
  CHECK_THAT(e.what(), Catch::Contains((cache / "models--tz-test--never-downloaded" / "refs" / "main").string()));

  fs::remove(repo / "snapshots" / kPythonCommit / "model.safetensors");
  e = resolve_error("tz-test/from-python", options);
  CHECK(e.kind() == hub::HubErrorKind::NotCached);
  CHECK_THAT(e.what(), Catch::Contains("none of these weight files") && Catch::Contains(kPythonCommit));

  fs::remove(repo / "snapshots" / kPythonCommit / "config.json");
  e = resolve_error("tz-test/from-python", options);
  CHECK_THAT(e.what(), Catch::Contains((repo / "snapshots" / kPythonCommit / "config.json").string()));
}

TEST_CASE("the offline option works without HF_HUB_OFFLINE", "[hub][offline]") {
  if (!have_reference("convbert/tiny-masked-lm")) return;
  CleanHubEnvironment env;
  TempDir dir("offline_opt");
  const fs::path cache = python_made_cache(dir);
  hub::ResolveOptions options;
  options.cache_dir = cache.string();
  options.endpoint = "http://127.0.0.1:1";
  options.offline = true;
  options.quiet = true;
  CHECK(hub::resolve_model("tz-test/from-python", options).commit == kPythonCommit);
}

TEST_CASE("when the Hub stops answering, a cached model still loads", "[hub][offline]") {
  if (!have_reference("convbert/tiny-masked-lm")) return;
  HubCase c;
  const hub::ResolvedModel online = hub::resolve_model(kRepo, c.options());
  c.hub.stop();
  const hub::ResolvedModel m = hub::resolve_model(kRepo, c.options());
  CHECK(m.dir == online.dir);
  CHECK(m.files == online.files);
  REQUIRE(m.warnings.size() == 1);
  CHECK_THAT(m.warnings[0], Catch::Contains("cached snapshot") && Catch::Contains(kRepo));

  // With HF_HUB_OFFLINE=1 there is no warning: nothing was attempted.
  ScopedEnv offline("HF_HUB_OFFLINE", "1");
  CHECK(hub::resolve_model(kRepo, c.options()).warnings.empty());
}
