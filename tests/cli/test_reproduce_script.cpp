// scripts/reproduce_convbert_paper.sh --quick: every stage runs (four data sets, one vocabulary,
// four pretrainings, 4 models x 4 tasks x 3 seeds of fine-tuning) and the table comes out complete
// and parsable. The numbers of a toy run mean nothing; only the shape of the result is checked.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "tests/cli/run_cli.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;

TEST_CASE("reproduce_convbert_paper.sh --quick produces the whole table", "[cli][fortunes][rtd]") {
  const fs::path fortunes = "/usr/share/games/fortunes";
  if (!fs::exists(fortunes / "fortunes")) {
    if (TZ_REQUIRE_REFERENCE) FAIL("the Debian fortune files are missing at " << fortunes.string());
    WARN("no Debian fortune files at " << fortunes.string() << ", skipping");
    return;
  }
  const fs::path out = fs::temp_directory_path() / ("tz_reproduce_" + std::to_string(getpid()));
  fs::remove_all(out);
  int code = 0;
  const std::string log = tz::test::capture_command(
      "THREADS=1 TZ_BIN=" + std::string(TZ_CLI_PATH) + " bash " + std::string(TZ_SOURCE_DIR) +
          "/scripts/reproduce_convbert_paper.sh " + out.string() + " --quick 2>&1",
      &code);
  INFO(log);
  REQUIRE(code == 0);

  std::ifstream results(out / "results.tsv");
  std::string line;
  int rows = 0;
  std::getline(results, line);
  CHECK(line == "model\ttask\tseed\tmetric\tvalue");
  const std::regex row(R"(^(bert-mlm|electra-rtd|convbert-mlm|convbert-rtd)\t(langid|langtag|who|continue)\t[123]\t(accuracy|f1)\t[-0-9.eE+]+$)");
  while (std::getline(results, line)) {
    INFO(line);
    CHECK(std::regex_match(line, row));
    ++rows;
  }
  CHECK(rows == 48);

  std::ifstream table(out / "table.md");
  std::vector<std::string> lines;
  while (std::getline(table, line)) lines.push_back(line);
  REQUIRE(lines.size() == 6);  // header, rule, four models
  const std::regex cell(R"(^ [0-9.]+ ± [0-9.]+ $)");
  for (size_t i = 2; i < lines.size(); ++i) {
    std::vector<std::string> cells;
    std::stringstream s(lines[i]);
    std::string c;
    while (std::getline(s, c, '|')) cells.push_back(c);
    INFO(lines[i]);
    REQUIRE(cells.size() == 8);  // "", model, seconds, FLOPs, four tasks
    CHECK(std::stod(cells[2]) >= 0);
    CHECK(std::stod(cells[3]) > 0);
    for (size_t k = 4; k < 8; ++k) CHECK(std::regex_match(cells[k], cell));
  }
  // The script's last lines are the table.
  CHECK(log.find(lines[0]) != std::string::npos);
  fs::remove_all(out);
}
