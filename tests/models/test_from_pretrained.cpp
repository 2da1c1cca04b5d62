// from_pretrained's loading path: float32 safetensors weights stay in the mapped file (zero copy),
// in-place updates of such weights never reach the file (private copy-on-write mapping), and the
// weights a checkpoint lacks are initialised HF's way from the seed (fast init).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "autograd/grad_mode.h"
#include "models/convbert/heads.h"
#include "models/registry.h"
#include "tensor/io/checkpoint.h"
#include "tensor/ops.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;
using namespace tz;
using namespace tz::convbert;
using namespace tz::models;

namespace {

// The path of the file mapped at `p` in this process ("" for anonymous memory), from /proc/self/maps.
std::string mapping_of(const void* p) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  const auto addr = reinterpret_cast<uintptr_t>(p);
  while (std::getline(maps, line)) {
    uintptr_t lo = 0, hi = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx", &lo, &hi) != 2 || addr < lo || addr >= hi) continue;
    const size_t slash = line.find('/');
    return slash == std::string::npos ? "" : line.substr(slash);
  }
  return "";
}

LoadOptions quiet(const std::string& arch = "", uint64_t seed = 0) {
  LoadOptions o;
  o.architecture = arch;
  o.seed = seed;
  o.verbose = false;
  return o;
}

}  // namespace

TEST_CASE("from_pretrained keeps float32 safetensors weights in the mapped file", "[models][io]") {
  if (!test::have_reference("convbert/tiny-model")) return;
  const fs::path dir = test::reference_dir() / "convbert/tiny-model";
  auto model = from_pretrained(dir.string(), quiet());
  const std::string weights = fs::canonical(dir / "model.safetensors").string();
  int64_t mapped = 0, total = 0;
  for (const auto& [name, p] : model->named_parameters()) {
    ++total;
    INFO(name);
    if (mapping_of(p.data<float>()) == weights) ++mapped;
  }
  CHECK(total > 0);
  CHECK(mapped == total);  // every parameter: tiny-model is a float32 safetensors file
}

TEST_CASE("updating a loaded weight in place leaves the checkpoint file unchanged", "[models][io]") {
  if (!test::have_reference("convbert/tiny-model")) return;
  const fs::path src = test::reference_dir() / "convbert/tiny-model";
  const fs::path dir = fs::temp_directory_path() / ("tz_cow_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  for (const char* f : {"config.json", "model.safetensors"}) fs::copy_file(src / f, dir / f, fs::copy_options::overwrite_existing);
  {
    auto model = from_pretrained(dir.string(), quiet());
    const auto [name, w] = model->named_parameters().front();
    const Tensor before = raw::clone(w);
    {
      NoGradGuard ng;
      raw::add_(w, raw::full(w.shape(), 1.0));  // as an optimizer step would
    }
    CHECK(raw::max_abs_diff(w, raw::add(before, raw::full(w.shape(), 1.0))) == 0.0);
    // The file still holds the old values.
    const io::Checkpoint again = io::load_checkpoint((dir / "model.safetensors").string());
    CHECK(raw::max_abs_diff(again.at(name), before) == 0.0);
  }
  fs::remove_all(dir);
}

TEST_CASE("weights missing from a checkpoint get HF's init from the seed; the rest are the file's", "[models][io]") {
  if (!test::have_reference("convbert/tiny-model")) return;
  const fs::path dir = test::reference_dir() / "convbert/tiny-model";  // a base ConvBertModel checkpoint
  LoadReport report;
  auto a = from_pretrained(dir.string(), quiet("ConvBertForSequenceClassification", 7), &report);
  auto b = from_pretrained(dir.string(), quiet("ConvBertForSequenceClassification", 7));
  auto c = from_pretrained(dir.string(), quiet("ConvBertForSequenceClassification", 8));
  REQUIRE_FALSE(report.missing.empty());
  const io::Checkpoint ck = io::load_checkpoint((dir / "model.safetensors").string());
  const double range = a->config().initializer_range;
  auto param = [](const PreTrainedModel& m, const std::string& name) {
    for (const auto& [n, t] : m.state_dict())
      if (n == name) return t;
    FAIL("no tensor " << name);
    return Tensor();
  };
  for (const auto& name : report.missing) {
    INFO(name);
    const Tensor ta = param(*a, name), tb = param(*b, name), tc = param(*c, name);
    CHECK(raw::max_abs_diff(ta, tb) == 0.0);  // the seed reproduces them
    if (name.size() > 5 && name.compare(name.size() - 5, 5, ".bias") == 0) {
      CHECK(raw::max_abs_diff(ta, raw::zeros(ta.shape())) == 0.0);
    } else {
      CHECK(raw::max_abs_diff(ta, tc) > 0.0);  // another seed draws other values
      const auto v = ta.to_vector<float>();
      double s2 = 0;
      for (float x : v) s2 += static_cast<double>(x) * x;
      const double std = std::sqrt(s2 / static_cast<double>(v.size()));
      CHECK(std > 0.5 * range);
      CHECK(std < 1.5 * range);
    }
  }
  for (const auto& name : ck.names) {
    INFO(name);
    CHECK(raw::max_abs_diff(param(*a, "convbert." + name), ck.at(name)) == 0.0);
  }
}
