// Threads: one knob for the whole library. set_num_threads(n) sizes our pool *and* OpenBLAS's,
// so the two never oversubscribe the cores. parallel_for splits [begin, end) into chunks of at
// least `grain` items and runs them on the pool; nested calls run serially in the caller.
#pragma once

#include <cstdint>
#include <functional>

namespace tz {

/// Sets the number of threads used by our kernels and by OpenBLAS (n >= 1).
void set_num_threads(int n);
int get_num_threads();

/// Calls fn(chunk_begin, chunk_end) over [begin, end), in parallel when the range is large enough.
void parallel_for(int64_t begin, int64_t end, int64_t grain,
                  const std::function<void(int64_t, int64_t)>& fn);

/// True while running inside a parallel_for chunk (used to keep OpenBLAS single-threaded there).
bool in_parallel_region();

}  // namespace tz
