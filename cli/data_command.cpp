// `tensorzoo data <dataset>`: builds ready-to-train data sets from files on this machine.
//   tensorzoo data fortunes-langid --out DIR [--fortunes-dir D] [--per-language N] [--seed S]
// The library side is data/fortune_corpus.h (sources, decoding, split rules).
#include <iostream>

#include "cli/args.h"
#include "cli/command.h"
#include "data/fortune_corpus.h"

namespace tz::cli {

// cli/data_tasks_command.cpp: fortunes-langtag, fortunes-who, fortunes-continue (-1: not one of them).
int run_data_task(const std::string& name, const std::vector<std::string>& args);

namespace {

int run_fortunes_langid(const std::vector<std::string>& args) {
  ArgParser p("tensorzoo data fortunes-langid",
              "Language identification from the Debian fortune packages (en de es it ru pl cs pt).\n"
              "Writes train.tsv, dev.tsv, test.tsv (header sentence<TAB>label), corpus.txt (the training\n"
              "texts, one per line) and stats.json. Every language gets the same number of records;\n"
              "dev and test take 10% each; the split is a seeded shuffle (same seed, same files).");
  p.option("out", "DIR", "output folder (created when missing)", "", true);
  p.option("fortunes-dir", "DIR", "where the fortune files are", "/usr/share/games/fortunes");
  p.option("per-language", "N", "records per language over all splits (0 = all of the smallest language)", "0");
  p.option("min-chars", "N", "drop records shorter than this (after collapsing whitespace)", "20");
  p.option("max-chars", "N", "drop records longer than this", "2000");
  p.option("seed", "S", "shuffle seed", "42");
  if (!p.parse(args)) return p.exit_code();
  data::FortuneCorpusOptions o;
  o.fortunes_dir = p.get("fortunes-dir");
  long long per = p.get_int("per-language"), min_chars = p.get_int("min-chars"), max_chars = p.get_int("max-chars");
  if (per < 0 || min_chars < 0 || max_chars < min_chars) {
    std::cerr << "error: --per-language and --min-chars must be >= 0 and --max-chars >= --min-chars\n";
    return 2;
  }
  o.per_language = static_cast<std::size_t>(per);
  o.min_chars = static_cast<std::size_t>(min_chars);
  o.max_chars = static_cast<std::size_t>(max_chars);
  o.seed = static_cast<uint64_t>(p.get_int("seed"));
  data::FortuneCorpus corpus = data::build_fortune_langid(o);
  data::write_fortune_langid(corpus, p.get("out"));
  std::cout << "language  files  non-utf8  records  usable  train  dev  test\n";
  for (const auto& [lang, st] : corpus.stats)
    std::cout << lang << std::string(10 - lang.size(), ' ') << st.files << "\t" << st.files_non_utf8 << "\t"
              << st.records << "\t" << st.usable << "\t" << st.train << "\t" << st.dev << "\t" << st.test << "\n";
  std::cout << "wrote " << corpus.train.size() << " train, " << corpus.dev.size() << " dev, " << corpus.test.size()
            << " test rows to " << p.get("out") << "\n";
  return 0;
}

int run_data(const std::vector<std::string>& args) {
  const std::string usage =
      "usage: tensorzoo data <dataset> [options]\n\n"
      "Build a data set from files on this machine.\n\n"
      "datasets:\n"
      "  fortunes-langid   8-language identification from the Debian fortune packages\n"
      "  fortunes-langtag  token classification: the language of each word in mixed-language sentences\n"
      "  fortunes-who      extractive QA: which author said a quoted fortune\n"
      "  fortunes-continue multiple choice: the true continuation of a fortune among four\n\n"
      "Run 'tensorzoo data <dataset> --help' for its options.\n";
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    (args.empty() ? std::cerr : std::cout) << usage;
    return args.empty() ? 2 : 0;
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "fortunes-langid") return run_fortunes_langid(rest);
  if (int code = run_data_task(args[0], rest); code >= 0) return code;
  std::cerr << "error: unknown dataset '" << args[0] << "'\n\n" << usage;
  return 2;
}

Command reg{"data", "build a data set (fortunes-langid: 8-language ID from Debian fortunes)", run_data};

}  // namespace
}  // namespace tz::cli
