// Threads: one knob for the whole library. set_num_threads(n) sizes our pool, which is the only
// one: OpenBLAS stays single-threaded and large products are split over our pool
// (kernels::sgemm_parallel), so no two thread pools ever compete for the cores. parallel_for splits [begin, end) into chunks of at
// least `grain` items and runs them on the pool; nested calls run serially in the caller.
#pragma once

#include <cstdint>
#include <functional>

namespace tz {

/// Sets the number of threads used by every kernel, GEMMs included (n >= 1).
void set_num_threads(int n);
int get_num_threads();

/// Calls fn(chunk_begin, chunk_end) over [begin, end), in parallel when the range is large enough.
void parallel_for(int64_t begin, int64_t end, int64_t grain,
                  const std::function<void(int64_t, int64_t)>& fn);

/// True while running inside a parallel_for chunk (nested parallel work then runs serially).
bool in_parallel_region();

}  // namespace tz
