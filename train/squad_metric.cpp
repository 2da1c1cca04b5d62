// SQuAD EM / F1 (see squad_metric.h for the normalisation rules).
#include "train/squad_metric.h"

#include <utf8proc.h>

#include <algorithm>
#include <map>

#include "core/error.h"
#include "tokenizer/unicode.h"

namespace tz::train {
namespace {

namespace uni = tz::tokenizer::unicode;

std::u32string decode_lenient(const std::string& s) {
  std::u32string out;
  for (std::size_t i = 0; i < s.size();) {
    std::size_t len = 0;
    int32_t cp = uni::decode(s.data(), s.size(), i, len);
    out.push_back(cp < 0 ? U'\uFFFD' : static_cast<char32_t>(cp));
    i += len;
  }
  return out;
}

bool is_ascii_punctuation(char32_t c) {
  return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
}

// Python's \w for str patterns: alphanumeric (categories L*, N*) or underscore.
bool is_word_char(char32_t c) {
  if (c == U'_') return true;
  if (c < 128) return (c >= U'0' && c <= U'9') || (c >= U'a' && c <= U'z') || (c >= U'A' && c <= U'Z');
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(c))) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
      return true;
    default:
      return false;
  }
}

std::vector<std::string> tokens_of(const std::string& s) {
  std::vector<std::string> out;
  std::string norm = normalize_answer(s);
  std::size_t i = 0;
  while (i < norm.size()) {
    std::size_t j = norm.find(' ', i);
    if (j == std::string::npos) j = norm.size();
    if (j > i) out.push_back(norm.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

}  // namespace

std::string normalize_answer(const std::string& s) {
  // 1. lower case, 2. remove ASCII punctuation
  std::u32string text;
  for (char32_t c : decode_lenient(s)) {
    char32_t low[3];
    int n = uni::to_lower_full(c, low);
    for (int k = 0; k < n; ++k)
      if (!is_ascii_punctuation(low[k])) text.push_back(low[k]);
  }
  // 3. articles: whole words a / an / the become a space
  std::u32string no_articles;
  for (std::size_t i = 0; i < text.size();) {
    bool boundary_before = i == 0 || !is_word_char(text[i - 1]);
    std::size_t len = 0;
    if (boundary_before) {
      for (std::u32string_view w : {std::u32string_view(U"the"), std::u32string_view(U"an"), std::u32string_view(U"a")}) {
        if (text.compare(i, w.size(), w) == 0 && (i + w.size() == text.size() || !is_word_char(text[i + w.size()]))) {
          len = w.size();
          break;
        }
      }
    }
    if (len) {
      no_articles.push_back(U' ');
      i += len;
    } else {
      no_articles.push_back(text[i++]);
    }
  }
  // 4. whitespace: Python's str.split() (Unicode whitespace), joined with one space
  std::string out;
  bool pending_space = false;
  for (char32_t c : no_articles) {
    if (uni::is_white_space(c) || (c >= 0x1C && c <= 0x1F)) {  // str.split also splits on \x1c-\x1f
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    uni::append_utf8(out, c);
  }
  return out;
}

double exact_match_score(const std::string& prediction, const std::string& truth) {
  return normalize_answer(prediction) == normalize_answer(truth) ? 1.0 : 0.0;
}

double f1_score(const std::string& prediction, const std::string& truth) {
  std::vector<std::string> p = tokens_of(prediction), t = tokens_of(truth);
  if (p.empty() || t.empty()) return p.empty() && t.empty() ? 1.0 : 0.0;
  std::map<std::string, long> counts;
  for (const auto& w : t) ++counts[w];
  long same = 0;
  for (const auto& w : p) {
    auto it = counts.find(w);
    if (it != counts.end() && it->second > 0) {
      --it->second;
      ++same;
    }
  }
  if (same == 0) return 0.0;
  double precision = static_cast<double>(same) / static_cast<double>(p.size());
  double recall = static_cast<double>(same) / static_cast<double>(t.size());
  return 2 * precision * recall / (precision + recall);
}

SquadScores squad_scores(const std::map<std::string, std::string>& predictions,
                         const std::map<std::string, std::vector<std::string>>& gold) {
  SquadScores s;
  double em_has = 0, f1_has = 0, em_no = 0, f1_no = 0;
  for (const auto& [id, answers] : gold) {
    auto it = predictions.find(id);
    TZ_CHECK(it != predictions.end(), "squad_scores: no prediction for question id '", id, "'");
    std::vector<std::string> truths = answers.empty() ? std::vector<std::string>{""} : answers;
    double em = 0, f1 = 0;
    for (const auto& t : truths) {
      em = std::max(em, exact_match_score(it->second, t));
      f1 = std::max(f1, f1_score(it->second, t));
    }
    if (answers.empty()) {
      em_no += em;
      f1_no += f1;
      ++s.no_answer_total;
    } else {
      em_has += em;
      f1_has += f1;
      ++s.has_answer_total;
    }
  }
  s.total = gold.size();
  auto pct = [](double x, std::size_t n) { return n == 0 ? 0.0 : 100.0 * x / static_cast<double>(n); };
  s.exact_match = pct(em_has + em_no, s.total);
  s.f1 = pct(f1_has + f1_no, s.total);
  s.has_answer_exact = pct(em_has, s.has_answer_total);
  s.has_answer_f1 = pct(f1_has, s.has_answer_total);
  s.no_answer_exact = pct(em_no, s.no_answer_total);
  s.no_answer_f1 = pct(f1_no, s.no_answer_total);
  return s;
}

}  // namespace tz::train
