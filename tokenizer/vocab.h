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

  /// Length in bytes of the longest vocabulary token that is a prefix of s[0, n) and its id in
  /// `id`; 0 when there is none. `continuation` selects the `##` pieces (matched without the prefix).
  std::size_t longest_prefix(const char* s, std::size_t n, bool continuation, int32_t& id) const;

 private:
  // A trie flattened into arrays. Node 0 is the root; its children are a direct 256-entry table,
  // other nodes keep their (byte, child) edges sorted in one contiguous run of edge_byte_/edge_child_.
  struct Trie {
    std::vector<int32_t> node_id;         // token id ending at the node, or -1
    std::vector<uint32_t> edge_begin;     // first edge of the node
    std::vector<uint32_t> edge_count;     // number of edges
    std::vector<uint8_t> edge_byte;
    std::vector<uint32_t> edge_child;
    uint32_t root[256] = {};              // child of the root per byte, 0 = none
    void build(std::vector<std::pair<std::string_view, int32_t>> entries);
    std::size_t longest_prefix(const char* s, std::size_t n, int32_t& id) const;

   private:
    uint32_t build_node(const std::vector<std::pair<std::string_view, int32_t>>& e, std::size_t lo,
                        std::size_t hi, std::size_t depth);
  };

  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  std::vector<std::string> tokens_;  // by id; empty with has_token_ false for holes
  std::vector<bool> has_token_;
  std::unordered_map<std::string, int64_t, Hash, std::equal_to<>> by_token_;
  std::string prefix_;
  Trie start_, continuation_;
};

}  // namespace tz::tokenizer
