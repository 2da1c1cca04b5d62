// Reading labelled text files and mapping labels; see classification_dataset.h.
#include "train/classification_dataset.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>

#include "core/error.h"

namespace tz::train {

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  TZ_CHECK(in.good(), "dataset: cannot open '", path, "'");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  if (text.rfind("\xEF\xBB\xBF", 0) == 0) text.erase(0, 3);  // a UTF-8 BOM (Excel, pandas utf-8-sig)
  return text;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

const std::vector<std::string> kFirstText = {"sentence", "sentence1", "text", "question1", "question"};
const std::vector<std::string> kSecondText = {"sentence2", "text_pair", "question2"};

// Index of the first of `names` in `header`, or -1.
int find_column(const std::vector<std::string>& header, const std::vector<std::string>& names) {
  for (const auto& n : names)
    for (size_t i = 0; i < header.size(); ++i)
      if (header[i] == n) return static_cast<int>(i);
  return -1;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
  return s;
}

LabelledTexts read_table(const std::string& path, char sep, bool quoting) {
  std::vector<CsvRow> rows = parse_csv(read_file(path), sep, quoting);
  TZ_CHECK(!rows.empty(), "dataset: '", path, "' is empty (expected a header row)");
  const auto& header = rows[0].fields;
  int a = find_column(header, kFirstText), b = find_column(header, kSecondText), l = find_column(header, {"label"});
  TZ_CHECK(a >= 0, "dataset: '", path, "' has no text column (expected one of ", join(kFirstText), "; header: ",
           join(header), ")");
  TZ_CHECK(l >= 0, "dataset: '", path, "' has no 'label' column (header: ", join(header), ")");
  LabelledTexts data;
  data.source = path;
  for (size_t r = 1; r < rows.size(); ++r) {
    const auto& f = rows[r].fields;
    if (f.size() == 1 && f[0].empty()) continue;  // blank line
    TZ_CHECK(f.size() == header.size(), "dataset: '", path, "' line ", rows[r].line, ": ", f.size(),
             " fields, expected ", header.size(), " as in the header");
    data.texts.push_back(f[a]);
    if (b >= 0) data.text_pairs.push_back(f[b]);
    data.labels.push_back(f[l]);
    data.line_numbers.push_back(rows[r].line);
  }
  return data;
}

const nlohmann::json* find_key(const nlohmann::json& obj, const std::vector<std::string>& names) {
  for (const auto& n : names)
    if (auto it = obj.find(n); it != obj.end()) return &*it;
  return nullptr;
}

std::string label_to_string(const nlohmann::json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_number_integer() || j.is_number_unsigned() || j.is_number_float() || j.is_boolean()) return j.dump();
  throw Error(detail::concat("expected a string or number label, got ", j.dump()));
}

LabelledTexts read_jsonl(const std::string& path) {
  std::istringstream in(read_file(path));
  LabelledTexts data;
  data.source = path;
  std::string line;
  int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json obj;
    try {
      obj = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      throw Error(detail::concat("dataset: '", path, "' line ", line_no, ": not valid JSON (", e.what(), ")"));
    }
    TZ_CHECK(obj.is_object(), "dataset: '", path, "' line ", line_no, ": expected a JSON object");
    const nlohmann::json* text = find_key(obj, {"text", "sentence", "sentence1"});
    const nlohmann::json* pair = find_key(obj, {"text_pair", "sentence2"});
    const nlohmann::json* label = find_key(obj, {"label"});
    TZ_CHECK(text && text->is_string(), "dataset: '", path, "' line ", line_no, ": no string field 'text'");
    TZ_CHECK(label, "dataset: '", path, "' line ", line_no, ": no field 'label'");
    TZ_CHECK(data.texts.empty() || (pair != nullptr) == data.has_pairs(), "dataset: '", path, "' line ", line_no,
             ": 'text_pair' must be present on every line or on none");
    TZ_CHECK(!pair || pair->is_string(), "dataset: '", path, "' line ", line_no, ": 'text_pair' is not a string");
    data.texts.push_back(text->get<std::string>());
    if (pair) data.text_pairs.push_back(pair->get<std::string>());
    try {
      data.labels.push_back(label_to_string(*label));
    } catch (const Error& e) {
      throw Error(detail::concat("dataset: '", path, "' line ", line_no, ": ", e.what()));
    }
    data.line_numbers.push_back(line_no);
  }
  return data;
}

std::optional<double> parse_number(const std::string& s) {
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty() || !std::isfinite(v)) return std::nullopt;
  return v;
}

}  // namespace

std::vector<CsvRow> parse_csv(const std::string& text, char sep, bool quoting) {
  std::vector<CsvRow> rows;
  CsvRow row;
  row.line = 1;
  std::string field;
  int64_t line = 1;
  size_t i = 0, n = text.size();
  auto end_row = [&] {
    row.fields.push_back(std::move(field));
    field.clear();
    rows.push_back(std::move(row));
    row = CsvRow{};
  };
  if (n == 0) return rows;
  while (i < n) {
    char c = text[i];
    if (quoting && c == '"' && field.empty()) {  // a quoted field
      int64_t start_line = line;
      ++i;
      while (true) {
        TZ_CHECK(i < n, "csv: quoted field opened on line ", start_line, " is never closed");
        if (text[i] == '"') {
          if (i + 1 < n && text[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        if (text[i] == '\n') ++line;
        field += text[i++];
      }
      TZ_CHECK(i >= n || text[i] == sep || text[i] == '\n' || text[i] == '\r', "csv: line ", line,
               ": unexpected character after a closing quote");
      continue;
    }
    if (c == sep) {
      row.fields.push_back(std::move(field));
      field.clear();
      ++i;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < n && text[i + 1] == '\n') ++i;
      ++i;
      end_row();
      row.line = ++line;
    } else {
      field += c;
      ++i;
    }
  }
  if (!field.empty() || !row.fields.empty()) end_row();
  return rows;
}

LabelledTexts read_labelled_texts(const std::string& path) {
  if (ends_with(path, ".jsonl") || ends_with(path, ".json")) return read_jsonl(path);
  if (ends_with(path, ".csv")) return read_table(path, ',', true);
  return read_table(path, '\t', false);
}

LabelSpace LabelSpace::from_labels(const std::vector<std::string>& labels, bool force_regression) {
  TZ_CHECK(!labels.empty(), "labels: the training data has no examples");
  bool all_numbers = true, all_integers = true;
  for (const auto& l : labels) {
    auto v = parse_number(l);
    if (!v) {
      all_numbers = all_integers = false;
      break;
    }
    if (*v != std::floor(*v) || l.find_first_of(".eE") != std::string::npos) all_integers = false;
  }
  LabelSpace space;
  if (force_regression || (all_numbers && !all_integers)) {
    TZ_CHECK(all_numbers, "labels: regression needs numeric labels");
    space.regression = true;
    return space;
  }
  std::set<std::string> distinct(labels.begin(), labels.end());
  space.names.assign(distinct.begin(), distinct.end());
  if (all_integers)
    std::stable_sort(space.names.begin(), space.names.end(),
                     [](const std::string& a, const std::string& b) { return *parse_number(a) < *parse_number(b); });
  return space;
}

LabelSpace LabelSpace::from_names(std::vector<std::string> names, bool regression) {
  LabelSpace space;
  space.regression = regression;
  if (!regression) space.names = std::move(names);
  return space;
}

std::vector<int64_t> LabelSpace::ids(const LabelledTexts& data) const {
  TZ_CHECK(!regression, "labels: ids() of a regression task");
  std::vector<int64_t> out;
  out.reserve(data.size());
  for (size_t i = 0; i < data.size(); ++i) {
    auto it = std::find(names.begin(), names.end(), data.labels[i]);
    TZ_CHECK(it != names.end(), "dataset: '", data.source, "' line ", data.line_numbers[i], ": unknown label '",
             data.labels[i], "' (the training labels are: ", join(names), ")");
    out.push_back(it - names.begin());
  }
  return out;
}

std::vector<float> LabelSpace::values(const LabelledTexts& data) const {
  std::vector<float> out;
  out.reserve(data.size());
  for (size_t i = 0; i < data.size(); ++i) {
    auto v = parse_number(data.labels[i]);
    TZ_CHECK(v, "dataset: '", data.source, "' line ", data.line_numbers[i], ": label '", data.labels[i],
             "' is not a number (regression)");
    out.push_back(static_cast<float>(*v));
  }
  return out;
}

}  // namespace tz::train
