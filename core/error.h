// tz::Error: the one exception type the library throws, and TZ_CHECK. Neutral ground: every layer
// includes it, the tensor stack and the stand-alone tokenizer alike, and it includes nothing of theirs.
// Messages name the operation, the bad value and what was expected, e.g.
//   "matmul: shapes [2,3,5] and [4,7] do not match (inner dims 5 vs 4)".
// Not here: formatting helpers for shapes live in tensor/shape.h.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace tz {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
template <class... Args>
std::string concat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}
}  // namespace detail

/// Throws tz::Error with the pieces streamed together: TZ_CHECK(cond, "op: ", value, " expected ...").
#define TZ_CHECK(cond, ...)                                          \
  do {                                                               \
    if (!(cond)) throw ::tz::Error(::tz::detail::concat(__VA_ARGS__)); \
  } while (0)

}  // namespace tz
