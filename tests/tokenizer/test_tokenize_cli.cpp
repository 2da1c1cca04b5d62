// The `tensorzoo tokenize --cases IN --output OUT` command, run through the built binary
// (TZ_CLI_PATH) on a sample of the reference cases — singles, pairs, overflowing windows, padding
// and refused inputs — and compared field by field with the reference output.
#include <nlohmann/json.hpp>

#include <unistd.h>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "tests/test_util.h"

namespace fs = std::filesystem;
using nlohmann::json;

TEST_CASE("tensorzoo tokenize --cases writes the reference format", "[tokenizer][cli]") {
  if (!tz::test::have_reference("tokenizer")) return;
  fs::path cli = TZ_CLI_PATH;
  if (!fs::exists(cli)) {
    if (TZ_REQUIRE_REFERENCE) FAIL("CLI binary missing: " << cli);
    WARN("CLI binary not built, skipping: " << cli);
    return;
  }
  fs::path ref_dir = tz::test::reference_dir() / "tokenizer";
  fs::path dir = fs::temp_directory_path() / ("tz_tokenize_cli_test_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);

  // A sample that touches every kind of case: the first of each category plus every error case.
  std::vector<json> sample;
  std::set<std::string> seen;
  {
    std::ifstream in(ref_dir / "cases.jsonl");
    for (std::string line; std::getline(in, line);) {
      json c = json::parse(line);
      std::string cat = c["category"];
      if (seen.insert(cat).second || c["expected"].contains("error")) sample.push_back(c);
    }
  }
  REQUIRE(sample.size() > 60);
  {
    std::ofstream out(dir / "in.jsonl");
    for (const json& c : sample) out << c.dump() << "\n";
  }
  // Built with a stream: GCC 12 warns (falsely, -Wrestrict) on "literal" + std::string chains.
  std::ostringstream cmd;
  cmd << '"' << cli.string() << "\" tokenize --tokenizer \"" << (ref_dir / "tokenizer.json").string() << "\" --cases \""
      << (dir / "in.jsonl").string() << "\" --output \"" << (dir / "out.jsonl").string() << "\" 2> \""
      << (dir / "stderr.txt").string() << '"';
  REQUIRE(std::system(cmd.str().c_str()) == 0);

  std::ifstream got(dir / "out.jsonl");
  std::size_t n = 0;
  for (std::string line; std::getline(got, line); ++n) {
    REQUIRE(n < sample.size());
    json ours = json::parse(line);
    const json& want = sample[n];
    INFO("case " << want["id"]);
    CHECK(ours["id"] == want["id"]);
    CHECK(ours["text"] == want["text"]);
    if (want["expected"].contains("error")) {
      CHECK(ours["expected"].contains("error"));
    } else {
      // Every field the reference gives, and nothing missing.
      for (auto it = want["expected"].begin(); it != want["expected"].end(); ++it)
        CHECK(ours["expected"][it.key()] == it.value());
    }
  }
  CHECK(n == sample.size());
  fs::remove_all(dir);
}
