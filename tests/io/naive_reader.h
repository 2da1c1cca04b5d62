// Test-only second route to checkpoint values: a deliberately naive safetensors reader (nlohmann
// json + arithmetic decoders built on std::ldexp) that shares no code with tensor/io, so the tests
// can compare the real reader against it value by value.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace tz::test {

inline std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot open " + path);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

/// Half from its definition: (-1)^s * 2^(e-15) * (1 + m/1024), subnormal 2^-14 * m/1024.
inline double naive_half(uint16_t h) {
  const int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
  double v;
  if (e == 31) v = m ? std::nan("") : INFINITY;
  else if (e == 0) v = std::ldexp(m, -24);
  else v = std::ldexp(1024 + m, e - 25);
  return s ? -v : v;
}

/// bfloat16 from its definition: 8 exponent bits (bias 127), 7 mantissa bits.
inline double naive_bf16(uint16_t b) {
  const int s = b >> 15, e = (b >> 7) & 255, m = b & 127;
  double v;
  if (e == 255) v = m ? std::nan("") : INFINITY;
  else if (e == 0) v = std::ldexp(m, -133);
  else v = std::ldexp(128 + m, e - 134);
  return s ? -v : v;
}

struct NaiveTensor {
  std::string dtype;
  std::vector<int64_t> shape;
  std::vector<double> values;  // every dtype widened to double
};

/// Reads a safetensors file assuming it is well-formed (reference files only).
inline std::map<std::string, NaiveTensor> naive_safetensors(const std::string& path) {
  const auto bytes = read_bytes(path);
  uint64_t n = 0;
  for (int k = 7; k >= 0; --k) n = n << 8 | bytes[k];
  const auto header = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<long>(n));
  const uint8_t* data = bytes.data() + 8 + n;
  std::map<std::string, NaiveTensor> out;
  for (const auto& [name, v] : header.items()) {
    if (name == "__metadata__") continue;
    NaiveTensor t;
    t.dtype = v["dtype"].get<std::string>();
    t.shape = v["shape"].get<std::vector<int64_t>>();
    const uint64_t begin = v["data_offsets"][0], end = v["data_offsets"][1];
    const uint8_t* p = data + begin;
    auto u = [&](size_t i, int w) {  // little-endian unsigned of w bytes at element i
      uint64_t x = 0;
      for (int k = w - 1; k >= 0; --k) x = x << 8 | p[i * w + k];
      return x;
    };
    const size_t count = end - begin;
    if (t.dtype == "F32") {
      for (size_t i = 0; i < count / 4; ++i) {
        uint32_t b = static_cast<uint32_t>(u(i, 4));
        float f;
        std::memcpy(&f, &b, 4);
        t.values.push_back(f);
      }
    } else if (t.dtype == "F16") {
      for (size_t i = 0; i < count / 2; ++i) t.values.push_back(naive_half(static_cast<uint16_t>(u(i, 2))));
    } else if (t.dtype == "BF16") {
      for (size_t i = 0; i < count / 2; ++i) t.values.push_back(naive_bf16(static_cast<uint16_t>(u(i, 2))));
    } else if (t.dtype == "I64") {
      for (size_t i = 0; i < count / 8; ++i) t.values.push_back(static_cast<double>(static_cast<int64_t>(u(i, 8))));
    } else {
      throw std::runtime_error("naive_safetensors: dtype " + t.dtype + " not needed by the reference files");
    }
    out[name] = std::move(t);
  }
  return out;
}

}  // namespace tz::test
