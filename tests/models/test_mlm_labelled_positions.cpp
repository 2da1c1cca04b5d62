// Masked-LM heads with Inputs::mlm_logits_at_labels_only: the head runs only at labelled
// positions, and the loss and every gradient must equal the full computation (HF's), on every
// family's reference cases of a masked-LM head.
#include <catch2/catch.hpp>

#include <cmath>

#include "autograd/ops.h"
#include "models/registry.h"
#include "tests/models/reference_case.h"

using namespace tz;
using namespace tz::models;
namespace test = tz::test;

TEST_CASE("masked LM: the head at labelled positions only gives HF's loss and gradients", "[models][reference][train]") {
  for (const auto& dir : test::all_case_dirs()) {
    test::CaseData c = test::load_case(dir);
    const auto config = load_config(dir.string());
    if (c.manifest.at("head").get<std::string>() != architecture_for(family(config->model_type), Task::MaskedLM))
      continue;
    SECTION(c.name) {
      LoadOptions opt;
      opt.strict = true;
      opt.verbose = false;
      auto model = from_pretrained(c.dir.string(), opt);
      model->eval();
      Inputs in = test::inputs_from(c);
      REQUIRE(in.labels.defined());

      auto run = [&](bool only) {
        for (auto& p : model->parameters()) p.set_grad(Tensor());
        Inputs i = in;
        i.mlm_logits_at_labels_only = only;
        Output out = model->forward(i);
        out.loss.backward();
        std::vector<std::vector<float>> grads;
        for (auto& p : model->parameters()) grads.push_back(p.grad().to_vector<float>());
        return std::make_pair(out.loss.item(), grads);
      };
      auto [full_loss, full_grads] = run(false);
      auto [part_loss, part_grads] = run(true);
      INFO(c.name << ": loss " << full_loss << " vs " << part_loss);
      CHECK(std::abs(full_loss - part_loss) <= 1e-6 * std::abs(full_loss));
      if (c.has("loss")) {
        double want = c.get("loss").item();
        auto tol = test::tolerance_of(c.manifest.at("tolerance"));
        CHECK(std::abs(part_loss - want) <= tol.atol + tol.rtol * std::abs(want));
      }
      REQUIRE(full_grads.size() == part_grads.size());
      double worst = 0, scale = 0;
      for (size_t p = 0; p < full_grads.size(); ++p)
        for (size_t k = 0; k < full_grads[p].size(); ++k) {
          worst = std::max(worst, static_cast<double>(std::abs(full_grads[p][k] - part_grads[p][k])));
          scale = std::max(scale, static_cast<double>(std::abs(full_grads[p][k])));
        }
      INFO("gradients: max abs difference " << worst << " (largest gradient " << scale << ")");
      CHECK(worst <= 1e-5 * scale + 1e-9);
    }
  }
}
