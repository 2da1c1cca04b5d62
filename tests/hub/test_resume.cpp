// Interrupted downloads: the fake Hub's CDN cuts a transfer halfway; the partial blob stays as
// blobs/<etag>.incomplete and the next call resumes it with a Range request (or the same call
// does, when reconnections are allowed); a partial file with wrong bytes fails the SHA-256
// check, is removed, and the next call starts afresh.
#include <catch2/catch.hpp>

#include "hub/hub_error.h"
#include "tests/hub/hub_case.h"

using namespace tz;
using namespace tz::test;

namespace {

std::vector<std::string> ranges_asked(const FakeHub& hub, const std::string& sha) {
  std::vector<std::string> out;
  for (const auto& r : hub.requests())
    if (r["method"] == "GET" && r["path"] == "/cdn/" + sha) out.push_back(r["range"].is_null() ? "" : r["range"].get<std::string>());
  return out;
}

}  // namespace

TEST_CASE("a transfer cut halfway is resumed by the next call with a Range request", "[hub][resume]") {
  if (!have_reference("convbert/tiny-masked-lm")) return;
  HubCase c;
  const std::string sha = hub_etag(reference_case() / "model.safetensors", true);
  const fs::path blob = c.repo_cache() / "blobs" / sha;
  const fs::path partial = blob.string() + ".incomplete";
  const auto full_size = static_cast<int64_t>(fs::file_size(reference_case() / "model.safetensors"));
  c.hub.cut_transfers(sha, 1);
  hub::ResolveOptions once = c.options();
  once.resume_attempts = 0;
  try {
    hub::resolve_model(kRepo, once);
    FAIL("the cut transfer was not noticed");
  } catch (const hub::HubError& e) {
    CHECK(e.kind() == hub::HubErrorKind::Network);
    CHECK_THAT(e.what(), Catch::Contains(partial.string()) && Catch::Contains("resumes"));
  }
  REQUIRE(fs::exists(partial));
  const auto kept = static_cast<int64_t>(fs::file_size(partial));
  CHECK(kept > 0);
  CHECK(kept < full_size);
  CHECK_FALSE(fs::exists(blob));
  CHECK_FALSE(fs::exists(c.repo_cache() / "snapshots" / kMainCommit / "model.safetensors"));

  const hub::ResolvedModel m = hub::resolve_model(kRepo, once);
  CHECK(ranges_asked(c.hub, sha) == std::vector<std::string>{"", "bytes=" + std::to_string(kept) + "-"});
  CHECK_FALSE(fs::exists(partial));
  CHECK(read_file(blob) == read_file(reference_case() / "model.safetensors"));
  CHECK(read_file(fs::path(m.dir) / "model.safetensors") == read_file(reference_case() / "model.safetensors"));
}

TEST_CASE("within one call, a cut transfer reconnects and resumes", "[hub][resume]") {
  if (!have_reference("convbert/tiny-masked-lm")) return;
  HubCase c;
  const std::string sha = hub_etag(reference_case() / "model.safetensors", true);
  c.hub.cut_transfers(sha, 2);  // two cuts: halfway, then half of the rest
  const hub::ResolvedModel m = hub::resolve_model(kRepo, c.options());
  const auto asked = ranges_asked(c.hub, sha);
  REQUIRE(asked.size() == 3);
  CHECK(asked[0].empty());
  CHECK(asked[1].rfind("bytes=", 0) == 0);
  CHECK(asked[2].rfind("bytes=", 0) == 0);
  CHECK(asked[1] != asked[2]);
  CHECK(read_file(fs::path(m.dir) / "model.safetensors") == read_file(reference_case() / "model.safetensors"));
  CHECK_FALSE(fs::exists(c.repo_cache() / "blobs" / (sha + ".incomplete")));
}

TEST_CASE("a partial blob with wrong bytes fails the SHA-256 check and is discarded", "[hub][resume]") {
  if (!have_reference("convbert/tiny-masked-lm")) return;
  HubCase c;
  const std::string sha = hub_etag(reference_case() / "model.safetensors", true);
  const fs::path partial = c.repo_cache() / "blobs" / (sha + ".incomplete");
  write_file(partial, std::string(1000, 'x'));  // resumed from byte 1000: the start is wrong
  try {
    hub::resolve_model(kRepo, c.options());
    FAIL("a corrupt blob was accepted");
  } catch (const hub::HubError& e) {
    CHECK(e.kind() == hub::HubErrorKind::Corrupt);
    CHECK_THAT(e.what(), Catch::Contains("SHA-256") && Catch::Contains(sha) && Catch::Contains("model.safetensors"));
  }
  CHECK_FALSE(fs::exists(partial));
  CHECK_FALSE(fs::exists(c.repo_cache() / "blobs" / sha));
  const hub::ResolvedModel m = hub::resolve_model(kRepo, c.options());
  CHECK(read_file(fs::path(m.dir) / "model.safetensors") == read_file(reference_case() / "model.safetensors"));

  // A partial file longer than the blob is restarted from zero.
  HubCase d;
  const fs::path too_long = d.repo_cache() / "blobs" / (sha + ".incomplete");
  write_file(too_long, std::string(static_cast<size_t>(fs::file_size(reference_case() / "model.safetensors")) + 10, 'y'));
  const hub::ResolvedModel m2 = hub::resolve_model(kRepo, d.options());
  CHECK(read_file(fs::path(m2.dir) / "model.safetensors") == read_file(reference_case() / "model.safetensors"));
}
