// `tensorzoo download` and `tensorzoo cache list|remove` through the built binary, against the
// fake Hub; and the cache scan's view of repos Python left, corrupt folders included.
#include <catch2/catch.hpp>

#include "hub/cache_scan.h"
#include "hub/hub_error.h"
#include "tests/hub/hub_case.h"

using namespace tz;
using namespace tz::test;

namespace {

struct Run {
  int code;
  std::string out;
};

// The CLI with stdout only (stdout carries the folder; stderr the progress and errors), or both.
Run cli(const std::string& args, bool with_stderr = false) {
  Run r;
  r.out = capture_command(std::string(TZ_CLI_PATH) + " " + args + (with_stderr ? " 2>&1" : " 2>/dev/null"), &r.code);
  return r;
}

}  // namespace

TEST_CASE("download and cache have --help and usage errors", "[hub][cli]") {
  for (const char* cmd : {"download --help", "cache --help"}) {
    Run r = cli(cmd);
    INFO(cmd);
    CHECK(r.code == 0);
    CHECK_THAT(r.out, Catch::Contains("usage: tensorzoo"));
  }
  CHECK(cli("download").code == 2);
  CHECK(cli("cache").code == 2);
  CHECK(cli("cache frobnicate").code == 2);
  Run bad = cli("download not/a/name", true);
  CHECK(bad.code == 1);
  CHECK_THAT(bad.out, Catch::Contains("error: hub: 'not/a/name' is not a Hub model name"));
}

TEST_CASE("tensorzoo download prints the snapshot folder; cache list and remove prune it", "[hub][cli]") {
  if (!have_reference("convbert/tiny-masked-lm")) return;
  HubCase c;
  ScopedEnv endpoint("HF_ENDPOINT", c.hub.endpoint());
  const std::string cache_arg = " --cache-dir " + c.cache.string();
  const fs::path repo = c.repo_cache();

  Run main = cli("download " + kRepo + cache_arg + " --quiet");
  CHECK(main.code == 0);
  CHECK(main.out == (repo / "snapshots" / kMainCommit).string() + "\n");
  Run old = cli("download " + kRepo + "@v1.0" + cache_arg);
  CHECK(old.code == 0);
  CHECK(old.out == (repo / "snapshots" / kOldCommit).string() + "\n");
  cli("download " + kRepo + "@dev" + cache_arg + " --quiet");

  Run list = cli("cache list" + cache_arg);
  CHECK(list.code == 0);
  CHECK_THAT(list.out, Catch::Contains("model " + kRepo) && Catch::Contains(kMainCommit) && Catch::Contains(kOldCommit));
  CHECK_THAT(list.out, Catch::Contains("dev, v1.0") && Catch::Contains("1 repo(s)"));

  const std::string weights_blob = fs::read_symlink(repo / "snapshots" / kOldCommit / "model.safetensors").filename();
  const std::string old_config_blob = fs::read_symlink(repo / "snapshots" / kOldCommit / "config.json").filename();
  Run dry = cli("cache remove " + kRepo + "@v1.0 --dry-run" + cache_arg);
  CHECK(dry.code == 0);
  CHECK_THAT(dry.out, Catch::Contains("would remove revision " + kOldCommit + " (refs: dev, v1.0)"));
  CHECK(fs::exists(repo / "snapshots" / kOldCommit));

  Run removed = cli("cache remove " + kRepo + "@v1.0" + cache_arg);
  CHECK(removed.code == 0);
  CHECK_FALSE(fs::exists(repo / "snapshots" / kOldCommit));
  CHECK_FALSE(fs::exists(repo / "refs" / "v1.0"));
  CHECK_FALSE(fs::exists(repo / "refs" / "dev"));
  CHECK_FALSE(fs::exists(repo / "blobs" / old_config_blob));  // only the old revision used it
  CHECK(fs::exists(repo / "blobs" / weights_blob));           // main still uses it
  CHECK(read_file(repo / "refs" / "main") == kMainCommit);
  // What remains is still a valid cache for Python.
  const auto found = nlohmann::json::parse(python("python-lookup " + c.cache.string() + " " + kRepo + " main config.json"));
  CHECK(found["problems"].empty());
  CHECK(found["files"]["config.json"].is_string());

  Run missing = cli("cache remove " + kRepo + "@nope" + cache_arg, true);
  CHECK(missing.code == 1);
  CHECK_THAT(missing.out, Catch::Contains("has no cached revision 'nope'") && Catch::Contains(kMainCommit + " (main)"));

  Run all = cli("cache remove " + kRepo + cache_arg);
  CHECK(all.code == 0);
  CHECK_FALSE(fs::exists(repo));
  CHECK_THAT(cli("cache list" + cache_arg).out, Catch::Contains("(no cached repos)"));

  ScopedEnv offline("HF_HUB_OFFLINE", "1");
  Run off = cli("download " + kRepo + cache_arg, true);
  CHECK(off.code == 1);
  CHECK_THAT(off.out, Catch::Contains("offline mode (HF_HUB_OFFLINE=1)") && Catch::Contains("config.json"));
}

TEST_CASE("the cache scan reports repos Python left and skips corrupt ones with a warning", "[hub][cache]") {
  if (!have_reference("convbert/tiny-masked-lm")) return;
  TempDir dir("scan");
  const fs::path cache = dir.path / "cache";
  const std::string a(40, 'a'), b(40, 'b');
  python("python-cache " + cache.string() + " tz-test/two " + a + " " + reference_case().string() + " --ref main");
  python("python-cache " + cache.string() + " tz-test/two " + b + " " + reference_case().string() + " --ref v1");
  python("python-cache " + cache.string() + " tz-test/broken " + a + " " + reference_case().string());
  fs::remove(cache / "models--tz-test--broken" / "blobs" /
             fs::read_symlink(cache / "models--tz-test--broken" / "snapshots" / a / "vocab.txt").filename());
  write_file(cache / "models--tz-test--dangling" / "snapshots" / a / ".keep", "");
  write_file(cache / "models--tz-test--dangling" / "refs" / "main", b);
  write_file(cache / "models--tz-test--two" / "blobs" / "abc.incomplete", "partial");

  const hub::CacheReport report = hub::scan_cache(cache.string());
  REQUIRE(report.repos.size() == 1);
  const hub::CachedRepo& two = report.repos[0];
  CHECK(two.repo_id == "tz-test/two");
  CHECK(two.repo_type == "model");
  REQUIRE(two.revisions.size() == 2);
  CHECK(two.revisions[0].commit == a);
  CHECK(two.revisions[0].refs == std::vector<std::string>{"main"});
  CHECK(two.revisions[1].refs == std::vector<std::string>{"v1"});
  // Both revisions hold the same files: the blobs count once.
  int64_t files_size = 0;
  for (const auto& f : two.revisions[0].files) files_size += f.size;
  CHECK(two.revisions[0].size == files_size);
  CHECK(two.size == files_size);
  CHECK(two.blob_count == static_cast<int64_t>(two.revisions[0].files.size()));
  CHECK(report.incomplete.size() == 1);
  REQUIRE(report.warnings.size() == 2);
  CHECK_THAT(report.warnings[0] + report.warnings[1], Catch::Contains("broken symlink") && Catch::Contains("which has no snapshot"));

  // Removing one of two revisions that share every blob frees only the snapshot.
  const hub::RemovalPlan plan = hub::plan_removal(report, "tz-test/two@v1");
  CHECK(plan.freed == 0);
  // A corrupt repo can still be removed whole.
  hub::execute_removal(hub::plan_removal(report, "tz-test/broken"));
  CHECK_FALSE(fs::exists(cache / "models--tz-test--broken"));
  CHECK_THROWS_AS(hub::plan_removal(report, "tz-test/absent"), hub::HubError);
  CHECK(hub::scan_cache((dir.path / "no-such-cache").string()).repos.empty());
}

TEST_CASE("tensorzoo classify --model org/name: from the Hub, then offline from the cache", "[hub][cli]") {
  if (!have_reference("convbert/tiny-seqcls")) return;
  HubCase c;
  const std::string repo = "tz-test/tiny-seqcls", commit = "0123456789abcdef0123456789abcdef01234567";
  const fs::path src = reference_dir() / "convbert" / "tiny-seqcls";
  for (const char* f : {"config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json"})
    c.hub.copy_file(repo, commit, f, src / f);
  c.hub.set_ref(repo, "main", commit);
  ScopedEnv endpoint("HF_ENDPOINT", c.hub.endpoint());
  ScopedEnv cache("HF_HUB_CACHE", c.cache.string());

  const std::string text = " --json 'the cat sat on the mat'";
  Run local = cli("classify --model " + src.string() + text);
  REQUIRE(local.code == 0);
  Run by_name = cli("classify --model " + repo + text);
  CHECK(by_name.code == 0);
  CHECK(by_name.out == local.out);
  CHECK(fs::exists(c.cache / "models--tz-test--tiny-seqcls" / "snapshots" / commit / "model.safetensors"));

  // The Hub gone, offline: the cache answers without a request.
  c.hub.stop();
  ScopedEnv offline("HF_HUB_OFFLINE", "1");
  Run cached = cli("classify --model " + repo + text);
  CHECK(cached.code == 0);
  CHECK(cached.out == local.out);
  Run missing = cli("classify --model tz-test/not-cached" + text, true);
  CHECK(missing.code == 1);
  CHECK_THAT(missing.out, Catch::Contains("tz-test/not-cached"));
}
