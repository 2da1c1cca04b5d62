// libFuzzer target for the PyTorch checkpoint reader (zip + restricted unpickler + tensor copies),
// through tz::io::load_checkpoint_from_memory so the format dispatch is fuzzed too. Seeds:
// tests/io/corpus/pytorch. See fuzz_safetensors.cpp for what counts as a finding.
#include <cstddef>
#include <cstdint>

#include "tensor/io/checkpoint.h"
#include "tests/fuzz/fuzz_touch.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    tz::fuzz::touch(tz::io::load_checkpoint_from_memory(data, size));
  } catch (const tz::Error&) {
  }
  return 0;
}
