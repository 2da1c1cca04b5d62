// WordPiece: encoding one text or one pair. Special tokens written in the text are split out, each
// remaining piece runs through BasicTokenizer into ModelSink (greedy longest-match WordPiece per
// word, memoized per thread), then truncation, the template and padding build the Encoding.
// Not here: batches on several threads (wordpiece_batch.cpp), decoding (wordpiece_decode.cpp),
// the memo (word_cache.h), normalization (basic_tokenizer.cpp). Partner header: wordpiece.h.
#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "tokenizer/unicode.h"
#include "tokenizer/word_cache.h"
#include "tokenizer/wordpiece.h"

namespace tz::tokenizer {

namespace {

/// One WordPiece of a word: its token id and byte range in the normalized word.
struct Piece {
  int64_t id;
  std::size_t begin, end;
};

/// WordPiece on each word the basic tokenizer reports, appending to an Encoding. `pieces` is
/// working memory the caller keeps from one text to the next.
class ModelSink final : public WordSink {
 public:
  ModelSink(const Vocab& vocab, int64_t unk_id, const std::string& unk_token, std::size_t max_chars, Encoding& out,
            std::vector<Piece>& pieces)
      : vocab_(vocab), unk_id_(unk_id), unk_token_(unk_token), max_chars_(max_chars), out_(out),
        cache_(detail::WordCache::for_thread(vocab, max_chars)), pieces_(pieces) {}

  void on_word(const Word& w) override {
    const char* s = w.text.data();
    std::size_t n = w.text.size();
    uint64_t k0 = 0, k1 = 0;
    detail::WordCache::Entry* slot = cache_.slot(w.text, k0, k1);
    if (slot && detail::WordCache::hit(*slot, n, k0, k1)) {
      if (slot->n_pieces == 0) {
        push_unk(w);
      } else {
        std::size_t begin = 0;
        for (uint8_t k = 0; k < slot->n_pieces; ++k) {
          push(slot->ids[k], *vocab_.token(slot->ids[k]), w.orig_begin[begin], w.orig_end[slot->ends[k] - 1]);
          begin = slot->ends[k];
        }
      }
      ++word_index_;
      return;
    }
    bool bad = w.n_chars > max_chars_;
    pieces_.clear();
    // Greedy longest-match-first: the longest vocabulary token at the start, then the longest
    // "##" token at each later position; a position with no match makes the whole word [UNK].
    for (std::size_t start = 0; !bad && start < n;) {
      int32_t id = -1;
      std::size_t len = vocab_.longest_prefix(s + start, n - start, start > 0, id);
      if (len == 0) {
        bad = true;
        break;
      }
      pieces_.push_back({id, start, start + len});
      start += len;
    }
    if (bad) {
      push_unk(w);
    } else {
      for (const Piece& p : pieces_) push(p.id, *vocab_.token(p.id), w.orig_begin[p.begin], w.orig_end[p.end - 1]);
    }
    if (slot) detail::WordCache::store(*slot, n, k0, k1, bad, pieces_);
    ++word_index_;
  }

  void added(int64_t id, std::string_view text, std::size_t begin, std::size_t end) {
    push(id, std::string(text), begin, end);
    ++word_index_;
  }

 private:
  void push_unk(const Word& w) {
    TZ_CHECK(unk_id_ >= 0, "WordPiece: the unknown token '", unk_token_, "' is not in the vocabulary");
    push(unk_id_, unk_token_, w.orig_begin[0], w.orig_end[w.text.size() - 1]);
  }
  void push(int64_t id, const std::string& token, std::size_t begin, std::size_t end) {
    out_.ids.push_back(id);
    out_.tokens.push_back(token);
    out_.offsets.push_back({begin, end});
    out_.word_ids.push_back(word_index_);
  }

  const Vocab& vocab_;
  int64_t unk_id_;
  const std::string& unk_token_;
  std::size_t max_chars_;
  Encoding& out_;
  detail::WordCache& cache_;
  int32_t word_index_ = 0;
  std::vector<Piece>& pieces_;
};

bool is_word_char(char32_t cp) {
  // Regex \w as the crate's single_word check uses it: alphanumeric or underscore.
  if (cp < 0x80) return (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || cp == '_';
  return !unicode::is_white_space(cp) && !unicode::is_bert_punctuation(cp);
}

char32_t last_char(std::string_view s) {
  std::size_t i = s.size();
  while (i > 0 && (static_cast<unsigned char>(s[i - 1]) & 0xC0) == 0x80) --i;
  if (i == 0) return 0;
  std::size_t len;
  int32_t cp = unicode::decode(s.data(), s.size(), i - 1, len);
  return cp < 0 ? 0 : static_cast<char32_t>(cp);
}

char32_t first_char(std::string_view s) {
  if (s.empty()) return 0;
  std::size_t len;
  int32_t cp = unicode::decode(s.data(), s.size(), 0, len);
  return cp < 0 ? 0 : static_cast<char32_t>(cp);
}

/// A split of a sequence: either a matched added token or a piece to tokenize.
struct Split {
  std::size_t begin, end;
  int64_t added_id;  // -1 for text
};

bool is_ascii(std::string_view s) {
  std::size_t i = 0;
  uint64_t bits = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    bits |= w;
  }
  for (; i < s.size(); ++i) bits |= static_cast<unsigned char>(s[i]);
  return (bits & 0x8080808080808080ull) == 0;
}

void fill_char_offsets(Encoding& e, std::string_view a, std::string_view b) {
  if (is_ascii(a) && is_ascii(b)) {
    // One byte per code point: the offsets are the same.
    e.char_offsets = e.offsets;
    for (Encoding& o : e.overflowing) o.char_offsets = o.offsets;
    return;
  }
  e.char_offsets.resize(e.offsets.size());
  // Offsets of one sequence mostly grow, so a running cursor makes the conversion linear.
  struct Cursor {
    std::size_t byte = 0, chars = 0;
  } cursor[2];
  std::string_view text[2] = {a, b};
  auto convert = [&](int seq, std::size_t pos) {
    Cursor& c = cursor[seq];
    if (pos < c.byte) c = Cursor{};
    c.chars += unicode::count_code_points(text[seq], c.byte, pos);
    c.byte = pos;
    return c.chars;
  };
  for (std::size_t k = 0; k < e.offsets.size(); ++k) {
    int seq = e.sequence_ids[k];
    if (seq < 0 || seq > 1) {
      e.char_offsets[k] = e.offsets[k];
      continue;
    }
    std::size_t begin = convert(seq, e.offsets[k].begin);
    std::size_t end = convert(seq, e.offsets[k].end);
    e.char_offsets[k] = {begin, end};
  }
  for (Encoding& o : e.overflowing) fill_char_offsets(o, a, b);
}

void reserve(Encoding& e, std::size_t n) {
  e.ids.reserve(n);
  e.tokens.reserve(n);
  e.type_ids.reserve(n);
  e.attention_mask.reserve(n);
  e.special_tokens_mask.reserve(n);
  e.offsets.reserve(n);
  e.sequence_ids.reserve(n);
  e.word_ids.reserve(n);
}

void push_special(Encoding& e, const TemplatePiece& p) {
  e.ids.push_back(p.special_id);
  e.tokens.push_back(p.special_token);
  e.type_ids.push_back(p.type_id);
  e.attention_mask.push_back(1);
  e.special_tokens_mask.push_back(1);
  e.offsets.push_back(Offset{});
  e.sequence_ids.push_back(-1);
  e.word_ids.push_back(-1);
}

}  // namespace

void WordPiece::encode_sequence(std::string_view text, int sequence, int64_t type_id, const EncodeOptions& options,
                                Encoding& out) const {
  const Model& m = *model_;
  if (!options.lenient_utf8) {
    std::size_t bad = unicode::find_invalid_utf8(text);
    TZ_CHECK(bad == std::string_view::npos, "tokenizer: invalid UTF-8 at byte offset ", bad, " of ",
             sequence == 0 ? "the text" : "the pair text", " (use EncodeOptions::lenient_utf8 to replace it)");
  }
  TZ_CHECK(text.size() < (std::size_t{1} << 32), "tokenizer: text of ", text.size(), " bytes exceeds the 4 GiB limit");

  // Working memory kept per thread: most texts are short, and allocations would cost more than
  // the work on them.
  thread_local std::vector<Split> splits;
  thread_local std::vector<Piece> pieces;
  thread_local BasicTokenizer::Scratch scratch;
  thread_local std::vector<NormalizedChar> normalized;

  // 1. Added tokens written in the raw text, leftmost-longest, never overlapping.
  splits.clear();
  std::size_t done = 0;
  if (!m.raw_added.empty()) {
    for (std::size_t i = 0; i < text.size();) {
      if (!m.first_byte[static_cast<unsigned char>(text[i])]) {
        ++i;
        continue;
      }
      const AddedToken* best = nullptr;
      for (const AddedToken& t : m.raw_added)
        if (text.compare(i, t.content.size(), t.content) == 0 && (!best || t.content.size() > best->content.size()))
          best = &t;
      if (!best) {
        ++i;
        continue;
      }
      std::size_t begin = i, end = i + best->content.size();
      i = end;
      if (best->single_word) {
        bool left_ok = begin == 0 || !is_word_char(last_char(text.substr(0, begin)));
        bool right_ok = end == text.size() || !is_word_char(first_char(text.substr(end)));
        if (!left_ok || !right_ok) continue;
      }
      if (best->lstrip) {
        std::size_t b = begin;
        while (b > done) {
          std::size_t k = b - 1;
          while (k > done && (static_cast<unsigned char>(text[k]) & 0xC0) == 0x80) --k;
          std::size_t len;
          int32_t cp = unicode::decode(text.data(), text.size(), k, len);
          if (cp < 0 || !unicode::is_white_space(static_cast<char32_t>(cp))) break;
          b = k;
        }
        begin = b;
      }
      if (best->rstrip) {
        while (end < text.size()) {
          std::size_t len;
          int32_t cp = unicode::decode(text.data(), text.size(), end, len);
          if (cp < 0 || !unicode::is_white_space(static_cast<char32_t>(cp))) break;
          end += len;
        }
        i = end;
      }
      if (done < begin) splits.push_back({done, begin, -1});
      splits.push_back({begin, end, best->id});
      done = end;
    }
  }
  if (done < text.size()) splits.push_back({done, text.size(), -1});

  // 2. Normalize, pre-tokenize and WordPiece each remaining piece, appending to `out`.
  std::size_t first = out.ids.size();
  ModelSink sink(*m.vocab, m.unk_id, m.config.unk_token, m.config.max_input_chars_per_word, out, pieces);
  for (const Split& sp : splits) {
    if (sp.added_id >= 0) {
      sink.added(sp.added_id, text.substr(sp.begin, sp.end - sp.begin), sp.begin, sp.end);
      continue;
    }
    std::string_view piece = text.substr(sp.begin, sp.end - sp.begin);
    if (m.normalized_added.empty()) {
      basic_.run(piece, static_cast<uint32_t>(sp.begin), scratch, sink);
      continue;
    }
    // Added tokens with normalized=true are matched in the normalized piece.
    normalized.clear();
    basic_.normalize(piece, static_cast<uint32_t>(sp.begin), scratch, normalized);
    std::size_t from = 0;
    for (std::size_t i = 0; i < normalized.size();) {
      std::size_t best = 0, best_len = 0;
      for (std::size_t k = 0; k < m.normalized_contents.size(); ++k) {
        const std::u32string& c = m.normalized_contents[k];
        if (c.empty() || c.size() <= best_len || i + c.size() > normalized.size()) continue;
        bool match = true;
        for (std::size_t j = 0; j < c.size() && match; ++j) match = normalized[i + j].cp == c[j];
        if (match) {
          best = k;
          best_len = c.size();
        }
      }
      if (best_len == 0) {
        ++i;
        continue;
      }
      if (from < i) basic_.pre_tokenize(normalized.data() + from, i - from, scratch, sink);
      std::string value;
      for (std::size_t j = i; j < i + best_len; ++j) unicode::append_utf8(value, normalized[j].cp);
      sink.added(m.normalized_added[best].id, value, normalized[i].orig_begin, normalized[i + best_len - 1].orig_end);
      i += best_len;
      from = i;
    }
    if (from < normalized.size()) basic_.pre_tokenize(normalized.data() + from, normalized.size() - from, scratch, sink);
  }
  std::size_t n = out.ids.size() - first;
  out.type_ids.insert(out.type_ids.end(), n, type_id);
  out.attention_mask.insert(out.attention_mask.end(), n, 1);
  out.special_tokens_mask.insert(out.special_tokens_mask.end(), n, 0);
  out.sequence_ids.insert(out.sequence_ids.end(), n, sequence);
}

Encoding WordPiece::encode_one(std::string_view a, const std::string_view* b, const EncodeOptions& options,
                               bool apply_padding) const {
  const Model& m = *model_;
  const std::vector<TemplatePiece>& tpl = template_for(b != nullptr);
  Encoding out;
  if (!options.truncation) {
    // Nothing to cut: write the template and the sequences straight into the result.
    reserve(out, (a.size() + (b ? b->size() : 0)) / 3 + 8);
    for (const TemplatePiece& p : tpl) {
      if (p.is_sequence)
        encode_sequence(p.sequence == 0 ? a : *b, p.sequence, p.type_id, options, out);
      else if (options.add_special_tokens)
        push_special(out, p);
    }
  } else {
    Encoding ea, eb;
    encode_sequence(a, 0, 0, options, ea);
    if (b) encode_sequence(*b, 1, 1, options, eb);
    truncate_for_template(ea, b ? &eb : nullptr, *options.truncation, options.add_special_tokens);
    if (ea.overflowing.empty() && eb.overflowing.empty()) {
      // No windows to combine: append the pieces (moving the token strings).
      reserve(out, ea.size() + eb.size() + tpl.size());
      for (const TemplatePiece& p : tpl) {
        if (p.is_sequence) {
          Encoding& e = p.sequence == 0 ? ea : eb;
          out.ids.insert(out.ids.end(), e.ids.begin(), e.ids.end());
          out.tokens.insert(out.tokens.end(), std::make_move_iterator(e.tokens.begin()),
                            std::make_move_iterator(e.tokens.end()));
          out.type_ids.insert(out.type_ids.end(), e.size(), p.type_id);
          out.attention_mask.insert(out.attention_mask.end(), e.size(), 1);
          out.special_tokens_mask.insert(out.special_tokens_mask.end(), e.size(), 0);
          out.offsets.insert(out.offsets.end(), e.offsets.begin(), e.offsets.end());
          out.sequence_ids.insert(out.sequence_ids.end(), e.sequence_ids.begin(), e.sequence_ids.end());
          out.word_ids.insert(out.word_ids.end(), e.word_ids.begin(), e.word_ids.end());
        } else if (options.add_special_tokens) {
          push_special(out, p);
        }
      }
    } else {
      // Windows combine the way the crate merges encodings piece by piece (encoding.h).
      for (const TemplatePiece& p : tpl) {
        if (p.is_sequence) {
          Encoding& e = p.sequence == 0 ? ea : eb;
          // Only the main encoding takes the template's type id; windows keep their sequence index.
          std::fill(e.type_ids.begin(), e.type_ids.end(), p.type_id);
          detail::merge(out, e);
        } else if (options.add_special_tokens) {
          Encoding s;
          push_special(s, p);
          detail::merge(out, s);
        }
      }
    }
  }

  if (apply_padding && options.padding) {
    TZ_CHECK(m.pad_id >= 0, "padding: the pad token '", m.config.pad_token, "' has no id");
    std::size_t length = detail::padding_length(*options.padding, out.size());
    detail::pad(out, length, m.pad_id, 0, m.config.pad_token, options.padding->direction);
  }
  if (options.char_offsets) fill_char_offsets(out, a, b ? *b : std::string_view{});
  return out;
}

void WordPiece::truncate_for_template(Encoding& a, Encoding* b, const Truncation& t, bool add_special_tokens) const {
  // The crate checks the stride against max_length minus the single-sequence specials when the
  // truncation is set, and subtracts the template's specials (for this input) when it is used.
  // Both subtractions are unsigned: a max_length below the specials count wraps around and means
  // "no truncation", which we reproduce.
  std::size_t n_single = added_by_template(false);
  TZ_CHECK(t.max_length < n_single || t.max_length - n_single >= t.stride, "truncation: stride ", t.stride,
           " is greater than the effective max length ", t.max_length - n_single, " (= max_length ", t.max_length,
           " - ", n_single, " special tokens)");
  std::size_t n_added = added_by_template(b != nullptr);
  Truncation effective = t;
  if (add_special_tokens && n_added > 0) {
    if (t.max_length < n_added) return;
    effective.max_length = t.max_length - n_added;
  }
  detail::truncate_pair(a, b, effective);
}

Encoding WordPiece::encode(std::string_view text, const EncodeOptions& options) const {
  return encode_one(text, nullptr, options, true);
}

Encoding WordPiece::encode_pair(std::string_view a, std::string_view b, const EncodeOptions& options) const {
  return encode_one(a, &b, options, true);
}

std::vector<std::string> WordPiece::tokenize(std::string_view text) const {
  EncodeOptions options;
  options.add_special_tokens = false;
  return encode(text, options).tokens;
}

}  // namespace tz::tokenizer
