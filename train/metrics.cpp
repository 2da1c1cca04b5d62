// Metric definitions; see metrics.h.
#include "train/metrics.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <numeric>

#include "core/error.h"

namespace tz::train {

namespace {
void check_sizes(size_t a, size_t b, const char* what) {
  TZ_CHECK(a == b, what, ": ", a, " labels but ", b, " predictions");
}
}  // namespace

double accuracy(const std::vector<int64_t>& labels, const std::vector<int64_t>& preds) {
  check_sizes(labels.size(), preds.size(), "accuracy");
  if (labels.empty()) return 0.0;
  size_t right = 0;
  for (size_t i = 0; i < labels.size(); ++i) right += labels[i] == preds[i];
  return static_cast<double>(right) / static_cast<double>(labels.size());
}

double macro_f1(const std::vector<int64_t>& labels, const std::vector<int64_t>& preds) {
  check_sizes(labels.size(), preds.size(), "macro_f1");
  // Per class: true positives, predicted count, true count.
  std::map<int64_t, std::array<int64_t, 3>> counts;
  for (size_t i = 0; i < labels.size(); ++i) {
    counts[labels[i]][2] += 1;
    counts[preds[i]][1] += 1;
    if (labels[i] == preds[i]) counts[labels[i]][0] += 1;
  }
  if (counts.empty()) return 0.0;
  double sum = 0.0;
  for (const auto& [cls, c] : counts) {
    // F1 = 2 tp / (predicted + true): the harmonic mean of precision and recall without the
    // 0/0 cases (sklearn's zero_division=0 gives the same 0 when tp is 0).
    if (c[1] + c[2] > 0) sum += 2.0 * static_cast<double>(c[0]) / static_cast<double>(c[1] + c[2]);
  }
  return sum / static_cast<double>(counts.size());
}

double matthews_corrcoef(const std::vector<int64_t>& labels, const std::vector<int64_t>& preds) {
  check_sizes(labels.size(), preds.size(), "matthews_corrcoef");
  std::map<int64_t, double> t, p;
  double c = 0, s = static_cast<double>(labels.size());
  for (size_t i = 0; i < labels.size(); ++i) {
    t[labels[i]] += 1;
    p[preds[i]] += 1;
    c += labels[i] == preds[i];
  }
  double pt = 0, pp = 0, tt = 0;
  for (const auto& [k, v] : t) {
    tt += v * v;
    if (auto it = p.find(k); it != p.end()) pt += v * it->second;
  }
  for (const auto& [k, v] : p) pp += v * v;
  double denom = std::sqrt((s * s - pp) * (s * s - tt));
  return denom == 0.0 ? 0.0 : (c * s - pt) / denom;
}

double pearson(const std::vector<double>& x, const std::vector<double>& y) {
  check_sizes(x.size(), y.size(), "pearson");
  if (x.empty()) return 0.0;
  double n = static_cast<double>(x.size());
  double mx = std::accumulate(x.begin(), x.end(), 0.0) / n;
  double my = std::accumulate(y.begin(), y.end(), 0.0) / n;
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  return sxx == 0.0 || syy == 0.0 ? 0.0 : sxy / std::sqrt(sxx * syy);
}

std::vector<double> average_ranks(const std::vector<double>& x) {
  std::vector<size_t> order(x.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return x[a] < x[b]; });
  std::vector<double> ranks(x.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && x[order[j + 1]] == x[order[i]]) ++j;
    double r = (static_cast<double>(i) + static_cast<double>(j)) / 2.0 + 1.0;  // mean of ranks i+1..j+1
    for (size_t k = i; k <= j; ++k) ranks[order[k]] = r;
    i = j + 1;
  }
  return ranks;
}

double spearman(const std::vector<double>& x, const std::vector<double>& y) {
  check_sizes(x.size(), y.size(), "spearman");
  return pearson(average_ranks(x), average_ranks(y));
}

double roc_auc(const std::vector<int64_t>& labels, const std::vector<double>& scores) {
  const std::vector<double> ranks = average_ranks(scores);
  double positives = 0, rank_sum = 0;
  for (size_t i = 0; i < labels.size(); ++i)
    if (labels[i] != 0) positives += 1, rank_sum += ranks[i];
  const double negatives = static_cast<double>(labels.size()) - positives;
  if (positives == 0 || negatives == 0) return 0.5;
  return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives);
}

}  // namespace tz::train
