// Per-example random streams (nn/per_example_rng.h): a batch split into parts draws the same
// dropout masks as the whole batch, successive draws differ, and the masks are proper dropout.
#include <catch2/catch.hpp>

#include <vector>

#include "autograd/ops.h"
#include "nn/layers.h"
#include "nn/per_example_rng.h"
#include "tensor/ops.h"

using tz::Tensor;
namespace nn = tz::nn;

namespace {

// Dropout of an all-ones input is its mask: 0 or 1/(1-p).
std::vector<float> masks_of(nn::Dropout& drop, int64_t rows, int64_t first, uint64_t step, int calls) {
  nn::PerExampleRngScope scope(1234, step, first);
  std::vector<float> all;
  for (int c = 0; c < calls; ++c) {
    std::vector<float> m = drop.forward(tz::raw::ones({rows, 3, 50})).to_vector<float>();
    all.insert(all.end(), m.begin(), m.end());
  }
  return all;
}

}  // namespace

TEST_CASE("per-example dropout: a split batch sees the masks of the whole batch", "[nn][dropout]") {
  nn::Dropout drop(0.3);
  drop.train();
  const int64_t row = 3 * 50;
  std::vector<float> whole = masks_of(drop, 4, 0, 7, 2);  // 2 calls x 4 rows
  std::vector<float> front = masks_of(drop, 1, 0, 7, 2);  // rows 0
  std::vector<float> back = masks_of(drop, 3, 1, 7, 2);   // rows 1..3
  for (int call = 0; call < 2; ++call) {
    for (int64_t i = 0; i < row; ++i) {
      REQUIRE(whole[call * 4 * row + i] == front[call * row + i]);
    }
    for (int64_t i = 0; i < 3 * row; ++i) {
      REQUIRE(whole[call * 4 * row + row + i] == back[call * 3 * row + i]);
    }
  }
  // Another step, another stream or another example: different masks.
  std::vector<float> next_step = masks_of(drop, 4, 0, 8, 1);
  REQUIRE(std::vector<float>(whole.begin(), whole.begin() + 4 * row) != next_step);
  REQUIRE(std::vector<float>(whole.begin(), whole.begin() + 4 * row) !=
          std::vector<float>(whole.begin() + 4 * row, whole.end()));
  REQUIRE(std::vector<float>(whole.begin(), whole.begin() + row) !=
          std::vector<float>(whole.begin() + row, whole.begin() + 2 * row));
}

TEST_CASE("per-example dropout: values, rate and gradient", "[nn][dropout]") {
  const double p = 0.25;
  nn::Dropout drop(p);
  drop.train();
  std::vector<float> m = masks_of(drop, 64, 0, 1, 1);
  int64_t zeros = 0;
  for (float v : m) {
    REQUIRE((v == 0.0f || v == static_cast<float>(1.0 / (1.0 - p))));
    zeros += v == 0.0f;
  }
  double rate = static_cast<double>(zeros) / static_cast<double>(m.size());
  REQUIRE(rate == Approx(p).margin(0.02));  // 9600 draws: 5 sigma is about 0.022

  Tensor x = tz::raw::full({2, 5}, 2.0);
  x.set_requires_grad(true);
  Tensor y;
  {
    nn::PerExampleRngScope scope(99, 0, 0);
    y = drop.forward(x);
  }
  tz::sum(y).backward();
  std::vector<float> yv = y.to_vector<float>(), gv = x.grad().to_vector<float>();
  for (std::size_t i = 0; i < yv.size(); ++i) REQUIRE(yv[i] == 2.0f * gv[i]);  // dy/dx = mask
}

TEST_CASE("per-example dropout: eval mode and scopes leave other draws alone", "[nn][dropout]") {
  nn::Dropout drop(0.5);
  drop.eval();
  {
    nn::PerExampleRngScope scope(1, 2, 3);
    std::vector<float> y = drop.forward(tz::raw::ones({2, 8})).to_vector<float>();
    for (float v : y) REQUIRE(v == 1.0f);
    REQUIRE(nn::active_per_example_rng()->next_stream == 0);  // eval draws nothing
  }
  REQUIRE(nn::active_per_example_rng() == nullptr);
}
