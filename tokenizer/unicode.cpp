// UTF-8 helpers and the BERT character classes, with the compatibility layer that reproduces the
// Unicode tables of HF's Rust `tokenizers` crate on top of utf8proc (partner header: unicode.h).
//
// The compatibility layer, in full (each item is pinned by shared/reference/tokenizer cases):
//  1. General categories come from the `unicode_categories` crate, i.e. Unicode 8.0. We take
//     utf8proc's category for code points that existed in Unicode 8.0 (unicode8_assigned.inc,
//     generated from Perl's UCD by gen_unicode8_table.pl) and Cn for everything assigned later.
//     So newer punctuation (U+061D, U+2E43..), newer format chars (U+0890, U+08E2, U+110CD,
//     U+13430..), newer non-spacing marks (U+07FD, U+1AC0..) keep their old "unassigned" class, and
//     unassigned code points and noncharacters are never treated as control characters (kept).
//  2. Category changes between Unicode 8.0 and utf8proc's version for code points that already
//     existed (listed in old_category): U+1734 was Mn (Mc now), U+1885/U+1886 were Lo, U+A9BD was
//     Mc and U+111C9 was Po (all Mn now). The sweeps of the reference data cover every current
//     P*/Cf/Mn code point, so a change *into* those classes cannot hide; a change *out of* them is
//     only known from the reference README (U+1734).
//  3. The CJK ranges are the crate's, including its Extension E typo (see is_bert_chinese).
//  4. White_Space, lowercasing and NFD follow the current standard as the crate's Rust std and
//     `unicode-normalization` do; lowercasing is per character with the unconditional full mapping
//     (U+0130 -> "i" U+0307, capital sigma -> small sigma, never final sigma).
#include "tokenizer/unicode.h"

#include <utf8proc.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace tz::tokenizer::unicode {

namespace {

struct Range {
  char32_t first, last;
};

constexpr Range kAssignedInUnicode8[] = {
#include "tokenizer/unicode8_assigned.inc"
};

bool assigned_in_unicode8(char32_t cp) {
  // Binary search for the last range with first <= cp.
  const Range* begin = std::begin(kAssignedInUnicode8);
  const Range* end = std::end(kAssignedInUnicode8);
  const Range* it = std::upper_bound(begin, end, cp, [](char32_t v, const Range& r) { return v < r.first; });
  if (it == begin) return false;
  --it;
  return cp <= it->last;
}

/// The general category as the Unicode 8.0 table of the Rust crate has it (see the file comment).
utf8proc_category_t old_category(char32_t cp) {
  switch (cp) {
    case 0x1734: return UTF8PROC_CATEGORY_MN;   // HANUNOO SIGN PAMUDPOD (Mc since 14.0)
    case 0x1885:                                 // MONGOLIAN LETTER ALI GALI BALUDA,
    case 0x1886: return UTF8PROC_CATEGORY_LO;   // ... THREE BALUDA (Mn since 9.0)
    case 0xA9BD: return UTF8PROC_CATEGORY_MC;   // JAVANESE CONSONANT SIGN KERET (Mn since 12.0)
    case 0x111C9: return UTF8PROC_CATEGORY_PO;  // SHARADA SANDHI MARK (Mn since 12.0)
    default: break;
  }
  if (!assigned_in_unicode8(cp)) return UTF8PROC_CATEGORY_CN;
  return utf8proc_category(static_cast<utf8proc_int32_t>(cp));
}

enum : uint8_t { kControl = 1, kPunct = 2, kMark = 4 };

uint8_t compute_flags(char32_t cp) {
  uint8_t f = 0;
  switch (old_category(cp)) {
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CO:
    case UTF8PROC_CATEGORY_CS: f |= kControl; break;
    case UTF8PROC_CATEGORY_PC:
    case UTF8PROC_CATEGORY_PD:
    case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE:
    case UTF8PROC_CATEGORY_PI:
    case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO: f |= kPunct; break;
    case UTF8PROC_CATEGORY_MN: f |= kMark; break;
    default: break;
  }
  if (cp < 0x80 && ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) ||
                    (cp >= 123 && cp <= 126)))
    f |= kPunct;
  return f;
}

// The Basic Multilingual Plane is looked up in a 64 KiB table built once; the rest is computed.
const std::array<uint8_t, 0x10000>& bmp_flags() {
  static const auto table = [] {
    std::array<uint8_t, 0x10000> t{};
    for (char32_t cp = 0; cp < 0x10000; ++cp) t[cp] = compute_flags(cp);
    return t;
  }();
  return table;
}

uint8_t flags(char32_t cp) { return cp < 0x10000 ? bmp_flags()[cp] : compute_flags(cp); }

}  // namespace

int32_t decode(const char* s, std::size_t n, std::size_t i, std::size_t& len) {
  auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c0 = b(i);
  if (c0 < 0x80) {
    len = 1;
    return c0;
  }
  // Well-formed byte sequences per the Unicode standard (Table 3-7); on error `len` covers the
  // maximal prefix of a valid sequence (at least one byte), as U+FFFD substitution practice wants.
  int need;
  char32_t cp;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c0 >= 0xC2 && c0 <= 0xDF) {
    need = 1;
    cp = c0 & 0x1F;
  } else if (c0 >= 0xE0 && c0 <= 0xEF) {
    need = 2;
    cp = c0 & 0x0F;
    if (c0 == 0xE0) lo = 0xA0;
    if (c0 == 0xED) hi = 0x9F;
  } else if (c0 >= 0xF0 && c0 <= 0xF4) {
    need = 3;
    cp = c0 & 0x07;
    if (c0 == 0xF0) lo = 0x90;
    if (c0 == 0xF4) hi = 0x8F;
  } else {
    len = 1;
    return -1;
  }
  std::size_t k = i + 1;
  for (int j = 0; j < need; ++j, ++k) {
    unsigned char lo_j = j == 0 ? lo : 0x80, hi_j = j == 0 ? hi : 0xBF;
    if (k >= n || b(k) < lo_j || b(k) > hi_j) {
      len = k - i;
      return -1;
    }
    cp = (cp << 6) | (b(k) & 0x3F);
  }
  len = k - i;
  return static_cast<int32_t>(cp);
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::size_t find_invalid_utf8(std::string_view text) {
  const char* s = text.data();
  std::size_t n = text.size(), i = 0;
  while (i < n) {
    // Skip ASCII eight bytes at a time: the common case in English text.
    while (i + 8 <= n) {
      uint64_t w;
      std::memcpy(&w, s + i, 8);
      if (w & 0x8080808080808080ull) break;
      i += 8;
    }
    if (i >= n) break;
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    std::size_t len;
    if (decode(s, n, i, len) < 0) return i;
    i += len;
  }
  return std::string_view::npos;
}

std::string replace_invalid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t len;
    if (decode(text.data(), text.size(), i, len) < 0)
      append_utf8(out, 0xFFFD);
    else
      out.append(text.data() + i, len);
    i += len;
  }
  return out;
}

std::size_t count_code_points(std::string_view text, std::size_t byte_begin, std::size_t byte_end) {
  std::size_t count = 0;
  for (std::size_t i = byte_begin; i < byte_end; ++i)
    count += (static_cast<unsigned char>(text[i]) & 0xC0) != 0x80;
  return count;
}

bool is_white_space(char32_t cp) {
  switch (cp) {
    case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x20: case 0x85: case 0xA0:
    case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

bool is_bert_control(char32_t cp) {
  if (cp == '\t' || cp == '\n' || cp == '\r') return false;
  return flags(cp) & kControl;
}

bool is_bert_punctuation(char32_t cp) { return flags(cp) & kPunct; }

bool is_old_nonspacing_mark(char32_t cp) { return flags(cp) & kMark; }

bool is_bert_chinese(char32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
         (cp >= 0x2B740 && cp <= 0x2B81F) ||
         (cp >= 0x2B920 && cp <= 0x2CEAF) ||  // sic: the crate's Extension E starts at U+2B920
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

int combining_class(char32_t cp) {
  return utf8proc_get_property(static_cast<utf8proc_int32_t>(cp))->combining_class;
}

int decompose_canonical(char32_t cp, char32_t* out, int cap) {
  utf8proc_int32_t buf[8];
  int last_boundclass = 0;
  utf8proc_ssize_t n = utf8proc_decompose_char(static_cast<utf8proc_int32_t>(cp), buf, 8,
                                               UTF8PROC_DECOMPOSE, &last_boundclass);
  if (n <= 0 || n > 8) {
    // Not expected for a valid scalar value; keep the character as it is.
    if (cap > 0) out[0] = cp;
    return 1;
  }
  int count = static_cast<int>(std::min<utf8proc_ssize_t>(n, cap));
  for (int k = 0; k < count; ++k) out[k] = static_cast<char32_t>(buf[k]);
  return count;
}

int to_lower_full(char32_t cp, char32_t out[3]) {
  if (cp == 0x0130) {  // SpecialCasing: LATIN CAPITAL LETTER I WITH DOT ABOVE
    out[0] = 'i';
    out[1] = 0x0307;
    return 2;
  }
  out[0] = static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp)));
  return 1;
}

}  // namespace tz::tokenizer::unicode
