// The per-thread memo of WordPiece results for short words (internal to the tokenizer).
// Natural text repeats its frequent words all the time; a hit costs one probe into this table
// (1.3 MB, it stays in L2) instead of a trie walk through the large vocabulary tables. The result
// of a word is a pure function of its bytes, the vocabulary and max_input_chars_per_word, so the
// memo cannot change any output. It lives as long as its thread, which is why batches run on
// long-lived workers (wordpiece_batch.cpp): a fresh thread would start with an empty memo.
// Not here: the WordPiece search itself (vocab.h) and its use per word (wordpiece_encode.cpp).
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "tokenizer/vocab.h"

namespace tz::tokenizer::detail {

class WordCache {
 public:
  static constexpr std::size_t kSize = 32768, kMaxBytes = 16, kMaxPieces = 3;

  /// One remembered word: its pieces as token ids and the byte (in the normalized word) where
  /// each piece ends.
  struct Entry {
    uint64_t k0 = 0, k1 = 0;  // the word's bytes, zero padded
    int32_t ids[kMaxPieces];
    uint8_t ends[kMaxPieces];
    uint8_t len = 0;       // 0 = empty slot
    uint8_t n_pieces = 0;  // 0 = the word is [UNK]
  };

  /// The calling thread's memo, emptied when it last served another vocabulary or word limit
  /// (Vocab::uid() tells vocabularies apart; an address could be reused).
  static WordCache& for_thread(const Vocab& vocab, std::size_t max_chars) {
    thread_local WordCache cache;
    if (cache.owner_ != vocab.uid() || cache.max_chars_ != max_chars) {
      cache.entries_.assign(kSize, Entry{});
      cache.owner_ = vocab.uid();
      cache.max_chars_ = max_chars;
    }
    return cache;
  }

  /// The slot a word maps to, or nullptr when the word is too long to be remembered. The slot
  /// holds the word when hit(slot, word) says so; otherwise store() may overwrite it.
  Entry* slot(std::string_view word, uint64_t& k0, uint64_t& k1) {
    std::size_t n = word.size();
    if (n > kMaxBytes) return nullptr;
    k0 = k1 = 0;
    std::memcpy(&k0, word.data(), n < 8 ? n : 8);
    if (n > 8) std::memcpy(&k1, word.data() + 8, n - 8);
    uint64_t h = (k0 * 0x9E3779B97F4A7C15ull) ^ (k1 * 0xC2B2AE3D27D4EB4Full) ^ n;
    h ^= h >> 29;
    return &entries_[(h * 0xBF58476D1CE4E5B9ull >> 40) & (kSize - 1)];
  }

  static bool hit(const Entry& e, std::size_t n, uint64_t k0, uint64_t k1) {
    return e.len == n && e.k0 == k0 && e.k1 == k1;
  }

  /// Remembers in `e` that the word (n bytes, keys k0 k1) is [UNK] (`unk`) or splits into
  /// `pieces` (each with .id and .end, the end byte in the word). A word of more than kMaxPieces
  /// pieces is left out: it is rare and the slot would need more room.
  template <class Pieces>
  static void store(Entry& e, std::size_t n, uint64_t k0, uint64_t k1, bool unk, const Pieces& pieces) {
    if (!unk && pieces.size() > kMaxPieces) return;
    e.k0 = k0;
    e.k1 = k1;
    e.len = static_cast<uint8_t>(n);
    e.n_pieces = unk ? 0 : static_cast<uint8_t>(pieces.size());
    for (std::size_t k = 0; !unk && k < pieces.size(); ++k) {
      e.ids[k] = static_cast<int32_t>(pieces[k].id);
      e.ends[k] = static_cast<uint8_t>(pieces[k].end);
    }
  }

 private:
  uint64_t owner_ = 0;
  std::size_t max_chars_ = 0;
  std::vector<Entry> entries_;
};

}  // namespace tz::tokenizer::detail
