// Every family of the zoo against HuggingFace's own numbers: every case folder in
// reference/<model_type> for each registered family (bert, convbert, distilbert, electra, ...).
// Forward outputs (logits, hidden states, attentions, losses, pooler output), gradients after
// backward, the 5-step AdamW training traces, fill-mask probes, save/load round trips, and the
// state dict's names and shapes against each checkpoint.
#include <catch2/catch.hpp>

#include <unistd.h>
#include <cmath>
#include <iostream>

#include "autograd/ops.h"
#include "models/registry.h"
#include "nn/optim.h"
#include "tests/models/reference_case.h"

using namespace tz;
using namespace tz::models;
using tz::test::CaseData;

namespace {

std::shared_ptr<PreTrainedModel> load_model(const CaseData& c) {
  LoadOptions opt;
  opt.strict = true;
  opt.verbose = false;
  auto m = from_pretrained(c.dir.string(), opt);
  m->eval();
  return m;
}

void report(const std::string& what, const test::Diff& d) {
  std::cout << "  " << what << ": max abs diff " << d.max_abs << ", max rel diff " << d.max_rel << "\n";
}

// True when every registered family has its reference folder (a failure under
// TZ_REQUIRE_REFERENCE when one is missing, a warning otherwise).
bool have_all_families() {
  bool all = true;
  for (const auto& family : test::reference_families()) all = test::have_reference(family) && all;
  return all;
}

}  // namespace

TEST_CASE("every family has its reference folder with at least the cases its README lists", "[models][reference]") {
  for (const auto& family : test::reference_families()) {
    INFO("family " << family);
    if (!test::have_reference(family)) continue;
    const auto root = test::reference_dir() / family;
    const int64_t listed = test::readme_case_count(root);
    const auto dirs = test::case_dirs(family);
    std::cout << "reference/" << family << ": " << dirs.size() << " cases (README lists " << listed << ")\n";
    CHECK(listed > 0);
    CHECK(static_cast<int64_t>(dirs.size()) >= listed);
    // The family of a case is its config.json's model_type (an alias names the same family).
    for (const auto& dir : dirs) {
      INFO(test::case_label(dir));
      auto config = load_config(dir.string());
      CHECK(models::family(config->model_type).model_type == family);
    }
  }
}

TEST_CASE("every reference case: forward outputs match HuggingFace", "[models][reference]") {
  if (!have_all_families()) return;
  for (const auto& dir : test::all_case_dirs()) {
    CaseData c = test::load_case(dir);
    SECTION(c.name) {
      auto model = load_model(c);
      CHECK(model->architecture() == c.manifest.at("head").get<std::string>());
      // Every input the case records is one the harness passes on (none is silently dropped).
      for (const auto& name : c.manifest.at("inputs")) {
        INFO(c.name << " input " << name);
        const auto& known = test::input_names();
        CHECK(std::find(known.begin(), known.end(), name.get<std::string>()) != known.end());
      }
      Inputs in = test::inputs_from(c);
      in.output_hidden_states = in.output_attentions = true;
      NoGradGuard ng;
      Output out = model->forward(in);
      auto tol = test::tolerance_of(c.manifest.at("tolerance"));
      std::cout << "case " << c.name << ":\n";
      double worst = 0;
      for (const auto& name : c.manifest.at("outputs")) {
        std::string n = name.get<std::string>();
        Tensor ours = out.get(n);
        INFO(c.name << " output " << n);
        REQUIRE(ours.defined());
        test::Diff d = test::compare(ours, c.get(n), tol);
        report(n, d);
        worst = std::max(worst, d.max_abs);
        INFO(d.first_bad);
        CHECK(d.bad == 0);
      }
      std::cout << "case " << c.name << ": every output, max abs diff " << worst << "\n";
    }
  }
}

// The cases the tests below must check: those whose manifest names `key` ("gradients",
// "training"). They must be exactly the cases whose expected.safetensors holds tensors starting
// with `prefix` ("grad.", "param_after."), every family must have at least one, and all families
// together at least `minimum` (the counts the reference folders hold: 9 with gradients, 6 with
// training traces; more may be added). So a renamed manifest key or a lost case fails instead of
// leaving a test with nothing to check.
static void require_cases(const char* key, const char* prefix, size_t minimum) {
  size_t by_manifest = 0, by_data = 0;
  for (const auto& family : test::reference_families()) {
    size_t in_family = 0;
    for (const auto& dir : test::case_dirs(family)) {
      CaseData c = test::load_case(dir);
      by_manifest += c.manifest.contains(key);
      bool has = false;
      for (const auto& name : c.expected.names) has = has || name.rfind(prefix, 0) == 0;
      by_data += has;
      in_family += has;
      INFO("case " << c.name << ": manifest " << (c.manifest.contains(key) ? "has" : "lacks") << " '" << key
                   << "', data " << (has ? "has" : "lacks") << " '" << prefix << "' tensors");
      CHECK(c.manifest.contains(key) == has);
    }
    INFO("family " << family << ": cases with '" << key << "'");
    CHECK(in_family >= 1);
  }
  REQUIRE(by_manifest == by_data);
  REQUIRE(by_manifest >= minimum);
}

TEST_CASE("reference gradients match after backward", "[models][reference][grad]") {
  if (!have_all_families()) return;
  require_cases("gradients", "grad.", 9);
  for (const auto& dir : test::all_case_dirs()) {
    CaseData c = test::load_case(dir);
    if (!c.manifest.contains("gradients")) continue;
    SECTION(c.name) {
      auto model = load_model(c);
      Output out = model->forward(test::inputs_from(c));
      REQUIRE(out.loss.defined());
      out.loss.backward();
      auto tol = test::tolerance_of(c.manifest.at("gradients").at("tolerance"));
      int checked = 0;
      double worst = 0;
      for (auto& [name, p] : model->named_parameters()) {
        INFO(c.name << " grad." << name);
        if (!p.requires_grad()) {  // frozen (DistilBERT's sinusoidal table): no gradient, as torch
          CHECK_FALSE(p.grad().defined());
          if (c.has("grad." + name)) {
            CHECK(raw::max_abs_diff(c.get("grad." + name), raw::zeros(p.shape())) == 0.0);
            ++checked;
          }
          continue;
        }
        REQUIRE(c.has("grad." + name));
        REQUIRE(p.grad().defined());
        test::Diff d = test::compare(p.grad(), c.get("grad." + name), tol);
        worst = std::max(worst, d.max_abs);
        INFO(d.first_bad);
        CHECK(d.bad == 0);
        ++checked;
      }
      std::cout << "case " << c.name << ": " << checked << " gradients, max abs diff " << worst << "\n";
      // Every recorded gradient belongs to a parameter of ours (names and count agree).
      int recorded = 0;
      for (const auto& k : c.expected.names) recorded += k.rfind("grad.", 0) == 0;
      CHECK(recorded == checked);
      CHECK(checked > 0);
    }
  }
}

// A parameter that cannot change the loss (the key projection's bias: softmax is invariant to
// adding the same q.b to every score of a row) has a gradient of pure rounding noise, about 1e-8
// here. AdamW divides by sqrt(v) + eps (1e-6), so that noise still moves it by up to
// lr * |g| / eps per step, in whatever direction torch's summation order happens to give: no other
// implementation reproduces that walk. Such a parameter (every step's gradient below 1e-6 of the
// model's largest), when it misses HF's value, is checked against the weight decay alone, within
// the walk our own noise allows; every other parameter must match HF's value.
TEST_CASE("reference training traces: 5 AdamW steps", "[models][reference][train]") {
  if (!have_all_families()) return;
  require_cases("training", "param_after.", 6);
  for (const auto& dir : test::all_case_dirs()) {
    CaseData c = test::load_case(dir);
    if (!c.manifest.contains("training")) continue;
    SECTION(c.name) {
      auto model = load_model(c);
      model->train();
      optim::AdamWOptions o;
      o.lr = 1e-3;
      o.beta1 = 0.9;
      o.beta2 = 0.999;
      o.eps = 1e-6;
      o.weight_decay = 0.01;
      optim::AdamW opt(model->parameters(), o);
      auto tol = test::tolerance_of(c.manifest.at("training").at("tolerance"));
      const auto params = model->named_parameters();
      std::vector<Tensor> before;
      for (auto& [name, p] : params) before.push_back(raw::clone(p));
      std::vector<double> largest_grad(params.size(), 0.0);  // per parameter, over the steps
      std::vector<bool> noise_only(params.size(), true);
      const int steps = 5;
      for (int k = 0; k < steps; ++k) {
        std::string prefix = "train.step" + std::to_string(k) + ".";
        opt.zero_grad();
        Output out = model->forward(test::inputs_from(c, prefix));
        test::Diff d = test::compare(out.loss, c.get("loss.step" + std::to_string(k)), tol);
        INFO(c.name << " loss.step" << k << " " << d.first_bad);
        CHECK(d.bad == 0);
        out.loss.backward();
        double model_largest = 0;
        std::vector<double> g(params.size(), 0.0);
        for (size_t i = 0; i < params.size(); ++i) {
          const Tensor grad = params[i].second.grad();
          if (grad.defined()) g[i] = raw::max_abs_diff(grad, raw::zeros(grad.shape()));
          model_largest = std::max(model_largest, g[i]);
          largest_grad[i] = std::max(largest_grad[i], g[i]);
        }
        for (size_t i = 0; i < params.size(); ++i) noise_only[i] = noise_only[i] && g[i] < 1e-6 * model_largest;
        opt.step();
      }
      double worst = 0;
      for (size_t i = 0; i < params.size(); ++i) {
        const auto& [name, p] = params[i];
        INFO(c.name << " param_after." << name);
        REQUIRE(c.has("param_after." + name));
        test::Diff d = test::compare(p, c.get("param_after." + name), tol);
        if (d.bad != 0 && noise_only[i] && p.requires_grad()) {
          const Tensor decayed = raw::mul(before[i], std::pow(1.0 - o.lr * o.weight_decay, steps));
          const double walk = steps * o.lr * largest_grad[i] / o.eps;
          std::cout << "  " << name << ": gradient at rounding level (at most " << largest_grad[i]
                    << "), HF's noise walk differs by " << d.max_abs << ": checked against weight decay alone\n";
          CHECK(raw::max_abs_diff(p, decayed) <= tol.atol + walk);
          continue;
        }
        worst = std::max(worst, d.max_abs);
        INFO(d.first_bad);
        CHECK(d.bad == 0);
      }
      std::cout << "case " << c.name << ": training trace, final params max abs diff " << worst << "\n";
    }
  }
}

TEST_CASE("trained-mlm: fill-mask top-5 and held-out loss", "[models][reference][fill-mask]") {
  if (!test::have_reference("convbert/trained-mlm")) return;
  CaseData c = test::load_case(test::reference_dir() / "convbert" / "trained-mlm");
  auto model = load_model(c);
  NoGradGuard ng;
  auto tol = test::tolerance_of(c.manifest.at("tolerance"));
  Output out = model->forward(test::inputs_from(c));
  auto pos = c.get("mask_positions").to_vector<int64_t>();
  const int64_t rows = static_cast<int64_t>(pos.size());
  std::vector<Tensor> picked;
  for (int64_t r = 0; r < rows; ++r) picked.push_back(raw::unsqueeze(raw::select(raw::select(out.logits, 0, r), 0, pos[r]), 0));
  Tensor masked = raw::cat(picked, 0);  // [rows, V]
  test::Diff d = test::compare(masked, c.get("masked_logits"), tol);
  INFO(d.first_bad);
  CHECK(d.bad == 0);
  Tensor probs = raw::softmax(masked, -1);
  auto expected_ids = c.get("top5_ids").to_vector<int64_t>();
  auto expected_p = c.get("top5_probs").to_vector<float>();
  for (int64_t r = 0; r < rows; ++r) {
    auto p = raw::select(probs, 0, r).to_vector<float>();
    std::vector<int64_t> idx(p.size());
    for (size_t i = 0; i < idx.size(); ++i) idx[i] = static_cast<int64_t>(i);
    std::partial_sort(idx.begin(), idx.begin() + 5, idx.end(), [&](int64_t a, int64_t b) { return p[a] > p[b]; });
    for (int k = 0; k < 5; ++k) {
      CHECK(idx[k] == expected_ids[r * 5 + k]);
      CHECK(std::fabs(p[idx[k]] - expected_p[r * 5 + k]) <= 1e-4 + 1e-4 * expected_p[r * 5 + k]);
    }
  }
  CHECK(test::compare(out.loss, c.get("loss"), tol).bad == 0);
  Output held = model->forward(test::inputs_from(c, "heldout."));
  CHECK(test::compare(held.loss, c.get("heldout.loss"), tol).bad == 0);
}

TEST_CASE("save_pretrained then from_pretrained round-trips bit-exactly", "[models][reference][io]") {
  if (!have_all_families()) return;
  auto tmp = std::filesystem::temp_directory_path() / ("tz_roundtrip_" + std::to_string(::getpid()));
  for (const auto& dir : test::all_case_dirs()) {
    CaseData c = test::load_case(dir);
    SECTION(c.name) {
      auto model = load_model(c);
      std::filesystem::remove_all(tmp);
      save_pretrained(*model, tmp.string(), dir.string());
      LoadOptions opt;
      opt.strict = true;
      opt.verbose = false;
      auto again = from_pretrained(tmp.string(), opt);
      auto a = model->state_dict(), b = again->state_dict();
      REQUIRE(a.size() == b.size());
      for (size_t i = 0; i < a.size(); ++i) {
        INFO(c.name << " " << a[i].first);
        CHECK(a[i].first == b[i].first);
        CHECK(raw::max_abs_diff(a[i].second, b[i].second) == 0.0);
      }
      CHECK(std::filesystem::exists(tmp / "vocab.txt"));
      // The saved config reads back to the same JSON, but for torch_dtype: it names what the saved
      // weights are (float32), as HF's save_pretrained writes it.
      nlohmann::json expected = model->config().to_json();
      expected["torch_dtype"] = "float32";
      CHECK(load_config((tmp / "config.json").string())->to_json() == expected);
      std::filesystem::remove_all(tmp);
    }
  }
}

TEST_CASE("named_parameters of each head equal the reference checkpoint's keys and shapes", "[models][reference]") {
  if (!have_all_families()) return;
  for (const auto& dir : test::all_case_dirs()) {
    CaseData c = test::load_case(dir);
    if (c.manifest.at("weights_file") != "model.safetensors") continue;
    SECTION(c.name) {
      auto model = load_model(c);
      io::Checkpoint w = io::load_safetensors((dir / "model.safetensors").string());
      auto sd = model->state_dict();
      std::map<std::string, Shape> ours;
      for (auto& [n, t] : sd) ours[n] = t.shape();
      for (const auto& name : w.names) {
        INFO(c.name << " key " << name);
        REQUIRE(ours.count(name));
        CHECK(ours[name] == w.tensors.at(name).shape());
      }
      size_t expected_keys = w.names.size();
      if (!c.manifest.at("tied_weights_saved").get<bool>()) expected_keys += c.manifest.at("tied_weights").size();
      CHECK(sd.size() == expected_keys);
    }
  }
}
