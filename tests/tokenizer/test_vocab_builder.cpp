// VocabBuilder: a hand-worked merge sequence, determinism, the size limit, and the promise that
// every word of the corpus tokenizes without [UNK] once the vocabulary is saved and reloaded.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <set>

#include "tokenizer/vocab_builder.h"
#include "tokenizer/wordpiece.h"

namespace fs = std::filesystem;
using tz::tokenizer::VocabBuilder;
using tz::tokenizer::VocabBuilderOptions;

namespace {
const std::vector<std::string> kSpecials{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};

std::vector<std::string> with_specials(std::vector<std::string> rest) {
  std::vector<std::string> v = kSpecials;
  v.insert(v.end(), rest.begin(), rest.end());
  return v;
}

const std::vector<std::string> kCorpus{
    "Der schnelle braune Fuchs springt über den faulen Hund.",
    "The quick brown fox jumps over the lazy dog; the dog sleeps.",
    "El rápido zorro marrón salta sobre el perro perezoso.",
    "Быстрая коричневая лиса прыгает через ленивую собаку.",
    "Szybki brązowy lis przeskakuje nad leniwym psem.",
    "Příliš žluťoučký kůň úpěl ďábelské ódy.",
    "A rápida raposa marrom pula sobre o cão preguiçoso.",
    "La volpe marrone veloce salta sopra il cane pigro, perché sì.",
    "jumping jumped jumps jumper running runner runs ran",
};
}  // namespace

TEST_CASE("vocab builder: hand-worked merges, ties broken bytewise", "[tokenizer][vocab]") {
  // Words: aaa x2, ab x1. Symbols: [a ##a ##a], [a ##b]. Counts: (a,##a)=2, (##a,##a)=2, (a,##b)=1.
  // The tie at 2 goes to ("##a","##a") because "##a" < "a" bytewise; then (a,##aa)=2 -> "aaa";
  // (a,##b)=1 is below min_frequency 2.
  VocabBuilderOptions o;
  o.vocab_size = 100;
  VocabBuilder b(o);
  b.add_text("aaa aaa ab");
  CHECK(b.build() == with_specials({"a", "b", "##a", "##b", "##aa", "aaa"}));

  o.min_frequency = 1;
  VocabBuilder b1(o);
  b1.add_text("aaa aaa ab");
  CHECK(b1.build() == with_specials({"a", "b", "##a", "##b", "##aa", "aaa", "ab"}));

  o.vocab_size = 10;
  VocabBuilder b2(o);
  b2.add_text("aaa aaa ab");
  CHECK(b2.build() == with_specials({"a", "b", "##a", "##b", "##aa"}));

  o.vocab_size = 8;  // cannot hold 5 specials + 2 characters in 2 forms
  VocabBuilder b3(o);
  b3.add_text("aaa aaa ab");
  CHECK_THROWS_WITH(b3.build(), Catch::Contains("need at least 9"));
}

TEST_CASE("vocab builder: deterministic, size respected, no [UNK] on the corpus", "[tokenizer][vocab]") {
  VocabBuilderOptions o;
  o.vocab_size = 400;
  o.min_frequency = 1;
  o.normalizer.strip_accents = false;
  VocabBuilder forward(o), backward(o);
  for (const auto& t : kCorpus) forward.add_text(t);
  for (auto it = kCorpus.rbegin(); it != kCorpus.rend(); ++it) backward.add_text(*it);
  auto tokens = forward.build();
  CHECK(tokens == backward.build());  // independent of the order texts arrive in
  CHECK(tokens == forward.build());
  CHECK(tokens.size() <= 400);
  CHECK(tokens.size() > 300);  // the corpus has enough pairs to grow well past the alphabet
  CHECK(std::vector<std::string>(tokens.begin(), tokens.begin() + 5) == kSpecials);
  CHECK(std::set<std::string>(tokens.begin(), tokens.end()).size() == tokens.size());

  fs::path dir = fs::temp_directory_path() / ("tz_vocab_builder_test." + std::to_string(getpid()));
  fs::remove_all(dir);
  tz::tokenizer::save_vocab_dir(tokens, o, dir);
  auto tok = tz::tokenizer::WordPiece::from_pretrained(dir);
  CHECK(tok.pad_id() == 0);
  CHECK(tok.token_to_id("[MASK]") == 4);
  CHECK(tok.vocab_size() == tokens.size());
  for (const auto& text : kCorpus) {
    auto pieces = tok.tokenize(text);
    INFO(text);
    CHECK(std::find(pieces.begin(), pieces.end(), "[UNK]") == pieces.end());
  }
  // Accents kept and lowercased, as configured.
  auto p = tok.tokenize("Über");
  CHECK(p.front().rfind("\xc3\xbc", 0) == 0);  // starts with "ü"
  auto enc = tok.encode("perché");
  CHECK(enc.ids.front() == 2);  // [CLS]
  CHECK(enc.ids.back() == 3);   // [SEP]
  fs::remove_all(dir);
}
