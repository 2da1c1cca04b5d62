// A Hub repository that holds only tf_model.h5 (as many TF-era checkpoints do): resolving it by name
// fetches tf_model.h5 after finding none of the PyTorch-side files, and from_pretrained by name
// loads it into the same weights as the local folder (reference/convbert-tf/tiny-qa).
#include <catch2/catch.hpp>

#include <algorithm>

#include "models/registry.h"
#include "tests/hub/hub_case.h"
#include "tests/same_bits.h"

using namespace tz;
using namespace tz::test;

TEST_CASE("a TF-only repository is fetched and loaded by name through tf_model.h5", "[hub][download][tf]") {
  if (!have_reference("convbert-tf/tiny-qa")) return;
  const fs::path source = reference_dir() / "convbert-tf" / "tiny-qa";
  HubCase c;
  const std::string repo_id = "tz-test/tf-only";
  for (const char* f : {"config.json", "tf_model.h5", "vocab.txt", "tokenizer_config.json"})
    c.hub.copy_file(repo_id, kMainCommit, f, source / f);
  c.hub.set_ref(repo_id, "main", kMainCommit);

  const hub::ResolvedModel m = hub::resolve_model(repo_id, c.options());
  CHECK(m.weights_file == "tf_model.h5");
  CHECK(std::count(m.files.begin(), m.files.end(), "tf_model.h5") == 1);
  for (const char* f : {"model.safetensors", "pytorch_model.bin"})
    CHECK(std::count(m.absent.begin(), m.absent.end(), f) == 1);

  models::LoadOptions opt;
  opt.verbose = false;
  opt.strict = true;
  opt.hub = c.options();
  opt.hub.offline = true;  // everything is in the cache now
  models::LoadReport report;
  auto by_name = models::from_pretrained(repo_id, opt, &report);
  CHECK(report.weights_file == "tf_model.h5");
  opt.hub = {};
  auto local = models::from_pretrained(source.string(), opt);
  const auto a = by_name->state_dict(), b = local->state_dict();
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    INFO(a[i].first);
    CHECK(same_bits(a[i].second, b[i].second));
  }
}
