// SQuAD exact match and F1, as the official evaluation scripts (and HF's `squad` / `squad_v2`
// metrics) compute them.
//
// normalize_answer: lower case (full Unicode lower-casing), drop every ASCII punctuation character
// (Python's string.punctuation; other punctuation stays), replace the whole words a / an / the by a
// space (word boundaries as Python's Unicode \b: letters, digits and '_' are word characters), then
// split on whitespace and join with single spaces.
// F1 is over the bag of normalized tokens. For an empty normalized answer on either side F1 is 1
// when both are empty and 0 otherwise (the v2 script's rule; v1.1 would give 0 for two empty
// answers, which only happens with v2 data). Scores of a question are the max over its gold
// answers; a question without gold answers (SQuAD v2 unanswerable) is scored against "".
// Partner: question_answering.h (which produces the predictions).
#pragma once

#include <map>
#include <string>
#include <vector>

namespace tz::train {

std::string normalize_answer(const std::string& s);
double exact_match_score(const std::string& prediction, const std::string& truth);  // 0 or 1
double f1_score(const std::string& prediction, const std::string& truth);           // in [0, 1]

struct SquadScores {
  double exact_match = 0, f1 = 0;  ///< in percent, as the scripts print them
  std::size_t total = 0;
  // Split by whether the question has an answer (v2 reports HasAns_ / NoAns_), in percent.
  double has_answer_exact = 0, has_answer_f1 = 0, no_answer_exact = 0, no_answer_f1 = 0;
  std::size_t has_answer_total = 0, no_answer_total = 0;
};

/// One prediction per question id; every id of `gold` must be predicted (checked). `gold` maps an id
/// to its answer texts (empty for an unanswerable question).
SquadScores squad_scores(const std::map<std::string, std::string>& predictions,
                         const std::map<std::string, std::vector<std::string>>& gold);

}  // namespace tz::train
