// Truncation, merging and padding of encodings with the semantics of HF's Rust `tokenizers`
// crate (partner header: encoding.h). These decide the overflowing windows, so they follow the
// crate step by step, corner cases included; the comments say where that is surprising.
#include "tokenizer/encoding.h"

#include <algorithm>
#include <utility>

#include "core/error.h"

namespace tz::tokenizer::detail {

namespace {

Encoding slice(const Encoding& e, std::size_t begin, std::size_t end) {
  Encoding out;
  auto cut = [&](auto& dst, const auto& src) {
    if (src.size() == e.ids.size()) dst.assign(src.begin() + begin, src.begin() + end);
  };
  cut(out.ids, e.ids);
  cut(out.tokens, e.tokens);
  cut(out.type_ids, e.type_ids);
  cut(out.attention_mask, e.attention_mask);
  cut(out.special_tokens_mask, e.special_tokens_mask);
  cut(out.offsets, e.offsets);
  cut(out.char_offsets, e.char_offsets);
  cut(out.sequence_ids, e.sequence_ids);
  cut(out.word_ids, e.word_ids);
  return out;
}

template <class T>
void append(std::vector<T>& dst, const std::vector<T>& src) {
  dst.insert(dst.end(), src.begin(), src.end());
}

void append_all(Encoding& e, const Encoding& p) {
  append(e.ids, p.ids);
  append(e.tokens, p.tokens);
  append(e.type_ids, p.type_ids);
  append(e.attention_mask, p.attention_mask);
  append(e.special_tokens_mask, p.special_tokens_mask);
  append(e.offsets, p.offsets);
  append(e.char_offsets, p.char_offsets);
  append(e.sequence_ids, p.sequence_ids);
  append(e.word_ids, p.word_ids);
}

Encoding without_overflowing(const Encoding& e) {
  Encoding c = e;
  c.overflowing.clear();
  return c;
}

}  // namespace

void truncate(Encoding& e, std::size_t max_len, std::size_t stride, Direction direction) {
  std::size_t len = e.ids.size();
  if (max_len >= len) return;
  if (max_len == 0) {
    Encoding all = std::move(e);
    e = Encoding{};
    e.overflowing.push_back(std::move(all));
    return;
  }
  TZ_CHECK(stride < max_len, "truncation: stride ", stride, " must be strictly less than max_len=", max_len,
           " (the length left for this sequence after the special tokens)");
  std::size_t step = max_len - stride;
  std::vector<std::pair<std::size_t, std::size_t>> parts;
  if (direction == Direction::Right) {
    for (std::size_t start = 0; start < len; start += step) {
      std::size_t stop = std::min(start + max_len, len);
      parts.emplace_back(start, stop);
      if (stop == len) break;
    }
  } else {
    // Windows end at len, len - step, ...; the last one starts at 0.
    for (std::size_t k = 0;; ++k) {
      std::size_t stop = len - k * step;
      std::size_t start = stop < max_len ? 0 : stop - max_len;
      parts.emplace_back(start, stop);
      if (start == 0 || k * step + step >= len) break;
    }
  }
  Encoding out = slice(e, parts[0].first, parts[0].second);
  for (std::size_t k = 1; k < parts.size(); ++k) out.overflowing.push_back(slice(e, parts[k].first, parts[k].second));
  e = std::move(out);
}

void truncate_pair(Encoding& a, Encoding* b, const Truncation& t) {
  if (t.max_length == 0) {
    truncate(a, 0, t.stride, t.direction);
    if (b) truncate(*b, 0, t.stride, t.direction);
    return;
  }
  std::size_t total = a.size() + (b ? b->size() : 0);
  if (total <= t.max_length) return;
  std::size_t to_remove = total - t.max_length;
  if (t.strategy == TruncationStrategy::LongestFirst) {
    if (!b) {
      truncate(a, total - to_remove, t.stride, t.direction);
      return;
    }
    // Both sequences get what they need when one is short; otherwise they split max_length, the
    // second getting the odd token (sizes swapped back when the first was the longer one).
    std::size_t n1 = a.size(), n2 = b->size();
    bool swap = n1 > n2;
    if (swap) std::swap(n1, n2);
    n2 = n1 > t.max_length ? n1 : std::max(n1, t.max_length - n1);
    if (n1 + n2 > t.max_length) {
      n1 = t.max_length / 2;
      n2 = n1 + t.max_length % 2;
    }
    if (swap) std::swap(n1, n2);
    truncate(a, n1, t.stride, t.direction);
    truncate(*b, n2, t.stride, t.direction);
    return;
  }
  Encoding* target = &a;
  if (t.strategy == TruncationStrategy::OnlySecond) {
    TZ_CHECK(b != nullptr, "Truncation error: Second sequence not provided (only_second needs a pair)");
    target = b;
  }
  TZ_CHECK(target->size() > to_remove,
           "Truncation error: Sequence to truncate too short to respect the provided max_length (",
           target->size(), " tokens, ", to_remove, " must go)");
  truncate(*target, target->size() - to_remove, t.stride, t.direction);
}

void merge(Encoding& e, const Encoding& pair) {
  std::vector<Encoding> windows;
  for (const Encoding& mine : e.overflowing) {
    Encoding w = without_overflowing(mine);
    append_all(w, pair);
    windows.push_back(std::move(w));
    for (const Encoding& theirs : pair.overflowing) {
      Encoding v = without_overflowing(mine);
      append_all(v, theirs);
      windows.push_back(std::move(v));
    }
  }
  for (const Encoding& theirs : pair.overflowing) {
    Encoding v = without_overflowing(e);
    append_all(v, theirs);
    windows.push_back(std::move(v));
  }
  append_all(e, pair);
  e.overflowing = std::move(windows);
}

void pad(Encoding& e, std::size_t length, int64_t pad_id, int64_t pad_type_id, const std::string& pad_token,
         Direction direction) {
  for (Encoding& o : e.overflowing) pad(o, length, pad_id, pad_type_id, pad_token, direction);
  if (e.ids.size() >= length) return;
  std::size_t n = length - e.ids.size();
  auto grow = [&](auto& v, auto value) {
    using T = typename std::decay_t<decltype(v)>::value_type;
    if (direction == Direction::Right)
      v.insert(v.end(), n, T(value));
    else
      v.insert(v.begin(), n, T(value));
  };
  bool has_chars = e.char_offsets.size() == e.ids.size();
  grow(e.ids, pad_id);
  grow(e.tokens, pad_token);
  grow(e.type_ids, pad_type_id);
  grow(e.attention_mask, int64_t{0});
  grow(e.special_tokens_mask, int64_t{1});
  grow(e.offsets, Offset{});
  if (has_chars) grow(e.char_offsets, Offset{});
  grow(e.sequence_ids, int32_t{-1});
  grow(e.word_ids, int32_t{-1});
}

std::size_t padding_length(const Padding& p, std::size_t longest) {
  std::size_t length = p.max_length.value_or(longest);
  if (p.pad_to_multiple_of && *p.pad_to_multiple_of > 0 && length % *p.pad_to_multiple_of != 0)
    length += *p.pad_to_multiple_of - length % *p.pad_to_multiple_of;
  return length;
}

}  // namespace tz::tokenizer::detail
