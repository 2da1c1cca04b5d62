// Labelled sentence (pair) datasets as GLUE and HF `datasets` export them, for sequence
// classification and regression:
//   TSV (.tsv and anything else): header row, tab-separated, no quoting (GLUE's files are read with
//        QUOTE_NONE: a '"' inside a sentence is just a character);
//   CSV (.csv): header row, RFC 4180 quoting ("" escapes a quote; quoted fields may hold commas
//        and newlines);
//   JSONL (.jsonl, .json): one object per line with "text" (or "sentence"/"sentence1"),
//        optional "text_pair" (or "sentence2"), and "label" (string or number).
// Column names: first text from sentence | sentence1 | text | question1 | question; second text
// from sentence2 | text_pair | question2; the label from label.
// Not here: tokenization and batching (the CLI and batching.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tz::train {

struct LabelledTexts {
  std::string source;                 // the file, for error messages
  std::vector<std::string> texts;
  std::vector<std::string> text_pairs;  // empty for single-sentence data
  std::vector<std::string> labels;      // as written in the file
  std::vector<int64_t> line_numbers;    // 1-based line where each example starts

  size_t size() const { return texts.size(); }
  bool has_pairs() const { return !text_pairs.empty(); }
};

/// Reads a TSV / CSV / JSONL file (format by extension, see above). Throws tz::Error naming the
/// file, line and column for a missing file, a missing column or a malformed row.
LabelledTexts read_labelled_texts(const std::string& path);

/// Splits CSV text into rows of fields (RFC 4180). Each row also records its 1-based start line.
struct CsvRow {
  std::vector<std::string> fields;
  int64_t line = 0;
};
std::vector<CsvRow> parse_csv(const std::string& text, char separator = ',', bool quoting = true);

/// The labels of a task: names by id for classification, or regression (one float output).
struct LabelSpace {
  bool regression = false;
  std::vector<std::string> names;  // id -> label name (classification)

  /// Classification unless every label is a number and one is not an integer (or
  /// force_regression). Names are sorted numerically when all are integers, else as strings,
  /// so the same data always gives the same ids.
  static LabelSpace from_labels(const std::vector<std::string>& labels, bool force_regression = false);
  /// From a config's id2label list (and problem_type "regression").
  static LabelSpace from_names(std::vector<std::string> names, bool regression);

  int64_t num_labels() const { return regression ? 1 : static_cast<int64_t>(names.size()); }
  /// Label ids of `data`; throws naming the file, line and label for a label not in `names`.
  std::vector<int64_t> ids(const LabelledTexts& data) const;
  /// Float targets of `data` (regression); throws naming a label that is not a number.
  std::vector<float> values(const LabelledTexts& data) const;
};

}  // namespace tz::train
