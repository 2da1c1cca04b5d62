// A whole file mapped into memory, private to this process (internal to tensor/io).
// Tensors that view a mapped safetensors file hold a shared_ptr to it, so the mapping lives until
// the last of them is gone. Not here: parsing (safetensors.cpp, pytorch.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace tz::io::detail {

class MappedFile {
 public:
  /// Maps `path`; throws tz::Error "<what>: cannot open '<path>': <reason>" on failure.
  static std::shared_ptr<MappedFile> open(const std::string& path, const char* what);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  MappedFile() = default;
  uint8_t* data_ = nullptr;  // null for an empty file
  size_t size_ = 0;
};

}  // namespace tz::io::detail
