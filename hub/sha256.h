// SHA-256 (FIPS 180-4), used to verify downloads: the Hub names an LFS file by the SHA-256 of its
// bytes (its ETag), so a blob whose hash differs is corrupt or truncated and is never linked into
// the cache. Not here: the downloads themselves (file_download.cpp).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace tz::hub {

/// Incremental SHA-256: update() any number of times, then hex_digest() once.
class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t size);
  /// Finishes the hash and returns it as 64 lowercase hex digits; the object must not be updated after.
  std::string hex_digest();

 private:
  void compress(const uint8_t* block);
  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buffer_{};
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
};

/// SHA-256 of a byte string, as 64 lowercase hex digits.
std::string sha256_hex(const std::string& bytes);
/// SHA-256 of a file's contents, read in chunks; throws tz::Error naming the file when it cannot be read.
std::string sha256_file_hex(const std::string& path);

}  // namespace tz::hub
