// Per-example random streams: see nn/per_example_rng.h.
#include "nn/per_example_rng.h"

namespace tz::nn {
namespace {

thread_local PerExampleRng* active = nullptr;

// splitmix64's finaliser: a bijective mix, so distinct key tuples give unrelated seeds.
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

PerExampleRngScope::PerExampleRngScope(uint64_t run_seed, uint64_t step, int64_t first_example)
    : rng_{run_seed, step, first_example, 0}, previous_(active) {
  active = &rng_;
}

PerExampleRngScope::~PerExampleRngScope() { active = previous_; }

PerExampleRng* active_per_example_rng() { return active; }

Generator example_generator(uint64_t run_seed, uint64_t step, int64_t example, uint64_t stream) {
  uint64_t h = mix(run_seed);
  h = mix(h ^ step);
  h = mix(h ^ static_cast<uint64_t>(example));
  h = mix(h ^ stream);
  return Generator(h);
}

}  // namespace tz::nn
