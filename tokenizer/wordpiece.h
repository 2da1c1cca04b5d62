// tz::tokenizer::WordPiece: a BERT WordPiece tokenizer that gives the same output as HuggingFace's
// fast (Rust) tokenizer — ConvBertTokenizer / ConvBertTokenizerFast in one class.
//
//   auto tok = tz::tokenizer::WordPiece::from_pretrained("models/my-convbert");
//   auto enc = tok.encode_pair("a question", "a context", {.truncation = tz::tokenizer::Truncation{128}});
//   std::string text = tok.decode(enc.ids, /*skip_special_tokens=*/true);
//
// The pipeline per text: special tokens written in the text are split out first (exact match on
// the raw text), each remaining piece goes through BasicTokenizer (normalize + split into words),
// each word through the greedy longest-match WordPiece model; then truncation, the special-token
// template ([CLS] A [SEP] B [SEP]) and padding as in encoding.h.
// A WordPiece is a cheap handle (the vocabulary is shared); it is safe to use from many threads.
// Not here: file formats (wordpiece_io.cpp), normalization (basic_tokenizer.h).
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tokenizer/basic_tokenizer.h"
#include "tokenizer/encoding.h"
#include "tokenizer/vocab.h"

namespace tz::tokenizer {

/// A token that is matched in the text before normalization and never split (HF AddedToken).
struct AddedToken {
  std::string content;
  int64_t id = -1;
  bool special = true;      ///< dropped by decode(skip_special_tokens)
  bool single_word = false; ///< only match when not inside a word
  bool lstrip = false;      ///< the match swallows whitespace on its left
  bool rstrip = false;      ///< ... and on its right
  bool normalized = false;  ///< matched in the normalized text instead of the raw text
};

/// One element of a post-processing template: a special token or one of the input sequences.
struct TemplatePiece {
  bool is_sequence = false;
  int sequence = 0;           ///< 0 = A, 1 = B (when is_sequence)
  std::string special_token;  ///< the token's content (when !is_sequence)
  int64_t special_id = -1;    ///< its id; -1: looked up from the content
  int64_t type_id = 0;
};

/// Everything that defines a tokenizer besides its vocabulary.
struct WordPieceConfig {
  NormalizerOptions normalizer;
  std::string unk_token = "[UNK]";
  std::string continuing_subword_prefix = "##";
  std::size_t max_input_chars_per_word = 100;
  std::vector<AddedToken> added_tokens;  ///< ids resolved at construction when -1
  std::string cls_token = "[CLS]", sep_token = "[SEP]", pad_token = "[PAD]", mask_token = "[MASK]";
  std::vector<TemplatePiece> single_template, pair_template;  ///< empty: BERT's [CLS] A [SEP] (B [SEP])
  bool decoder_wordpiece = true;  ///< WordPiece decoder ("##" joins); false: join tokens with spaces
  std::string decoder_prefix = "##";
  bool decoder_cleanup = true;    ///< the decoder's clean-up of spaces before punctuation
  std::size_t model_max_length = 512;
};

class WordPiece {
 public:
  /// `path` is a vocab.txt, a tokenizer.json, or a directory holding tokenizer.json or vocab.txt
  /// (with optional tokenizer_config.json and special_tokens_map.json). Malformed files throw
  /// tz::Error naming the file and line.
  static WordPiece from_pretrained(const std::filesystem::path& path);
  static WordPiece from_vocab_file(const std::filesystem::path& vocab_txt, WordPieceConfig config = {});
  static WordPiece from_tokenizer_json(const std::filesystem::path& tokenizer_json);
  /// tokens[i] gets id i.
  static WordPiece from_tokens(std::vector<std::string> tokens, WordPieceConfig config = {});

  /// One text: [CLS] text [SEP] with the default template.
  Encoding encode(std::string_view text, const EncodeOptions& options = {}) const;
  /// A pair: [CLS] a [SEP] b [SEP], type ids 0 then 1.
  Encoding encode_pair(std::string_view a, std::string_view b, const EncodeOptions& options = {}) const;
  /// Many texts on options.num_threads threads; padding to the longest applies across the batch.
  std::vector<Encoding> encode_batch(const std::vector<std::string>& texts, const EncodeOptions& options = {}) const;
  std::vector<Encoding> encode_batch_pairs(const std::vector<std::pair<std::string, std::string>>& pairs,
                                           const EncodeOptions& options = {}) const;

  /// The tokens of `text` without special tokens, truncation or padding.
  std::vector<std::string> tokenize(std::string_view text) const;

  /// Tokens of `ids` joined back into text (WordPiece decoder: "##" pieces glued, spaces before
  /// punctuation cleaned up). Unknown ids are skipped.
  std::string decode(std::span<const int64_t> ids, bool skip_special_tokens = false) const;
  /// HF's convert_tokens_to_string: token strings (in the vocabulary or not) joined by the decoder,
  /// as decode joins the tokens of ids.
  std::string convert_tokens_to_string(const std::vector<std::string>& tokens) const;
  std::vector<std::string> decode_batch(const std::vector<std::vector<int64_t>>& batch,
                                        bool skip_special_tokens = false) const;

  // The slow tokenizer's helpers, for ids that are already tokenized.
  std::vector<int64_t> build_inputs_with_special_tokens(std::span<const int64_t> a,
                                                        std::optional<std::span<const int64_t>> b = {}) const;
  std::vector<int64_t> create_token_type_ids_from_sequences(std::span<const int64_t> a,
                                                            std::optional<std::span<const int64_t>> b = {}) const;
  std::vector<int64_t> get_special_tokens_mask(std::span<const int64_t> a,
                                               std::optional<std::span<const int64_t>> b = {},
                                               bool already_has_special_tokens = false) const;

  /// Id of a token (added tokens first, then the vocabulary), or -1.
  int64_t token_to_id(std::string_view token) const;
  /// Token of an id, or std::nullopt.
  std::optional<std::string> id_to_token(int64_t id) const;
  std::vector<int64_t> convert_tokens_to_ids(const std::vector<std::string>& tokens) const;
  std::vector<std::string> convert_ids_to_tokens(std::span<const int64_t> ids) const;
  bool is_special_token(std::string_view token) const;

  /// Vocabulary size including added tokens outside the vocabulary (HF len(tokenizer)).
  std::size_t vocab_size() const;
  const Vocab& vocab() const { return *model_->vocab; }
  const WordPieceConfig& config() const { return model_->config; }
  int64_t unk_id() const { return model_->unk_id; }
  int64_t pad_id() const { return model_->pad_id; }

  /// A copy that normalizes differently (shares the vocabulary).
  WordPiece with_normalizer(const NormalizerOptions& options) const;

  /// Writes vocab.txt (or "<prefix>-vocab.txt") into `directory` (or to `path` if it is not a
  /// directory), one token per line in id order. Returns the file written.
  std::filesystem::path save_vocabulary(const std::filesystem::path& directory, const std::string& prefix = "") const;

 private:
  struct Model {
    std::shared_ptr<const Vocab> vocab;
    WordPieceConfig config;
    int64_t unk_id = -1, pad_id = -1;
    std::vector<AddedToken> raw_added;         // matched on the raw text, by content
    std::vector<AddedToken> normalized_added;  // matched on the normalized text
    bool first_byte[256] = {};                 // first bytes of raw_added contents
    std::vector<std::pair<int64_t, std::string>> added_by_id;  // sorted by id
    std::vector<std::u32string> normalized_contents;            // per normalized_added entry
    std::vector<TemplatePiece> single_template, pair_template;  // ids resolved
  };

  WordPiece(std::shared_ptr<const Vocab> vocab, WordPieceConfig config);
  void encode_sequence(std::string_view text, int sequence, int64_t type_id, const EncodeOptions& options,
                       Encoding& out) const;
  Encoding encode_one(std::string_view a, const std::string_view* b, const EncodeOptions& options, bool pad) const;
  void truncate_for_template(Encoding& a, Encoding* b, const Truncation& t, bool add_special_tokens) const;
  const std::vector<TemplatePiece>& template_for(bool pair) const;
  std::size_t added_by_template(bool pair) const;

  std::shared_ptr<const Model> model_;
  BasicTokenizer basic_;
};

}  // namespace tz::tokenizer
