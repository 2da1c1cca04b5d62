// A read-only view of a zip archive in memory, enough for PyTorch checkpoints (internal to tensor/io).
// Reads the central directory (with the ZIP64 records torch writes), checks every record and
// entry against the buffer's bounds, and hands out stored (uncompressed) entries as byte ranges.
// Not here: decompression (torch never compresses; compressed entries are refused) and writing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tz::io::detail {

struct ZipEntry {
  std::string name;
  uint64_t data_offset = 0;  // of the entry's bytes, from the start of the archive
  uint64_t size = 0;         // uncompressed size
  uint16_t method = 0;       // 0 = stored
};

class ZipReader {
 public:
  /// Parses the directory of the archive at `data` (which must outlive the reader).
  /// Throws tz::Error "zip: ..." for anything malformed or out of bounds.
  ZipReader(const uint8_t* data, size_t size);

  const std::vector<ZipEntry>& entries() const { return entries_; }
  /// The entry called `name`, or null.
  const ZipEntry* find(std::string_view name) const;
  /// The bytes of a stored entry; throws for compressed ones.
  const uint8_t* bytes(const ZipEntry& e) const;

 private:
  const uint8_t* data_;
  size_t size_;
  std::vector<ZipEntry> entries_;
  std::unordered_map<std::string, size_t> index_;  // name -> position in entries_
};

}  // namespace tz::io::detail
