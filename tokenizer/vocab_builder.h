// Learning a WordPiece vocabulary from text, the way HF's WordPieceTrainer does it: BPE merges over
// words, with later pieces written with the "##" continuation prefix.
//
//   tz::tokenizer::VocabBuilderOptions opt;   // size 8000, lowercase, min_frequency 2
//   tz::tokenizer::VocabBuilder b(opt);
//   b.add_file("corpus.txt");
//   std::vector<std::string> tokens = b.build();   // tokens[i] has id i
//   tz::tokenizer::save_vocab_dir(tokens, opt, "my-tokenizer/");   // WordPiece::from_pretrained reads it
//
// The algorithm (deterministic):
//  1. Words: every text goes through BasicTokenizer with the chosen normalizer (the same one the
//     saved tokenizer_config.json selects), and words are counted. Words longer than
//     max_word_chars are left out (WordPiece maps them to [UNK] anyway).
//  2. Vocabulary start: the special tokens (ids 0..4 = [PAD] [UNK] [CLS] [SEP] [MASK] by default, so
//     a model's pad_token_id is 0), then every character seen, sorted by UTF-8 bytes, then every
//     character's "##" form in the same order. Every word can then be spelled, so no word of the
//     corpus ever becomes [UNK].
//  3. Merges: a word is a sequence of symbols (first character, then "##" characters). Repeatedly
//     the adjacent pair with the highest count (summed over word frequencies) is merged into one
//     symbol ("ab" + "##c" -> "abc", "##a" + "##b" -> "##ab") and the new symbol joins the vocabulary,
//     until it has vocab_size tokens or no pair occurs min_frequency times. Ties go to the pair whose
//     (left, right) strings are smallest bytewise.
// Not here: applying the vocabulary (wordpiece.h); file loading rules (wordpiece_io.cpp).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/basic_tokenizer.h"

namespace tz::tokenizer {

struct VocabBuilderOptions {
  std::size_t vocab_size = 8000;     ///< total, special tokens included
  std::size_t min_frequency = 2;     ///< a pair seen fewer times is never merged
  NormalizerOptions normalizer;      ///< lowercase / strip_accents (unset: follows lowercase)
  std::vector<std::string> special_tokens{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
  std::string continuing_prefix = "##";
  std::size_t max_word_chars = 100;  ///< WordPiece's max_input_chars_per_word
};

class VocabBuilder {
 public:
  explicit VocabBuilder(VocabBuilderOptions options);

  /// Counts the words of one text (ill-formed UTF-8 is replaced by U+FFFD).
  void add_text(std::string_view text);
  /// add_text for every line of a file; throws tz::Error when it cannot be read.
  void add_file(const std::filesystem::path& path);

  /// The vocabulary in id order. Throws when vocab_size cannot hold the specials and the alphabet.
  std::vector<std::string> build() const;

  const std::unordered_map<std::string, uint64_t>& word_counts() const { return counts_; }
  const VocabBuilderOptions& options() const { return options_; }

 private:
  VocabBuilderOptions options_;
  BasicTokenizer basic_;
  BasicTokenizer::Scratch scratch_;
  std::unordered_map<std::string, uint64_t> counts_;
};

/// Writes the tokenizer folder of the vocabulary into `dir` (created when missing):
/// WordPiece::save_pretrained's tokenizer.json, vocab.txt, tokenizer_config.json
/// (ConvBertTokenizer, the normalizer options) and special_tokens_map.json, with [PAD] [UNK] [CLS]
/// [SEP] [MASK] taken from options.special_tokens in that order.
void save_vocab_dir(const std::vector<std::string>& tokens, const VocabBuilderOptions& options,
                    const std::filesystem::path& dir);

}  // namespace tz::tokenizer
