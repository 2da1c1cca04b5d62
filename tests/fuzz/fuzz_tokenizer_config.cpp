// libFuzzer target for tokenizer_config.json beside a vocab.txt (tz::tokenizer::WordPiece::
// from_pretrained on a model directory, as HF's BertTokenizerFast reads it): any input must load
// or throw tz::Error, and a tokenizer that loads must encode and decode without a finding
// (fuzz_tokenizer_use.h). Seeds: tests/tokenizer/corpus/tokenizer_config; dictionary:
// tokenizer_config.dict. Run by scripts/fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <optional>

#include "tests/fuzz/fuzz_file.h"
#include "tests/fuzz/fuzz_tokenizer_use.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto dir = [] {
    auto d = tz::fuzz::scratch_dir() / "model";
    std::filesystem::create_directories(d);
    std::ofstream vocab(d / "vocab.txt");
    for (const char* t : {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", "##ing", ",", "!", "caf",
                          "##e", "na", "##ive", "\xE4\xB8\xAD", "<s>", "</s>"})
      vocab << t << "\n";
    return d;
  }();
  tz::fuzz::write_file(dir / "tokenizer_config.json", data, size);
  std::optional<tz::tokenizer::WordPiece> tok;
  try {
    tok = tz::tokenizer::WordPiece::from_pretrained(dir);
  } catch (const tz::Error&) {
    return 0;
  }
  tz::fuzz::use_tokenizer(*tok, "");
  return 0;
}
