// UTF-8 decoding and the Unicode character classes that BERT tokenization needs, defined the way
// HuggingFace's Rust `tokenizers` crate defines them (the canonical behaviour we reproduce).
// Properties come from utf8proc; a small compatibility layer (unicode.cpp) turns utf8proc's modern
// tables into the Unicode 8.0 tables the crate uses for categories. Every difference is listed there.
// Not here: the normalizer pipeline that uses these classes (basic_tokenizer.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tz::tokenizer::unicode {

/// Decodes one UTF-8 sequence starting at s[i] (i < n). Returns the code point and sets `len` to the
/// number of bytes consumed; returns -1 (and len = bytes of the maximal invalid prefix, >= 1) when
/// the bytes are not well-formed UTF-8 (overlong, surrogate, > U+10FFFF, truncated, stray byte).
int32_t decode(const char* s, std::size_t n, std::size_t i, std::size_t& len);

/// Appends the UTF-8 encoding of `cp` (a valid scalar value) to `out`.
void append_utf8(std::string& out, char32_t cp);

/// Byte offset of the first ill-formed sequence, or npos when `text` is valid UTF-8.
std::size_t find_invalid_utf8(std::string_view text);

/// Replaces every maximal ill-formed subsequence by U+FFFD (the lenient input mode).
std::string replace_invalid_utf8(std::string_view text);

/// Number of code points in text[0, byte_end) (byte_end on a character boundary).
std::size_t count_code_points(std::string_view text, std::size_t byte_begin, std::size_t byte_end);

// ---- character classes, as the Rust crate's BertNormalizer / BertPreTokenizer see them ----------

/// Rust `char::is_whitespace` (the White_Space property; stable since Unicode 6.3).
bool is_white_space(char32_t cp);

/// BertNormalizer's `is_whitespace`: tab, newline, carriage return or White_Space.
inline bool is_bert_whitespace(char32_t cp) {
  return cp == '\t' || cp == '\n' || cp == '\r' || is_white_space(cp);
}

/// BertNormalizer's `is_control`: general category Cc, Cf, Co or Cs in the Unicode 8.0 table,
/// except tab, newline and carriage return (those count as whitespace).
bool is_bert_control(char32_t cp);

/// BertPreTokenizer's punctuation: ASCII punctuation (which includes the symbols $+<=>^`|~) or a
/// general category P* in the Unicode 8.0 table.
bool is_bert_punctuation(char32_t cp);

/// BertNormalizer's CJK ideograph ranges, including the crate's typo: its Extension E range starts
/// at U+2B920 instead of U+2B820, so U+2B820..U+2B91F are not treated as Chinese characters.
bool is_bert_chinese(char32_t cp);

/// General category Mn in the Unicode 8.0 table (what accent stripping removes after NFD).
bool is_old_nonspacing_mark(char32_t cp);

/// Canonical combining class (utf8proc).
int combining_class(char32_t cp);

/// Full canonical decomposition of one code point (NFD of a single character, Hangul included).
/// Writes up to `cap` code points to `out` and returns how many there are.
int decompose_canonical(char32_t cp, char32_t* out, int cap);

/// Rust `char::to_lowercase`: the full (unconditional) lowercase mapping, at most 3 code points.
/// Returns the count written to out. Greek capital sigma always maps to small sigma (no final-sigma
/// context), U+0130 maps to "i" + U+0307 (SpecialCasing), everything else per utf8proc.
int to_lower_full(char32_t cp, char32_t out[3]);

}  // namespace tz::tokenizer::unicode
