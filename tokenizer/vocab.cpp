// Vocabulary tables and the flattened byte tries behind WordPiece's longest-match search
// (partner header: vocab.h).
#include "tokenizer/vocab.h"

#include <algorithm>
#include <atomic>

#include "core/error.h"

namespace tz::tokenizer {

Vocab::Vocab(std::vector<std::string> tokens, std::vector<bool> present, std::string continuing_prefix,
             std::size_t max_piece_bytes)
    : tokens_(std::move(tokens)), has_token_(std::move(present)), prefix_(std::move(continuing_prefix)) {
  static std::atomic<uint64_t> next_uid{1};
  uid_ = next_uid++;
  TZ_CHECK(has_token_.size() == tokens_.size(), "Vocab: ", tokens_.size(), " tokens but ",
           has_token_.size(), " presence flags");
  by_token_.reserve(tokens_.size());
  for (std::size_t i = 0; i < tokens_.size(); ++i) {
    if (!has_token_[i]) continue;
    auto [it, inserted] = by_token_.try_emplace(tokens_[i], static_cast<int64_t>(i));
    if (!inserted) {
      // HF keeps the last occurrence: the earlier id loses its token.
      has_token_[static_cast<std::size_t>(it->second)] = false;
      it->second = static_cast<int64_t>(i);
    }
  }
  std::vector<std::pair<std::string_view, int32_t>> start, cont;
  for (std::size_t i = 0; i < tokens_.size(); ++i) {
    if (!has_token_[i]) continue;
    std::string_view t = tokens_[i];
    if (t.empty()) continue;
    if (t.size() <= max_piece_bytes) start.emplace_back(t, static_cast<int32_t>(i));
    if (t.size() > prefix_.size() && t.substr(0, prefix_.size()) == prefix_ &&
        t.size() - prefix_.size() <= max_piece_bytes)
      cont.emplace_back(t.substr(prefix_.size()), static_cast<int32_t>(i));
  }
  start_.build(std::move(start));
  continuation_.build(std::move(cont));
}

int64_t Vocab::id(std::string_view token) const {
  auto it = by_token_.find(token);
  return it == by_token_.end() ? -1 : it->second;
}

const std::string* Vocab::token(int64_t id) const {
  if (id < 0 || static_cast<std::size_t>(id) >= tokens_.size() || !has_token_[static_cast<std::size_t>(id)])
    return nullptr;
  return &tokens_[static_cast<std::size_t>(id)];
}

std::size_t Vocab::longest_prefix(const char* s, std::size_t n, bool continuation, int32_t& id) const {
  return (continuation ? continuation_ : start_).longest_prefix(s, n, id);
}

void Vocab::Trie::build(std::vector<std::pair<std::string_view, int32_t>> entries) {
  std::sort(entries.begin(), entries.end());
  // One edge per node but the root: count the distinct prefixes (adjacent in sorted order, so a
  // prefix of length k is new when it differs from the previous entry's), then size the table for
  // a load factor of at most 2/3 so probes stay short.
  std::size_t edges = 0;
  for (std::size_t k = 0; k < entries.size(); ++k) {
    std::string_view cur = entries[k].first, prev = k ? entries[k - 1].first : std::string_view{};
    std::size_t common = 0;
    while (common < cur.size() && common < prev.size() && cur[common] == prev[common]) ++common;
    edges += cur.size() - common;
  }
  std::size_t capacity = 1024;
  while (capacity * 2 < edges * 3) capacity *= 2;
  std::fill(std::begin(root_child), std::end(root_child), 0u);
  std::fill(std::begin(root_id), std::end(root_id), -1);
  table.assign(capacity, Edge{});
  mask = capacity - 1;
  n_nodes = 0;  // the root becomes node 0
  int32_t root_token = -1;  // the empty token never matches
  build_node(entries, 0, entries.size(), 0, root_token);
}

void Vocab::Trie::insert(uint32_t parent, uint8_t byte, uint32_t child, int32_t child_id) {
  if (parent == 0) {
    root_child[byte] = child;
    root_id[byte] = child_id;
    return;
  }
  for (uint64_t k = slot(parent, byte, mask);; k = (k + 1) & mask) {
    if (table[k].child == 0) {
      table[k] = Edge{parent, child, child_id, byte};
      return;
    }
  }
}

uint32_t Vocab::Trie::build_node(const std::vector<std::pair<std::string_view, int32_t>>& e, std::size_t lo,
                                 std::size_t hi, std::size_t depth, int32_t& node_token) {
  // e[lo, hi) are sorted and share their first `depth` bytes; the entry equal to that prefix, if
  // any, sorts first and is the token ending at this node.
  uint32_t node = n_nodes++;
  if (lo < hi && e[lo].first.size() == depth) node_token = e[lo++].second;
  while (lo < hi) {
    uint8_t b = static_cast<uint8_t>(e[lo].first[depth]);
    std::size_t group_end = lo;
    while (group_end < hi && static_cast<uint8_t>(e[group_end].first[depth]) == b) ++group_end;
    int32_t child_token = -1;
    uint32_t child = build_node(e, lo, group_end, depth + 1, child_token);
    insert(node, b, child, child_token);
    lo = group_end;
  }
  return node;
}

std::size_t Vocab::Trie::longest_prefix(const char* s, std::size_t n, int32_t& id) const {
  std::size_t best = 0;
  uint32_t node = 0;
  if (table.empty()) return 0;
  if (n == 0 || root_child[static_cast<uint8_t>(s[0])] == 0) return 0;
  node = root_child[static_cast<uint8_t>(s[0])];
  if (root_id[static_cast<uint8_t>(s[0])] >= 0) {
    best = 1;
    id = root_id[static_cast<uint8_t>(s[0])];
  }
  for (std::size_t i = 1; i < n; ++i) {
    uint8_t b = static_cast<uint8_t>(s[i]);
    const Edge* hit = nullptr;
    for (uint64_t k = slot(node, b, mask);; k = (k + 1) & mask) {
      const Edge& edge = table[k];
      if (edge.child == 0) break;
      if (edge.parent == node && edge.byte == b) {
        hit = &edge;
        break;
      }
    }
    if (!hit) break;
    node = hit->child;
    if (hit->child_id >= 0) {
      best = i + 1;
      id = hit->child_id;
    }
  }
  return best;
}

}  // namespace tz::tokenizer
