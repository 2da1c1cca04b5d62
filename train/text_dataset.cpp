// Corpus reading and UTF-8 validation; see text_dataset.h.
#include "train/text_dataset.h"

#include <fstream>

#include "core/error.h"

namespace tz::train {

bool is_valid_utf8(std::string_view s) {
  size_t i = 0, n = s.size();
  while (i < n) {
    auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) { ++i; continue; }
    size_t len;
    uint32_t cp;
    if ((b & 0xE0) == 0xC0) { len = 2; cp = b & 0x1F; }
    else if ((b & 0xF0) == 0xE0) { len = 3; cp = b & 0x0F; }
    else if ((b & 0xF8) == 0xF0) { len = 4; cp = b & 0x07; }
    else return false;  // stray continuation byte or 0xF8..0xFF
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    static const uint32_t min_for_len[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_for_len[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

TextCorpus read_text_corpus(const std::vector<std::string>& paths) {
  TextCorpus corpus;
  for (const auto& path : paths) {
    std::ifstream in(path, std::ios::binary);
    TZ_CHECK(in.good(), "corpus: cannot open '", path, "'");
    std::string line;
    while (std::getline(in, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!is_valid_utf8(line)) {
        ++corpus.invalid_lines;
        continue;
      }
      if (line.find_first_not_of(" \t\v\f") == std::string::npos) {
        ++corpus.empty_lines;
        continue;
      }
      corpus.lines.push_back(std::move(line));
    }
    TZ_CHECK(!in.bad(), "corpus: error while reading '", path, "'");
  }
  return corpus;
}

}  // namespace tz::train
