// libFuzzer target for HF tokenizers' tokenizer.json (tz::tokenizer::WordPiece::from_tokenizer_json):
// any input must load or throw tz::Error, and a tokenizer that loads must encode and decode
// without a finding (fuzz_tokenizer_use.h). Seeds: tests/tokenizer/corpus/tokenizer_json;
// dictionary: tokenizer_json.dict. Run by scripts/fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <optional>

#include "tests/fuzz/fuzz_file.h"
#include "tests/fuzz/fuzz_tokenizer_use.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = tz::fuzz::scratch_dir() / "tokenizer.json";
  tz::fuzz::write_file(path, data, size);
  std::optional<tz::tokenizer::WordPiece> tok;
  try {
    tok = tz::tokenizer::WordPiece::from_tokenizer_json(path);
  } catch (const tz::Error&) {
    return 0;
  }
  tz::fuzz::use_tokenizer(*tok, "");
  return 0;
}
