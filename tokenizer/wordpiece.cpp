// Encoding and decoding with the WordPiece tokenizer (partner header: wordpiece.h; loading and
// saving files is in wordpiece_io.cpp).
#include "tokenizer/wordpiece.h"

#include <algorithm>
#include <cstring>
#include <exception>
#include <fstream>
#include <mutex>
#include <thread>

#include "core/error.h"
#include "tokenizer/unicode.h"

namespace tz::tokenizer {

namespace {

/// A per-thread memo of short words -> WordPiece result. Natural text repeats its frequent words
/// all the time, and a hit costs one probe into this small table (it fits in L2) instead of a trie
/// walk through the large vocabulary tables. The result is a pure function of the word's bytes
/// the vocabulary and max_input_chars_per_word, so the memo cannot change any output; it is reset
/// when another vocabulary (tokenizer) is used on the thread.
struct WordCache {
  static constexpr std::size_t kSize = 32768, kMaxBytes = 16, kMaxPieces = 3;
  struct Entry {
    uint64_t k0 = 0, k1 = 0;  // the word's bytes, zero padded
    int32_t ids[kMaxPieces];
    uint8_t ends[kMaxPieces];
    uint8_t len = 0;           // 0 = empty slot
    uint8_t n_pieces = 0;      // 0 = the word is [UNK]
  };
  uint64_t owner = 0;  // Vocab::uid() of the vocabulary the entries belong to
  std::size_t max_chars = 0;
  std::vector<Entry> entries;

  static WordCache& for_vocab(const Vocab& vocab, std::size_t max_chars) {
    thread_local WordCache cache;
    if (cache.owner != vocab.uid() || cache.max_chars != max_chars) {
      cache.entries.assign(kSize, Entry{});
      cache.owner = vocab.uid();
      cache.max_chars = max_chars;
    }
    return cache;
  }
};

/// WordPiece on each word the basic tokenizer reports, appending to an Encoding.
class ModelSink final : public WordSink {
 public:
  ModelSink(const Vocab& vocab, int64_t unk_id, const std::string& unk_token, std::size_t max_chars, Encoding& out)
      : vocab_(vocab), unk_id_(unk_id), unk_token_(unk_token), max_chars_(max_chars), out_(out),
        cache_(WordCache::for_vocab(vocab, max_chars)) {}

  void on_word(const Word& w) override {
    const char* s = w.text.data();
    std::size_t n = w.text.size();
    WordCache::Entry* slot = nullptr;
    uint64_t k0 = 0, k1 = 0;
    if (n <= WordCache::kMaxBytes) {
      std::memcpy(&k0, s, std::min<std::size_t>(n, 8));
      if (n > 8) std::memcpy(&k1, s + 8, n - 8);
      uint64_t h = (k0 * 0x9E3779B97F4A7C15ull) ^ (k1 * 0xC2B2AE3D27D4EB4Full) ^ n;
      h ^= h >> 29;
      slot = &cache_.entries[(h * 0xBF58476D1CE4E5B9ull >> 40) & (WordCache::kSize - 1)];
      if (slot->len == n && slot->k0 == k0 && slot->k1 == k1) {
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
    if (slot && (bad || pieces_.size() <= WordCache::kMaxPieces)) {
      slot->k0 = k0;
      slot->k1 = k1;
      slot->len = static_cast<uint8_t>(n);
      slot->n_pieces = bad ? 0 : static_cast<uint8_t>(pieces_.size());
      for (std::size_t k = 0; !bad && k < pieces_.size(); ++k) {
        slot->ids[k] = static_cast<int32_t>(pieces_[k].id);
        slot->ends[k] = static_cast<uint8_t>(pieces_[k].end);
      }
    }
    ++word_index_;
  }

  void added(int64_t id, std::string_view text, std::size_t begin, std::size_t end) {
    push(id, std::string(text), begin, end);
    ++word_index_;
  }

 private:
  struct Piece {
    int64_t id;
    std::size_t begin, end;
  };
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
  WordCache& cache_;
  int32_t word_index_ = 0;
  std::vector<Piece> pieces_;
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

}  // namespace

int64_t WordPiece::token_to_id(std::string_view token) const {
  for (const auto& t : model_->raw_added)
    if (t.content == token) return t.id;
  for (const auto& t : model_->normalized_added)
    if (t.content == token) return t.id;
  return model_->vocab->id(token);
}

WordPiece::WordPiece(std::shared_ptr<const Vocab> vocab, WordPieceConfig config) : basic_(config.normalizer) {
  auto m = std::make_shared<Model>();
  m->vocab = std::move(vocab);
  m->config = std::move(config);
  const Vocab& v = *m->vocab;
  WordPieceConfig& c = m->config;
  m->unk_id = v.id(c.unk_token);

  // Added tokens: ids from the vocabulary, or new ids after it (as HF's add_tokens does).
  int64_t next_id = static_cast<int64_t>(v.id_limit());
  for (const AddedToken& t : c.added_tokens) next_id = std::max(next_id, t.id + 1);
  for (AddedToken& t : c.added_tokens) {
    TZ_CHECK(!t.content.empty(), "WordPiece: an added token has empty content");
    if (t.id < 0) {
      t.id = v.id(t.content);
      if (t.id < 0) t.id = next_id++;
    }
    m->added_by_id.emplace_back(t.id, t.content);
    if (t.normalized) {
      m->normalized_added.push_back(t);
      std::vector<NormalizedChar> chars;
      BasicTokenizer::Scratch scratch;
      basic_.normalize(t.content, 0, scratch, chars);
      std::u32string content;
      for (const auto& ch : chars) content.push_back(ch.cp);
      m->normalized_contents.push_back(content);
    } else {
      m->raw_added.push_back(t);
      m->first_byte[static_cast<unsigned char>(t.content[0])] = true;
    }
  }
  std::sort(m->added_by_id.begin(), m->added_by_id.end());
  model_ = m;

  // Templates: BERT's unless given; special token ids resolved now.
  auto special = [&](const std::string& token, int64_t type_id) {
    TemplatePiece p;
    p.special_token = token;
    p.type_id = type_id;
    return p;
  };
  auto sequence = [](int seq, int64_t type_id) {
    TemplatePiece p;
    p.is_sequence = true;
    p.sequence = seq;
    p.type_id = type_id;
    return p;
  };
  m->single_template = c.single_template;
  m->pair_template = c.pair_template;
  if (m->single_template.empty()) m->single_template = {special(c.cls_token, 0), sequence(0, 0), special(c.sep_token, 0)};
  if (m->pair_template.empty())
    m->pair_template = {special(c.cls_token, 0), sequence(0, 0), special(c.sep_token, 0), sequence(1, 1),
                        special(c.sep_token, 1)};
  for (auto* tpl : {&m->single_template, &m->pair_template})
    for (TemplatePiece& p : *tpl) {
      if (p.is_sequence || p.special_id >= 0) continue;
      p.special_id = token_to_id(p.special_token);
      TZ_CHECK(p.special_id >= 0, "WordPiece: template special token '", p.special_token,
               "' is neither an added token nor in the vocabulary");
    }
  m->pad_id = token_to_id(c.pad_token);
}

WordPiece WordPiece::with_normalizer(const NormalizerOptions& options) const {
  WordPiece copy = *this;
  copy.basic_ = BasicTokenizer(options);
  auto m = std::make_shared<Model>(*model_);
  m->config.normalizer = options;
  if (!m->normalized_added.empty()) {
    // Normalized added tokens are matched in their normalized form, which depends on the options.
    m->normalized_contents.clear();
    for (const AddedToken& t : m->normalized_added) {
      std::vector<NormalizedChar> chars;
      BasicTokenizer::Scratch scratch;
      copy.basic_.normalize(t.content, 0, scratch, chars);
      std::u32string content;
      for (const auto& ch : chars) content.push_back(ch.cp);
      m->normalized_contents.push_back(content);
    }
  }
  copy.model_ = m;
  return copy;
}

const std::vector<TemplatePiece>& WordPiece::template_for(bool pair) const {
  return pair ? model_->pair_template : model_->single_template;
}

std::size_t WordPiece::added_by_template(bool pair) const {
  std::size_t n = 0;
  for (const TemplatePiece& p : template_for(pair)) n += !p.is_sequence;
  return n;
}

void WordPiece::encode_sequence(std::string_view text, int sequence, int64_t type_id, const EncodeOptions& options,
                                Encoding& out) const {
  const Model& m = *model_;
  if (!options.lenient_utf8) {
    std::size_t bad = unicode::find_invalid_utf8(text);
    TZ_CHECK(bad == std::string_view::npos, "tokenizer: invalid UTF-8 at byte offset ", bad, " of ",
             sequence == 0 ? "the text" : "the pair text", " (use EncodeOptions::lenient_utf8 to replace it)");
  }
  TZ_CHECK(text.size() < (std::size_t{1} << 32), "tokenizer: text of ", text.size(), " bytes exceeds the 4 GiB limit");

  // 1. Added tokens written in the raw text, leftmost-longest, never overlapping.
  std::vector<Split> splits;
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
  ModelSink sink(*m.vocab, m.unk_id, m.config.unk_token, m.config.max_input_chars_per_word, out);
  thread_local BasicTokenizer::Scratch scratch;
  thread_local std::vector<NormalizedChar> normalized;
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

namespace {

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

namespace {

/// Runs fn(i) for i in [0, n) on up to `threads` std::threads; rethrows the first failure.
template <class Fn>
void run_parallel(std::size_t n, unsigned threads, Fn&& fn) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  threads = static_cast<unsigned>(std::min<std::size_t>(threads, n));
  if (threads <= 1) {
    for (std::size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  std::exception_ptr error;
  std::mutex error_mutex;
  std::vector<std::thread> pool;
  // Contiguous blocks keep each thread's inputs and outputs apart in memory.
  for (unsigned t = 0; t < threads; ++t) {
    std::size_t begin = n * t / threads, end = n * (t + 1) / threads;
    pool.emplace_back([&, begin, end] {
      try {
        for (std::size_t i = begin; i < end; ++i) fn(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
      }
    });
  }
  for (auto& th : pool) th.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace

std::vector<Encoding> WordPiece::encode_batch(const std::vector<std::string>& texts,
                                              const EncodeOptions& options) const {
  std::vector<Encoding> out(texts.size());
  run_parallel(texts.size(), options.num_threads, [&](std::size_t i) { out[i] = encode_one(texts[i], nullptr, options, false); });
  if (options.padding && !out.empty()) {
    std::size_t longest = 0;
    for (const Encoding& e : out) longest = std::max(longest, e.size());
    std::size_t length = detail::padding_length(*options.padding, longest);
    TZ_CHECK(model_->pad_id >= 0, "padding: the pad token '", model_->config.pad_token, "' has no id");
    for (Encoding& e : out) detail::pad(e, length, model_->pad_id, 0, model_->config.pad_token, options.padding->direction);
  }
  return out;
}

std::vector<Encoding> WordPiece::encode_batch_pairs(const std::vector<std::pair<std::string, std::string>>& pairs,
                                                    const EncodeOptions& options) const {
  std::vector<Encoding> out(pairs.size());
  run_parallel(pairs.size(), options.num_threads, [&](std::size_t i) {
    std::string_view b = pairs[i].second;
    out[i] = encode_one(pairs[i].first, &b, options, false);
  });
  if (options.padding && !out.empty()) {
    std::size_t longest = 0;
    for (const Encoding& e : out) longest = std::max(longest, e.size());
    std::size_t length = detail::padding_length(*options.padding, longest);
    TZ_CHECK(model_->pad_id >= 0, "padding: the pad token '", model_->config.pad_token, "' has no id");
    for (Encoding& e : out) detail::pad(e, length, model_->pad_id, 0, model_->config.pad_token, options.padding->direction);
  }
  return out;
}

std::vector<std::string> WordPiece::tokenize(std::string_view text) const {
  EncodeOptions options;
  options.add_special_tokens = false;
  return encode(text, options).tokens;
}

std::optional<std::string> WordPiece::id_to_token(int64_t id) const {
  const auto& added = model_->added_by_id;
  auto it = std::lower_bound(added.begin(), added.end(), id,
                             [](const std::pair<int64_t, std::string>& p, int64_t v) { return p.first < v; });
  if (it != added.end() && it->first == id) return it->second;
  if (const std::string* t = model_->vocab->token(id)) return *t;
  return std::nullopt;
}

bool WordPiece::is_special_token(std::string_view token) const {
  for (const auto* list : {&model_->raw_added, &model_->normalized_added})
    for (const AddedToken& t : *list)
      if (t.special && t.content == token) return true;
  return false;
}

std::string WordPiece::decode(std::span<const int64_t> ids, bool skip_special_tokens) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int64_t id : ids) {
    std::optional<std::string> token = id_to_token(id);
    if (!token || (skip_special_tokens && is_special_token(*token))) continue;
    tokens.push_back(std::move(*token));
  }
  return convert_tokens_to_string(tokens);
}

std::string WordPiece::convert_tokens_to_string(const std::vector<std::string>& tokens) const {
  const WordPieceConfig& c = model_->config;
  std::string out;
  bool first = true;
  for (const std::string& token : tokens) {
    std::string piece;
    if (!c.decoder_wordpiece) {
      piece = first ? token : " " + token;
    } else if (first) {
      piece = token;
    } else if (token.compare(0, c.decoder_prefix.size(), c.decoder_prefix) == 0) {
      piece = token.substr(c.decoder_prefix.size());
    } else {
      piece = " " + token;
    }
    if (c.decoder_wordpiece && c.decoder_cleanup) {
      // The crate cleans each token (with its leading space) on its own, in this order.
      static const std::pair<std::string_view, std::string_view> rules[] = {
          {" .", "."},     {" ?", "?"},     {" !", "!"},     {" ,", ","},         {" ' ", "'"},   {" n't", "n't"},
          {" 'm", "'m"},   {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
      for (const auto& [from, to] : rules) {
        std::string replaced;
        std::size_t pos = 0;
        for (std::size_t hit; (hit = piece.find(from, pos)) != std::string::npos; pos = hit + from.size()) {
          replaced.append(piece, pos, hit - pos);
          replaced.append(to);
        }
        if (pos == 0) continue;
        replaced.append(piece, pos, std::string::npos);
        piece = std::move(replaced);
      }
    }
    out += piece;
    first = false;
  }
  return out;
}

std::vector<std::string> WordPiece::decode_batch(const std::vector<std::vector<int64_t>>& batch,
                                                 bool skip_special_tokens) const {
  std::vector<std::string> out;
  out.reserve(batch.size());
  for (const auto& ids : batch) out.push_back(decode(ids, skip_special_tokens));
  return out;
}

std::vector<int64_t> WordPiece::build_inputs_with_special_tokens(std::span<const int64_t> a,
                                                                 std::optional<std::span<const int64_t>> b) const {
  std::vector<int64_t> out;
  for (const TemplatePiece& p : template_for(b.has_value())) {
    if (!p.is_sequence)
      out.push_back(p.special_id);
    else if (p.sequence == 0)
      out.insert(out.end(), a.begin(), a.end());
    else
      out.insert(out.end(), b->begin(), b->end());
  }
  return out;
}

std::vector<int64_t> WordPiece::create_token_type_ids_from_sequences(std::span<const int64_t> a,
                                                                     std::optional<std::span<const int64_t>> b) const {
  std::vector<int64_t> out;
  for (const TemplatePiece& p : template_for(b.has_value())) {
    std::size_t n = !p.is_sequence ? 1 : p.sequence == 0 ? a.size() : b->size();
    out.insert(out.end(), n, p.type_id);
  }
  return out;
}

std::vector<int64_t> WordPiece::get_special_tokens_mask(std::span<const int64_t> a,
                                                        std::optional<std::span<const int64_t>> b,
                                                        bool already_has_special_tokens) const {
  std::vector<int64_t> out;
  if (already_has_special_tokens) {
    TZ_CHECK(!b.has_value(), "get_special_tokens_mask: give one sequence when it already has special tokens");
    for (int64_t id : a) {
      std::optional<std::string> t = id_to_token(id);
      out.push_back(t && is_special_token(*t) ? 1 : 0);
    }
    return out;
  }
  for (const TemplatePiece& p : template_for(b.has_value())) {
    std::size_t n = !p.is_sequence ? 1 : p.sequence == 0 ? a.size() : b->size();
    out.insert(out.end(), n, p.is_sequence ? 0 : 1);
  }
  return out;
}

std::vector<int64_t> WordPiece::convert_tokens_to_ids(const std::vector<std::string>& tokens) const {
  std::vector<int64_t> out;
  out.reserve(tokens.size());
  for (const std::string& t : tokens) {
    int64_t id = token_to_id(t);
    out.push_back(id >= 0 ? id : model_->unk_id);
  }
  return out;
}

std::vector<std::string> WordPiece::convert_ids_to_tokens(std::span<const int64_t> ids) const {
  std::vector<std::string> out;
  out.reserve(ids.size());
  for (int64_t id : ids) {
    std::optional<std::string> t = id_to_token(id);
    TZ_CHECK(t.has_value(), "convert_ids_to_tokens: id ", id, " is not in the vocabulary (size ", vocab_size(), ")");
    out.push_back(*t);
  }
  return out;
}

std::size_t WordPiece::vocab_size() const {
  std::size_t n = model_->vocab->size();
  for (const auto& [id, content] : model_->added_by_id)
    if (model_->vocab->id(content) != id) ++n;
  return n;
}

}  // namespace tz::tokenizer
