// The split of a low-precision product over the thread pool; see lowp_tiles.h.
#include "tensor/kernels/lowp_tiles.h"

#include "tensor/parallel.h"

namespace tz::kernels::lowp {

bool parallel_bands(int64_t M, int64_t N, int64_t K,
                    const std::function<void(int64_t r0, int64_t r1, int64_t n0, int64_t n1)>& band,
                    const std::function<void()>& prepare) {
  constexpr int64_t kParallelMacs = int64_t{1} << 20;
  constexpr int64_t kRowAlign = 48, kColumnAlign = 64;
  const bool split_rows = M >= N;
  const int64_t align = split_rows ? kRowAlign : kColumnAlign, extent = split_rows ? M : N;
  const int64_t bands = std::min<int64_t>(get_num_threads(), (extent + align - 1) / align);
  if (bands <= 1 || in_parallel_region() || M * N * K < kParallelMacs) return false;
  if (prepare) prepare();
  // extent / bands rounded up to a multiple of align, so the bands cover the whole extent.
  const int64_t step = ((extent + bands - 1) / bands + align - 1) / align * align;
  parallel_for(0, bands, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t lo = b * step, hi = std::min(extent, lo + step);
      if (lo >= hi) continue;
      if (split_rows)
        band(lo, hi, 0, N);
      else
        band(0, M, lo, hi);
    }
  });
  return true;
}

}  // namespace tz::kernels::lowp
