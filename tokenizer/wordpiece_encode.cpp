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
            std::vector<Piece>& pieces, const std::vector<std::string>& never_split)
      : vocab_(vocab), unk_id_(unk_id), unk_token_(unk_token), max_chars_(max_chars), out_(out),
        cache_(detail::WordCache::for_thread(vocab, max_chars)), pieces_(pieces),
        never_split_(never_split.empty() ? nullptr : &never_split) {}

  void on_word(const Word& w) override {
    const char* s = w.text.data();
    std::size_t n = w.text.size();
    if (never_split_ && std::binary_search(never_split_->begin(), never_split_->end(), w.text, std::less<>{})) {
      whole_word(w.text, w.orig_begin[0], w.orig_end[n - 1]);
      return;
    }
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

  /// A never_split word skips WordPiece: its vocabulary token, or the unknown token.
  void whole_word(std::string_view form, std::size_t begin, std::size_t end) {
    int64_t id = vocab_.id(form);
    if (id < 0) {
      TZ_CHECK(unk_id_ >= 0, "WordPiece: the unknown token '", unk_token_, "' is not in the vocabulary");
      push(unk_id_, unk_token_, begin, end);
    } else {
      push(id, *vocab_.token(id), begin, end);
    }
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
  const std::vector<std::string>* never_split_;  // sorted; null when empty
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

/// Python's str.isspace, where the slow tokenizer splits without its basic tokenizer: the
/// White_Space property and the information separators U+001C..U+001F.
bool is_python_space(char32_t cp) { return unicode::is_white_space(cp) || (cp >= 0x1C && cp <= 0x1F); }

/// The code point at text[i] (i < end) and its length; an ill-formed sequence (lenient input)
/// counts as U+FFFD.
char32_t code_point_at(std::string_view text, std::size_t i, std::size_t end, std::size_t& len) {
  int32_t cp = unicode::decode(text.data(), end, i, len);
  return cp < 0 ? char32_t{0xFFFD} : static_cast<char32_t>(cp);
}

/// do_basic_tokenize = false: text[begin, end) split at whitespace, each piece a word as it is.
/// `spans` is working memory for the byte offsets a Word carries.
void whitespace_words(std::string_view text, std::size_t begin, std::size_t end, std::vector<uint32_t>& spans,
                      WordSink& sink) {
  std::size_t word = end, chars = 0;  // word == end: no word open
  auto close = [&](std::size_t at) {
    if (word < at) {
      // Byte k of the word spans [word + k, word + k + 1) of the text.
      spans.resize(at - word + 1);
      for (std::size_t k = 0; k < spans.size(); ++k) spans[k] = static_cast<uint32_t>(word + k);
      sink.on_word(Word{text.substr(word, at - word), spans.data(), spans.data() + 1, chars});
    }
    word = end;
    chars = 0;
  };
  for (std::size_t i = begin; i < end;) {
    std::size_t len;
    char32_t cp = code_point_at(text, i, end, len);
    if (is_python_space(cp)) {
      close(i);
    } else {
      if (word == end) word = i;
      ++chars;
    }
    i += len;
  }
  close(end);
}

/// The slow BertTokenizer's never_split rule on text[begin, end). Its basic tokenizer cleans the
/// text, spaces out CJK ideographs and splits at whitespace; a resulting word that is listed is
/// kept whole, compared after the lowercasing the slow tokenizer applies to the whole text before
/// it splits out added tokens. Calls keep(b, e, form) for each such word (form: the word as
/// compared) and rest(b, e) for the text around them.
template <class Keep, class Rest>
void never_split_words(std::string_view text, std::size_t begin, std::size_t end, const NormalizerOptions& norm,
                       const std::vector<std::string>& listed, std::string& form, Keep&& keep, Rest&& rest) {
  std::size_t done = begin, word_begin = end, word_end = end;  // word_begin == end: no word open
  form.clear();
  auto close = [&] {
    if (word_begin != end && std::binary_search(listed.begin(), listed.end(), form)) {
      if (done < word_begin) rest(done, word_begin);
      keep(word_begin, word_end, std::string_view(form));
      done = word_end;
    }
    word_begin = end;
    form.clear();
  };
  auto append = [&](char32_t cp) {
    char32_t lower[3];
    int n = norm.lowercase ? unicode::to_lower_full(cp, lower) : (lower[0] = cp, 1);
    for (int k = 0; k < n; ++k) unicode::append_utf8(form, lower[k]);
  };
  for (std::size_t i = begin; i < end;) {
    std::size_t len;
    char32_t cp = code_point_at(text, i, end, len);
    if (norm.clean_text && (cp == 0 || cp == 0xFFFD || unicode::is_bert_control(cp))) {
      // Removed by the cleaning: the word goes on.
    } else if (unicode::is_bert_whitespace(cp)) {
      close();
    } else if (norm.handle_chinese_chars && unicode::is_bert_chinese(cp)) {
      close();
      word_begin = i;
      word_end = i + len;
      append(cp);
      close();
    } else {
      if (word_begin == end) word_begin = i;
      word_end = i + len;
      append(cp);
    }
    i += len;
  }
  close();
  if (done < end) rest(done, end);
}

/// Empties every field and keeps the vectors' capacity, so that an Encoding can be filled again
/// without allocating.
void reset(Encoding& e) {
  e.ids.clear();
  e.tokens.clear();
  e.type_ids.clear();
  e.attention_mask.clear();
  e.special_tokens_mask.clear();
  e.offsets.clear();
  e.char_offsets.clear();
  e.sequence_ids.clear();
  e.word_ids.clear();
  e.overflowing.clear();
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
  thread_local std::vector<uint32_t> spans;  // of a word that is not normalized
  thread_local std::string never_split_form;

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

  // 2. Normalize, pre-tokenize and WordPiece the text between them, appending to `out`.
  std::size_t first = out.ids.size();
  static const std::vector<std::string> kNone;
  ModelSink sink(*m.vocab, m.unk_id, m.config.unk_token, m.config.max_input_chars_per_word, out, pieces,
                 m.config.do_basic_tokenize ? m.never_split : kNone);  // never_split needs the basic tokenizer
  auto tokenize_text = [&](std::size_t begin, std::size_t end) {
    std::string_view piece = text.substr(begin, end - begin);
    if (m.normalized_added.empty()) {
      basic_.run(piece, static_cast<uint32_t>(begin), scratch, sink);
      return;
    }
    // Added tokens with normalized=true are matched in the normalized piece.
    normalized.clear();
    basic_.normalize(piece, static_cast<uint32_t>(begin), scratch, normalized);
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
  };
  for (const Split& sp : splits) {
    if (sp.added_id >= 0)
      sink.added(sp.added_id, text.substr(sp.begin, sp.end - sp.begin), sp.begin, sp.end);
    else if (!m.config.do_basic_tokenize)
      whitespace_words(text, sp.begin, sp.end, spans, sink);
    else if (m.never_split.empty())
      tokenize_text(sp.begin, sp.end);
    else
      never_split_words(
          text, sp.begin, sp.end, m.config.normalizer, m.never_split, never_split_form,
          [&](std::size_t b, std::size_t e, std::string_view form) { sink.whole_word(form, b, e); }, tokenize_text);
  }
  std::size_t n = out.ids.size() - first;
  out.type_ids.insert(out.type_ids.end(), n, type_id);
  out.attention_mask.insert(out.attention_mask.end(), n, 1);
  out.special_tokens_mask.insert(out.special_tokens_mask.end(), n, 0);
  out.sequence_ids.insert(out.sequence_ids.end(), n, sequence);
}

void WordPiece::encode_into(std::string_view a, const std::string_view* b, const EncodeOptions& options,
                            bool apply_padding, Encoding& out) const {
  const std::vector<TemplatePiece>& tpl = template_for(b != nullptr);
  reset(out);
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

  if (apply_padding && options.padding) pad_to(out, detail::padding_length(*options.padding, out.size()), *options.padding);
  if (options.char_offsets) fill_char_offsets(out, a, b ? *b : std::string_view{});
}

void WordPiece::truncate_for_template(Encoding& a, Encoding* b, const Truncation& t, bool add_special_tokens) const {
  // The crate checks the stride against max_length minus the single-sequence specials when the
  // truncation is set, and subtracts the template's specials (for this input) when it is used.
  // Both subtractions are unsigned: a max_length below the specials count wraps around and means
  // "no truncation", which we reproduce.
  check_stride(t);
  std::size_t n_added = added_by_template(b != nullptr);
  Truncation effective = t;
  if (add_special_tokens && n_added > 0) {
    if (t.max_length < n_added) return;
    effective.max_length = t.max_length - n_added;
  }
  detail::truncate_pair(a, b, effective);
}

void WordPiece::pad_to(Encoding& e, std::size_t length, const Padding& p) const {
  const std::string& token = p.pad_token.empty() ? model_->config.pad_token : p.pad_token;
  int64_t id = p.pad_id ? *p.pad_id : p.pad_token.empty() ? model_->pad_id : token_to_id(token);
  TZ_CHECK(id >= 0, "padding: the pad token '", token, "' has no id");
  detail::pad(e, length, id, p.pad_type_id, token, p.direction);
}

Encoding WordPiece::encode(std::string_view text, const EncodeOptions& options) const {
  Encoding out;
  encode_into(text, nullptr, options, true, out);
  return out;
}

Encoding WordPiece::encode_pair(std::string_view a, std::string_view b, const EncodeOptions& options) const {
  Encoding out;
  encode_into(a, &b, options, true, out);
  return out;
}

std::vector<std::string> WordPiece::tokenize(std::string_view text) const {
  EncodeOptions options;
  options.add_special_tokens = false;
  return encode(text, options).tokens;
}

}  // namespace tz::tokenizer
