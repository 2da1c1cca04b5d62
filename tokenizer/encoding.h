// What the tokenizer returns (Encoding) and how it is asked (EncodeOptions), plus the
// post-processing steps HF's Rust crate applies to encodings: truncation with stride and
// overflowing windows, merging sequences with special tokens, padding.
// The semantics (including the crate's corner cases) are documented on each function.
// Not here: producing the tokens of a text (wordpiece.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tz::tokenizer {

/// A [begin, end) span into the original text of the token's sequence.
struct Offset {
  std::size_t begin = 0, end = 0;
  bool operator==(const Offset&) const = default;
};

/// The result of encoding one text or one pair. All vectors have one entry per token.
/// Special and padding tokens have offsets [0, 0), word id and sequence id -1.
struct Encoding {
  std::vector<int64_t> ids;
  std::vector<std::string> tokens;
  std::vector<int64_t> type_ids;             ///< 0 for the first sequence, 1 for the second
  std::vector<int64_t> attention_mask;       ///< 0 on padding
  std::vector<int64_t> special_tokens_mask;  ///< 1 on inserted special tokens and padding
  std::vector<Offset> offsets;               ///< UTF-8 byte offsets into the original text
  std::vector<Offset> char_offsets;          ///< code point offsets (only with EncodeOptions::char_offsets)
  std::vector<int32_t> sequence_ids;         ///< 0 / 1, -1 for special and pad tokens
  std::vector<int32_t> word_ids;             ///< index of the pre-token within its sequence, or -1
  std::vector<Encoding> overflowing;         ///< the windows cut away by truncation

  std::size_t size() const { return ids.size(); }
  bool empty() const { return ids.empty(); }
};

enum class TruncationStrategy { LongestFirst, OnlyFirst, OnlySecond };
enum class Direction { Right, Left };

struct Truncation {
  std::size_t max_length = 512;  ///< counts the special tokens the template adds
  TruncationStrategy strategy = TruncationStrategy::LongestFirst;
  std::size_t stride = 0;        ///< tokens repeated between consecutive overflowing windows
  Direction direction = Direction::Right;
};

struct Padding {
  std::optional<std::size_t> max_length{};  ///< unset: pad to the longest encoding of the batch
  Direction direction = Direction::Right;
  std::optional<std::size_t> pad_to_multiple_of{};
  std::string pad_token{};                 ///< empty: the tokenizer's pad token
  std::optional<int64_t> pad_id{};         ///< unset: the id of the pad token
  int64_t pad_type_id = 0;
};

struct EncodeOptions {
  bool add_special_tokens = true;
  std::optional<Truncation> truncation{};
  std::optional<Padding> padding{};
  bool char_offsets = false;  ///< also fill Encoding::char_offsets
  bool lenient_utf8 = false;  ///< replace ill-formed UTF-8 by U+FFFD instead of throwing
  unsigned num_threads = 0;   ///< encode_batch only; 0 = std::thread::hardware_concurrency()
};

namespace detail {

/// The crate's Encoding::truncate: keeps the first (Right) or last (Left) `max_len` tokens and
/// moves the rest into overflowing windows of `max_len` tokens stepping by `max_len - stride`.
/// max_len == 0 moves everything into one overflowing encoding. Throws when stride >= max_len
/// (the crate panics there).
void truncate(Encoding& e, std::size_t max_len, std::size_t stride, Direction direction);

/// The crate's truncate_encodings (strategy logic, errors "Sequence to truncate too short ..." and
/// "Second sequence not provided"). `pair` may be null.
void truncate_pair(Encoding& a, Encoding* pair, const Truncation& t);

/// Appends `pair` to `e`. Overflowing windows combine as the crate does: every window of `e` with
/// `pair` and with each window of `pair`, then `e` itself with each window of `pair`.
void merge(Encoding& e, const Encoding& pair);

/// Pads `e` and its overflowing windows to `length` (no-op when already that long).
void pad(Encoding& e, std::size_t length, int64_t pad_id, int64_t pad_type_id, const std::string& pad_token,
         Direction direction);

/// The target length for padding a batch whose longest main encoding has `longest` tokens.
std::size_t padding_length(const Padding& p, std::size_t longest);

}  // namespace detail
}  // namespace tz::tokenizer
