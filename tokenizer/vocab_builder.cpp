// WordPiece vocabulary learning by BPE merges (the algorithm is described in vocab_builder.h).
// The merge loop keeps pair counts up to date incrementally: merging a pair only touches the words
// that contain it, and a max-heap with lazy invalidation picks the next pair (an entry whose count
// is stale is re-pushed with the current count, since counts of existing pairs only ever fall).
#include "tokenizer/vocab_builder.h"

#include <algorithm>
#include <fstream>
#include <queue>
#include <set>

#include "core/error.h"
#include "tokenizer/unicode.h"
#include "tokenizer/wordpiece.h"

namespace tz::tokenizer {

namespace fs = std::filesystem;

namespace {

class CountingSink : public WordSink {
 public:
  explicit CountingSink(std::unordered_map<std::string, uint64_t>& counts, std::size_t max_chars)
      : counts_(counts), max_chars_(max_chars) {}
  void on_word(const Word& w) override {
    if (w.n_chars > 0 && w.n_chars <= max_chars_) ++counts_[std::string(w.text)];
  }

 private:
  std::unordered_map<std::string, uint64_t>& counts_;
  std::size_t max_chars_;
};

uint64_t pair_key(uint32_t a, uint32_t b) { return (static_cast<uint64_t>(a) << 32) | b; }

}  // namespace

VocabBuilder::VocabBuilder(VocabBuilderOptions options) : options_(std::move(options)), basic_(options_.normalizer) {}

void VocabBuilder::add_text(std::string_view text) {
  CountingSink sink(counts_, options_.max_word_chars);
  if (unicode::find_invalid_utf8(text) == std::string_view::npos) {
    basic_.run(text, 0, scratch_, sink);
  } else {
    std::string fixed = unicode::replace_invalid_utf8(text);
    basic_.run(fixed, 0, scratch_, sink);
  }
}

void VocabBuilder::add_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  TZ_CHECK(in.good(), "vocab: cannot open corpus '", path.string(), "'");
  std::string line;
  while (std::getline(in, line)) add_text(line);
  TZ_CHECK(!in.bad(), "vocab: error while reading '", path.string(), "'");
}

std::vector<std::string> VocabBuilder::build() const {
  const std::string& prefix = options_.continuing_prefix;
  std::vector<std::string> vocab = options_.special_tokens;
  std::set<std::string> in_vocab(vocab.begin(), vocab.end());
  TZ_CHECK(in_vocab.size() == vocab.size(), "vocab: the special tokens contain a duplicate");

  // Words in byte order, each as its characters.
  std::vector<std::pair<std::string, uint64_t>> words(counts_.begin(), counts_.end());
  std::sort(words.begin(), words.end());
  std::set<std::string> alphabet;
  std::vector<std::vector<std::string>> chars(words.size());
  for (std::size_t w = 0; w < words.size(); ++w) {
    const std::string& s = words[w].first;
    for (std::size_t i = 0; i < s.size();) {
      std::size_t len = 1;
      unicode::decode(s.data(), s.size(), i, len);
      chars[w].push_back(s.substr(i, len));
      alphabet.insert(s.substr(i, len));
      i += len;
    }
  }
  TZ_CHECK(vocab.size() + 2 * alphabet.size() <= options_.vocab_size, "vocab: size ", options_.vocab_size,
           " cannot hold the ", vocab.size(), " special tokens and the ", alphabet.size(),
           " characters of the corpus with their ", prefix, " forms (need at least ",
           vocab.size() + 2 * alphabet.size(), ")");

  // Symbols: strings with ids; the alphabet in both forms first.
  std::vector<std::string> sym;
  std::unordered_map<std::string, uint32_t> sym_id;
  auto intern = [&](const std::string& s) {
    auto [it, fresh] = sym_id.emplace(s, static_cast<uint32_t>(sym.size()));
    if (fresh) sym.push_back(s);
    return it->second;
  };
  auto add_to_vocab = [&](const std::string& s) {
    if (in_vocab.insert(s).second) vocab.push_back(s);
  };
  for (const std::string& c : alphabet) add_to_vocab(c);
  for (const std::string& c : alphabet) add_to_vocab(prefix + c);

  std::vector<std::vector<uint32_t>> seqs(words.size());
  for (std::size_t w = 0; w < words.size(); ++w)
    for (std::size_t i = 0; i < chars[w].size(); ++i) seqs[w].push_back(intern(i == 0 ? chars[w][i] : prefix + chars[w][i]));
  chars.clear();

  // Pair counts and, per pair, the words that may contain it (entries can be stale).
  std::unordered_map<uint64_t, int64_t> count;
  std::unordered_map<uint64_t, std::vector<uint32_t>> where;
  for (std::size_t w = 0; w < seqs.size(); ++w)
    for (std::size_t i = 0; i + 1 < seqs[w].size(); ++i) {
      uint64_t k = pair_key(seqs[w][i], seqs[w][i + 1]);
      count[k] += static_cast<int64_t>(words[w].second);
      where[k].push_back(static_cast<uint32_t>(w));
    }

  struct Entry {
    int64_t count;
    uint64_t key;
  };
  // "a < b" for the max-heap: fewer counts, or equal counts and larger strings, rank lower.
  auto lower = [&](const Entry& x, const Entry& y) {
    if (x.count != y.count) return x.count < y.count;
    const std::string& xa = sym[x.key >> 32];
    const std::string& ya = sym[y.key >> 32];
    if (xa != ya) return xa > ya;
    return sym[x.key & 0xffffffffu] > sym[y.key & 0xffffffffu];
  };
  std::priority_queue<Entry, std::vector<Entry>, decltype(lower)> heap(lower);
  for (const auto& [k, c] : count) heap.push({c, k});

  std::vector<uint32_t> touched(seqs.size(), UINT32_MAX);
  uint32_t merge_no = 0;
  const int64_t min_count = static_cast<int64_t>(std::max<std::size_t>(options_.min_frequency, 1));
  while (vocab.size() < options_.vocab_size && !heap.empty()) {
    Entry top = heap.top();
    heap.pop();
    int64_t current = count[top.key];
    if (current != top.count) {
      if (current > 0) heap.push({current, top.key});
      continue;
    }
    if (current < min_count) break;
    uint32_t a = static_cast<uint32_t>(top.key >> 32), b = static_cast<uint32_t>(top.key & 0xffffffffu);
    std::string merged = sym[a] + sym[b].substr(prefix.size());  // b is always a "##" piece
    uint32_t m = intern(merged);
    add_to_vocab(merged);

    std::vector<uint64_t> grown;  // pairs whose count rose: they need a fresh heap entry
    std::vector<uint32_t> list = std::move(where[top.key]);
    where.erase(top.key);
    for (uint32_t w : list) {
      if (touched[w] == merge_no) continue;
      touched[w] = merge_no;
      std::vector<uint32_t>& s = seqs[w];
      bool has = false;
      for (std::size_t i = 0; i + 1 < s.size() && !has; ++i) has = s[i] == a && s[i + 1] == b;
      if (!has) continue;
      const int64_t f = static_cast<int64_t>(words[w].second);
      for (std::size_t i = 0; i + 1 < s.size(); ++i) count[pair_key(s[i], s[i + 1])] -= f;
      std::vector<uint32_t> out;
      out.reserve(s.size());
      for (std::size_t i = 0; i < s.size(); ++i) {
        if (i + 1 < s.size() && s[i] == a && s[i + 1] == b) {
          out.push_back(m);
          ++i;
        } else {
          out.push_back(s[i]);
        }
      }
      s = std::move(out);
      for (std::size_t i = 0; i + 1 < s.size(); ++i) {
        uint64_t k = pair_key(s[i], s[i + 1]);
        count[k] += f;
        if (s[i] == m || s[i + 1] == m) {
          where[k].push_back(w);
          grown.push_back(k);
        }
      }
    }
    std::sort(grown.begin(), grown.end());
    grown.erase(std::unique(grown.begin(), grown.end()), grown.end());
    for (uint64_t k : grown) heap.push({count[k], k});
    ++merge_no;
  }
  return vocab;
}

void save_vocab_dir(const std::vector<std::string>& tokens, const VocabBuilderOptions& options, const fs::path& dir) {
  TZ_CHECK(options.special_tokens.size() >= 5, "vocab: expected at least 5 special tokens ([PAD] [UNK] [CLS] [SEP] "
                                                "[MASK] in that order), got ", options.special_tokens.size());
  const auto& sp = options.special_tokens;
  WordPieceConfig c;
  c.normalizer = options.normalizer;
  c.max_input_chars_per_word = options.max_word_chars;
  c.pad_token = sp[0];
  c.unk_token = sp[1];
  c.cls_token = sp[2];
  c.sep_token = sp[3];
  c.mask_token = sp[4];
  for (const std::string& t : sp) c.added_tokens.push_back(AddedToken{t});
  c.tokenizer_class = "ConvBertTokenizer";
  c.model_max_length = 512;
  WordPiece::from_tokens(tokens, std::move(c)).save_pretrained(dir);
}

}  // namespace tz::tokenizer
