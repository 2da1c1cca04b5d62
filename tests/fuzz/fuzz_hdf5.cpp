// libFuzzer target for the HDF5 reader (tz::io::load_hdf5_from_memory) and the Keras weights layout
// on top of it (keras_weights_from_hdf5). Any input must either load or throw tz::Error; anything
// else (a crash, a sanitizer report, another exception type, a hang, unbounded memory) is a finding.
// Built and run by scripts/fuzz.sh with the files in tests/io/corpus/hdf5 as seeds; the build
// defines FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION, which makes the reader skip checksum
// comparisons so that mutated files reach the parsers behind them.
#include <cstddef>
#include <cstdint>

#include "tensor/io/hdf5.h"
#include "tensor/io/keras_weights.h"
#include "tests/fuzz/fuzz_touch.h"

namespace {

// Reads every element of every dataset and numeric attribute (fuzz_touch.h).
void touch(const tz::io::hdf5::Node& node) {
  tz::fuzz::touch(node.data);
  for (const auto& a : node.attributes) {
    tz::fuzz::touch(a.numbers);
    if (a.is_string() && static_cast<int64_t>(a.strings.size()) != tz::shape_numel(a.shape)) __builtin_trap();
  }
  for (const auto& c : node.children) touch(c);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const tz::io::hdf5::Node root = tz::io::load_hdf5_from_memory(data, size);
    touch(root);
    try {
      const tz::io::KerasWeights w = tz::io::keras_weights_from_hdf5(root);
      for (const auto& v : w.weights) tz::fuzz::touch(v.value);
    } catch (const tz::Error&) {
    }
  } catch (const tz::Error&) {
  }
  return 0;
}
