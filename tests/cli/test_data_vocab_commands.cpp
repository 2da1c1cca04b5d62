// `tensorzoo data fortunes-langid` and `tensorzoo vocab` through the command line: files written,
// byte-identical on a second run with the same seed, and a vocabulary the tokenizer loads.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tokenizer/wordpiece.h"

#include "tests/cli/run_cli.h"

namespace fs = std::filesystem;

namespace {

int run_quiet(const std::string& args, std::string* output = nullptr) {
  int code = 0;
  std::string out = tz::test::capture_command(std::string(TZ_CLI_PATH) + " " + args + " 2>&1", &code);
  if (output) *output = out;
  return code;
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
  fs::path root = fs::temp_directory_path() / ("tz_cli_fake_fortunes." + std::to_string(getpid()));
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
  const std::string pid = std::to_string(getpid());
  fs::path a = fs::temp_directory_path() / ("tz_cli_langid_a." + pid);
  fs::path b = fs::temp_directory_path() / ("tz_cli_langid_b." + pid);
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
  fs::path tokdir = fs::temp_directory_path() / ("tz_cli_vocab." + std::to_string(getpid()));
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

TEST_CASE("scripts/langid.sh: steps in order, idempotent, last line test_accuracy=", "[cli][fortunes]") {
  fs::path script = fs::path(TZ_SOURCE_DIR) / "scripts" / "langid.sh";
  std::string out;
  CHECK(run_quiet("--help") == 0);  // keep the helper honest
  CHECK(std::system(("bash " + script.string() + " --help >/dev/null").c_str()) == 0);
  CHECK(WEXITSTATUS(std::system(("bash " + script.string() + " >/dev/null 2>&1").c_str())) == 2);

  // A stand-in binary: the real one for every step but `train`, which records its arguments and
  // prints a result line the way the train command does.
  fs::path tmp = fs::temp_directory_path() / ("tz_langid_script." + std::to_string(getpid()));
  fs::remove_all(tmp);
  fs::path root = make_fortunes();
  write(tmp / "tzbin", "#!/bin/sh\nif [ \"$1\" = train ]; then echo \"$@\" > " + (tmp / "train_args").string() +
                           "; echo 'epoch 1 dev_accuracy=0.9'; echo 'test_accuracy=0.875'; exit 0; fi\nexec " +
                           std::string(TZ_CLI_PATH) + " \"$@\"\n");
  fs::permissions(tmp / "tzbin", fs::perms::owner_all);
  fs::path o = tmp / "out";
  std::string cmd = "TZ_BIN=" + (tmp / "tzbin").string() + " FORTUNES_DIR=" + root.string() +
                    " VOCAB_SIZE=120 bash " + script.string() + " " + o.string() + " 2>" + (tmp / "log").string();
  auto last_line = [&] {
    FILE* f = popen(cmd.c_str(), "r");
    std::string all;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) all.append(buf, n);
    CHECK(WEXITSTATUS(pclose(f)) == 0);
    while (!all.empty() && all.back() == '\n') all.pop_back();
    return all.substr(all.rfind('\n') == std::string::npos ? 0 : all.rfind('\n') + 1);
  };
  CHECK(last_line() == "test_accuracy=0.875");
  for (const char* f : {"data/train.tsv", "data/test.tsv", "tokenizer/vocab.txt", "config.json", "train.log"})
    CHECK(fs::exists(o / f));
  std::string args = slurp(tmp / "train_args");
  INFO(args);
  for (const std::string& want : std::vector<std::string>{"train classify --train " + (o / "data/train.tsv").string(),
                                  "--config " + (o / "config.json").string(), "--seq-len 64", "--batch-size 32",
                                  "--seed 42", "--threads 2", "--bucket-by-length", "--tokenizer " + (o / "tokenizer").string()})
    CHECK_THAT(args, Catch::Contains(want));
  std::string config = slurp(o / "config.json");
  CHECK_THAT(config, Catch::Contains("\"pad_token_id\": 0"));
  std::string vocab = slurp(o / "tokenizer/vocab.txt");
  CHECK_THAT(config, Catch::Contains("\"vocab_size\": " + std::to_string(std::count(vocab.begin(), vocab.end(), '\n')) + ","));

  // A second run does nothing new and reports the same result.
  fs::remove(tmp / "train_args");
  CHECK(last_line() == "test_accuracy=0.875");
  CHECK_FALSE(fs::exists(tmp / "train_args"));
  CHECK_THAT(slurp(tmp / "log"), Catch::Contains("skipped"));
  fs::remove_all(tmp);
  fs::remove_all(root);
}
