// trainer_state.json files, valid and hostile (tests/train/corpus, also the seeds of the
// trainer-state fuzzer): resuming from a checkpoint holding each one restores or fails with its
// expected message.
#include <catch2/catch.hpp>

#include <unistd.h>

#include "tests/corpus_cases.h"
#include "tests/io/naive_reader.h"
#include "tests/train/trainer_state_fixture.h"

namespace fs = std::filesystem;

TEST_CASE("trainer state corpus: every file resumes or fails with its expected message", "[train][corpus]") {
  const fs::path out = fs::temp_directory_path() / ("tz_trainer_state_corpus_" + std::to_string(::getpid()));
  fs::remove_all(out);
  tz::test::TrainerStateFixture fixture(out);
  const auto corpus = fs::path(TZ_SOURCE_DIR) / "tests" / "train" / "corpus";
  size_t hostile = tz::test::check_corpus(corpus, [&](const std::string&, const fs::path& path) {
    const auto bytes = tz::test::read_bytes(path.string());
    const int64_t step = fixture.resume_with(std::string(bytes.begin(), bytes.end()));  // throws for a bad file
    CHECK(step == 1);
  });
  CHECK(hostile >= 5);
  fs::remove_all(out);
}
