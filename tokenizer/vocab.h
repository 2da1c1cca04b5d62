// The WordPiece vocabulary: token <-> id, and the greedy longest-match-first piece search.
// Two byte tries answer "longest vocabulary token that is a prefix of this text": one over all
// tokens (the first piece of a word), one over the continuation tokens with their `##` prefix
// removed (every later piece). A walk costs one step per byte instead of one hash of every
// candidate substring, which is what makes WordPiece linear in the word length.
// Not here: splitting text into words (basic_tokenizer.h), special tokens (wordpiece.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tz::tokenizer {

class Vocab {
 public:
  Vocab() = default;

  /// tokens[i] is the token with id i; `present[i] == false` marks an id without a token (ids read
  /// from a tokenizer.json need not be contiguous). When a token occurs twice the later id wins, as
  /// in HF (the earlier id then has no token). `continuing_prefix` is WordPiece's "##";
  /// `max_piece_bytes` bounds which tokens can ever match (longer ones are left out of the tries).
  Vocab(std::vector<std::string> tokens, std::vector<bool> present, std::string continuing_prefix,
        std::size_t max_piece_bytes);

  /// Id of `token`, or -1.
  int64_t id(std::string_view token) const;
  /// Token of `id`, or nullptr when no token has that id.
  const std::string* token(int64_t id) const;
  /// Number of distinct tokens.
  std::size_t size() const { return by_token_.size(); }
  /// One past the largest id.
  std::size_t id_limit() const { return tokens_.size(); }
  const std::string& continuing_prefix() const { return prefix_; }
  /// A number no other vocabulary built in this process has (copies share it: same content).
  /// Per-thread caches key on it; an address could be reused by a later, different vocabulary.
  uint64_t uid() const { return uid_; }

  /// Length in bytes of the longest vocabulary token that is a prefix of s[0, n) and its id in
  /// `id`; 0 when there is none. `continuation` selects the `##` pieces (matched without the prefix).
  std::size_t longest_prefix(const char* s, std::size_t n, bool continuation, int32_t& id) const;

 private:
  // A byte trie stored as one open-addressing hash table of edges: (parent node, byte) -> (child
  // node, token id ending at the child). A step of the walk is one probe into one cache line,
  // which matters because the table (~100k edges) does not fit in L1/L2.
  struct Trie {
    struct Edge {
      uint32_t parent = 0;
      uint32_t child = 0;     // 0 = empty slot (the root is never a child)
      int32_t child_id = -1;  // token id ending at the child, or -1
      uint8_t byte = 0;
    };
    std::vector<Edge> table;
    uint64_t mask = 0;
    uint32_t root_child[256] = {};  // the root's edges, looked up directly (one per word)
    int32_t root_id[256] = {};
    uint32_t n_nodes = 1;
    void build(std::vector<std::pair<std::string_view, int32_t>> entries);
    std::size_t longest_prefix(const char* s, std::size_t n, int32_t& id) const;

   private:
    void insert(uint32_t parent, uint8_t byte, uint32_t child, int32_t child_id);
    uint32_t build_node(const std::vector<std::pair<std::string_view, int32_t>>& e, std::size_t lo,
                        std::size_t hi, std::size_t depth, int32_t& node_token);
    static uint64_t slot(uint32_t parent, uint8_t byte, uint64_t mask) {
      uint64_t key = (static_cast<uint64_t>(parent) << 8) | byte;
      return (key * 0x9E3779B97F4A7C15ull >> 20) & mask;
    }
  };

  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  std::vector<std::string> tokens_;  // by id; empty with has_token_ false for holes
  std::vector<bool> has_token_;
  std::unordered_map<std::string, int64_t, Hash, std::equal_to<>> by_token_;
  std::string prefix_;
  uint64_t uid_ = 0;
  Trie start_, continuation_;
};

}  // namespace tz::tokenizer
