// Plain-text corpora for language-model pretraining: one document or sentence per line, UTF-8.
// A line with invalid UTF-8 is skipped and counted, never fatal (real corpora have a few).
// Not here: tokenizing and packing the lines into blocks (mlm_data.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tz::train {

/// True when `s` is well-formed UTF-8 (no overlongs, surrogates or code points above U+10FFFF).
bool is_valid_utf8(std::string_view s);

struct TextCorpus {
  std::vector<std::string> lines;  // non-empty, valid lines in file order (trailing '\r' removed)
  int64_t invalid_lines = 0;       // skipped for invalid UTF-8
  int64_t empty_lines = 0;         // skipped because blank
};

/// Reads every file in order into one corpus. Throws tz::Error naming a file that cannot be read.
TextCorpus read_text_corpus(const std::vector<std::string>& paths);

}  // namespace tz::train
