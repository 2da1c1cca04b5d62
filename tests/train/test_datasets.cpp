// Reading corpora and labelled datasets: UTF-8 checks, TSV/CSV/JSONL, label mapping, errors.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "train/classification_dataset.h"
#include "train/text_dataset.h"

using namespace tz::train;
namespace fs = std::filesystem;

namespace {

// Removes this process's temporary folder when the test program exits.
struct TempCleanup {
  ~TempCleanup() {
    std::error_code ec;
    std::filesystem::remove_all(std::filesystem::temp_directory_path() / ("tz_train_data_" + std::to_string(::getpid())), ec);
  }
} temp_cleanup;

std::string write_temp(const std::string& name, const std::string& content) {
  fs::path dir = fs::temp_directory_path() / ("tz_train_data_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  fs::path p = dir / name;
  std::ofstream(p, std::ios::binary) << content;
  return p.string();
}
}  // namespace

TEST_CASE("UTF-8 validation", "[train][data]") {
  CHECK(is_valid_utf8("plain ascii"));
  CHECK(is_valid_utf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));
  CHECK_FALSE(is_valid_utf8("\xC3"));              // truncated
  CHECK_FALSE(is_valid_utf8("\xC0\xAF"));          // overlong '/'
  CHECK_FALSE(is_valid_utf8("\xED\xA0\x80"));      // surrogate U+D800
  CHECK_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  CHECK_FALSE(is_valid_utf8("a\x80z"));            // stray continuation
  CHECK_FALSE(is_valid_utf8("\xFF"));
}

TEST_CASE("a corpus skips and counts invalid lines, never throws on them", "[train][data]") {
  std::string a = write_temp("a.txt", "first line\r\n\nbad \xFF byte\nsecond line\n   \n");
  std::string b = write_temp("b.txt", "third \xC3\xA9\n\xC3");
  TextCorpus c = read_text_corpus({a, b});
  CHECK(c.lines == std::vector<std::string>{"first line", "second line", "third \xC3\xA9"});
  CHECK(c.invalid_lines == 2);
  CHECK(c.empty_lines == 2);
  CHECK_THROWS_WITH(read_text_corpus({"/nonexistent/x.txt"}), Catch::Contains("cannot open '/nonexistent/x.txt'"));
}

TEST_CASE("CSV parsing follows RFC 4180", "[train][data]") {
  auto rows = parse_csv("a,b\n\"x, y\",\"say \"\"hi\"\"\"\n\"multi\nline\",z\r\nlast,\n");
  REQUIRE(rows.size() == 4);
  CHECK(rows[1].fields == std::vector<std::string>{"x, y", "say \"hi\""});
  CHECK(rows[2].fields == std::vector<std::string>{"multi\nline", "z"});
  CHECK(rows[2].line == 3);
  CHECK(rows[3].fields == std::vector<std::string>{"last", ""});
  CHECK(rows[3].line == 5);
  CHECK_THROWS_WITH(parse_csv("a\n\"open"), Catch::Contains("never closed"));
}

TEST_CASE("TSV (GLUE style), CSV and JSONL datasets", "[train][data]") {
  // GLUE's TSVs are unquoted: the quote characters stay part of the sentence.
  auto tsv = read_labelled_texts(write_temp("sst.tsv", "sentence\tlabel\n\"a\" movie\t1\nbad one\t0\n"));
  CHECK(tsv.texts == std::vector<std::string>{"\"a\" movie", "bad one"});
  CHECK(tsv.labels == std::vector<std::string>{"1", "0"});
  CHECK_FALSE(tsv.has_pairs());
  CHECK(tsv.line_numbers == std::vector<int64_t>{2, 3});
  auto bom = read_labelled_texts(write_temp("bom.csv", "\xEF\xBB\xBFsentence,label\nok,1\r\n"));
  CHECK(bom.texts == std::vector<std::string>{"ok"});
  CHECK(bom.labels == std::vector<std::string>{"1"});

  auto csv = read_labelled_texts(write_temp("pairs.csv", "idx,sentence1,sentence2,label\n0,\"A, b\",c,yes\n1,d,e,no\n"));
  CHECK(csv.texts == std::vector<std::string>{"A, b", "d"});
  CHECK(csv.text_pairs == std::vector<std::string>{"c", "e"});

  auto jsonl = read_labelled_texts(write_temp("d.jsonl", "{\"text\": \"x\", \"text_pair\": \"y\", \"label\": 2}\n\n"
                                                         "{\"text\": \"z\", \"text_pair\": \"w\", \"label\": \"pos\"}\n"));
  CHECK(jsonl.labels == std::vector<std::string>{"2", "pos"});
  CHECK(jsonl.text_pairs == std::vector<std::string>{"y", "w"});
  CHECK(jsonl.line_numbers == std::vector<int64_t>{1, 3});
}

TEST_CASE("dataset errors name the file, line and what is wrong", "[train][data]") {
  CHECK_THROWS_WITH(read_labelled_texts(write_temp("nolabel.tsv", "sentence\tscore\na\t1\n")),
                    Catch::Contains("no 'label' column") && Catch::Contains("sentence, score"));
  CHECK_THROWS_WITH(read_labelled_texts(write_temp("notext.tsv", "foo\tlabel\na\t1\n")),
                    Catch::Contains("no text column"));
  CHECK_THROWS_WITH(read_labelled_texts(write_temp("ragged.tsv", "sentence\tlabel\na\t1\nb\n")),
                    Catch::Contains("line 3: 1 fields, expected 2"));
  CHECK_THROWS_WITH(read_labelled_texts(write_temp("bad.jsonl", "{\"text\": \"a\", \"label\": 1}\n{oops\n")),
                    Catch::Contains("line 2: not valid JSON"));
  CHECK_THROWS_WITH(read_labelled_texts(write_temp("nol.jsonl", "{\"text\": \"a\"}\n")),
                    Catch::Contains("line 1: no field 'label'"));
  CHECK_THROWS_WITH(read_labelled_texts("/nonexistent/train.tsv"), Catch::Contains("cannot open"));
}

TEST_CASE("labels map to sorted ids; floats make a regression task", "[train][data]") {
  LabelSpace s = LabelSpace::from_labels({"pos", "neg", "neutral", "neg"});
  CHECK(s.names == std::vector<std::string>{"neg", "neutral", "pos"});
  CHECK_FALSE(s.regression);
  LabelSpace n = LabelSpace::from_labels({"10", "2", "1"});
  CHECK(n.names == std::vector<std::string>{"1", "2", "10"});  // numeric order, not "1" "10" "2"
  LabelSpace r = LabelSpace::from_labels({"3.8", "1", "0.25"});
  CHECK(r.regression);
  CHECK(r.num_labels() == 1);
  CHECK(LabelSpace::from_labels({"0", "1"}, /*force_regression=*/true).regression);

  LabelledTexts dev;
  dev.source = "dev.tsv";
  dev.texts = {"a", "b"};
  dev.labels = {"pos", "maybe"};
  dev.line_numbers = {2, 3};
  CHECK_THROWS_WITH(s.ids(dev), Catch::Contains("dev.tsv' line 3: unknown label 'maybe'"));
  dev.labels = {"pos", "neg"};
  CHECK(s.ids(dev) == std::vector<int64_t>{2, 0});
  dev.labels = {"1.5", "x"};
  CHECK_THROWS_WITH(r.values(dev), Catch::Contains("label 'x' is not a number"));
}
