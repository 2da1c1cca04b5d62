// Evaluation metrics for classification and regression, with scikit-learn's / scipy's definitions
// so numbers compare with what HF's examples print. Pure functions over plain vectors.
// Not here: sequence-labelling (seqeval.h) and span (squad_metric.h) metrics.
#pragma once

#include <cstdint>
#include <vector>

namespace tz::train {

/// Fraction of positions where pred == label. Empty input: 0.
double accuracy(const std::vector<int64_t>& labels, const std::vector<int64_t>& preds);

/// Unweighted mean of per-class F1 over the classes that occur in labels or preds
/// (sklearn f1_score(average="macro"); a class with no predicted or no true items has F1 0).
double macro_f1(const std::vector<int64_t>& labels, const std::vector<int64_t>& preds);

/// Matthews correlation coefficient, multiclass form (sklearn matthews_corrcoef):
/// (c*s - sum_k p_k t_k) / sqrt((s^2 - sum_k p_k^2)(s^2 - sum_k t_k^2)); 0 when undefined.
double matthews_corrcoef(const std::vector<int64_t>& labels, const std::vector<int64_t>& preds);

/// Pearson correlation; 0 when either side is constant.
double pearson(const std::vector<double>& x, const std::vector<double>& y);

/// Ranks 1..n with ties given the average of the ranks they span (scipy rankdata "average").
std::vector<double> average_ranks(const std::vector<double>& x);

/// Spearman correlation: Pearson of the average ranks.
double spearman(const std::vector<double>& x, const std::vector<double>& y);

/// Area under the ROC curve of `scores` for binary `labels` (0/1), by the rank-sum (Mann-Whitney)
/// formula with average ranks for ties (sklearn roc_auc_score); 0.5 when one class is absent.
double roc_auc(const std::vector<int64_t>& labels, const std::vector<double>& scores);

}  // namespace tz::train
