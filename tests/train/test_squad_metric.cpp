// SQuAD normalisation, EM and F1 on hand-worked answers (values as the official scripts give them).
#include <catch2/catch.hpp>

#include "train/squad_metric.h"

using tz::train::exact_match_score;
using tz::train::f1_score;
using tz::train::normalize_answer;

TEST_CASE("normalize_answer: case, punctuation, articles, whitespace", "[train][squad]") {
  CHECK(normalize_answer("The  Quick, brown fox!") == "quick brown fox");
  CHECK(normalize_answer("An apple a day") == "apple day");
  CHECK(normalize_answer("theatre and anvil") == "theatre and anvil");  // articles only as whole words
  CHECK(normalize_answer("A.B.") == "ab");                             // punctuation goes before articles
  CHECK(normalize_answer("  \t\n ") == "");
  CHECK(normalize_answer("Ça Va") == "ça va");
  // Non-ASCII punctuation is kept, and it is a word boundary for the article rule.
  CHECK(normalize_answer("\u00abthe\u00bb end") == "\u00ab \u00bb end");
}

TEST_CASE("normalize_answer: punctuation removal can create or destroy articles", "[train][squad]") {
  // "the-the" -> "thethe": one word, not an article.
  CHECK(normalize_answer("the-thé") == "thethé");
  CHECK(normalize_answer("a.") == "");
  CHECK(normalize_answer("(the) 1990s") == "1990s");
}

TEST_CASE("exact match and F1", "[train][squad]") {
  CHECK(exact_match_score("The Broncos", "broncos") == 1.0);
  CHECK(exact_match_score("Broncos!", "Denver Broncos") == 0.0);
  // pred [cat, sat], truth [cat, sat, on, mat]: P = 1, R = 0.5.
  CHECK(f1_score("the cat sat", "a cat sat on the mat") == Approx(2.0 / 3.0));
  // Bag of tokens: a repeated token counts as often as it appears on both sides.
  CHECK(f1_score("cat cat cat", "cat") == Approx(2 * (1.0 / 3) * 1 / (1.0 / 3 + 1)));
  CHECK(f1_score("dog", "cat") == 0.0);
  // Empty answers (SQuAD v2): 1 only when both are empty after normalisation.
  CHECK(f1_score("", "") == 1.0);
  CHECK(f1_score("the", "") == 1.0);
  CHECK(f1_score("x", "") == 0.0);
  CHECK(f1_score("", "x") == 0.0);
  CHECK(exact_match_score("", "") == 1.0);
}

TEST_CASE("squad_scores: max over gold answers, v2 unanswerable questions", "[train][squad]") {
  std::map<std::string, std::vector<std::string>> gold{
      {"q1", {"Denver Broncos", "Broncos"}}, {"q2", {}}, {"q3", {"1990"}}, {"q4", {}}};
  std::map<std::string, std::string> pred{{"q1", "the Broncos"}, {"q2", ""}, {"q3", "in 1990"}, {"q4", "Paris"}};
  auto s = tz::train::squad_scores(pred, gold);
  CHECK(s.total == 4);
  CHECK(s.exact_match == Approx(50.0));                      // q1, q2
  CHECK(s.f1 == Approx(100.0 * (1 + 1 + 2.0 / 3 + 0) / 4));  // q3: P = 0.5, R = 1
  CHECK(s.has_answer_total == 2);
  CHECK(s.has_answer_exact == Approx(50.0));
  CHECK(s.no_answer_exact == Approx(50.0));
  CHECK(s.no_answer_f1 == Approx(50.0));
  pred.erase("q4");
  CHECK_THROWS_WITH(tz::train::squad_scores(pred, gold), Catch::Contains("no prediction for question id 'q4'"));
}
