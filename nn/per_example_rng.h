// Per-example random streams. Inside a PerExampleRngScope, layers that draw random numbers for a
// batch (Dropout) draw row b of dim 0 from a generator seeded by
//     (run seed, step, first_example + b, stream)
// where `stream` counts the random draws made since the scope opened (the 1st dropout call is
// stream 0, the 2nd is 1, ...). So the numbers an example sees do not depend on which other
// examples share its batch: a global batch split over N processes (distributed/) or into
// micro-batches (gradient accumulation) draws exactly the masks it would draw whole, and a resumed
// run draws the same masks as an uninterrupted one, with no generator state to save.
// Outside a scope the layers use their Generator (tz::default_generator() unless given one).
#pragma once

#include <cstdint>

#include "tensor/random.h"

namespace tz::nn {

struct PerExampleRng {
  uint64_t run_seed = 0;
  uint64_t step = 0;
  int64_t first_example = 0;  // index in the global batch of this micro-batch's row 0
  uint64_t next_stream = 0;   // incremented by every batched draw
};

/// Opens a scope on this thread (scopes nest; the innermost one is active).
class PerExampleRngScope {
 public:
  PerExampleRngScope(uint64_t run_seed, uint64_t step, int64_t first_example);
  ~PerExampleRngScope();
  PerExampleRngScope(const PerExampleRngScope&) = delete;
  PerExampleRngScope& operator=(const PerExampleRngScope&) = delete;

 private:
  PerExampleRng rng_;
  PerExampleRng* previous_;
};

/// The innermost open scope on this thread, or nullptr.
PerExampleRng* active_per_example_rng();

/// The generator for one example's stream: a splitmix64 mix of the four keys.
Generator example_generator(uint64_t run_seed, uint64_t step, int64_t example, uint64_t stream);

}  // namespace tz::nn
