// ConvBERT against HuggingFace's own numbers: every case folder in reference/convbert.
// Forward outputs (logits, hidden states, attentions, loss), gradients after backward, the
// 5-step AdamW training traces, fill-mask probes, and save/load round trips.
#include <catch2/catch.hpp>

#include <unistd.h>
#include <iostream>

#include "autograd/ops.h"
#include "models/convbert/pretrained.h"
#include "nn/optim.h"
#include "tests/models/reference_case.h"

using namespace tz;
using namespace tz::convbert;
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

// Output tensor by reference name ("logits", "hidden_states.1", "attentions.0", "loss", ...).
Tensor output_named(const Output& out, const std::string& name) {
  if (name == "logits") return out.logits;
  if (name == "last_hidden_state") return out.last_hidden_state;
  if (name == "start_logits") return out.start_logits;
  if (name == "end_logits") return out.end_logits;
  if (name == "loss") return out.loss;
  auto dot = name.find('.');
  if (dot != std::string::npos) {
    size_t i = std::stoul(name.substr(dot + 1));
    const auto& list = name.substr(0, dot) == "hidden_states" ? out.hidden_states : out.attentions;
    if (i < list.size()) return list[i];
  }
  return Tensor();
}

void report(const std::string& what, const test::Diff& d) {
  std::cout << "  " << what << ": max abs diff " << d.max_abs << ", max rel diff " << d.max_rel << "\n";
}

}  // namespace

TEST_CASE("every reference case: forward outputs match HuggingFace", "[models][reference]") {
  if (!test::have_reference("convbert")) return;
  auto dirs = test::case_dirs();
  REQUIRE(dirs.size() >= 10);
  for (const auto& dir : dirs) {
    CaseData c = test::load_case(dir);
    SECTION(c.name) {
      auto model = load_model(c);
      CHECK(model->architecture() == c.manifest.at("head").get<std::string>());
      Inputs in = test::inputs_from(c);
      in.output_hidden_states = in.output_attentions = true;
      NoGradGuard ng;
      Output out = model->forward(in);
      auto tol = test::tolerance_of(c.manifest.at("tolerance"));
      std::cout << "case " << c.name << ":\n";
      for (const auto& name : c.manifest.at("outputs")) {
        std::string n = name.get<std::string>();
        Tensor ours = output_named(out, n);
        INFO(c.name << " output " << n);
        REQUIRE(ours.defined());
        test::Diff d = test::compare(ours, c.get(n), tol);
        report(n, d);
        INFO(d.first_bad);
        CHECK(d.bad == 0);
      }
    }
  }
}

// The cases the tests below must check: those whose manifest names `key` ("gradients",
// "training"). They must be exactly the cases whose expected.safetensors holds tensors starting
// with `prefix` ("grad.", "param_after."), and at least `minimum` of them (the reference README
// lists three with gradients and two with training traces; more may be added). So a renamed
// manifest key or a lost case fails instead of leaving a test with nothing to check.
static void require_cases(const char* key, const char* prefix, size_t minimum) {
  size_t by_manifest = 0, by_data = 0;
  for (const auto& dir : test::case_dirs()) {
    CaseData c = test::load_case(dir);
    by_manifest += c.manifest.contains(key);
    bool has = false;
    for (const auto& name : c.expected.names) has = has || name.rfind(prefix, 0) == 0;
    by_data += has;
    INFO("case " << c.name << ": manifest " << (c.manifest.contains(key) ? "has" : "lacks") << " '" << key
                 << "', data " << (has ? "has" : "lacks") << " '" << prefix << "' tensors");
    CHECK(c.manifest.contains(key) == has);
  }
  REQUIRE(by_manifest == by_data);
  REQUIRE(by_manifest >= minimum);
}

TEST_CASE("reference gradients match after backward", "[models][reference][grad]") {
  if (!test::have_reference("convbert")) return;
  require_cases("gradients", "grad.", 3);
  for (const auto& dir : test::case_dirs()) {
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

TEST_CASE("reference training traces: 5 AdamW steps", "[models][reference][train]") {
  if (!test::have_reference("convbert")) return;
  require_cases("training", "param_after.", 2);
  for (const auto& dir : test::case_dirs()) {
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
      for (int k = 0; k < 5; ++k) {
        std::string prefix = "train.step" + std::to_string(k) + ".";
        opt.zero_grad();
        Output out = model->forward(test::inputs_from(c, prefix));
        test::Diff d = test::compare(out.loss, c.get("loss.step" + std::to_string(k)), tol);
        INFO(c.name << " loss.step" << k << " " << d.first_bad);
        CHECK(d.bad == 0);
        out.loss.backward();
        opt.step();
      }
      double worst = 0;
      for (auto& [name, p] : model->named_parameters()) {
        INFO(c.name << " param_after." << name);
        REQUIRE(c.has("param_after." + name));
        test::Diff d = test::compare(p, c.get("param_after." + name), tol);
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
  if (!test::have_reference("convbert")) return;
  auto tmp = std::filesystem::temp_directory_path() / ("tz_roundtrip_" + std::to_string(::getpid()));
  for (const auto& dir : test::case_dirs()) {
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
      // The saved config reads back to the same JSON.
      CHECK(ConvBertConfig::load((tmp / "config.json").string()).to_json() == model->config().to_json());
      std::filesystem::remove_all(tmp);
    }
  }
}

TEST_CASE("named_parameters of each head equal the reference checkpoint's keys and shapes", "[models][reference]") {
  if (!test::have_reference("convbert")) return;
  for (const auto& dir : test::case_dirs()) {
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
