// `tensorzoo run` on every reference case of every family in the registry (reference/<model_type>):
// the model directory and expected.safetensors go in through files, every output the manifest
// names comes back under its HF name and matches HF's numbers within the manifest's tolerance.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <iostream>

#include "tensor/io/checkpoint.h"
#include "tests/cli/run_cli.h"
#include "tests/models/reference_case.h"

namespace fs = std::filesystem;

TEST_CASE("tensorzoo run reproduces every family's reference cases through files", "[cli][reference]") {
  const fs::path out = fs::temp_directory_path() / ("tz_cli_run_family_" + std::to_string(::getpid()) + ".safetensors");
  for (const auto& family : tz::test::reference_families()) {
    if (!tz::test::have_reference(family)) continue;
    const auto dirs = tz::test::case_dirs(family);
    CHECK(static_cast<int64_t>(dirs.size()) >= tz::test::readme_case_count(tz::test::reference_dir() / family));
    for (const auto& dir : dirs) {
      const tz::test::CaseData c = tz::test::load_case(dir);
      INFO(c.name);
      int code = 0;
      const std::string log = tz::test::capture_command(
          std::string(TZ_CLI_PATH) + " run --model '" + dir.string() + "' --inputs '" +
              (dir / "expected.safetensors").string() + "' --output '" + out.string() +
              "' --hidden-states --attentions 2>&1",
          &code);
      INFO(log);
      REQUIRE(code == 0);
      const auto ours = tz::io::load_safetensors(out.string());
      const auto tol = tz::test::tolerance_of(c.manifest.at("tolerance"));
      double worst = 0;
      for (const auto& name : c.manifest.at("outputs")) {
        const std::string n = name.get<std::string>();
        INFO("output " << n);
        REQUIRE(ours.tensors.count(n));
        const tz::test::Diff d = tz::test::compare(ours.tensors.at(n), c.get(n), tol);
        worst = std::max(worst, d.max_abs);
        INFO(d.first_bad);
        CHECK(d.bad == 0);
      }
      std::cout << "tensorzoo run " << c.name << ": max abs diff " << worst << "\n";
    }
  }
  fs::remove(out);
}
