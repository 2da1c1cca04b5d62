// HF's tokenizer options beyond the reference cases, with expectations worked out by hand from
// transformers 4.x's BertTokenizer / BertTokenizerFast and the `tokenizers` crate:
// never_split and do_basic_tokenize (the slow tokenizer's rules), model_input_names by tokenizer
// class (and the reference model folders of BERT, ELECTRA, DistilBERT and ConvBERT),
// tokenizer_config.json replacing tokenizer.json's normalizer settings for the BERT family's Fast
// classes, and tokenizer.json's stored truncation and padding.
#include <catch2/catch.hpp>

#include <unistd.h>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "tests/test_util.h"
#include "tokenizer/wordpiece.h"

using namespace tz::tokenizer;
namespace fs = std::filesystem;

namespace {

// ids:                                 0        1        2        3        4       5    6    7      8
const std::vector<std::string> kVocab = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "i", "c", "+", "c++",
                                         // 9    10    11     12     13      14      15        16    17
                                         "a", "lot", "hel", "##lo", "cafe", "café", "Hello", "##,", "World",
                                         // 18   19     20      21
                                         "##!", ",", "world", "like"};

WordPiece make(WordPieceConfig c = {}) { return WordPiece::from_tokens(kVocab, std::move(c)); }

EncodeOptions plain() {
  EncodeOptions o;
  o.add_special_tokens = false;
  return o;
}

fs::path temp_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("tz_hf_options_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

void write(const fs::path& p, const std::string& text) {
  std::ofstream f(p, std::ios::binary);
  f << text;
}

}  // namespace

TEST_CASE("never_split keeps a whitespace-separated word whole", "[tokenizer][hf-options]") {
  WordPieceConfig c;
  // Without it, '+' is punctuation: C++ -> c + +.
  CHECK(make(c).tokenize("I like C++ a lot") == std::vector<std::string>{"i", "like", "c", "+", "+", "a", "lot"});
  c.never_split = {"c++"};
  auto tok = make(c);
  // The slow tokenizer lowercases the text first, so "C++" is compared as "c++".
  auto e = tok.encode("I like C++ a lot", plain());
  CHECK(e.tokens == std::vector<std::string>{"i", "like", "c++", "a", "lot"});
  CHECK(e.ids == std::vector<int64_t>{5, 21, 8, 9, 10});
  CHECK(e.offsets[2] == Offset{7, 10});
  CHECK(e.word_ids == std::vector<int32_t>{0, 1, 2, 3, 4});
  // Control characters are cleaned away before the comparison; the span covers them.
  auto ctl = tok.encode("c+\x01+", plain());
  CHECK(ctl.tokens == std::vector<std::string>{"c++"});
  CHECK(ctl.offsets[0] == Offset{0, 4});
  // Glued to other characters it is another word: split as usual.
  CHECK(tok.tokenize("(c++)") == std::vector<std::string>{"[UNK]", "c", "+", "+", "[UNK]"});
}

TEST_CASE("never_split entries meet the lowercased text", "[tokenizer][hf-options]") {
  WordPieceConfig c;
  c.never_split = {"C++"};
  // Lowercasing: the text has become "c++" before the comparison, so "C++" never matches.
  CHECK(make(c).tokenize("C++") == std::vector<std::string>{"c", "+", "+"});
  // Cased: it matches, and a listed word that is not in the vocabulary is the unknown token.
  c.normalizer.lowercase = false;
  auto cased = make(c).encode("C++", plain());
  CHECK(cased.tokens == std::vector<std::string>{"[UNK]"});
  CHECK(cased.offsets[0] == Offset{0, 3});
}

TEST_CASE("a never_split word keeps its accents and skips WordPiece", "[tokenizer][hf-options]") {
  WordPieceConfig c;
  CHECK(make(c).tokenize("Café") == std::vector<std::string>{"cafe"});
  c.never_split = {"café"};
  CHECK(make(c).tokenize("Café") == std::vector<std::string>{"café"});

  // A word of the basic tokenizer's output that is listed is not given to WordPiece either:
  // "hello," is not listed, but after the punctuation split "hello" is, and it is not in the
  // vocabulary (WordPiece would have made hel ##lo of it).
  WordPieceConfig d;
  CHECK(make(d).tokenize("hello, world") == std::vector<std::string>{"hel", "##lo", ",", "world"});
  d.never_split = {"hello"};
  auto e = make(d).encode("hello, world", plain());
  CHECK(e.tokens == std::vector<std::string>{"[UNK]", ",", "world"});
  CHECK(e.offsets[0] == Offset{0, 5});
  CHECK(e.word_ids == std::vector<int32_t>{0, 1, 2});
}

TEST_CASE("special tokens are never split, with or without never_split", "[tokenizer][hf-options]") {
  WordPieceConfig c;
  c.never_split = {"c++"};
  CHECK(make(c).tokenize("[MASK] c++[SEP]") == std::vector<std::string>{"[MASK]", "c++", "[SEP]"});
}

TEST_CASE("do_basic_tokenize=false: WordPiece on whitespace-separated raw text", "[tokenizer][hf-options]") {
  WordPieceConfig c;
  c.do_basic_tokenize = false;
  auto tok = make(c);
  // No lowercasing (even with do_lower_case), no punctuation split, no accent stripping.
  auto e = tok.encode("Hello, World!", plain());
  CHECK(e.tokens == std::vector<std::string>{"Hello", "##,", "World", "##!"});
  CHECK(e.offsets == std::vector<Offset>{{0, 5}, {5, 6}, {7, 12}, {12, 13}});
  CHECK(e.word_ids == std::vector<int32_t>{0, 0, 1, 1});
  CHECK(tok.tokenize("café") == std::vector<std::string>{"café"});
  CHECK(tok.tokenize("hello") == std::vector<std::string>{"hel", "##lo"});
  // Python's str.split also splits at the information separators U+001C..U+001F.
  CHECK(tok.tokenize("a\x1f" "a\tlot\n") == std::vector<std::string>{"a", "a", "lot"});
  // Added tokens are still matched first; never_split has no effect without basic tokenization.
  c.never_split = {"hello"};
  CHECK(make(c).tokenize("[CLS]hello [MASK]") == std::vector<std::string>{"[CLS]", "hel", "##lo", "[MASK]"});
  // The special-token template is unchanged.
  CHECK(tok.encode("a lot").tokens == std::vector<std::string>{"[CLS]", "a", "lot", "[SEP]"});
}

TEST_CASE("model_input_names follow the tokenizer class", "[tokenizer][hf-options]") {
  using Names = std::vector<std::string>;
  const Names three = {"input_ids", "token_type_ids", "attention_mask"};
  const Names two = {"input_ids", "attention_mask"};
  CHECK(WordPiece::class_model_input_names("") == three);
  for (const char* cls : {"BertTokenizer", "BertTokenizerFast", "ConvBertTokenizer", "ConvBertTokenizerFast",
                          "ElectraTokenizer", "ElectraTokenizerFast", "PreTrainedTokenizerFast"})
    CHECK(WordPiece::class_model_input_names(cls) == three);
  CHECK(WordPiece::class_model_input_names("DistilBertTokenizer") == two);
  CHECK(WordPiece::class_model_input_names("DistilBertTokenizerFast") == two);
  CHECK_THROWS_AS(WordPiece::class_model_input_names("RobertaTokenizer"), tz::Error);

  WordPieceConfig c;
  c.tokenizer_class = "DistilBertTokenizerFast";
  CHECK(make(c).model_input_names() == two);
  CHECK_FALSE(make(c).takes_token_type_ids());
  c.model_input_names = {"input_ids", "token_type_ids", "attention_mask"};  // explicit beats the class
  CHECK(make(c).takes_token_type_ids());
  CHECK(make().model_input_names() == three);
}

TEST_CASE("the reference model folders load with their class's input names", "[tokenizer][hf-options]") {
  if (!tz::test::have_reference("bert") || !tz::test::have_reference("distilbert") ||
      !tz::test::have_reference("electra") || !tz::test::have_reference("convbert"))
    return;
  std::size_t n = 0;
  for (const char* family : {"bert", "electra", "distilbert", "convbert"})
    for (const auto& entry : fs::directory_iterator(tz::test::reference_dir() / family)) {
      if (!fs::exists(entry.path() / "tokenizer_config.json")) continue;
      INFO(entry.path().string());
      auto tok = WordPiece::from_pretrained(entry.path());
      CHECK(tok.takes_token_type_ids() == (std::string(family) != "distilbert"));
      CHECK(tok.config().tokenizer_class.find(family == std::string("convbert") ? "ConvBert"
                                              : family == std::string("electra") ? "Electra"
                                              : family == std::string("distilbert") ? "DistilBert"
                                                                                    : "Bert") == 0);
      // BERT's uncased defaults, and the special tokens in place.
      CHECK(tok.config().normalizer.lowercase);
      CHECK(tok.encode("Hello").tokens.front() == "[CLS]");
      ++n;
    }
  CHECK(n > 20);
}

TEST_CASE("tokenizer_config.json: class, names, options and errors", "[tokenizer][hf-options]") {
  fs::path dir = temp_dir("config");
  auto base = make();
  base.save_vocabulary(dir);
  write(dir / "tokenizer_config.json",
        R"({"tokenizer_class": "DistilBertTokenizerFast", "never_split": ["c++"], "do_basic_tokenize": true,
            "model_max_length": 1e30})");
  auto tok = WordPiece::from_pretrained(dir);
  CHECK(tok.model_input_names() == std::vector<std::string>{"input_ids", "attention_mask"});
  CHECK(tok.config().never_split == std::vector<std::string>{"c++"});
  CHECK(tok.tokenize("C++") == std::vector<std::string>{"c++"});
  CHECK(tok.config().model_max_length == WordPieceConfig::kNoMaxLength);

  write(dir / "tokenizer_config.json", R"({"do_basic_tokenize": false, "model_input_names": ["input_ids"]})");
  tok = WordPiece::from_pretrained(dir);
  CHECK(tok.tokenize("Hello, World!") == std::vector<std::string>{"Hello", "##,", "World", "##!"});
  CHECK(tok.model_input_names() == std::vector<std::string>{"input_ids"});

  write(dir / "tokenizer_config.json", R"({"tokenizer_class": "RobertaTokenizer"})");
  try {
    WordPiece::from_pretrained(dir);
    FAIL("expected an error");
  } catch (const tz::Error& e) {
    std::string what = e.what();
    CHECK(what.find("tokenizer_config.json") != std::string::npos);
    CHECK(what.find("RobertaTokenizer") != std::string::npos);
  }
  write(dir / "tokenizer_config.json", R"({"never_split": "c++"})");
  CHECK_THROWS_AS(WordPiece::from_pretrained(dir), tz::Error);
  fs::remove_all(dir);
}

TEST_CASE("the BERT family's Fast classes take the normalizer settings from tokenizer_config.json",
          "[tokenizer][hf-options]") {
  fs::path dir = temp_dir("override");
  make().save_tokenizer_json(dir / "tokenizer.json");  // lowercase: true
  // No tokenizer_config.json: the file's settings.
  CHECK(WordPiece::from_pretrained(dir).config().normalizer.lowercase);
  // BertTokenizerFast's constructor sets do_lower_case, strip_accents, tokenize_chinese_chars.
  write(dir / "tokenizer_config.json", R"({"tokenizer_class": "BertTokenizerFast", "do_lower_case": false})");
  auto cased = WordPiece::from_pretrained(dir);
  CHECK_FALSE(cased.config().normalizer.lowercase);
  CHECK(cased.tokenize("Hello") == std::vector<std::string>{"Hello"});
  // ... with its defaults where the file says nothing.
  write(dir / "tokenizer_config.json", R"({"tokenizer_class": "ElectraTokenizer"})");
  CHECK(WordPiece::from_pretrained(dir).config().normalizer.lowercase);
  // PreTrainedTokenizerFast leaves tokenizer.json alone.
  write(dir / "tokenizer_config.json", R"({"tokenizer_class": "PreTrainedTokenizerFast", "do_lower_case": false})");
  CHECK(WordPiece::from_pretrained(dir).config().normalizer.lowercase);
  fs::remove_all(dir);
}

TEST_CASE("stored truncation and padding apply to the overloads without options", "[tokenizer][hf-options]") {
  Truncation t;
  t.max_length = 5;
  t.stride = 1;
  Padding p;
  p.max_length = 7;
  auto tok = make().with_truncation(t).with_padding(p);
  // [CLS] + 3 tokens + [SEP] = 5, then padded to 7; the rest is in overflowing windows.
  auto e = tok.encode("i like a lot");
  CHECK(e.tokens == std::vector<std::string>{"[CLS]", "i", "like", "a", "[SEP]", "[PAD]", "[PAD]"});
  REQUIRE(e.overflowing.size() == 1);
  CHECK(e.overflowing[0].tokens == std::vector<std::string>{"[CLS]", "a", "lot", "[SEP]", "[PAD]", "[PAD]", "[PAD]"});
  // Explicit options are taken as they are.
  CHECK(tok.encode("i like a lot", EncodeOptions{}).size() == 6);
  auto batch = tok.encode_batch({"i", "i like a lot"});
  CHECK(batch[0].size() == 7);
  CHECK(batch[1].size() == 7);
  CHECK(tok.default_options().truncation->max_length == 5);
  CHECK_FALSE(make().default_options().truncation.has_value());

  // The crate refuses a stride that does not fit max_length minus the single template's specials.
  t.stride = 4;
  CHECK_THROWS_AS(make().with_truncation(t), tz::Error);
  t.stride = 3;
  CHECK_NOTHROW(make().with_truncation(t));
  CHECK_NOTHROW(tok.with_truncation(std::nullopt).encode("i like a lot"));
  CHECK(tok.with_truncation(std::nullopt).with_padding(std::nullopt).encode("i like a lot").size() == 6);
}

TEST_CASE("a padding token of its own", "[tokenizer][hf-options]") {
  Padding p;
  p.max_length = 4;
  p.pad_token = "[MASK]";
  p.pad_type_id = 1;
  EncodeOptions o;
  o.padding = p;
  auto e = make().encode("a", o);
  CHECK(e.tokens == std::vector<std::string>{"[CLS]", "a", "[SEP]", "[MASK]"});
  CHECK(e.ids.back() == 4);
  CHECK(e.type_ids.back() == 1);
  p.pad_token = "<nope>";
  o.padding = p;
  CHECK_THROWS_AS(make().encode("a", o), tz::Error);
}
