// nll_loss and its backward against hand-computed values, including ignore_index, the all-ignored
// NaN of PyTorch's mean reduction, a finite-difference check of the gradient, and error messages.
#include <catch2/catch.hpp>

#include <cmath>

#include "tensor/ops.h"

using namespace tz;

namespace {

Tensor logp_3x4() {
  return raw::from_vector(std::vector<float>{-0.5f, -1.0f, -2.0f, -3.0f,   //
                                             -1.5f, -0.25f, -4.0f, -2.5f,  //
                                             -0.75f, -2.25f, -1.25f, -0.125f},
                          {3, 4});
}

}  // namespace

TEST_CASE("nll_loss: mean over non-ignored targets", "[loss]") {
  Tensor logp = logp_3x4();
  Tensor l = raw::nll_loss(logp, raw::from_vector(std::vector<int64_t>{1, 2, 3}, {3}), -100);
  CHECK(l.dim() == 0);
  CHECK(l.item() == Approx((1.0 + 4.0 + 0.125) / 3));
  Tensor li = raw::nll_loss(logp, raw::from_vector(std::vector<int64_t>{1, -100, 3}, {3}), -100);
  CHECK(li.item() == Approx((1.0 + 0.125) / 2));
  // ignore_index may be any value, also a valid class
  Tensor l0 = raw::nll_loss(logp, raw::from_vector(std::vector<int64_t>{0, 0, 2}, {3}), 0);
  CHECK(l0.item() == Approx(1.25));
  Tensor none = raw::nll_loss(logp, raw::from_vector(std::vector<int64_t>{-100, -100, -100}, {3}), -100);
  CHECK(std::isnan(none.item()));
}

TEST_CASE("nll_loss_backward: -grad / count at each target, matching finite differences", "[loss]") {
  Tensor logp = logp_3x4();
  Tensor target = raw::from_vector(std::vector<int64_t>{1, -100, 3}, {3});
  Tensor d = raw::nll_loss_backward(raw::scalar(2.f), logp, target, -100);
  REQUIRE(d.shape() == Shape{3, 4});
  std::vector<float> want(12, 0.f);
  want[0 * 4 + 1] = -1.f;  // -2 / 2
  want[2 * 4 + 3] = -1.f;
  CHECK(d.to_vector<float>() == want);
  // the loss is linear in logp, so a central difference is exact up to rounding
  const double h = 1e-2;
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t j = 0; j < 4; ++j) {
      Tensor lp = raw::clone(logp), lm = raw::clone(logp);
      lp.data<float>()[i * 4 + j] += static_cast<float>(h);
      lm.data<float>()[i * 4 + j] -= static_cast<float>(h);
      const double fd = (raw::nll_loss(lp, target, -100).item() - raw::nll_loss(lm, target, -100).item()) / (2 * h);
      CHECK(d.at({i, j}) == Approx(2.0 * fd).margin(1e-4));
    }
  Tensor all = raw::nll_loss_backward(raw::scalar(1.f), logp, raw::from_vector(std::vector<int64_t>{-1, -1, -1}, {3}), -1);
  for (float v : all.to_vector<float>()) CHECK(v == 0.f);
}

TEST_CASE("nll_loss: error messages", "[loss][errors]") {
  Tensor logp = logp_3x4();
  CHECK_THROWS_WITH(raw::nll_loss(logp, raw::from_vector(std::vector<int64_t>{1, 4, 0}, {3}), -100),
                    Catch::Contains("nll_loss: target 4 at position 1 is out of range for 4 classes (expected 0..3 or ignore_index -100)"));
  CHECK_THROWS_WITH(raw::nll_loss(logp, raw::from_vector(std::vector<int64_t>{1, 2}, {2}), -100),
                    Catch::Contains("nll_loss: target shape [2] does not match log-probabilities [3,4] (expected [3])"));
  CHECK_THROWS_WITH(raw::nll_loss(logp, raw::zeros({3}), -100), Catch::Contains("nll_loss: target must be int64, got float32"));
  CHECK_THROWS_WITH(raw::nll_loss(raw::zeros({4}), raw::from_vector(std::vector<int64_t>{1}, {1}), -100),
                    Catch::Contains("nll_loss: log-probabilities must be float32 [N, C], got float32 [4]"));
  CHECK_THROWS_WITH(raw::nll_loss_backward(raw::zeros({2}), logp, raw::from_vector(std::vector<int64_t>{1, 2, 3}, {3}), -100),
                    Catch::Contains("nll_loss_backward: grad must be a one-element float32 tensor"));
}
