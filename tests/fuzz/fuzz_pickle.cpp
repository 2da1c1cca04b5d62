// libFuzzer target for the restricted unpickler alone (the bytes are data.pkl), so mutations are not
// wasted on the zip wrapper. Seeds: tests/io/corpus/pickle. See fuzz_safetensors.cpp for what
// counts as a finding.
#include <cstddef>
#include <cstdint>

#include "core/error.h"
#include "tensor/io/pickle.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto sd = tz::io::detail::unpickle_state_dict(data, size);
    // Every index the result hands out must be in range.
    for (const auto& [name, index] : sd.entries)
      if (index >= sd.tensors.size() || sd.tensors[index].storage >= sd.storages.size()) __builtin_trap();
  } catch (const tz::Error&) {
  }
  return 0;
}
