// Names as huggingface_hub accepts them (repo ids, revisions, file names), the cache folder and
// token as its constants.py finds them from the environment, and the progress line's text.
#include <catch2/catch.hpp>

#include "hub/cache_layout.h"
#include "hub/environment.h"
#include "hub/hub_error.h"
#include "hub/progress_bar.h"
#include "hub/repo_ref.h"
#include "tests/hub/fake_hub.h"

using namespace tz::hub;
using tz::test::ScopedEnv;

TEST_CASE("repo ids and revisions parse like huggingface_hub's validator", "[hub][names]") {
  RepoRef r = parse_repo_ref("YituTech/conv-bert-base");
  CHECK(r.repo_id == "YituTech/conv-bert-base");
  CHECK(r.revision == "main");
  r = parse_repo_ref("org/name@v1.0");
  CHECK(r.repo_id == "org/name");
  CHECK(r.revision == "v1.0");
  CHECK(parse_repo_ref("bert-base-uncased").repo_id == "bert-base-uncased");
  CHECK(parse_repo_ref("org/name@refs/pr/1").revision == "refs/pr/1");
  CHECK(parse_repo_ref("o/n@0123456789abcdef0123456789abcdef01234567").revision.size() == 40);

  for (const char* bad : {"", "a/b/c", "/name", "org/", "org/-name", "org/name.", "org/na--me", "org/na..me",
                          "org/name.git", "org/na me", "org/name@", "org/name@../x", "org/name@a//b", "org/name@/x",
                          "org/name@a\\b"}) {
    INFO(bad);
    CHECK_FALSE(is_repo_ref(bad));
    try {
      parse_repo_ref(bad);
    } catch (const HubError& e) {
      CHECK(e.kind() == HubErrorKind::InvalidName);
      CHECK_THAT(e.what(), Catch::Contains(std::string("'") + bad));
    }
  }
  CHECK_FALSE(is_repo_ref("org/" + std::string(97, 'x')));
  CHECK(is_repo_ref("org/" + std::string(96, 'x')));
  CHECK(is_commit_hash("0123456789abcdef0123456789abcdef01234567"));
  CHECK_FALSE(is_commit_hash("0123456789ABCDEF0123456789abcdef01234567"));
  CHECK_FALSE(is_commit_hash("main"));
}

TEST_CASE("repo file names must stay inside the repo", "[hub][names]") {
  CHECK_NOTHROW(check_repo_filename("1_Pooling/config.json", "test"));
  for (const char* bad : {"", "/etc/passwd", "../x", "a/../b", "a//b", "a/", "./a", "a\\b", "a\nb"}) {
    INFO(bad);
    CHECK_THROWS_AS(check_repo_filename(bad, "test"), HubError);
  }
}

TEST_CASE("the cache layout names folders as huggingface_hub does", "[hub][names]") {
  CHECK(repo_folder_name("YituTech/conv-bert-base") == "models--YituTech--conv-bert-base");
  CHECK(repo_folder_name("gpt2") == "models--gpt2");
  RepoCache cache("/c", "org/name");
  const std::string commit(40, 'a');
  CHECK(cache.ref_path("main") == "/c/models--org--name/refs/main");
  CHECK(cache.ref_path("refs/pr/1") == "/c/models--org--name/refs/refs/pr/1");
  CHECK(cache.snapshot_file(commit, "1_Pooling/config.json") ==
        "/c/models--org--name/snapshots/" + commit + "/1_Pooling/config.json");
  CHECK(cache.blob_path("abc") == "/c/models--org--name/blobs/abc");
  CHECK(cache.incomplete_path("abc") == "/c/models--org--name/blobs/abc.incomplete");
  CHECK(cache.no_exist_path(commit, "tokenizer.json") == "/c/models--org--name/.no_exist/" + commit + "/tokenizer.json");
  CHECK(cache.lock_path("abc") == "/c/.locks/models--org--name/abc.lock");
  CHECK_THROWS_AS(cache.snapshot_dir("main"), HubError);
  CHECK_THROWS_AS(cache.blob_path("../x"), HubError);
  CHECK_THROWS_AS(check_etag(".hidden", "u"), HubError);
  CHECK_THROWS_AS(check_etag("a/b", "u"), HubError);
}

TEST_CASE("the cache folder comes from HF_HUB_CACHE, HF_HOME, XDG_CACHE_HOME or ~", "[hub][environment]") {
  tz::test::CleanHubEnvironment clean;
  ScopedEnv home("HOME", "/home/tester"), hf_home("HF_HOME", std::nullopt), xdg("XDG_CACHE_HOME", std::nullopt);
  CHECK(read_hub_environment().cache_dir == "/home/tester/.cache/huggingface/hub");
  CHECK(read_hub_environment().token_path == "/nonexistent/tz-token");
  {
    ScopedEnv x("XDG_CACHE_HOME", "/xdg");
    CHECK(read_hub_environment().cache_dir == "/xdg/huggingface/hub");
    ScopedEnv h("HF_HOME", "~/hf");
    CHECK(read_hub_environment().cache_dir == "/home/tester/hf/hub");
    ScopedEnv legacy("HUGGINGFACE_HUB_CACHE", "/legacy");
    CHECK(read_hub_environment().cache_dir == "/legacy");
    ScopedEnv c("HF_HUB_CACHE", "$HOME/cache");
    CHECK(read_hub_environment().cache_dir == "/home/tester/cache");
  }
  {
    ScopedEnv h("HF_HOME", "/hf"), token_path("HF_TOKEN_PATH", std::nullopt);
    CHECK(read_hub_environment().token_path == "/hf/token");
  }
  CHECK(read_hub_environment().endpoint == "https://huggingface.co");
  ScopedEnv e("HF_ENDPOINT", "http://mirror.example/");
  CHECK(read_hub_environment().endpoint == "http://mirror.example");
}

TEST_CASE("offline mode, token and timeouts follow huggingface_hub's variables", "[hub][environment]") {
  tz::test::CleanHubEnvironment clean;
  CHECK_FALSE(read_hub_environment().offline);
  for (const char* yes : {"1", "ON", "yes", "True"}) {
    ScopedEnv o("HF_HUB_OFFLINE", yes);
    CHECK(read_hub_environment().offline);
  }
  {
    ScopedEnv o("HF_HUB_OFFLINE", "0");
    CHECK_FALSE(read_hub_environment().offline);
    ScopedEnv t("TRANSFORMERS_OFFLINE", "1");  // a set HF_HUB_OFFLINE wins
    CHECK_FALSE(read_hub_environment().offline);
  }
  {
    ScopedEnv t("TRANSFORMERS_OFFLINE", "1");
    CHECK(read_hub_environment().offline);
  }

  tz::test::TempDir dir("env");
  tz::test::write_file(dir.path / "token", "  hf_from_file\n");
  ScopedEnv path("HF_TOKEN_PATH", (dir.path / "token").string());
  CHECK(read_hub_environment().token == "hf_from_file");
  CHECK(read_hub_environment().token_source == (dir.path / "token").string());
  ScopedEnv legacy("HUGGING_FACE_HUB_TOKEN", "hf_legacy");
  CHECK(read_hub_environment().token == "hf_legacy");
  ScopedEnv token("HF_TOKEN", "hf_env\n");
  CHECK(read_hub_environment().token == "hf_env");
  CHECK(read_hub_environment().token_source == "HF_TOKEN");

  ScopedEnv timeout("HF_HUB_ETAG_TIMEOUT", "3");
  CHECK(read_hub_environment().metadata_timeout_seconds == 3);
  ScopedEnv bad("HF_HUB_DOWNLOAD_TIMEOUT", "soon");
  CHECK_THROWS_WITH(read_hub_environment(), Catch::Contains("HF_HUB_DOWNLOAD_TIMEOUT") && Catch::Contains("'soon'"));
}

TEST_CASE("expand_user_and_vars works like os.path.expanduser + expandvars", "[hub][environment]") {
  ScopedEnv home("HOME", "/h"), v("TZ_TEST_VAR", "val");
  ScopedEnv unset("TZ_TEST_UNSET", std::nullopt);
  CHECK(expand_user_and_vars("~") == "/h");
  CHECK(expand_user_and_vars("~/x") == "/h/x");
  CHECK(expand_user_and_vars("a~/x") == "a~/x");
  CHECK(expand_user_and_vars("$TZ_TEST_VAR/x/${TZ_TEST_VAR}") == "val/x/val");
  CHECK(expand_user_and_vars("$TZ_TEST_UNSET/x") == "$TZ_TEST_UNSET/x");
  CHECK(expand_user_and_vars("cost$") == "cost$");
}

TEST_CASE("the progress line shows bytes, percentage, rate and ETA", "[hub][progress]") {
  CHECK(format_size(0) == "0B");
  CHECK(format_size(999) == "999B");
  CHECK(format_size(1500) == "1.5K");
  CHECK(format_size(440473133) == "440.5M");
  const std::string line = format_progress_line("model.safetensors", 50000000, 200000000, 10000000.0);
  CHECK_THAT(line, Catch::StartsWith("model.safetensors "));
  CHECK_THAT(line, Catch::Contains("50.0M/200.0M"));
  CHECK_THAT(line, Catch::Contains(" 25% [#####...............]"));
  CHECK_THAT(line, Catch::Contains("10.0M/s ETA 0:15"));
  CHECK_THAT(format_progress_line("f", 0, 36000000000, 1000000.0), Catch::Contains("ETA 10:00:00"));
  CHECK_THAT(format_progress_line(std::string(40, 'n') + ".bin", 1, -1, -1), Catch::StartsWith("...nnnn"));
  CHECK(format_progress_line("f", 5, 10, -1).find("ETA") == std::string::npos);
}
