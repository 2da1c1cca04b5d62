// The tensorzoo command as a user runs it: --help everywhere, clear usage errors, and `run` on a
// reference case producing HF's numbers through the file interface.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <unistd.h>
#include <array>
#include <cstdio>
#include <filesystem>

#include "tensor/io/checkpoint.h"
#include "tensor/ops.h"
#include "tests/test_util.h"

#include "tests/cli/run_cli.h"

namespace {
struct Result {
  int code;
  std::string out;
};
Result run(const std::string& args) {
  int code = 0;
  std::string out = tz::test::capture_command(std::string(TZ_CLI_PATH) + " " + args + " 2>&1", &code);
  return {code, out};
}
}  // namespace

TEST_CASE("tensorzoo --help lists the commands; every command has --help", "[cli]") {
  Result r = run("--help");
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("run") && Catch::Contains("info"));
  for (const char* cmd : {"run", "info"}) {
    Result h = run(std::string(cmd) + " --help");
    INFO(cmd << ": " << h.out);
    CHECK(h.code == 0);
    CHECK_THAT(h.out, Catch::Contains("usage: tensorzoo"));
  }
}

TEST_CASE("usage errors name the option at fault", "[cli]") {
  Result r = run("run --model");
  CHECK(r.code == 2);
  CHECK_THAT(r.out, Catch::Contains("--model expects a value"));
  r = run("run --bogus 1");
  CHECK(r.code == 2);
  CHECK_THAT(r.out, Catch::Contains("unknown option --bogus"));
  r = run("frobnicate");
  CHECK(r.code == 2);
  CHECK_THAT(r.out, Catch::Contains("unknown command 'frobnicate'"));
  r = run("info /nonexistent/dir");
  CHECK(r.code == 1);
  CHECK_THAT(r.out, Catch::Contains("is not a directory"));
}

TEST_CASE("tensorzoo run reproduces a reference case through files", "[cli][reference]") {
  if (!tz::test::have_reference("convbert/tiny-qa")) return;
  auto dir = tz::test::reference_dir() / "convbert" / "tiny-qa";
  auto out = std::filesystem::temp_directory_path() / ("tz_cli_run_" + std::to_string(::getpid()) + ".safetensors");
  Result r = run("run --model " + dir.string() + " --inputs " + (dir / "expected.safetensors").string() +
                 " --output " + out.string() + " --hidden-states");
  INFO(r.out);
  REQUIRE(r.code == 0);
  auto ours = tz::io::load_safetensors(out.string());
  auto expected = tz::io::load_safetensors((dir / "expected.safetensors").string());
  for (const char* name : {"start_logits", "end_logits", "loss", "hidden_states.2"}) {
    INFO(name);
    REQUIRE(ours.tensors.count(name));
    CHECK(tz::raw::max_abs_diff(ours.tensors.at(name), expected.tensors.at(name)) < 1e-4);
  }
  std::filesystem::remove(out);
  Result info = run("info " + dir.string());
  CHECK(info.code == 0);
  CHECK_THAT(info.out, Catch::Contains("ConvBertForQuestionAnswering") && Catch::Contains("parameters:"));
}
