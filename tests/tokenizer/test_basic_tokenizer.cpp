// Unit tests for the pieces of BERT basic tokenization, written from the rules (BertNormalizer and
// BertPreTokenizer of HF's Rust crate) with hand-worked expectations: character classes and the
// Unicode 8.0 compatibility layer, UTF-8 decoding, clean text, CJK spacing, accent stripping,
// lowercasing, punctuation splitting, and the original-text spans of every word.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "tokenizer/basic_tokenizer.h"
#include "tokenizer/unicode.h"

using namespace tz::tokenizer;
namespace u = tz::tokenizer::unicode;

namespace {

struct Collected {
  std::string text;
  std::size_t begin, end;  // original span of the whole word
  bool operator==(const Collected&) const = default;
};

class Collect : public WordSink {
 public:
  std::vector<Collected> words;
  void on_word(const Word& w) override {
    words.push_back({std::string(w.text), w.orig_begin[0], w.orig_end[w.text.size() - 1]});
  }
};

std::vector<Collected> run(std::string_view text, NormalizerOptions o = {}) {
  BasicTokenizer bt(o);
  BasicTokenizer::Scratch scratch;
  Collect sink;
  bt.run(text, 0, scratch, sink);
  return sink.words;
}

std::vector<std::string> words(std::string_view text, NormalizerOptions o = {}) {
  std::vector<std::string> out;
  for (const auto& w : run(text, o)) out.push_back(w.text);
  return out;
}

NormalizerOptions cased() {
  NormalizerOptions o;
  o.lowercase = false;
  return o;
}

}  // namespace

TEST_CASE("UTF-8 decoding accepts well-formed and rejects ill-formed sequences", "[tokenizer][unicode]") {
  std::size_t len = 0;
  CHECK(u::decode("\xC3\xA9", 2, 0, len) == 0xE9);
  CHECK(len == 2);
  CHECK(u::decode("\xF0\x9F\x98\x80", 4, 0, len) == 0x1F600);
  CHECK(len == 4);
  CHECK(u::decode("\xC0\xAF", 2, 0, len) < 0);          // overlong
  CHECK(u::decode("\xED\xA0\x80", 3, 0, len) < 0);      // surrogate
  CHECK(u::decode("\xF4\x90\x80\x80", 4, 0, len) < 0);  // > U+10FFFF
  CHECK(u::decode("\xE2\x82", 2, 0, len) < 0);          // truncated
  CHECK(len == 2);
  CHECK(u::find_invalid_utf8("abc\xC3\xA9 ok") == std::string_view::npos);
  CHECK(u::find_invalid_utf8("abcdefghij\xFFxyz") == 10);
  CHECK(u::replace_invalid_utf8("a\xFF" "b") == "a\xEF\xBF\xBD" "b");
  CHECK(u::count_code_points("h\xC3\xA9llo", 0, 6) == 5);
}

TEST_CASE("character classes follow the crate, including its Unicode 8.0 tables", "[tokenizer][unicode]") {
  // ASCII punctuation includes symbols that are S* in Unicode.
  for (char32_t c : {U'$', U'+', U'<', U'=', U'>', U'^', U'`', U'|', U'~', U'!', U'.'}) CHECK(u::is_bert_punctuation(c));
  CHECK_FALSE(u::is_bert_punctuation(U'a'));
  CHECK(u::is_bert_punctuation(0x00BF));   // ¿ Po
  CHECK(u::is_bert_punctuation(0x3001));   // 、 Po
  CHECK_FALSE(u::is_bert_punctuation(0x20AC));  // € is Sc, not punctuation
  // Punctuation added after Unicode 8.0 is unassigned to the crate.
  CHECK_FALSE(u::is_bert_punctuation(0x061D));
  CHECK_FALSE(u::is_bert_punctuation(0x2E43));
  CHECK(u::is_bert_punctuation(0x2E42));   // added in 8.0
  // Controls: Cc/Cf/Co of the old table, but never tab/newline/CR, and never unassigned.
  CHECK(u::is_bert_control(0x0000));
  CHECK(u::is_bert_control(0x007F));
  CHECK(u::is_bert_control(0x200B));       // ZWSP, Cf
  CHECK(u::is_bert_control(0xE000));       // private use
  CHECK_FALSE(u::is_bert_control('\t'));
  CHECK_FALSE(u::is_bert_control('\n'));
  CHECK_FALSE(u::is_bert_control(0x0890));  // Cf since 14.0
  CHECK_FALSE(u::is_bert_control(0x0378));  // unassigned
  CHECK_FALSE(u::is_bert_control(0xFFFE));  // noncharacter
  // Non-spacing marks: old table, with the category changes since 8.0.
  CHECK(u::is_old_nonspacing_mark(0x0301));
  CHECK(u::is_old_nonspacing_mark(0x1734));        // Mc today, Mn in 8.0
  CHECK_FALSE(u::is_old_nonspacing_mark(0x1885));  // Mn today, Lo in 8.0
  CHECK_FALSE(u::is_old_nonspacing_mark(0x07FD));  // Mn added in 11.0
  // CJK ranges with the crate's Extension E typo.
  CHECK(u::is_bert_chinese(0x4E2D));
  CHECK(u::is_bert_chinese(0x2B81F));
  CHECK_FALSE(u::is_bert_chinese(0x2B820));
  CHECK_FALSE(u::is_bert_chinese(0x2B91F));
  CHECK(u::is_bert_chinese(0x2B920));
  CHECK_FALSE(u::is_bert_chinese(0x3042));  // hiragana is not an ideograph
  // Whitespace is Rust's White_Space.
  for (char32_t c : {U' ', U'\t', U'\n', char32_t(0xA0), char32_t(0x3000), char32_t(0x2028)}) CHECK(u::is_white_space(c));
  CHECK_FALSE(u::is_white_space(0x200B));
  CHECK_FALSE(u::is_white_space(0x180E));
  // Lowercasing: full mapping per character.
  char32_t out[3];
  CHECK(u::to_lower_full(0x0130, out) == 2);
  CHECK((out[0] == U'i' && out[1] == 0x0307));
  CHECK(u::to_lower_full(0x03A3, out) == 1);
  CHECK(out[0] == 0x03C3);  // always σ, never final ς
}

TEST_CASE("clean text drops controls and normalises whitespace", "[tokenizer][basic]") {
  CHECK(words("a\x01" "b\x7F" "c") == std::vector<std::string>{"abc"});
  CHECK(words(std::string("a\0b", 3)) == std::vector<std::string>{"ab"});
  CHECK(words("bad\xEF\xBF\xBDword") == std::vector<std::string>{"badword"});  // U+FFFD removed
  CHECK(words("a\tb\r\nc\xC2\xA0" "d") == std::vector<std::string>{"a", "b", "c", "d"});
  CHECK(words("zero\xE2\x80\x8Bwidth") == std::vector<std::string>{"zerowidth"});  // ZWSP is Cf
  CHECK(words("").empty());
  CHECK(words(" \t\n ").empty());
  // A word that spans a removed character keeps the removed bytes inside its span.
  auto w = run(std::string("a\0b", 3));
  REQUIRE(w.size() == 1);
  CHECK(w[0] == Collected{"ab", 0, 3});
}

TEST_CASE("CJK ideographs become words of their own", "[tokenizer][basic]") {
  auto w = run("ab\xE4\xB8\xAD\xE6\x96\x87" "cd");  // ab中文cd
  REQUIRE(w.size() == 4);
  CHECK(w[0] == Collected{"ab", 0, 2});
  CHECK(w[1] == Collected{"\xE4\xB8\xAD", 2, 5});
  CHECK(w[2] == Collected{"\xE6\x96\x87", 5, 8});
  CHECK(w[3] == Collected{"cd", 8, 10});
  NormalizerOptions no_cjk;
  no_cjk.handle_chinese_chars = false;
  CHECK(words("ab\xE4\xB8\xAD" "cd", no_cjk).size() == 1);
  // Hiragana is not split.
  CHECK(words("\xE3\x81\x93\xE3\x82\x93").size() == 1);
}

TEST_CASE("accent stripping is NFD then dropping non-spacing marks", "[tokenizer][basic]") {
  CHECK(words("Caf\xC3\xA9") == std::vector<std::string>{"cafe"});                       // precomposed é
  CHECK(words("Cafe\xCC\x81") == std::vector<std::string>{"cafe"});                      // e + U+0301
  CHECK(words("Caf\xC3\xA9", cased()) == std::vector<std::string>{"Caf\xC3\xA9"});       // no strip when cased
  NormalizerOptions strip_only = cased();
  strip_only.strip_accents = true;
  CHECK(words("Caf\xC3\xA9", strip_only) == std::vector<std::string>{"Cafe"});
  NormalizerOptions lower_keep;
  lower_keep.strip_accents = false;
  CHECK(words("CAF\xC3\x89", lower_keep) == std::vector<std::string>{"caf\xC3\xA9"});
  // İ: stripping happens before lowercasing, so the dot goes; without stripping it stays.
  CHECK(words("\xC4\xB0") == std::vector<std::string>{"i"});
  CHECK(words("\xC4\xB0", lower_keep) == std::vector<std::string>{"i\xCC\x87"});
  // Hangul syllables decompose to conjoining jamo (three characters, one span).
  auto w = run("\xED\x95\x9C");  // 한
  REQUIRE(w.size() == 1);
  CHECK(w[0] == Collected{"\xE1\x84\x92\xE1\x85\xA1\xE1\x86\xAB", 0, 3});
  // A lone combining mark disappears entirely.
  CHECK(words("\xCC\x81").empty());
}

TEST_CASE("punctuation is split off, each character its own word", "[tokenizer][basic]") {
  CHECK(words("Hello, world!!") == std::vector<std::string>{"hello", ",", "world", "!", "!"});
  CHECK(words("don't") == std::vector<std::string>{"don", "'", "t"});
  CHECK(words("a$b+c") == std::vector<std::string>{"a", "$", "b", "+", "c"});
  CHECK(words("x\xC2\xBFy") == std::vector<std::string>{"x", "\xC2\xBF", "y"});   // ¿
  CHECK(words("x\xE2\x82\xACy") == std::vector<std::string>{"x\xE2\x82\xACy"});   // € is a symbol
  CHECK(words("a\xD8\x9D" "b") == std::vector<std::string>{"a\xD8\x9D" "b"});     // U+061D, newer than 8.0
  auto w = run("ab, cd");
  REQUIRE(w.size() == 3);
  CHECK(w[1] == Collected{",", 2, 3});
  CHECK(w[2] == Collected{"cd", 4, 6});
}

TEST_CASE("lowercasing is per character", "[tokenizer][basic]") {
  CHECK(words("HeLLo WORLD") == std::vector<std::string>{"hello", "world"});
  CHECK(words("\xCE\x9F\xCE\x94\xCE\x9F\xCE\xA3") == std::vector<std::string>{"\xCE\xBF\xCE\xB4\xCE\xBF\xCF\x83"});  // ΟΔΟΣ -> οδοσ
  CHECK(words("HeLLo", cased()) == std::vector<std::string>{"HeLLo"});
}
