// Unit tests for WordPiece and the encoding API on a small hand-made vocabulary, with expectations
// worked out by hand from the rules: greedy longest-match-first, [UNK] words, special tokens in
// the text, offsets, templates and type ids, truncation with stride and overflowing windows,
// padding, decoding, the slow-tokenizer helpers, file loading/saving and its errors.
#include <catch2/catch.hpp>

#include <unistd.h>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "tokenizer/wordpiece.h"

using namespace tz::tokenizer;
namespace fs = std::filesystem;

namespace {

// ids:                     0       1       2       3       4        5     6      7     8      9
const std::vector<std::string> kVocab = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "a",
                                         // 10   11       12     13    14     15     16   17     18
                                         "##ff", "##a", "the", "cat", ",", "##s", "runs", "!", "##un", "."};

WordPiece make() { return WordPiece::from_tokens(kVocab); }

EncodeOptions plain() {
  EncodeOptions o;
  o.add_special_tokens = false;
  return o;
}

fs::path temp_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("tz_tokenizer_test_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

}  // namespace

TEST_CASE("WordPiece is greedy longest-match-first", "[tokenizer][wordpiece]") {
  auto tok = make();
  CHECK(tok.tokenize("unaffable") == std::vector<std::string>{"un", "##aff", "##able"});
  // "aff" is not a start token: "a" then "##ff".
  CHECK(tok.tokenize("aff") == std::vector<std::string>{"a", "##ff"});
  CHECK(tok.tokenize("cats") == std::vector<std::string>{"cat", "##s"});
  // A piece that cannot be matched makes the whole word [UNK], spanning the whole word.
  auto e = tok.encode("the catz runs", plain());
  CHECK(e.tokens == std::vector<std::string>{"the", "[UNK]", "runs"});
  CHECK(e.offsets[1] == Offset{4, 8});
  CHECK(e.word_ids == std::vector<int32_t>{0, 1, 2});
}

TEST_CASE("words longer than max_input_chars_per_word become [UNK]", "[tokenizer][wordpiece]") {
  WordPieceConfig c;
  c.max_input_chars_per_word = 4;
  auto tok = WordPiece::from_tokens(kVocab, c);
  CHECK(tok.tokenize("cats") == std::vector<std::string>{"cat", "##s"});      // 4 chars: fine
  CHECK(tok.tokenize("unaff") == std::vector<std::string>{"[UNK]"});          // 5 chars
  CHECK(tok.tokenize("\xC3\xA0\xC3\xA0\xC3\xA0\xC3\xA0") == std::vector<std::string>{"a", "##a", "##a", "##a"});  // 4 chars, 8 bytes
}

TEST_CASE("special tokens written in the text are matched exactly, before normalization", "[tokenizer][wordpiece]") {
  auto tok = make();
  auto e = tok.encode("the[MASK]cat [mask]", plain());
  // "[mask]" is not the token: it is normalized and split into "[", "mask", "]" (all unknown here).
  CHECK(e.tokens == std::vector<std::string>{"the", "[MASK]", "cat", "[UNK]", "[UNK]", "[UNK]"});
  CHECK(e.offsets[1] == Offset{3, 9});
  CHECK(e.offsets[4] == Offset{14, 18});
  CHECK(e.special_tokens_mask == std::vector<int64_t>{0, 0, 0, 0, 0, 0});  // only inserted specials count
  CHECK(e.word_ids == std::vector<int32_t>{0, 1, 2, 3, 4, 5});
}

TEST_CASE("templates add [CLS]/[SEP], type ids and sequence ids", "[tokenizer][wordpiece]") {
  auto tok = make();
  auto e = tok.encode_pair("the cat", "runs!");
  CHECK(e.tokens == std::vector<std::string>{"[CLS]", "the", "cat", "[SEP]", "runs", "!", "[SEP]"});
  CHECK(e.ids == std::vector<int64_t>{2, 11, 12, 3, 15, 16, 3});
  CHECK(e.type_ids == std::vector<int64_t>{0, 0, 0, 0, 1, 1, 1});
  CHECK(e.special_tokens_mask == std::vector<int64_t>{1, 0, 0, 1, 0, 0, 1});
  CHECK(e.sequence_ids == std::vector<int32_t>{-1, 0, 0, -1, 1, 1, -1});
  CHECK(e.word_ids == std::vector<int32_t>{-1, 0, 1, -1, 0, 1, -1});
  CHECK(e.offsets[4] == Offset{0, 4});  // offsets point into the pair's own text
  CHECK(tok.encode("").tokens == std::vector<std::string>{"[CLS]", "[SEP]"});
  std::vector<int64_t> a{11, 12}, b{15};
  CHECK(tok.build_inputs_with_special_tokens(a, std::span<const int64_t>(b)) == std::vector<int64_t>{2, 11, 12, 3, 15, 3});
  CHECK(tok.create_token_type_ids_from_sequences(a, std::span<const int64_t>(b)) == std::vector<int64_t>{0, 0, 0, 0, 1, 1});
  CHECK(tok.get_special_tokens_mask(a, std::span<const int64_t>(b)) == std::vector<int64_t>{1, 0, 0, 1, 0, 1});
  std::vector<int64_t> with{2, 11, 4, 3};
  CHECK(tok.get_special_tokens_mask(with, std::nullopt, true) == std::vector<int64_t>{1, 0, 1, 1});
}

TEST_CASE("code point offsets count characters, byte offsets count bytes", "[tokenizer][wordpiece]") {
  auto tok = make();
  EncodeOptions o = plain();
  o.char_offsets = true;
  auto e = tok.encode("\xC3\xA0 cat", o);  // "à cat": à -> a after stripping
  CHECK(e.tokens == std::vector<std::string>{"a", "cat"});
  CHECK(e.offsets == std::vector<Offset>{{0, 2}, {3, 6}});
  CHECK(e.char_offsets == std::vector<Offset>{{0, 1}, {2, 5}});
}

TEST_CASE("truncation keeps max_length tokens and windows the rest with a stride", "[tokenizer][wordpiece]") {
  auto tok = make();
  // "the cat runs , the cat" = 6 tokens; max_length 5 with 2 specials leaves 3, stride 1 -> step 2.
  EncodeOptions o;
  o.truncation = Truncation{5, TruncationStrategy::LongestFirst, 1, Direction::Right};
  auto e = tok.encode("the cat runs , the cat", o);
  CHECK(e.tokens == std::vector<std::string>{"[CLS]", "the", "cat", "runs", "[SEP]"});
  REQUIRE(e.overflowing.size() == 2);
  CHECK(e.overflowing[0].tokens == std::vector<std::string>{"[CLS]", "runs", ",", "the", "[SEP]"});
  CHECK(e.overflowing[1].tokens == std::vector<std::string>{"[CLS]", "the", "cat", "[SEP]"});
  // Left truncation keeps the end.
  o.truncation->direction = Direction::Left;
  o.truncation->stride = 0;
  CHECK(tok.encode("the cat runs , the cat", o).tokens == std::vector<std::string>{"[CLS]", ",", "the", "cat", "[SEP]"});
  // longest_first on a pair: the longer sequence gives up tokens first.
  EncodeOptions p;
  p.truncation = Truncation{7};
  auto pe = tok.encode_pair("the cat runs , the cat", "runs !", p);
  CHECK(pe.tokens == std::vector<std::string>{"[CLS]", "the", "cat", "[SEP]", "runs", "!", "[SEP]"});
  // only_second when the second sequence is too short is an error, as is a stride >= the room.
  p.truncation->strategy = TruncationStrategy::OnlySecond;
  CHECK_THROWS_AS(tok.encode_pair("the cat runs , the cat", "runs !", p), tz::Error);
  o.truncation = Truncation{5, TruncationStrategy::LongestFirst, 3, Direction::Right};
  CHECK_THROWS_AS(tok.encode("the cat runs , the cat", o), tz::Error);
  // A max_length below the number of specials means no truncation (the crate's unsigned wrap).
  o.truncation = Truncation{1};
  CHECK(tok.encode("the cat runs", o).size() == 5);
}

TEST_CASE("padding to a length, to the longest, and to a multiple", "[tokenizer][wordpiece]") {
  auto tok = make();
  EncodeOptions o;
  o.padding = Padding{6, Direction::Right, std::nullopt};
  auto e = tok.encode("the cat", o);
  CHECK(e.tokens == std::vector<std::string>{"[CLS]", "the", "cat", "[SEP]", "[PAD]", "[PAD]"});
  CHECK(e.attention_mask == std::vector<int64_t>{1, 1, 1, 1, 0, 0});
  CHECK(e.special_tokens_mask == std::vector<int64_t>{1, 0, 0, 1, 1, 1});
  o.padding = Padding{std::nullopt, Direction::Left, 3};
  CHECK(tok.encode("the cat", o).tokens == std::vector<std::string>{"[PAD]", "[PAD]", "[CLS]", "the", "cat", "[SEP]"});
  o.padding = Padding{};
  auto batch = tok.encode_batch({"the", "the cat runs"}, o);
  CHECK(batch[0].size() == 5);
  CHECK(batch[1].size() == 5);
}

TEST_CASE("decode glues ## pieces and cleans spaces before punctuation", "[tokenizer][wordpiece]") {
  auto tok = make();
  auto e = tok.encode("unaffable cats, the cat runs!");
  CHECK(tok.decode(e.ids) == "[CLS] unaffable cats, the cat runs! [SEP]");
  CHECK(tok.decode(e.ids, true) == "unaffable cats, the cat runs!");
  std::vector<int64_t> ids{6, 11, 999};  // a leading ## piece keeps its prefix; unknown ids are skipped
  CHECK(tok.decode(ids) == "##aff the");
  CHECK(tok.id_to_token(12) == "cat");
  CHECK(tok.token_to_id("[MASK]") == 4);
  CHECK(tok.token_to_id("nope") == -1);
  CHECK(tok.vocab_size() == kVocab.size());
}

TEST_CASE("invalid UTF-8 is an error naming the byte offset, or replaced in lenient mode", "[tokenizer][wordpiece]") {
  auto tok = make();
  try {
    tok.encode("the \xFF cat");
    FAIL("expected an error");
  } catch (const tz::Error& e) {
    CHECK(std::string(e.what()).find("byte offset 4") != std::string::npos);
  }
  EncodeOptions o;
  o.lenient_utf8 = true;
  CHECK(tok.encode("the \xFF cat", o).tokens == std::vector<std::string>{"[CLS]", "the", "cat", "[SEP]"});
}

TEST_CASE("vocab.txt, tokenizer_config.json and save_vocabulary round trip", "[tokenizer][wordpiece][io]") {
  fs::path dir = temp_dir("roundtrip");
  auto tok = make();
  fs::path saved = tok.save_vocabulary(dir);
  CHECK(saved == dir / "vocab.txt");
  {
    std::ofstream cfg(dir / "tokenizer_config.json");
    cfg << R"({"do_lower_case": false, "model_max_length": 128})";
  }
  auto again = WordPiece::from_pretrained(dir);
  CHECK(again.config().model_max_length == 128);
  CHECK_FALSE(again.config().normalizer.lowercase);
  CHECK(again.tokenize("The cat") == std::vector<std::string>{"[UNK]", "cat"});  // cased: "The" unknown
  CHECK(again.encode("the cat").ids == tok.encode("the cat").ids);
  fs::remove_all(dir);
}

TEST_CASE("malformed files are rejected with the file and line", "[tokenizer][wordpiece][io]") {
  fs::path dir = temp_dir("malformed");
  {
    std::ofstream v(dir / "vocab.txt", std::ios::binary);
    v << "[PAD]\n[UNK]\nbad\xFFtoken\n";
  }
  try {
    WordPiece::from_pretrained(dir / "vocab.txt");
    FAIL("expected an error");
  } catch (const tz::Error& e) {
    CHECK(std::string(e.what()).find("vocab.txt:3") != std::string::npos);
  }
  {
    std::ofstream j(dir / "tokenizer.json");
    j << "{\n  \"model\": {\n    \"vocab\": [1, 2,\n  }\n}\n";
  }
  try {
    WordPiece::from_pretrained(dir / "tokenizer.json");
    FAIL("expected an error");
  } catch (const tz::Error& e) {
    CHECK(std::string(e.what()).find("tokenizer.json:4") != std::string::npos);
  }
  {
    std::ofstream j(dir / "tokenizer.json");
    j << R"({"model": {"type": "WordPiece", "vocab": {"a": 0, "b": 0}}, "pre_tokenizer": {"type": "BertPreTokenizer"}})";
  }
  CHECK_THROWS_AS(WordPiece::from_pretrained(dir / "tokenizer.json"), tz::Error);
  CHECK_THROWS_AS(WordPiece::from_pretrained(dir / "missing"), tz::Error);
  fs::remove_all(dir);
}

TEST_CASE("the per-thread word memo never leaks results between vocabularies", "[tokenizer][wordpiece]") {
  // Same words, different vocabularies, one after the other on one thread (a later vocabulary may
  // even reuse the address of a destroyed one).
  for (int round = 0; round < 3; ++round) {
    {
      auto a = WordPiece::from_tokens({"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "cat", "##s"});
      CHECK(a.tokenize("cats cat") == std::vector<std::string>{"cat", "##s", "cat"});
    }
    {
      auto b = WordPiece::from_tokens({"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "cats"});
      CHECK(b.tokenize("cats cat") == std::vector<std::string>{"cats", "[UNK]"});
    }
  }
  WordPieceConfig short_words;
  short_words.max_input_chars_per_word = 3;
  auto c = WordPiece::from_tokens({"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "cats"}, short_words);
  CHECK(c.tokenize("cats") == std::vector<std::string>{"[UNK]"});
}
