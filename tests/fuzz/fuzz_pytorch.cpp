// libFuzzer target for the PyTorch checkpoint reader (zip + restricted unpickler + tensor copies),
// through tz::io::load_checkpoint_from_memory so the format dispatch is fuzzed too; and for the
// writer: whatever loads is written again with pytorch_bytes and must read back bit for bit, in the
// same order. Seeds: tests/io/corpus/pytorch. See fuzz_safetensors.cpp for what counts as a finding.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "tensor/io/checkpoint.h"
#include "tests/fuzz/fuzz_touch.h"

namespace {

bool same_bytes(const tz::Tensor& a, const tz::Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
  const size_t n = static_cast<size_t>(a.numel()) * tz::dtype_size(a.dtype());
  if (n == 0) return true;
  const void* x = a.dtype() == tz::DType::Float32 ? static_cast<const void*>(a.data<float>()) : a.data<int64_t>();
  const void* y = b.dtype() == tz::DType::Float32 ? static_cast<const void*>(b.data<float>()) : b.data<int64_t>();
  return std::memcmp(x, y, n) == 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tz::io::Checkpoint loaded;
  try {
    loaded = tz::io::load_checkpoint_from_memory(data, size);
  } catch (const tz::Error&) {
    return 0;
  }
  tz::fuzz::touch(loaded);
  std::vector<std::pair<std::string, tz::Tensor>> tensors;
  for (const auto& name : loaded.names) tensors.emplace_back(name, loaded.at(name));
  const std::vector<uint8_t> bytes = tz::io::pytorch_bytes(tensors);  // a tz::Error here is a finding
  const tz::io::Checkpoint again = tz::io::load_pytorch_from_memory(bytes.data(), bytes.size());
  if (again.names != loaded.names) __builtin_trap();
  for (const auto& name : loaded.names)
    if (!same_bytes(loaded.at(name), again.at(name))) __builtin_trap();
  return 0;
}
