// The hand-made corpora of valid and hostile files (tests/<area>/corpus/<entry point>/, which are
// also the fuzzers' seeds, see scripts/fuzz.sh): <area>/corpus/expected.tsv lists every file with
// "OK" or a piece of the tz::Error message it must give. A file in the corpus without a line
// fails, so an input a fuzzer found cannot join the corpus without its expected error.
// Used by the corpus tests of models/, tokenizer/ and train/ (tests/io keeps its own reader).
#pragma once

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"

namespace tz::test {

/// Loads every file of `corpus` (a tests/<area>/corpus folder) with `load`, which gets the file's
/// path relative to `corpus` ("config/bad_x.json") and its absolute path: "OK" files must load,
/// the others must throw tz::Error containing the expected text. Returns the number of hostile
/// files checked.
inline size_t check_corpus(const std::filesystem::path& corpus,
                           const std::function<void(const std::string& name, const std::filesystem::path& path)>& load) {
  namespace fs = std::filesystem;
  std::ifstream tsv(corpus / "expected.tsv");
  REQUIRE(tsv.good());
  std::set<std::string> listed;
  size_t hostile = 0;
  for (std::string line; std::getline(tsv, line);) {
    if (line.empty() || line[0] == '#') continue;
    const auto tab = line.find('\t');
    REQUIRE(tab != std::string::npos);
    const std::string name = line.substr(0, tab), expected = line.substr(tab + 1);
    listed.insert(name);
    INFO("corpus file " << (corpus / name).string() << ", expected: " << expected);
    REQUIRE(fs::exists(corpus / name));
    if (expected == "OK") {
      CHECK_NOTHROW(load(name, corpus / name));
      continue;
    }
    ++hostile;
    try {
      load(name, corpus / name);
      FAIL("loaded without an error");
    } catch (const tz::Error& e) {
      CHECK_THAT(e.what(), Catch::Contains(expected));
    }
  }
  for (const auto& entry : fs::recursive_directory_iterator(corpus)) {
    if (!entry.is_regular_file() || entry.path().filename() == "expected.tsv") continue;
    const std::string name = fs::relative(entry.path(), corpus).string();
    INFO("corpus file " << name << " has no line in " << (corpus / "expected.tsv").string());
    CHECK(listed.count(name) == 1);
  }
  return hostile;
}

}  // namespace tz::test
