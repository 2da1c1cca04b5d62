// `tensorzoo data fortunes-langid` and `tensorzoo vocab` through the command line: files written,
// byte-identical on a second run with the same seed, and a vocabulary the tokenizer loads.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tokenizer/wordpiece.h"

namespace fs = std::filesystem;

namespace {

int run_quiet(const std::string& args, std::string* output = nullptr) {
  std::string cmd = std::string(TZ_CLI_PATH) + " " + args + " 2>&1";
  FILE* f = popen(cmd.c_str(), "r");
  REQUIRE(f);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  int status = pclose(f);
  if (output) *output = out;
  return WEXITSTATUS(status);
}

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void write(const fs::path& p, const std::string& bytes) {
  fs::create_directories(p.parent_path());
  std::ofstream f(p, std::ios::binary);
  f << bytes;
}

fs::path make_fortunes() {
  fs::path root = fs::temp_directory_path() / "tz_cli_fake_fortunes";
  fs::remove_all(root);
  const std::vector<std::pair<std::string, std::string>> where{
      {"en", "fortunes"}, {"pt", "brasil"}, {"de", "de/witze"},  {"es", "es/vida.fortunes"},
      {"it", "it/leggi"}, {"ru", "ru/adv"}, {"pl", "pl/zen"},    {"cs", "cs/citat"}};
  for (const auto& [lang, file] : where) {
    std::string s;
    for (int i = 0; i < 20; ++i) s += lang + " sentence number " + std::to_string(i) + " of the fake file\n%\n";
    write(root / file, s);
  }
  return root;
}

}  // namespace

TEST_CASE("tensorzoo data fortunes-langid writes the same files for the same seed", "[cli][fortunes]") {
  fs::path root = make_fortunes();
  fs::path a = fs::temp_directory_path() / "tz_cli_langid_a", b = fs::temp_directory_path() / "tz_cli_langid_b";
  fs::remove_all(a);
  fs::remove_all(b);
  std::string out;
  REQUIRE(run_quiet("data fortunes-langid --fortunes-dir " + root.string() + " --out " + a.string() + " --seed 3", &out) == 0);
  INFO(out);
  REQUIRE(run_quiet("data fortunes-langid --fortunes-dir " + root.string() + " --out " + b.string() + " --seed 3") == 0);
  for (const char* f : {"train.tsv", "dev.tsv", "test.tsv", "corpus.txt", "stats.json"}) {
    INFO(f);
    REQUIRE(fs::exists(a / f));
    CHECK(slurp(a / f) == slurp(b / f));
  }
  std::string train = slurp(a / "train.tsv");
  CHECK(train.rfind("sentence\tlabel\n", 0) == 0);
  CHECK(std::count(train.begin(), train.end(), '\n') == 1 + 8 * 16);

  // The vocabulary command on the corpus it wrote: loads, pad id 0, no [UNK] on the corpus.
  fs::path tokdir = fs::temp_directory_path() / "tz_cli_vocab";
  fs::remove_all(tokdir);
  REQUIRE(run_quiet("vocab --corpus " + (a / "corpus.txt").string() + " --size 120 --min-frequency 1 --no-strip-accents --out " +
                    tokdir.string(), &out) == 0);
  INFO(out);
  auto tok = tz::tokenizer::WordPiece::from_pretrained(tokdir);
  CHECK(tok.pad_id() == 0);
  CHECK(tok.vocab_size() <= 120);
  std::istringstream lines(slurp(a / "corpus.txt"));
  std::string line;
  while (std::getline(lines, line)) {
    auto pieces = tok.tokenize(line);
    CHECK(std::find(pieces.begin(), pieces.end(), "[UNK]") == pieces.end());
  }
  CHECK(run_quiet("vocab --out " + tokdir.string()) == 2);  // no corpus
  CHECK(run_quiet("data fortunes-langid --out " + a.string() + " --fortunes-dir /nonexistent") == 1);
  CHECK(run_quiet("data frobnicate") == 2);
  for (const auto& p : {a, b, tokdir, root}) fs::remove_all(p);
}
