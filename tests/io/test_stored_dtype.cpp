// Element conversion (tensor/io/stored_dtype.cpp) against the naive decoders of naive_reader.h:
// all 65536 half and bfloat16 bit patterns, and the integer widenings at their extremes.
#include <catch2/catch.hpp>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#include "tensor/io/stored_dtype.h"
#include "tests/io/naive_reader.h"

using namespace tz;
using namespace tz::io;

TEST_CASE("half_to_float is exact for every bit pattern", "[io][dtype]") {
  int mismatches = 0;
  for (uint32_t h = 0; h < 65536; ++h) {
    const float got = half_to_float(static_cast<uint16_t>(h));
    const double want = tz::test::naive_half(static_cast<uint16_t>(h));
    const bool ok = std::isnan(want) ? (std::isnan(got) && std::signbit(got) == bool(h & 0x8000))
                                     : (static_cast<double>(got) == want && std::signbit(got) == std::signbit(want));
    if (!ok && ++mismatches < 5) FAIL_CHECK("half 0x" << std::hex << h << ": got " << got << ", want " << want);
  }
  CHECK(mismatches == 0);
  // A few by hand: smallest subnormal, largest subnormal, smallest normal, max, -0.
  CHECK(half_to_float(0x0001) == std::ldexp(1.0f, -24));
  CHECK(half_to_float(0x03ff) == std::ldexp(1023.0f, -24));
  CHECK(half_to_float(0x0400) == std::ldexp(1.0f, -14));
  CHECK(half_to_float(0x7bff) == 65504.0f);
  CHECK(std::bit_cast<uint32_t>(half_to_float(0x8000)) == 0x80000000u);
  // NaN payloads survive: quiet NaN 0x7e00 -> 0x7fc00000.
  CHECK(std::bit_cast<uint32_t>(half_to_float(0x7e00)) == 0x7fc00000u);
}

TEST_CASE("bfloat16_to_float is exact for every bit pattern", "[io][dtype]") {
  int mismatches = 0;
  for (uint32_t b = 0; b < 65536; ++b) {
    const float got = bfloat16_to_float(static_cast<uint16_t>(b));
    const double want = tz::test::naive_bf16(static_cast<uint16_t>(b));
    const bool ok = std::isnan(want) ? std::isnan(got) : (static_cast<double>(got) == want);
    if (!ok && ++mismatches < 5) FAIL_CHECK("bf16 0x" << std::hex << b << ": got " << got << ", want " << want);
  }
  CHECK(mismatches == 0);
}

TEST_CASE("decode_elements widens integers and rejects U64 beyond int64", "[io][dtype]") {
  const int8_t i8[] = {-128, 127, -1};
  int64_t out[3];
  decode_elements(StoredDType::I8, reinterpret_cast<const uint8_t*>(i8), 3, out, "t");
  CHECK(out[0] == -128);
  CHECK(out[1] == 127);
  CHECK(out[2] == -1);

  const uint8_t odd_bools[] = {0, 1, 7};
  decode_elements(StoredDType::BOOL, odd_bools, 3, out, "t");
  CHECK(out[2] == 1);

  // Unaligned source: I32 values starting one byte into a buffer.
  uint8_t buf[9] = {0};
  const int32_t v[2] = {-7, 1 << 30};
  std::memcpy(buf + 1, v, 8);
  decode_elements(StoredDType::I32, buf + 1, 2, out, "t");
  CHECK(out[0] == -7);
  CHECK(out[1] == (1 << 30));

  const uint64_t big = uint64_t(1) << 63;
  CHECK_THROWS_WITH(decode_elements(StoredDType::U64, reinterpret_cast<const uint8_t*>(&big), 1, out, "tensor 'x'"),
                    Catch::Contains("tensor 'x': U64 value 9223372036854775808 at element 0 does not fit in int64"));

  const double d[3] = {0.1, 1e300, -1e-320};
  float f[3];
  decode_elements(StoredDType::F64, reinterpret_cast<const uint8_t*>(d), 3, f, "t");
  CHECK(f[0] == 0.1f);  // round to nearest
  CHECK(std::isinf(f[1]));
  CHECK(f[2] == 0.0f);
  CHECK(std::signbit(f[2]));
}

TEST_CASE("stored dtype names round-trip", "[io][dtype]") {
  for (const char* name : {"F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL", "U16", "U32", "U64"}) {
    StoredDType dt;
    REQUIRE(parse_stored_dtype(name, dt));
    CHECK(std::string(stored_dtype_name(dt)) == name);
  }
  StoredDType dt;
  CHECK_FALSE(parse_stored_dtype("f32", dt));
  CHECK_FALSE(parse_stored_dtype("F8_E4M3", dt));
  CHECK(compute_dtype(StoredDType::BF16) == DType::Float32);
  CHECK(compute_dtype(StoredDType::BOOL) == DType::Int64);
}
