// Downloads from the fake Hub into a fresh cache, checked file by file against the layout
// huggingface_hub writes, and read back by fake_hub.py's Python lookup (try_to_load_from_cache's
// rules); revisions by branch, tag and commit; what a second resolve asks the network; sharded
// and sentence-transformers repos.
#include <catch2/catch.hpp>

#include "hub/hub_error.h"
#include "tensor/io/sharded_checkpoint.h"
#include "tests/hub/hub_case.h"

using namespace tz;
using namespace tz::test;

namespace {

// Every path under `dir` (files, symlinks and folders), relative and sorted.
std::vector<std::string> tree(const fs::path& dir) {
  std::vector<std::string> out;
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator(); ++it)
    out.push_back(it->path().lexically_relative(dir).generic_string());
  std::sort(out.begin(), out.end());
  return out;
}

int count_requests(const FakeHub& hub, const std::string& method, const std::string& path_part) {
  int n = 0;
  for (const auto& r : hub.requests())
    if (r["method"] == method && r["path"].get<std::string>().find(path_part) != std::string::npos) ++n;
  return n;
}

}  // namespace

TEST_CASE("a download lays out the cache exactly as huggingface_hub does", "[hub][download]") {
  if (!have_reference("convbert/tiny-masked-lm")) return;
  HubCase c;
  const hub::ResolvedModel m = hub::resolve_model(kRepo, c.options());
  const fs::path repo = c.repo_cache();
  CHECK(m.from_hub);
  CHECK(m.downloaded);
  CHECK(m.commit == kMainCommit);
  CHECK(m.dir == (repo / "snapshots" / kMainCommit).string());
  CHECK(m.weights_file == "model.safetensors");
  CHECK(m.files == std::vector<std::string>{"config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json"});
  CHECK(m.absent == std::vector<std::string>{"tokenizer.json", "special_tokens_map.json", "modules.json"});

  // refs/main holds the bare commit hash, as huggingface_hub writes it (no newline).
  CHECK(read_file(repo / "refs" / "main") == kMainCommit);
  const std::string safetensors_etag = hub_etag(reference_case() / "model.safetensors", true);
  std::vector<std::string> expected = {"blobs", "refs", "refs/main", "snapshots", "snapshots/" + kMainCommit,
                                       ".no_exist", ".no_exist/" + kMainCommit};
  for (const std::string f : {"config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json"}) {
    INFO(f);
    const std::string etag = hub_etag(reference_case() / f, f == "model.safetensors");
    const fs::path link = repo / "snapshots" / kMainCommit / f;
    REQUIRE(fs::is_symlink(link));
    CHECK(fs::read_symlink(link).string() == "../../blobs/" + etag);
    CHECK(read_file(repo / "blobs" / etag) == read_file(reference_case() / f));
    expected.push_back("blobs/" + etag);
    expected.push_back("snapshots/" + kMainCommit + "/" + f);
  }
  CHECK(safetensors_etag.size() == 64);
  for (const std::string f : {"tokenizer.json", "special_tokens_map.json", "modules.json"}) {
    CHECK(fs::file_size(repo / ".no_exist" / kMainCommit / f) == 0);
    expected.push_back(".no_exist/" + kMainCommit + "/" + f);
  }
  std::sort(expected.begin(), expected.end());
  CHECK(tree(repo) == expected);  // nothing else: no .incomplete, no temporary files
  CHECK(fs::exists(c.cache / "CACHEDIR.TAG"));
  CHECK(fs::exists(c.cache / ".locks" / "models--tz-test--tiny-mlm" / (safetensors_etag + ".lock")));

  // Python finds what we downloaded, the way huggingface_hub looks files up.
  const auto found = nlohmann::json::parse(
      python("python-lookup " + c.cache.string() + " " + kRepo + " main config.json model.safetensors tokenizer.json pytorch_model.bin"));
  CHECK(found["problems"].empty());
  CHECK(found["files"]["config.json"] == (repo / "snapshots" / kMainCommit / "config.json").string());
  CHECK(found["files"]["model.safetensors"] == (repo / "snapshots" / kMainCommit / "model.safetensors").string());
  CHECK(found["files"]["tokenizer.json"] == "absent");
  CHECK(found["files"]["pytorch_model.bin"].is_null());

  check_same_tensors(io::load_checkpoint(m.dir + "/model.safetensors"),
                     io::load_checkpoint((reference_case() / "model.safetensors").string()));
}

TEST_CASE("a cached model costs one metadata request and no download", "[hub][download]") {
  if (!have_reference("convbert/tiny-masked-lm")) return;
  HubCase c;
  hub::resolve_model(kRepo, c.options());
  c.hub.clear_requests();
  const hub::ResolvedModel again = hub::resolve_model(kRepo, c.options());
  CHECK_FALSE(again.downloaded);
  CHECK(again.commit == kMainCommit);
  // config.json at "main" is asked (the branch may have moved); everything after is pinned to the
  // commit, whose files and absences the cache already knows.
  CHECK(count_requests(c.hub, "HEAD", "/resolve/main/config.json") == 1);
  CHECK(count_requests(c.hub, "HEAD", "/resolve/") == 1);
  CHECK(count_requests(c.hub, "GET", "/") == 0);
}

TEST_CASE("@revision resolves branches, tags and commit hashes", "[hub][download]") {
  if (!have_reference("convbert/tiny-masked-lm")) return;
  HubCase c;
  const fs::path repo = c.repo_cache();
  const hub::ResolvedModel tag = hub::resolve_model(kRepo + "@v1.0", c.options());
  CHECK(tag.commit == kOldCommit);
  CHECK(tag.dir == (repo / "snapshots" / kOldCommit).string());
  CHECK_THAT(read_file(fs::path(tag.dir) / "config.json"), Catch::Contains("\"tz_revision\": \"old\""));
  CHECK(read_file(repo / "refs" / "v1.0") == kOldCommit);

  const hub::ResolvedModel branch = hub::resolve_model(kRepo + "@dev", c.options());
  CHECK(branch.dir == tag.dir);
  CHECK(read_file(repo / "refs" / "dev") == kOldCommit);

  const hub::ResolvedModel main = hub::resolve_model(kRepo, c.options());
  CHECK(main.commit == kMainCommit);
  CHECK_THAT(read_file(fs::path(main.dir) / "config.json"), !Catch::Contains("tz_revision"));
  // The same weights at both commits are one blob.
  CHECK(fs::read_symlink(fs::path(main.dir) / "model.safetensors") ==
        fs::read_symlink(fs::path(tag.dir) / "model.safetensors"));

  c.hub.clear_requests();
  const hub::ResolvedModel commit = hub::resolve_model(kRepo + "@" + kOldCommit, c.options());
  CHECK(commit.dir == tag.dir);
  CHECK_FALSE(fs::exists(repo / "refs" / kOldCommit));  // a commit needs no ref
  CHECK(c.hub.requests().empty());                      // and a cached commit needs no network
}

TEST_CASE("errors say whether the repo, the revision or a file is missing", "[hub][download]") {
  if (!have_reference("convbert/tiny-masked-lm")) return;
  HubCase c;
  auto expect_error = [&](const std::string& name, hub::HubErrorKind kind, const std::vector<std::string>& parts) {
    INFO(name);
    try {
      hub::resolve_model(name, c.options());
      FAIL("no error for " << name);
    } catch (const hub::HubError& e) {
      CHECK(e.kind() == kind);
      for (const auto& p : parts) CHECK_THAT(e.what(), Catch::Contains(p));
    }
  };
  expect_error("tz-test/missing", hub::HubErrorKind::RepoNotFound, {"'tz-test/missing'", "RepoNotFound", "not found"});
  expect_error(kRepo + "@nope", hub::HubErrorKind::RevisionNotFound, {"revision 'nope'", "RevisionNotFound"});
  c.hub.add_file("tz-test/no-weights", kMainCommit, "config.json", "{}");
  c.hub.set_ref("tz-test/no-weights", "main", kMainCommit);
  expect_error("tz-test/no-weights", hub::HubErrorKind::EntryNotFound,
               {"none of these weight files", "model.safetensors", "pytorch_model.bin.index.json", "tf_model.h5"});
  c.hub.add_file("tz-test/no-config", kMainCommit, "model.safetensors", "x");
  c.hub.set_ref("tz-test/no-config", "main", kMainCommit);
  expect_error("tz-test/no-config", hub::HubErrorKind::EntryNotFound, {"no file 'config.json'", "EntryNotFound"});
  expect_error("/nonexistent/model", hub::HubErrorKind::InvalidName, {"is not a directory"});
  expect_error("not a model!", hub::HubErrorKind::InvalidName, {"not a directory either"});

  hub::ResolveOptions dead = c.options();
  dead.endpoint = "http://127.0.0.1:1";
  try {
    hub::resolve_model(kRepo, dead);
    FAIL("no error without a Hub");
  } catch (const hub::HubError& e) {
    CHECK(e.kind() == hub::HubErrorKind::Network);
    CHECK_THAT(e.what(), Catch::Contains("HF_HUB_OFFLINE=1") && Catch::Contains("config.json"));
  }
  // A local folder is returned as it is.
  CHECK(hub::resolve_model_dir(reference_case().string(), c.options()) == reference_case().string());
}

TEST_CASE("a gated model needs HF_TOKEN, which never reaches the CDN", "[hub][download]") {
  if (!have_reference("convbert/tiny-masked-lm")) return;
  HubCase c;
  const std::string gated = "tz-test/gated";
  for (const char* f : {"config.json", "model.safetensors", "vocab.txt"})
    c.hub.copy_file(gated, kMainCommit, f, reference_case() / f);
  c.hub.set_ref(gated, "main", kMainCommit);
  c.hub.gate(gated, "hf_secret");
  try {
    hub::resolve_model(gated, c.options());
    FAIL("a gated model downloaded without a token");
  } catch (const hub::HubError& e) {
    CHECK(e.kind() == hub::HubErrorKind::Unauthorized);
    CHECK_THAT(e.what(), Catch::Contains("HTTP 401 GatedRepo") && Catch::Contains("set HF_TOKEN"));
  }
  {
    ScopedEnv token("HF_TOKEN", "hf_wrong");
    try {
      hub::resolve_model(gated, c.options());
      FAIL("a gated model downloaded with a wrong token");
    } catch (const hub::HubError& e) {
      CHECK(e.kind() == hub::HubErrorKind::Unauthorized);
      CHECK_THAT(e.what(), Catch::Contains("HTTP 403") && Catch::Contains("token from HF_TOKEN was sent"));
    }
  }
  c.hub.clear_requests();
  // The token file, as `huggingface-cli login` leaves it.
  write_file(c.dir.path / "token", "hf_secret\n");
  ScopedEnv token_path("HF_TOKEN_PATH", (c.dir.path / "token").string());
  const hub::ResolvedModel m = hub::resolve_model(gated, c.options());
  CHECK(m.weights_file == "model.safetensors");
  int cdn = 0;
  for (const auto& r : c.hub.requests()) {
    INFO(r.dump());
    if (r["path"].get<std::string>().rfind("/cdn/", 0) == 0) {
      ++cdn;
      CHECK(r["host"].get<std::string>().rfind("localhost:", 0) == 0);
      CHECK(r["auth"].is_null());
    } else {
      CHECK(r["auth"] == "Bearer hf_secret");
    }
  }
  CHECK(cdn == 1);
}

TEST_CASE("sharded weights come with every shard the index names", "[hub][download][sharded]") {
  if (!have_reference("convbert/tiny-masked-lm")) return;
  HubCase c;
  const io::Checkpoint original = io::load_checkpoint((reference_case() / "model.safetensors").string());
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const auto& name : original.names) tensors.emplace_back(name, original.at(name));
  TempDir saved("shards");
  const io::ShardedSave s = io::save_safetensors_sharded(saved.path.string(), tensors, 100000);
  REQUIRE(s.files.size() >= 3);
  const std::string repo_id = "tz-test/sharded";
  c.hub.copy_file(repo_id, kMainCommit, "config.json", reference_case() / "config.json");
  c.hub.copy_file(repo_id, kMainCommit, s.index_file, saved.path / s.index_file);
  for (const auto& f : s.files) c.hub.copy_file(repo_id, kMainCommit, f, saved.path / f);
  c.hub.set_ref(repo_id, "main", kMainCommit);

  const hub::ResolvedModel m = hub::resolve_model(repo_id, c.options());
  CHECK(m.weights_file == "model.safetensors.index.json");
  for (const auto& f : s.files) CHECK(std::count(m.files.begin(), m.files.end(), f) == 1);
  CHECK(std::count(m.absent.begin(), m.absent.end(), "model.safetensors") == 1);
  std::string chosen;
  check_same_tensors(io::load_checkpoint_dir_weights(m.dir, &chosen), original);
  CHECK(chosen == "model.safetensors.index.json");
}

TEST_CASE("sentence-transformers repos bring modules.json and each module's files", "[hub][download]") {
  if (!have_reference("convbert/tiny-masked-lm")) return;
  HubCase c;
  const std::string repo_id = "tz-test/sentence";
  c.hub.copy_file(repo_id, kMainCommit, "config.json", reference_case() / "config.json");
  c.hub.copy_file(repo_id, kMainCommit, "pytorch_model.bin", reference_case() / "model.safetensors");
  c.hub.add_file(repo_id, kMainCommit, "modules.json",
                 R"([{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                     {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
                     {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"},
                     {"idx": 3, "name": "3", "path": "3_Normalize", "type": "sentence_transformers.models.Normalize"}])");
  c.hub.add_file(repo_id, kMainCommit, "1_Pooling/config.json", R"({"pooling_mode_mean_tokens": true})");
  c.hub.add_file(repo_id, kMainCommit, "2_Dense/config.json", R"({"in_features": 32, "out_features": 8})");
  c.hub.add_file(repo_id, kMainCommit, "2_Dense/pytorch_model.bin", "dense weights");
  c.hub.add_file(repo_id, kMainCommit, "sentence_bert_config.json", R"({"max_seq_length": 128})");
  c.hub.set_ref(repo_id, "main", kMainCommit);

  const hub::ResolvedModel m = hub::resolve_model(repo_id, c.options());
  CHECK(m.weights_file == "pytorch_model.bin");
  for (const char* f : {"modules.json", "1_Pooling/config.json", "2_Dense/config.json", "2_Dense/pytorch_model.bin",
                        "sentence_bert_config.json"}) {
    INFO(f);
    CHECK(std::count(m.files.begin(), m.files.end(), f) == 1);
  }
  CHECK(std::count(m.absent.begin(), m.absent.end(), "3_Normalize/config.json") == 1);
  CHECK(std::count(m.absent.begin(), m.absent.end(), "2_Dense/model.safetensors") == 1);
  const fs::path pooling = fs::path(m.dir) / "1_Pooling" / "config.json";
  CHECK(fs::read_symlink(pooling).string().rfind("../../../blobs/", 0) == 0);
  CHECK(read_file(pooling) == R"({"pooling_mode_mean_tokens": true})");
  CHECK(fs::exists(c.cache / "models--tz-test--sentence" / ".no_exist" / kMainCommit / "3_Normalize" / "config.json"));
}
