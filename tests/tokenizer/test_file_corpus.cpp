// Tokenizer files, valid and hostile (tests/tokenizer/corpus, also the seeds of the tokenizer
// fuzzers): each loads or fails with its expected message, and every tokenizer that loads encodes
// a pair with truncation and padding and decodes it back.
#include <catch2/catch.hpp>

#include <fstream>

#include "tests/corpus_cases.h"
#include "tokenizer/wordpiece.h"

using tz::tokenizer::WordPiece;
namespace fs = std::filesystem;

namespace {

WordPiece load_corpus_file(const std::string& name, const fs::path& path) {
  if (name.rfind("vocab_txt/", 0) == 0) return WordPiece::from_vocab_file(path);
  if (name.rfind("tokenizer_json/", 0) == 0) return WordPiece::from_tokenizer_json(path);
  // tokenizer_config: the file beside a small vocab.txt, read as a model directory.
  const fs::path dir = fs::temp_directory_path() / ("tz_tok_corpus_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "vocab.txt") << "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\nworld\n##ing\n<s>\n</s>\n";
  fs::copy_file(path, dir / "tokenizer_config.json", fs::copy_options::overwrite_existing);
  struct Remove {
    fs::path p;
    ~Remove() { fs::remove_all(p); }
  } remove{dir};
  return WordPiece::from_pretrained(dir);
}

}  // namespace

TEST_CASE("tokenizer file corpus: every file loads or fails with its expected message", "[tokenizer][corpus]") {
  const auto corpus = fs::path(TZ_SOURCE_DIR) / "tests" / "tokenizer" / "corpus";
  size_t hostile = tz::test::check_corpus(corpus, [](const std::string& name, const fs::path& path) {
    WordPiece tok = load_corpus_file(name, path);
    tz::tokenizer::EncodeOptions o;
    tz::tokenizer::Truncation t;
    t.max_length = 8;
    o.truncation = t;
    o.padding = tz::tokenizer::Padding{.max_length = 10};
    auto e = tok.encode_pair("hello worlding", "hello", o);
    CHECK(e.ids.size() == 10);
    CHECK_FALSE(tok.decode(e.ids, true).empty());
  });
  CHECK(hostile >= 4);
}
