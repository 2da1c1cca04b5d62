// libFuzzer target for vocab.txt (tz::tokenizer::WordPiece::from_vocab_file): any input must load
// or throw tz::Error, and a vocabulary that loads must encode and decode without a finding
// (fuzz_tokenizer_use.h). Seeds: tests/tokenizer/corpus/vocab_txt. Run by scripts/fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <optional>

#include "tests/fuzz/fuzz_file.h"
#include "tests/fuzz/fuzz_tokenizer_use.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = tz::fuzz::scratch_dir() / "vocab.txt";
  tz::fuzz::write_file(path, data, size);
  std::optional<tz::tokenizer::WordPiece> tok;
  try {
    tok = tz::tokenizer::WordPiece::from_vocab_file(path);
  } catch (const tz::Error&) {
    return 0;
  }
  tz::fuzz::use_tokenizer(*tok, std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
