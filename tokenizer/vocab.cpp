// Vocabulary tables and the flattened byte tries behind WordPiece's longest-match search
// (partner header: vocab.h).
#include "tokenizer/vocab.h"

#include <algorithm>

#include "tensor/error.h"

namespace tz::tokenizer {

Vocab::Vocab(std::vector<std::string> tokens, std::vector<bool> present, std::string continuing_prefix,
             std::size_t max_piece_bytes)
    : tokens_(std::move(tokens)), has_token_(std::move(present)), prefix_(std::move(continuing_prefix)) {
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
  node_id.clear();
  edge_begin.clear();
  edge_count.clear();
  edge_byte.clear();
  edge_child.clear();
  std::fill(std::begin(root), std::end(root), 0u);
  build_node(entries, 0, entries.size(), 0);
  // The root's edges double as the direct table.
  for (uint32_t k = 0; k < edge_count[0]; ++k) root[edge_byte[edge_begin[0] + k]] = edge_child[edge_begin[0] + k];
}

uint32_t Vocab::Trie::build_node(const std::vector<std::pair<std::string_view, int32_t>>& e, std::size_t lo,
                                 std::size_t hi, std::size_t depth) {
  // e[lo, hi) are sorted and share their first `depth` bytes; the entry equal to that prefix, if
  // any, sorts first.
  uint32_t node = static_cast<uint32_t>(node_id.size());
  node_id.push_back(-1);
  edge_begin.push_back(0);
  edge_count.push_back(0);
  if (lo < hi && e[lo].first.size() == depth) node_id[node] = e[lo++].second;
  std::vector<std::pair<uint8_t, uint32_t>> children;
  while (lo < hi) {
    uint8_t b = static_cast<uint8_t>(e[lo].first[depth]);
    std::size_t group_end = lo;
    while (group_end < hi && static_cast<uint8_t>(e[group_end].first[depth]) == b) ++group_end;
    children.emplace_back(b, build_node(e, lo, group_end, depth + 1));
    lo = group_end;
  }
  edge_begin[node] = static_cast<uint32_t>(edge_byte.size());
  edge_count[node] = static_cast<uint32_t>(children.size());
  for (auto& [b, child] : children) {
    edge_byte.push_back(b);
    edge_child.push_back(child);
  }
  return node;
}

std::size_t Vocab::Trie::longest_prefix(const char* s, std::size_t n, int32_t& id) const {
  std::size_t best = 0;
  if (node_id.empty()) return 0;
  uint32_t node = 0;
  for (std::size_t i = 0; i < n; ++i) {
    uint8_t b = static_cast<uint8_t>(s[i]);
    uint32_t child = 0;
    if (node == 0) {
      child = root[b];
    } else {
      const uint8_t* bytes = edge_byte.data() + edge_begin[node];
      uint32_t count = edge_count[node];
      if (count <= 8) {
        for (uint32_t k = 0; k < count; ++k)
          if (bytes[k] == b) {
            child = edge_child[edge_begin[node] + k];
            break;
          }
      } else {
        const uint8_t* it = std::lower_bound(bytes, bytes + count, b);
        if (it != bytes + count && *it == b) child = edge_child[edge_begin[node] + static_cast<uint32_t>(it - bytes)];
      }
    }
    if (child == 0) break;
    node = child;
    if (node_id[node] >= 0) {
      best = i + 1;
      id = node_id[node];
    }
  }
  return best;
}

}  // namespace tz::tokenizer
