// Shapes and strides: small helpers used by every op (numel, contiguous strides, broadcasting,
// dim wrapping) and the "[2,3,5]" spelling used in error messages.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tz {

using Shape = std::vector<int64_t>;

/// Product of the sizes (1 for a scalar shape []).
int64_t shape_numel(const Shape& shape);
/// Row-major strides (in elements) for a contiguous tensor of this shape.
Shape contiguous_strides(const Shape& shape);
/// "[2,3,5]"
std::string shape_str(const Shape& shape);
/// Maps a possibly negative dim into [0, ndim); throws naming `op` when out of range.
int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op);
/// NumPy broadcasting of two shapes; throws naming `op` and both shapes when incompatible.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

}  // namespace tz
