// The `tensorzoo tokenize` command run through the built binary (TZ_CLI_PATH): --cases on a
// sample of the reference cases (singles, pairs, overflowing windows, padding and refused inputs)
// compared field by field with the reference output; and the HF call options --max-length,
// --truncation, --padding, --stride and --pair against outputs worked out by hand.
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

namespace {

/// Runs the CLI with `args` (already quoted), returns the exit status and fills `out` with stdout.
int run_cli(const std::string& args, std::string& out) {
  fs::path file = fs::temp_directory_path() / ("tz_tokenize_cli_out_" + std::to_string(::getpid()));
  std::ostringstream cmd;
  cmd << '"' << std::string(TZ_CLI_PATH) << "\" tokenize " << args << " > \"" << file.string() << "\" 2>&1";
  int status = std::system(cmd.str().c_str());
  std::ifstream in(file);
  std::ostringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  fs::remove(file);
  return status;
}

/// The value of the first line "name: value" after the `skip`-th occurrence.
std::string field(const std::string& out, const std::string& name, int skip = 0) {
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(name + ":", 0) == 0 && skip-- == 0) return line.substr(name.size() + 1);
  return "<missing " + name + ">";
}

}  // namespace

TEST_CASE("tensorzoo tokenize: --max-length, --truncation, --padding, --stride, --pair", "[tokenizer][cli]") {
  if (!tz::test::have_reference("tokenizer") || !tz::test::have_reference("distilbert")) return;
  if (!fs::exists(fs::path(TZ_CLI_PATH))) {
    if (TZ_REQUIRE_REFERENCE) FAIL("CLI binary missing: " << TZ_CLI_PATH);
    WARN("CLI binary not built, skipping: " << TZ_CLI_PATH);
    return;
  }
  std::string tok = "--tokenizer \"" + (tz::test::reference_dir() / "tokenizer").string() + "\" ";
  std::string out;

  REQUIRE(run_cli("--help", out) == 0);
  for (const char* option : {"--max-length N", "--truncation STRATEGY", "--padding STRATEGY", "--stride N", "--pair"})
    CHECK(out.find(option) != std::string::npos);

  // max_length alone truncates longest_first; the stride repeats 2 tokens in the next window.
  REQUIRE(run_cli(tok + "--max-length 8 --stride 2 \"Hello, world! This is a long sentence.\"", out) == 0);
  CHECK(field(out, "model_input_names") == " input_ids token_type_ids attention_mask");
  CHECK(field(out, "tokens") == " [CLS] hello , world ! this is [SEP]");
  CHECK(field(out, "ids") == " 101 7592 1010 2088 999 2023 2003 102");
  CHECK(field(out, "tokens", 1) == " [CLS] this is a long sentence . [SEP]");
  CHECK(field(out, "offsets", 1) == " [0,0) [14,18) [19,21) [22,23) [24,28) [29,37) [37,38) [0,0)");

  // A pair cut in its second text only (9 - 3 specials - 3 first tokens leaves 3), padded to the
  // max length: the window with the rest of the second text gets one [PAD].
  REQUIRE(run_cli(tok + "--pair --truncation only_second --max-length 9 --padding max_length "
                        "\"who is it\" \"it is a long answer\"",
                  out) == 0);
  CHECK(field(out, "tokens") == " [CLS] who is it [SEP] it is a [SEP]");
  CHECK(field(out, "type_ids") == " 0 0 0 0 0 1 1 1 1");
  CHECK(field(out, "tokens", 1) == " [CLS] who is it [SEP] long answer [SEP] [PAD]");
  CHECK(field(out, "attention_mask", 1) == " 1 1 1 1 1 1 1 1 0");

  // Padding to max_length without --max-length pads to model_max_length (64 here); no truncation.
  std::string distil = "--tokenizer \"" + (tz::test::reference_dir() / "distilbert" / "tiny-model").string() + "\" ";
  REQUIRE(run_cli(distil + "--padding max_length \"a b\"", out) == 0);
  CHECK(field(out, "model_input_names") == " input_ids attention_mask");
  std::istringstream mask(field(out, "attention_mask"));
  int n = 0, ones = 0;
  for (int v; mask >> v; ++n) ones += v;
  CHECK(n == 64);
  CHECK(ones == 4);

  // Refused values.
  CHECK(run_cli(tok + "--padding sideways \"a\"", out) != 0);
  CHECK(out.find("--padding") != std::string::npos);
  CHECK(run_cli(tok + "--truncation only_third --max-length 4 \"a\"", out) != 0);
  CHECK(run_cli(tok + "--max-length 4 --stride 3 \"a b c d e f\"", out) != 0);
  CHECK(out.find("stride") != std::string::npos);
}
