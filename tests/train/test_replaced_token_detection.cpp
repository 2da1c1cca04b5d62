// Replaced-token detection against HF's numbers: every case of shared/reference/rtd replayed by
// `tensorzoo rtd-step` (step 0's tensors and losses, every gradient, the parameters after one AdamW
// update, the second step), and the pieces on their own: Gumbel-max sampling against a naive loop,
// the position rule, the sharing checks.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "models/registry.h"
#include "tensor/io/checkpoint.h"
#include "tensor/ops.h"
#include "tests/cli/run_cli.h"
#include "tests/test_util.h"
#include "train/replaced_token_detection.h"

namespace fs = std::filesystem;
using namespace tz;

namespace {

std::vector<fs::path> rtd_cases() {
  std::vector<fs::path> dirs;
  for (auto& e : fs::directory_iterator(test::reference_dir() / "rtd"))
    if (e.is_directory() && fs::exists(e.path() / "manifest.json")) dirs.push_back(e.path());
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

struct Tol {
  double atol, rtol;
};

// Elements outside |ours - expected| <= atol + rtol*|expected| (NaN never matches), and the first.
int64_t mismatches(const Tensor& ours, const Tensor& expected, Tol tol, std::string& first) {
  if (ours.shape() != expected.shape()) {
    first = "shape " + shape_str(ours.shape()) + " vs " + shape_str(expected.shape());
    return 1;
  }
  const auto a = raw::to_dtype(raw::contiguous(ours), DType::Float32).to_vector<float>();
  const auto b = raw::to_dtype(raw::contiguous(expected), DType::Float32).to_vector<float>();
  int64_t bad = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = std::fabs(static_cast<double>(a[i]) - b[i]);
    if (!(d <= tol.atol + tol.rtol * std::fabs(static_cast<double>(b[i])))) {
      if (bad++ == 0) first = "element " + std::to_string(i) + ": ours " + std::to_string(a[i]) + ", expected " +
                              std::to_string(b[i]);
    }
  }
  return bad;
}

}  // namespace

TEST_CASE("rtd-step replays every reference case exactly", "[train][rtd][reference]") {
  if (!test::have_reference("rtd")) return;
  const auto cases = rtd_cases();
  REQUIRE(cases.size() >= 2);
  for (const auto& dir : cases) {
    SECTION(dir.filename().string()) {
      std::ifstream mf(dir / "manifest.json");
      const auto manifest = nlohmann::json::parse(mf);
      const fs::path out = fs::temp_directory_path() / ("tz_rtd_" + std::to_string(getpid()) + ".safetensors");
      int code = 0;
      const std::string cmd = std::string(TZ_CLI_PATH) + " rtd-step --generator " + (dir / "generator").string() +
                              " --discriminator " + (dir / "discriminator").string() + " --inputs " +
                              (dir / "expected.safetensors").string() + " --output " + out.string() + " 2>&1";
      const std::string log = test::capture_command(cmd, &code);
      INFO(log);
      REQUIRE(code == 0);
      const io::Checkpoint ours = io::load_safetensors(out.string());
      const io::Checkpoint expected = io::load_safetensors((dir / "expected.safetensors").string());
      fs::remove(out);
      const Tol values{manifest.at("tolerance").at("atol"), manifest.at("tolerance").at("rtol")};
      const Tol grads{manifest.at("gradients").at("tolerance").at("atol"),
                      manifest.at("gradients").at("tolerance").at("rtol")};
      const auto inputs = manifest.at("inputs").get<std::vector<std::string>>();
      int64_t compared = 0;
      for (const auto& name : expected.names) {
        if (std::find(inputs.begin(), inputs.end(), name) != inputs.end()) continue;
        INFO(dir.filename().string() << ": " << name);
        REQUIRE(ours.contains(name));
        Tol tol = name.rfind("grad.", 0) == 0 ? grads : values;
        const bool exact = expected.source_dtype.at(name) == "I64" || name.find("disc_labels") != std::string::npos;
        if (exact) tol = {0, 0};
        if (manifest.contains("tolerance_overrides") && manifest["tolerance_overrides"].contains(name))
          tol = {manifest["tolerance_overrides"][name].at("atol"), manifest["tolerance_overrides"][name].at("rtol")};
        std::string first;
        const int64_t bad = mismatches(ours.at(name), expected.at(name), tol, first);
        INFO(first);
        CHECK(bad == 0);
        ++compared;
      }
      // Every parameter of both models has a gradient and an updated value in the reference.
      CHECK(compared > 100);
      CHECK(ours.names.size() == expected.names.size() - inputs.size());
    }
  }
}

TEST_CASE("gumbel_argmax is the argmax of logits + gumbel noise", "[train][rtd]") {
  Generator gen(5);
  const int64_t N = 7, V = 300;
  Tensor logits = raw::randn({N, V}, gen), noise = raw::rand({N, V}, gen);
  const auto picks = train::gumbel_argmax(logits, noise);
  REQUIRE(picks.size() == static_cast<size_t>(N));
  for (int64_t n = 0; n < N; ++n) {
    int64_t best = 0;
    double best_value = -1e300;
    for (int64_t v = 0; v < V; ++v) {
      const double u = noise.at({n, v});
      const double value = logits.at({n, v}) - std::log(-std::log(u + 1e-9) + 1e-9);
      if (value > best_value) best_value = value, best = v;
    }
    CHECK(picks[static_cast<size_t>(n)] == best);
  }
  // A uniform draw next to 1 makes its entry win (the planted case of the reference data).
  Tensor flat = raw::zeros({1, V}), u = raw::full({1, V}, 0.5);
  raw::fill_(raw::narrow(u, 1, 42, 1), 0.99999994);
  CHECK(train::gumbel_argmax(flat, u)[0] == 42);
  CHECK_THROWS_WITH(train::gumbel_argmax(flat, raw::zeros({2, V})), Catch::Contains("must match the logits"));
}

TEST_CASE("choose_rtd_positions takes floor(0.15 n + 0.5) real, non-special positions", "[train][rtd]") {
  const std::vector<int64_t> ids{101, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 102, 0, 0};
  const std::vector<int64_t> mask{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0};
  const std::vector<int64_t> specials{0, 101, 102, 103};
  Generator gen(3);
  for (int trial = 0; trial < 50; ++trial) {
    auto pos = train::choose_rtd_positions(ids.data(), mask.data(), 17, specials, 0.15, gen);
    REQUIRE(pos.size() == 2);  // n = 13 real non-special positions: floor(1.95 + 0.5) = 2
    CHECK(std::is_sorted(pos.begin(), pos.end()));
    CHECK(pos[0] != pos[1]);
    for (int64_t t : pos) CHECK((t >= 1 && t <= 13));
  }
  const std::vector<int64_t> one{101, 5, 102};
  CHECK(train::choose_rtd_positions(one.data(), nullptr, 3, specials, 0.15, gen) == std::vector<int64_t>{1});
  const std::vector<int64_t> none{101, 102};
  CHECK(train::choose_rtd_positions(none.data(), nullptr, 2, specials, 0.15, gen).empty());
}

TEST_CASE("share_embeddings refuses models that cannot share, naming the difference", "[train][rtd]") {
  auto make = [](int64_t vocab, int64_t embedding, int64_t positions) {
    return models::config_from_json({{"model_type", "convbert"}, {"vocab_size", vocab}, {"hidden_size", 32},
                                     {"embedding_size", embedding}, {"num_hidden_layers", 1}, {"num_attention_heads", 4},
                                     {"intermediate_size", 16}, {"max_position_embeddings", positions}});
  };
  auto disc = models::create(*make(50, 16, 64), "replaced-token-detection", 1);
  auto gen_ok = models::create(*make(50, 16, 64), "masked-lm", 2);
  auto gen_vocab = models::create(*make(60, 16, 64), "masked-lm", 2);
  auto gen_pos = models::create(*make(50, 16, 32), "masked-lm", 2);
  CHECK_THROWS_WITH(train::share_embeddings(*gen_vocab, *disc), Catch::Contains("vocab_size"));
  CHECK_THROWS_WITH(train::share_embeddings(*gen_pos, *disc), Catch::Contains("max_position_embeddings"));
  train::share_embeddings(*gen_ok, *disc);
  // One tensor, one parameter: the generator's tables, its tied decoder and the discriminator's agree.
  auto find = [](const models::PreTrainedModel& m, const std::string& name) {
    for (auto& [n, t] : m.state_dict())
      if (n == name) return t;
    FAIL("no parameter " << name);
    return Tensor();
  };
  const Tensor word = find(*disc, "convbert.embeddings.word_embeddings.weight");
  CHECK(find(*gen_ok, "convbert.embeddings.word_embeddings.weight").data<float>() == word.data<float>());
  CHECK(find(*gen_ok, "generator_lm_head.weight").data<float>() == word.data<float>());
  CHECK(find(*gen_ok, "convbert.embeddings.LayerNorm.bias").data<float>() ==
        find(*disc, "convbert.embeddings.LayerNorm.bias").data<float>());
  const auto all = train::rtd_parameters(*gen_ok, *disc);
  CHECK(all.size() == disc->named_parameters().size() + gen_ok->named_parameters().size() - 5);
}
