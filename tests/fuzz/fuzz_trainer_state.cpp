// libFuzzer target for a training checkpoint's trainer_state.json (tz::train::Trainer::
// resume_from_latest, what `tensorzoo train ... --resume` reads): the fuzzed bytes replace the
// trainer_state.json of an otherwise valid checkpoint (tests/train/trainer_state_fixture.h). Any
// input must restore or throw tz::Error. Seeds: tests/train/corpus/trainer_state; dictionary:
// trainer_state.dict. Run by scripts/fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <string>

#include "tests/fuzz/fuzz_file.h"
#include "tests/train/trainer_state_fixture.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static tz::test::TrainerStateFixture fixture(tz::fuzz::scratch_dir() / "run");
  try {
    fixture.resume_with(std::string(reinterpret_cast<const char*>(data), size));
  } catch (const tz::Error&) {
  }
  return 0;
}
