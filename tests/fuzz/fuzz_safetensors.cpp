// libFuzzer target for the safetensors reader (tz::io::load_safetensors_from_memory).
// Any input must either load or throw tz::Error; anything else (a crash, a sanitizer report, another
// exception type, a hang, unbounded memory) is a finding. Built and run by scripts/fuzz.sh with the
// files in tests/io/corpus/safetensors as seeds.
#include <cstddef>
#include <cstdint>

#include "tensor/io/checkpoint.h"
#include "tests/fuzz/fuzz_touch.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    tz::fuzz::touch(tz::io::load_safetensors_from_memory(data, size));
  } catch (const tz::Error&) {
  }
  return 0;
}
