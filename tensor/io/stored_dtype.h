// Element types as checkpoint files store them (F16, BF16, I8, ...) and their exact conversion to
// our two compute dtypes: every float type becomes float32, every integer and bool type int64.
// Not here: the file formats themselves (safetensors.cpp, pytorch.cpp). Bytes are little-endian
// and may sit at any alignment in a file, so every read goes through memcpy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "tensor/tensor.h"

namespace tz::io {

enum class StoredDType : uint8_t { F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL, U16, U32, U64 };

/// The safetensors spelling ("F32", "BF16", "BOOL", ...), also used for PyTorch storages.
const char* stored_dtype_name(StoredDType dt);
/// Parses a safetensors dtype name; false for names we do not know or do not support.
bool parse_stored_dtype(std::string_view name, StoredDType& out);
/// The names parse_stored_dtype accepts, comma separated (for error messages).
std::string supported_stored_dtypes();
size_t stored_dtype_size(StoredDType dt);
/// Float32 for F64/F32/F16/BF16, Int64 for everything else.
DType compute_dtype(StoredDType dt);

/// IEEE binary16 -> binary32, exact (subnormals, infinities and NaN payloads included).
float half_to_float(uint16_t bits);
/// bfloat16 -> binary32, exact (bfloat16 is the top half of a binary32).
float bfloat16_to_float(uint16_t bits);

/// Decodes `n` contiguous stored elements at `src` into `dst` (float* or int64_t*, as
/// compute_dtype says). Throws naming `what` when a U64 value does not fit in int64.
void decode_elements(StoredDType dt, const uint8_t* src, int64_t n, void* dst, const std::string& what);

}  // namespace tz::io
