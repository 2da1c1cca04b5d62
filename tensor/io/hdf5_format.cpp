// Names for datatype classes and filters, and the lookup3 checksum; see hdf5_format.h.
#include "tensor/io/hdf5_format.h"

namespace tz::io::hdf5::detail {

const char* type_class_name(unsigned cls) {
  static const char* const kNames[] = {"fixed-point", "floating-point", "time",      "string",
                                       "bitfield",    "opaque",         "compound",  "reference",
                                       "enum",        "variable-length", "array",    "complex"};
  return cls < sizeof(kNames) / sizeof(kNames[0]) ? kNames[cls] : "unknown";
}

const char* filter_name(unsigned id) {
  switch (id) {
    case 1: return "deflate";
    case 2: return "shuffle";
    case 3: return "fletcher32";
    case 4: return "szip";
    case 5: return "nbit";
    case 6: return "scaleoffset";
    case 32001: return "blosc";
    case 32004: return "lz4";
    case 32008: return "bitshuffle";
    case 32015: return "zstd";
    default: return "a third-party filter";
  }
}

namespace {

inline uint32_t rot(uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }

// The two mixing steps of lookup3, in Jenkins' published order and rotation constants.
inline void mix(uint32_t& a, uint32_t& b, uint32_t& c) {
  a -= c; a ^= rot(c, 4);  c += b;
  b -= a; b ^= rot(a, 6);  a += c;
  c -= b; c ^= rot(b, 8);  b += a;
  a -= c; a ^= rot(c, 16); c += b;
  b -= a; b ^= rot(a, 19); a += c;
  c -= b; c ^= rot(b, 4);  b += a;
}

inline void final_mix(uint32_t& a, uint32_t& b, uint32_t& c) {
  c ^= b; c -= rot(b, 14);
  a ^= c; a -= rot(c, 11);
  b ^= a; b -= rot(a, 25);
  c ^= b; c -= rot(b, 16);
  a ^= c; a -= rot(c, 4);
  b ^= a; b -= rot(a, 14);
  c ^= b; c -= rot(b, 24);
}

// Bytes k[0..n) as a little-endian word (n <= 4), the way hashlittle reads a block's tail.
inline uint32_t word(const uint8_t* k, size_t n) {
  uint32_t w = 0;
  for (size_t i = 0; i < n; ++i) w |= static_cast<uint32_t>(k[i]) << (8 * i);
  return w;
}

}  // namespace

uint32_t lookup3(const uint8_t* k, size_t n, uint32_t initval) {
  uint32_t a, b, c;
  a = b = c = 0xdeadbeefu + static_cast<uint32_t>(n) + initval;
  while (n > 12) {
    a += word(k, 4);
    b += word(k + 4, 4);
    c += word(k + 8, 4);
    mix(a, b, c);
    n -= 12;
    k += 12;
  }
  if (n == 0) return c;  // zero-length tail: no final mix
  a += word(k, n < 4 ? n : 4);
  if (n > 4) b += word(k + 4, n < 8 ? n - 4 : 4);
  if (n > 8) c += word(k + 8, n - 8);
  final_mix(a, b, c);
  return c;
}

}  // namespace tz::io::hdf5::detail
