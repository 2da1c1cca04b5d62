// Shared by the fuzz targets whose entry point reads files (config.json, the tokenizer files,
// trainer_state.json): a private scratch folder for this process and a helper that writes the
// input bytes into it, so each target calls the loader a user's file would reach.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace tz::fuzz {

/// A folder of this process under the system temp folder, created on first use and removed at exit.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    auto d = std::filesystem::temp_directory_path() / ("tz_fuzz_" + std::to_string(::getpid()));
    std::filesystem::remove_all(d);
    std::filesystem::create_directories(d);
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(std::filesystem::temp_directory_path() / ("tz_fuzz_" + std::to_string(::getpid())), ec);
    });
    return d;
  }();
  return dir;
}

/// Writes `data[0..size)` to `path` (replacing it).
inline void write_file(const std::filesystem::path& path, const uint8_t* data, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  if (!out.good()) __builtin_trap();  // the scratch folder must be writable
}

}  // namespace tz::fuzz
