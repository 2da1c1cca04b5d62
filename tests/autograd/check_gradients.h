// Catch2 glue for autograd/gradcheck.h, shared by the autograd tests.
#pragma once

#include <catch2/catch.hpp>

#include <functional>
#include <vector>

#include "autograd/gradcheck.h"

namespace tz::test {

/// Compares fn's analytic gradients with central finite differences at `inputs`; on a mismatch
/// the failure message carries gradcheck's report (which input, which element, both values).
inline void check_gradients(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                            const std::vector<Tensor>& inputs) {
  GradcheckResult r = gradcheck(fn, inputs);
  INFO(r.report);
  CHECK(r.ok);
}

}  // namespace tz::test
