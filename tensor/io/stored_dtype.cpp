// Stored element types and their exact conversion to float32 / int64; see stored_dtype.h.
// The test partner (tests/io/test_stored_dtype.cpp) checks every one of the 65536 half and bfloat16
// patterns against a naive ldexp-based decoder.
#include "tensor/io/stored_dtype.h"

#include <bit>
#include <cstring>
#include <limits>

#include "core/error.h"

namespace tz::io {

static_assert(std::endian::native == std::endian::little,
              "checkpoint readers assume a little-endian host (file data is little-endian)");
static_assert(std::numeric_limits<float>::is_iec559 && std::numeric_limits<double>::is_iec559,
              "float conversions assume IEEE 754 types");

namespace {

struct DTypeInfo {
  StoredDType dt;
  const char* name;
  size_t size;
};

constexpr DTypeInfo kInfo[] = {
    {StoredDType::F64, "F64", 8},  {StoredDType::F32, "F32", 4},   {StoredDType::F16, "F16", 2},
    {StoredDType::BF16, "BF16", 2}, {StoredDType::I64, "I64", 8},  {StoredDType::I32, "I32", 4},
    {StoredDType::I16, "I16", 2},  {StoredDType::I8, "I8", 1},     {StoredDType::U8, "U8", 1},
    {StoredDType::BOOL, "BOOL", 1}, {StoredDType::U16, "U16", 2},  {StoredDType::U32, "U32", 4},
    {StoredDType::U64, "U64", 8},
};

const DTypeInfo& info(StoredDType dt) { return kInfo[static_cast<size_t>(dt)]; }

template <class T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

template <class Src, class Dst>
void widen(const uint8_t* src, int64_t n, Dst* dst) {
  for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<Dst>(load<Src>(src + i * sizeof(Src)));
}

}  // namespace

const char* stored_dtype_name(StoredDType dt) { return info(dt).name; }
size_t stored_dtype_size(StoredDType dt) { return info(dt).size; }

bool parse_stored_dtype(std::string_view name, StoredDType& out) {
  for (const auto& i : kInfo) {
    if (name == i.name) {
      out = i.dt;
      return true;
    }
  }
  return false;
}

std::string supported_stored_dtypes() {
  std::string s;
  for (const auto& i : kInfo) s += (s.empty() ? "" : ", ") + std::string(i.name);
  return s;
}

DType compute_dtype(StoredDType dt) {
  switch (dt) {
    case StoredDType::F64:
    case StoredDType::F32:
    case StoredDType::F16:
    case StoredDType::BF16: return DType::Float32;
    default: return DType::Int64;
  }
}

float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0x1f) {
    // Inf stays inf; a NaN keeps its payload in the top mantissa bits, as hardware converters do.
    bits = sign | 0x7f800000u | (mant << 13);
  } else if (exp != 0) {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  } else if (mant == 0) {
    bits = sign;  // signed zero
  } else {
    // Subnormal half: mant * 2^-24. Every one is a normal float; shift the leading 1 into the
    // implicit position and lower the exponent by the shift.
    int e = -1;
    do {
      mant <<= 1;
      ++e;
    } while ((mant & 0x400u) == 0);
    bits = sign | static_cast<uint32_t>(127 - 15 - e) << 23 | ((mant & 0x3ffu) << 13);
  }
  return std::bit_cast<float>(bits);
}

float bfloat16_to_float(uint16_t b) { return std::bit_cast<float>(static_cast<uint32_t>(b) << 16); }

void decode_elements(StoredDType dt, const uint8_t* src, int64_t n, void* dst, const std::string& what) {
  float* f = static_cast<float*>(dst);
  int64_t* q = static_cast<int64_t*>(dst);
  switch (dt) {
    case StoredDType::F32: std::memcpy(dst, src, static_cast<size_t>(n) * 4); return;
    case StoredDType::I64: std::memcpy(dst, src, static_cast<size_t>(n) * 8); return;
    // double -> float rounds to nearest even and overflows to +-inf under IEEE 754 (Annex F).
    case StoredDType::F64: widen<double>(src, n, f); return;
    case StoredDType::F16:
      for (int64_t i = 0; i < n; ++i) f[i] = half_to_float(load<uint16_t>(src + 2 * i));
      return;
    case StoredDType::BF16:
      for (int64_t i = 0; i < n; ++i) f[i] = bfloat16_to_float(load<uint16_t>(src + 2 * i));
      return;
    case StoredDType::I32: widen<int32_t>(src, n, q); return;
    case StoredDType::I16: widen<int16_t>(src, n, q); return;
    case StoredDType::I8: widen<int8_t>(src, n, q); return;
    case StoredDType::U8: widen<uint8_t>(src, n, q); return;
    case StoredDType::U16: widen<uint16_t>(src, n, q); return;
    case StoredDType::U32: widen<uint32_t>(src, n, q); return;
    case StoredDType::BOOL:
      // torch writes 0/1; any other byte is read as true, as numpy's bool view would.
      for (int64_t i = 0; i < n; ++i) q[i] = src[i] != 0 ? 1 : 0;
      return;
    case StoredDType::U64:
      for (int64_t i = 0; i < n; ++i) {
        uint64_t v = load<uint64_t>(src + 8 * i);
        TZ_CHECK(v <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()), what,
                 ": U64 value ", v, " at element ", i, " does not fit in int64");
        q[i] = static_cast<int64_t>(v);
      }
      return;
  }
}

}  // namespace tz::io
