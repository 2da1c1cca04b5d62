// NumPy's .npy format out: one float32 or int64 array per file (format version 1.0, C order), what
// numpy.load reads back. For tools that want plain arrays (the `embed` command's --format npy).
// Not here: reading .npy files; named tensors in one file (safetensors, checkpoint.h).
#pragma once

#include <string>

#include "tensor/tensor.h"

namespace tz::io {

/// Writes `t` (float32 as '<f4', int64 as '<i8'; non-contiguous tensors in row-major order) to
/// `path`. The header is padded so that the data starts at a multiple of 64 bytes, as numpy writes
/// it. The file appears atomically (a temporary file renamed over `path` once complete).
void save_npy(const std::string& path, const Tensor& t);

}  // namespace tz::io
