// BERT basic tokenization, exactly as HF's Rust BertNormalizer + BertPreTokenizer do it:
// clean text (drop NUL, U+FFFD and control chars; whitespace becomes ' '), spaces around CJK
// ideographs, accent stripping (NFD, then drop non-spacing marks), per-character lowercasing, then
// split on whitespace (removed) and punctuation (each its own word).
//
// It is one streaming pass: every original character flows through the stages and lands in the
// current word together with the original byte span it came from, so token offsets into the
// original text fall out without building intermediate strings. The span rule is the crate's:
// a character produced by a transformation maps to the character it came from; after NFD's
// canonical reordering spans are handed out by position (see flush_nfd in the .cpp).
// Not here: special tokens in the text and WordPiece (wordpiece.cpp), character tables (unicode.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tz::tokenizer {

/// The BertNormalizer settings (tokenizer.json "normalizer", or tokenizer_config.json's
/// do_lower_case / strip_accents / tokenize_chinese_chars).
struct NormalizerOptions {
  bool clean_text = true;
  bool handle_chinese_chars = true;
  std::optional<bool> strip_accents;  ///< unset: follow `lowercase` (BERT's default)
  bool lowercase = true;
  bool strips_accents() const { return strip_accents.value_or(lowercase); }
};

/// One pre-token: its normalized UTF-8 text and, for each normalized byte, the original byte span
/// [orig_begin[k], orig_end[k]) it came from (absolute offsets in the encoded sequence).
struct Word {
  std::string_view text;
  const uint32_t* orig_begin;
  const uint32_t* orig_end;
  std::size_t n_chars;
};

/// Receives the words of a piece of text in order.
class WordSink {
 public:
  virtual ~WordSink() = default;
  virtual void on_word(const Word& word) = 0;
};

/// A normalized character with its original span; the form used when special tokens must be
/// matched in normalized text (added tokens with normalized=true).
struct NormalizedChar {
  char32_t cp;
  uint32_t orig_begin, orig_end;
};

class BasicTokenizer {
 public:
  /// Per-thread working memory; reuse it across calls to avoid allocations.
  struct Scratch {
    std::string word;
    std::vector<uint32_t> word_begin, word_end;
    std::size_t word_chars = 0;
    struct Pending {
      int ccc;
      bool inserted;  // not the first character of its source's decomposition
      char32_t cp;
    };
    std::vector<Pending> pending;                      // NFD items since the last starter
    std::vector<std::pair<uint32_t, uint32_t>> sources;  // spans of the characters fed to NFD
    std::size_t next_source = 0;
    std::pair<uint32_t, uint32_t> last_source{0, 0};
    std::vector<NormalizedChar>* capture = nullptr;  // normalize-only mode target
  };

  BasicTokenizer() : BasicTokenizer(NormalizerOptions{}) {}
  explicit BasicTokenizer(const NormalizerOptions& options);
  const NormalizerOptions& options() const { return options_; }

  /// Normalizes and pre-tokenizes `piece` (valid UTF-8) and reports every word to `sink`.
  /// `base` is the offset of piece[0] in the whole sequence; spans are reported relative to it.
  void run(std::string_view piece, uint32_t base, Scratch& scratch, WordSink& sink) const;

  /// Only the normalizer: the normalized characters of `piece` with their original spans.
  void normalize(std::string_view piece, uint32_t base, Scratch& scratch, std::vector<NormalizedChar>& out) const;

  /// Only the pre-tokenizer, over already normalized characters.
  void pre_tokenize(const NormalizedChar* chars, std::size_t n, Scratch& scratch, WordSink& sink) const;

 private:
  enum class Ascii : uint8_t { Drop, Space, Punct, Keep };
  void feed(char32_t cp, uint32_t b, uint32_t e, Scratch& s, WordSink* sink) const;       // clean + CJK
  void feed_nfd(char32_t cp, uint32_t b, uint32_t e, Scratch& s, WordSink* sink) const;   // NFD
  void flush_nfd(Scratch& s, WordSink* sink) const;
  void feed_marks(char32_t cp, uint32_t b, uint32_t e, Scratch& s, WordSink* sink) const; // strip + lower
  void feed_split(char32_t cp, uint32_t b, uint32_t e, Scratch& s, WordSink* sink) const; // pre-tokenizer
  void end_word(Scratch& s, WordSink* sink) const;

  NormalizerOptions options_;
  bool strip_ = false;
  Ascii ascii_kind_[128];
  char ascii_char_[128];  // the ASCII character after lowercasing
};

}  // namespace tz::tokenizer
