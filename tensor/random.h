// Generator: the one random number generator of the library (xoshiro256**, seeded through
// splitmix64). Same seed, same sequence on every machine and every run: uniform floats come from
// the top 24 bits of a draw, normals from Box-Muller in double precision, so no libm or standard
// library distribution (whose algorithms differ between implementations) is involved.
#pragma once

#include <array>
#include <bit>
#include <cstdint>

namespace tz {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0) { manual_seed(seed); }
  void manual_seed(uint64_t seed);

  uint64_t next_u64() {  // inline: dropout masks draw one per element
    const uint64_t result = std::rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = std::rotl(s_[3], 45);
    return result;
  }
  /// Uniform in [0, 1) with 24 random bits (exactly representable as float).
  float uniform();
  /// Uniform double in [0, 1) with 53 random bits.
  double uniform_double();
  /// Standard normal (Box-Muller; the second value of each pair is kept for the next call).
  double normal();
  /// Uniform integer in [low, high). Requires low < high.
  int64_t randint(int64_t low, int64_t high);

  /// Full state, for checkpoints (resume reproduces the same stream).
  std::array<uint64_t, 6> state() const;
  void set_state(const std::array<uint64_t, 6>& s);

 private:
  std::array<uint64_t, 4> s_{};
  bool has_spare_ = false;
  double spare_ = 0.0;
};

/// The process-wide generator used when no explicit one is given (dropout, init helpers).
/// Seed it with manual_seed() for reproducible runs. Not thread-safe: draw from one thread.
Generator& default_generator();
void manual_seed(uint64_t seed);

}  // namespace tz
