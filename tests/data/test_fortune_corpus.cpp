// The fortune language-ID builder on a small fake fortunes folder made in a temp directory: file
// discovery (.u8 twins, .dat indexes, symlinks claimed once), legacy charsets, CRLF separators,
// filters, dedupe, and a balanced, disjoint, seed-deterministic split.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "data/fortune_corpus.h"

namespace fs = std::filesystem;
using tz::data::FortuneCorpus;
using tz::data::FortuneCorpusOptions;

namespace {

void write(const fs::path& p, const std::string& bytes) {
  fs::create_directories(p.parent_path());
  std::ofstream f(p, std::ios::binary);
  f << bytes;
}

/// `n` records "<lang> record <i> ..." joined by "%" lines with `eol` line ends.
std::string records(const std::string& lang, int first, int n, const std::string& eol = "\n") {
  std::string s;
  for (int i = first; i < first + n; ++i) s += lang + " record number " + std::to_string(i) + eol + "  second line" + eol + "%" + eol;
  return s;
}

/// A fortunes folder with ten usable records per language plus traps.
fs::path make_fake_fortunes() {
  fs::path root = fs::temp_directory_path() / ("tz_fake_fortunes." + std::to_string(getpid()));
  fs::remove_all(root);
  // en: the root's plain files; a duplicate within en, a too-short record, a record also in de.
  write(root / "fortunes", records("en", 0, 6) + "en record number 0\n  second line\n%\nshort\n%\nShared text in two languages here\n");
  write(root / "fortunes.dat", std::string("\x00\x01\x02\xff", 4));
  write(root / "people", records("en", 6, 4));
  // pt: brasil; it: a Latin-1 file plus a root symlink into it/ that must stay Italian.
  write(root / "brasil", records("pt", 0, 10));
  write(root / "it" / "latin1", records("it", 0, 9) + "perch\xe9 il caff\xe8 \xe8 buono\n");
  fs::create_symlink("it/latin1", root / "latin1");
  // de: the .u8 twin is preferred; the shared record makes both copies (en, de) disappear.
  write(root / "de" / "witze", "this must not be read\n%\n");
  write(root / "de" / "witze.u8", records("de", 0, 10) + "%\nShared text in two languages here\n");
  // ru: CRLF line ends; pl: an empty .u8 (fortunes-pl ships those) so the base file is read.
  write(root / "ru" / "crlf", records("ru", 0, 10, "\r\n"));
  write(root / "pl" / "zen", records("pl", 0, 10));
  write(root / "pl" / "zen.u8", "");
  write(root / "es" / "vida.fortunes", records("es", 0, 10));
  write(root / "es" / "off" / "nope.fortunes", records("es-off", 0, 10));
  write(root / "cs" / "citat", records("cs", 0, 10));
  write(root / "cs" / "klasik-sk", records("sk", 0, 10));
  return root;
}

std::set<std::string> texts_of(const std::vector<tz::data::LabelledText>& rows) {
  std::set<std::string> s;
  for (const auto& r : rows) s.insert(r.text);
  return s;
}

}  // namespace

TEST_CASE("fortune records: % lines split, CRLF allowed, whitespace collapsed", "[train][fortunes]") {
  auto r = tz::data::split_fortune_records("a\r\nb\r\n%\r\n\r\n%\nc\n%");
  REQUIRE(r.size() == 2);
  CHECK(tz::data::normalize_record(r[0]) == "a b");
  CHECK(tz::data::normalize_record(r[1]) == "c");
  CHECK(tz::data::normalize_record("  x\t\ty \x08z\n") == "x y z");
  CHECK(tz::data::split_fortune_records("100%\n% \nend").size() == 1);  // only a bare % separates
}

TEST_CASE("legacy charsets decode to UTF-8", "[train][fortunes]") {
  bool utf8 = false;
  CHECK(tz::data::decode_to_utf8("\xf0\xd2\xc9\xd7\xc5\xd4", "koi8-r", utf8) == "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82");  // Привет
  CHECK_FALSE(utf8);
  CHECK(tz::data::decode_to_utf8("\xb3\xf3""d\xbc", "iso-8859-2", utf8) == "\xc5\x82\xc3\xb3" "d\xc5\xba");  // łódź
  CHECK(tz::data::decode_to_utf8("caf\xe9", "iso-8859-1", utf8) == "caf\xc3\xa9");
  CHECK(tz::data::decode_to_utf8("caf\xc3\xa9", "koi8-r", utf8) == "caf\xc3\xa9");
  CHECK(utf8);
}

TEST_CASE("fortunes-langid: balanced, disjoint, deterministic splits", "[train][fortunes]") {
  fs::path root = make_fake_fortunes();
  FortuneCorpusOptions o;
  o.fortunes_dir = root;
  o.seed = 7;
  FortuneCorpus c = tz::data::build_fortune_langid(o);

  REQUIRE(c.stats.size() == 8);
  CHECK(c.per_language == 10);
  CHECK(c.per_language_dev == 1);
  CHECK(c.per_language_test == 1);
  CHECK(c.train.size() == 64);
  CHECK(c.dev.size() == 8);
  CHECK(c.test.size() == 8);
  std::map<std::string, int> per_label;
  for (const auto* split : {&c.train, &c.dev, &c.test})
    for (const auto& r : *split) ++per_label[r.label];
  for (const auto& [lang, n] : per_label) CHECK(n == 10);
  CHECK(per_label.size() == 8);

  // No text in two splits; every text once.
  auto tr = texts_of(c.train), dv = texts_of(c.dev), te = texts_of(c.test);
  CHECK(tr.size() == c.train.size());
  for (const auto& t : dv) CHECK_FALSE(tr.count(t));
  for (const auto& t : te) CHECK_FALSE((tr.count(t) || dv.count(t)));

  std::set<std::string> all = tr;
  all.insert(dv.begin(), dv.end());
  all.insert(te.begin(), te.end());
  CHECK(all.count("perch\xc3\xa9 il caff\xc3\xa8 \xc3\xa8 buono"));  // Latin-1 decoded
  CHECK(all.count("ru record number 3 second line"));              // CRLF handled
  CHECK(all.count("de record number 0 second line"));              // .u8 twin read
  CHECK(all.count("pl record number 9 second line"));              // empty .u8 ignored
  for (const auto& t : all) {
    CHECK(t.find("must not") == std::string::npos);
    CHECK(t.find("Shared text") == std::string::npos);
    CHECK(t.find("es-off") == std::string::npos);
    CHECK(t.find("sk record") == std::string::npos);
    CHECK(t.find('\t') == std::string::npos);
    CHECK(t.find('\r') == std::string::npos);
  }
  CHECK(c.stats["it"].files == 1);  // the root symlink into it/ is not read again as English
  CHECK(c.stats["it"].files_non_utf8 == 1);
  CHECK(c.stats["en"].duplicates == 1);
  CHECK(c.stats["en"].too_short == 1);
  CHECK(c.stats["en"].cross_language == 1);
  CHECK(c.stats["de"].cross_language == 1);

  // The same seed gives the same files; another seed another split.
  FortuneCorpus again = tz::data::build_fortune_langid(o);
  CHECK(again.train == c.train);
  CHECK(again.test == c.test);
  o.seed = 8;
  FortuneCorpus other = tz::data::build_fortune_langid(o);
  CHECK_FALSE(other.train == c.train);

  // --per-language smaller than the smallest language.
  o.per_language = 5;
  FortuneCorpus small = tz::data::build_fortune_langid(o);
  CHECK(small.train.size() + small.dev.size() + small.test.size() == 40);

  fs::path out = fs::temp_directory_path() / ("tz_fake_fortunes_out." + std::to_string(getpid()));
  fs::remove_all(out);
  tz::data::write_fortune_langid(c, out);
  std::ifstream f(out / "train.tsv");
  std::string header, line;
  std::getline(f, header);
  CHECK(header == "sentence\tlabel");
  int rows = 0;
  while (std::getline(f, line)) {
    ++rows;
    CHECK(std::count(line.begin(), line.end(), '\t') == 1);
  }
  CHECK(rows == 64);
  std::ifstream corpus(out / "corpus.txt");
  int lines = 0;
  while (std::getline(corpus, line)) ++lines;
  CHECK(lines == 64);
  CHECK(fs::exists(out / "stats.json"));
  fs::remove_all(out);
  fs::remove_all(root);
}

TEST_CASE("fortunes-langid: a missing folder is a clear error", "[train][fortunes]") {
  FortuneCorpusOptions o;
  o.fortunes_dir = "/nonexistent/fortunes";
  CHECK_THROWS_WITH(tz::data::build_fortune_langid(o), Catch::Contains("is not a directory"));
}
