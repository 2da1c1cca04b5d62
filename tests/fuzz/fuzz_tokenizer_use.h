// Shared by the tokenizer fuzz targets: uses a tokenizer that loaded from fuzzed files the way a
// program would (single texts and pairs, truncation with a stride, padding, decoding, id
// lookups), so that a file whose values pass loading but break encoding is found too.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "tokenizer/wordpiece.h"

namespace tz::fuzz {

inline void use_tokenizer(const tz::tokenizer::WordPiece& tok, std::string_view extra_text) {
  using namespace tz::tokenizer;
  const std::string text = "Hello [MASK] world, na\xC3\xAFve caf\xC3\xA9! \xE4\xB8\xAD\xE6\x96\x87 ##ing [SEP] [UNK]";
  const std::string other(extra_text.substr(0, 2048));
  EncodeOptions plain;
  plain.lenient_utf8 = true;
  plain.char_offsets = true;
  EncodeOptions bounded = plain;
  Truncation t;
  t.max_length = 12;
  t.stride = 3;
  bounded.truncation = t;
  Padding p;
  p.max_length = 16;
  bounded.padding = p;
  for (const EncodeOptions& o : {plain, bounded}) {
    try {
      std::vector<Encoding> all;
      all.push_back(tok.encode(text, o));
      all.push_back(tok.encode(other, o));
      all.push_back(tok.encode_pair(text, other, o));
      for (const Encoding& e : all) {
        if (e.ids.size() != e.tokens.size() || e.ids.size() != e.attention_mask.size()) __builtin_trap();
        (void)tok.decode(e.ids, false);
        (void)tok.decode(e.ids, true);
        (void)tok.convert_ids_to_tokens(e.ids);
      }
    } catch (const tz::Error&) {
      // Refusing a text (e.g. truncation that cannot fit the special tokens) is allowed.
    }
  }
  // Ids no vocabulary has: decode skips them, convert_ids_to_tokens refuses them with tz::Error.
  const std::vector<int64_t> odd_ids{-1, 0, 1, 5, 1 << 20, INT64_MAX, INT64_MIN};
  (void)tok.decode(odd_ids, false);
  try {
    (void)tok.convert_ids_to_tokens(odd_ids);
  } catch (const tz::Error&) {
  }
  (void)tok.token_to_id("[PAD]");
  (void)tok.vocab_size();
}

}  // namespace tz::fuzz
