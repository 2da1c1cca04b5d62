// The streaming BertNormalizer + BertPreTokenizer (partner header: basic_tokenizer.h).
// Stages, in the crate's order: feed (clean text, CJK spacing) -> feed_nfd (decompose, reorder) ->
// feed_marks (drop non-spacing marks, lowercase) -> feed_split (whitespace / punctuation).
// ASCII takes a table-driven shortcut through all stages at once.
#include "tokenizer/basic_tokenizer.h"

#include <algorithm>

#include "tokenizer/unicode.h"

namespace tz::tokenizer {

BasicTokenizer::BasicTokenizer(const NormalizerOptions& options) : options_(options) {
  strip_ = options_.strips_accents();
  for (int c = 0; c < 128; ++c) {
    char32_t cp = static_cast<char32_t>(c);
    Ascii kind = Ascii::Keep;
    char32_t out = cp;
    if (options_.clean_text && (cp == 0 || unicode::is_bert_control(cp))) {
      kind = Ascii::Drop;
    } else {
      if (options_.clean_text && unicode::is_bert_whitespace(cp)) out = ' ';
      if (unicode::is_white_space(out))
        kind = Ascii::Space;
      else if (unicode::is_bert_punctuation(out))
        kind = Ascii::Punct;
      if (options_.lowercase && out >= 'A' && out <= 'Z') out += 'a' - 'A';
    }
    ascii_kind_[c] = kind;
    ascii_char_[c] = static_cast<char>(out);
  }
}

void BasicTokenizer::run(std::string_view piece, uint32_t base, Scratch& s, WordSink& sink) const {
  s.capture = nullptr;
  const char* p = piece.data();
  std::size_t n = piece.size();
  std::size_t i = 0;
  while (i < n) {
    unsigned char c = static_cast<unsigned char>(p[i]);
    if (c < 0x80) {
      // ASCII: identity under NFD and a starter, so it only closes a pending NFD block.
      Ascii kind = ascii_kind_[c];
      uint32_t b = base + static_cast<uint32_t>(i);
      ++i;
      if (kind == Ascii::Drop) continue;
      if (!s.pending.empty()) flush_nfd(s, &sink);
      if (kind == Ascii::Keep) {
        s.word.push_back(ascii_char_[c]);
        s.word_begin.push_back(b);
        s.word_end.push_back(b + 1);
        ++s.word_chars;
      } else if (kind == Ascii::Space) {
        end_word(s, &sink);
      } else {
        end_word(s, &sink);
        s.word.push_back(ascii_char_[c]);
        s.word_begin.push_back(b);
        s.word_end.push_back(b + 1);
        s.word_chars = 1;
        end_word(s, &sink);
      }
      continue;
    }
    std::size_t len;
    int32_t cp = unicode::decode(p, n, i, len);
    if (cp < 0) cp = 0xFFFD;  // callers validate first; never read past a bad sequence
    uint32_t b = base + static_cast<uint32_t>(i);
    i += len;
    feed(static_cast<char32_t>(cp), b, b + static_cast<uint32_t>(len), s, &sink);
  }
  if (!s.pending.empty()) flush_nfd(s, &sink);
  end_word(s, &sink);
}

void BasicTokenizer::normalize(std::string_view piece, uint32_t base, Scratch& s,
                               std::vector<NormalizedChar>& out) const {
  s.capture = &out;
  const char* p = piece.data();
  std::size_t n = piece.size();
  std::size_t i = 0;
  while (i < n) {
    std::size_t len;
    int32_t cp = unicode::decode(p, n, i, len);
    if (cp < 0) cp = 0xFFFD;
    uint32_t b = base + static_cast<uint32_t>(i);
    i += len;
    feed(static_cast<char32_t>(cp), b, b + static_cast<uint32_t>(len), s, nullptr);
  }
  if (!s.pending.empty()) flush_nfd(s, nullptr);
  s.capture = nullptr;
}

void BasicTokenizer::pre_tokenize(const NormalizedChar* chars, std::size_t n, Scratch& s, WordSink& sink) const {
  s.capture = nullptr;
  for (std::size_t k = 0; k < n; ++k) feed_split(chars[k].cp, chars[k].orig_begin, chars[k].orig_end, s, &sink);
  end_word(s, &sink);
}

void BasicTokenizer::feed(char32_t cp, uint32_t b, uint32_t e, Scratch& s, WordSink* sink) const {
  if (options_.clean_text) {
    if (cp == 0 || cp == 0xFFFD || unicode::is_bert_control(cp)) return;
    if (unicode::is_bert_whitespace(cp)) cp = ' ';
  }
  if (options_.handle_chinese_chars && unicode::is_bert_chinese(cp)) {
    // " c " where all three characters map back to the ideograph.
    feed_nfd(' ', b, e, s, sink);
    feed_nfd(cp, b, e, s, sink);
    feed_nfd(' ', b, e, s, sink);
    return;
  }
  feed_nfd(cp, b, e, s, sink);
}

void BasicTokenizer::feed_nfd(char32_t cp, uint32_t b, uint32_t e, Scratch& s, WordSink* sink) const {
  if (!strip_) {
    feed_marks(cp, b, e, s, sink);
    return;
  }
  char32_t d[8];
  int count = unicode::decompose_canonical(cp, d, 8);
  s.sources.emplace_back(b, e);
  for (int k = 0; k < count; ++k) {
    int ccc = unicode::combining_class(d[k]);
    if (ccc == 0) flush_nfd(s, sink);  // a starter closes the block that may need reordering
    s.pending.push_back({ccc, k > 0, d[k]});
  }
}

void BasicTokenizer::flush_nfd(Scratch& s, WordSink* sink) const {
  if (s.pending.empty()) return;
  // Canonical ordering: a stable sort of the block by combining class (the starter, class 0, stays
  // first). The crate then hands out spans by position, not by identity: the k-th "first" character
  // in output order takes the span of the k-th source character, and an inserted character takes
  // the span of the source consumed just before it. Without reordering this is simply "each
  // character keeps the span of the character it was decomposed from".
  if (s.pending.size() > 1)
    std::stable_sort(s.pending.begin(), s.pending.end(),
                     [](const Scratch::Pending& x, const Scratch::Pending& y) { return x.ccc < y.ccc; });
  for (const auto& item : s.pending) {
    if (!item.inserted && s.next_source < s.sources.size()) s.last_source = s.sources[s.next_source++];
    feed_marks(item.cp, s.last_source.first, s.last_source.second, s, sink);
  }
  s.pending.clear();
  // Drop the consumed spans (at most the current character's span is left waiting).
  s.sources.erase(s.sources.begin(), s.sources.begin() + static_cast<std::ptrdiff_t>(s.next_source));
  s.next_source = 0;
}

void BasicTokenizer::feed_marks(char32_t cp, uint32_t b, uint32_t e, Scratch& s, WordSink* sink) const {
  if (strip_ && unicode::is_old_nonspacing_mark(cp)) return;
  if (!options_.lowercase) {
    feed_split(cp, b, e, s, sink);
    return;
  }
  char32_t lower[3];
  int count = unicode::to_lower_full(cp, lower);
  for (int k = 0; k < count; ++k) feed_split(lower[k], b, e, s, sink);
}

void BasicTokenizer::feed_split(char32_t cp, uint32_t b, uint32_t e, Scratch& s, WordSink* sink) const {
  if (s.capture) {
    s.capture->push_back({cp, b, e});
    return;
  }
  auto append = [&] {
    std::size_t before = s.word.size();
    unicode::append_utf8(s.word, cp);
    for (std::size_t k = before; k < s.word.size(); ++k) {
      s.word_begin.push_back(b);
      s.word_end.push_back(e);
    }
    ++s.word_chars;
  };
  if (unicode::is_white_space(cp)) {
    end_word(s, sink);
  } else if (unicode::is_bert_punctuation(cp)) {
    end_word(s, sink);
    append();
    end_word(s, sink);
  } else {
    append();
  }
}

void BasicTokenizer::end_word(Scratch& s, WordSink* sink) const {
  if (s.word.empty()) return;
  if (sink) sink->on_word(Word{s.word, s.word_begin.data(), s.word_end.data(), s.word_chars});
  s.word.clear();
  s.word_begin.clear();
  s.word_end.clear();
  s.word_chars = 0;
}

}  // namespace tz::tokenizer
