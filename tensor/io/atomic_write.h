// Writing a file so that it appears complete or not at all (internal to tensor/io): the bytes go to
// a temporary file in the same folder, are flushed to disk, and the temporary is renamed over the
// target. Readers see the old file or the new one, never a partial one; a failed write removes its
// temporary. Used by save_safetensors (safetensors.cpp) and save_hdf5 (hdf5_writer.cpp).
#pragma once

#include <cstddef>
#include <functional>
#include <string>

namespace tz::io::detail {

/// Receives the bytes of a file in order.
using ByteSink = std::function<void(const void* data, size_t n)>;

/// Calls `produce` with a sink into a temporary file beside `path`, then fsyncs it and renames it
/// over `path`. Errors throw tz::Error starting with `what` ("save_safetensors: cannot write ...").
void write_atomically(const std::string& path, const char* what, const std::function<void(const ByteSink&)>& produce);

}  // namespace tz::io::detail
