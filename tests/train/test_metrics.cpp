// Metrics against hand-worked values (and the sklearn documentation's MCC example).
#include <catch2/catch.hpp>

#include <cmath>

#include "train/metrics.h"

using namespace tz::train;


TEST_CASE("accuracy and macro-F1 on hand-worked cases", "[train][metrics]") {
  CHECK(accuracy({0, 1, 1, 0}, {0, 1, 0, 0}) == Approx(0.75));
  // class 0: tp 1, 2 predicted, 2 true -> F1 0.5; class 1: tp 2, 3 predicted, 2 true -> 0.8;
  // class 2: never predicted -> 0. Mean over the three classes.
  CHECK(macro_f1({0, 0, 1, 1, 2}, {0, 1, 1, 1, 0}) == Approx((0.5 + 0.8 + 0.0) / 3));
  // A class only predicted (never true) counts too (sklearn uses the union of labels).
  CHECK(macro_f1({0, 0}, {0, 1}) == Approx((2.0 / 3 + 0.0) / 2));
  CHECK(macro_f1({1, 1}, {1, 1}) == Approx(1.0));
  CHECK_THROWS_WITH(accuracy({0}, {0, 1}), Catch::Contains("1 labels but 2 predictions"));
}

TEST_CASE("Matthews correlation: binary, multiclass, degenerate", "[train][metrics]") {
  // TP 2, FN 1, TN 2, FP 1: (2*2 - 1*1) / sqrt(3*3*3*3) = 1/3.
  CHECK(matthews_corrcoef({1, 1, 1, 0, 0, 0}, {1, 1, 0, 0, 0, 1}) == Approx(1.0 / 3));
  // sklearn's documented example.
  CHECK(matthews_corrcoef({1, 1, 1, -1}, {1, -1, 1, 1}) == Approx(-1.0 / 3));
  // Multiclass: c=3 correct of s=6; t = p = (2,2,2): (3*6 - 12) / (36 - 12) = 0.25.
  CHECK(matthews_corrcoef({0, 1, 2, 0, 1, 2}, {0, 1, 2, 1, 2, 0}) == Approx(0.25));
  // Constant predictions: undefined, reported as 0 (sklearn does the same).
  CHECK(matthews_corrcoef({0, 1, 0, 1}, {1, 1, 1, 1}) == 0.0);
  CHECK(matthews_corrcoef({0, 1, 2}, {0, 1, 2}) == Approx(1.0));
}

TEST_CASE("Pearson and Spearman with tie-averaged ranks", "[train][metrics]") {
  CHECK(pearson({1, 2, 3, 4}, {2, 4, 6, 8}) == Approx(1.0));
  CHECK(pearson({1, 2, 3, 4}, {1, 3, 2, 4}) == Approx(0.8));  // sxy 4, sxx = syy = 5
  CHECK(pearson({1, 1, 1}, {1, 2, 3}) == 0.0);
  CHECK(average_ranks({10, 20, 20, 30}) == std::vector<double>{1, 2.5, 2.5, 4});
  CHECK(average_ranks({3, 1, 3, 3}) == std::vector<double>{3, 1, 3, 3});
  // ranks (1, 2.5, 2.5, 4) vs (1, 3, 2, 4): sxy 4.5, sxx 4.5, syy 5.
  CHECK(spearman({1, 2, 2, 3}, {1, 3, 2, 4}) == Approx(4.5 / std::sqrt(4.5 * 5)));
  // Monotone but non-linear: Spearman 1, Pearson below 1.
  CHECK(spearman({1, 2, 3, 4}, {1, 8, 27, 64}) == Approx(1.0));
  CHECK(pearson({1, 2, 3, 4}, {1, 8, 27, 64}) < 0.99);
}
