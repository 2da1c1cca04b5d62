// tz::tokenizer::WordPiece: a BERT WordPiece tokenizer that gives the same output as HuggingFace's
// fast (Rust) tokenizer. It reads and writes the files of transformers' BertTokenizer(Fast),
// ConvBertTokenizer(Fast), ElectraTokenizer(Fast) and DistilBertTokenizer(Fast), and knows which
// inputs each class's model takes (model_input_names).
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
// Implementation: construction and lookups in wordpiece.cpp, encoding in wordpiece_encode.cpp,
// batches in wordpiece_batch.cpp, decoding in wordpiece_decode.cpp, vocab.txt and
// tokenizer_config.json in wordpiece_io.cpp, tokenizer.json in tokenizer_json.cpp.
// Not here: normalization (basic_tokenizer.h), truncation and padding rules (encoding.h).
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
  std::string special_name;   ///< its key in tokenizer.json's special_tokens; empty: the content
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
  /// tokenizer.json's post-processor as read: "TemplateProcessing", "BertProcessing" or "" (none).
  /// The templates above carry its meaning; this decides what save_tokenizer_json writes.
  std::string post_processor = "TemplateProcessing";
  /// transformers' model_max_length; kNoMaxLength stands for its "no limit" (1e30).
  std::size_t model_max_length = 512;
  static constexpr std::size_t kNoMaxLength = std::size_t{1} << 50;

  /// The slow BertTokenizer's basic-tokenizer options (tokenizer_config.json). HF's fast
  /// tokenizer (BertTokenizerFast, what AutoTokenizer loads) accepts both and ignores them; here
  /// they act as in the slow one, and at their defaults the output is the fast tokenizer's.
  /// do_basic_tokenize = false: no normalization and no punctuation splitting; the text (outside
  /// added tokens) is split on whitespace only and each piece goes to WordPiece as it is.
  bool do_basic_tokenize = true;
  /// Words kept whole. A whitespace-separated word of the cleaned text (lowercased first when
  /// `normalizer.lowercase`) that is listed is neither lowercased, stripped nor split at
  /// punctuation; and a listed word (from that rule or from the basic tokenizer) skips WordPiece:
  /// it becomes its vocabulary token, or the unknown token. Added and special tokens are never
  /// split anyway, in both HF tokenizers. No effect when do_basic_tokenize is false.
  std::vector<std::string> never_split;

  /// HF's tokenizer class from tokenizer_config.json ("BertTokenizer", "DistilBertTokenizerFast",
  /// ...); empty when no file named one. It decides model_input_names.
  std::string tokenizer_class;
  /// tokenizer_config.json's explicit "model_input_names"; empty: the class's.
  std::vector<std::string> model_input_names;

  /// tokenizer.json's stored "truncation" and "padding": applied by the encode overloads that take
  /// no EncodeOptions (see WordPiece::default_options), as HF's `tokenizers` library applies them.
  std::optional<Truncation> truncation;
  std::optional<Padding> padding;
};

class WordPiece {
 public:
  /// `path` is a vocab.txt, a tokenizer.json, or a directory holding tokenizer.json or vocab.txt
  /// (with optional tokenizer_config.json and special_tokens_map.json, read as transformers 4.x
  /// reads them; see wordpiece_io.cpp). Malformed files throw tz::Error naming the file and line,
  /// and so does a tokenizer_class outside the BERT family's WordPiece tokenizers.
  static WordPiece from_pretrained(const std::filesystem::path& path);
  static WordPiece from_vocab_file(const std::filesystem::path& vocab_txt, WordPieceConfig config = {});
  static WordPiece from_tokenizer_json(const std::filesystem::path& tokenizer_json);
  /// tokens[i] gets id i.
  static WordPiece from_tokens(std::vector<std::string> tokens, WordPieceConfig config = {});

  /// One text: [CLS] text [SEP] with the default template.
  Encoding encode(std::string_view text, const EncodeOptions& options) const;
  /// A pair: [CLS] a [SEP] b [SEP], type ids 0 then 1.
  Encoding encode_pair(std::string_view a, std::string_view b, const EncodeOptions& options) const;
  /// Many texts: the calling thread and up to options.num_threads - 1 pool workers; padding to the
  /// longest applies across the batch.
  std::vector<Encoding> encode_batch(const std::vector<std::string>& texts, const EncodeOptions& options) const;
  std::vector<Encoding> encode_batch_pairs(const std::vector<std::pair<std::string, std::string>>& pairs,
                                           const EncodeOptions& options) const;
  /// The same into `out` (resized to the batch): the Encodings already there are refilled and
  /// keep their vectors' capacity, so a caller that passes the same vector batch after batch
  /// hardly allocates or frees at all, which matters most when batches run on several threads.
  void encode_batch(const std::vector<std::string>& texts, const EncodeOptions& options,
                    std::vector<Encoding>& out) const;
  void encode_batch_pairs(const std::vector<std::pair<std::string, std::string>>& pairs, const EncodeOptions& options,
                          std::vector<Encoding>& out) const;
  /// The same with default_options(): the tokenizer's stored truncation and padding, if any.
  Encoding encode(std::string_view text) const { return encode(text, default_options()); }
  Encoding encode_pair(std::string_view a, std::string_view b) const { return encode_pair(a, b, default_options()); }
  std::vector<Encoding> encode_batch(const std::vector<std::string>& texts) const {
    return encode_batch(texts, default_options());
  }
  std::vector<Encoding> encode_batch_pairs(const std::vector<std::pair<std::string, std::string>>& pairs) const {
    return encode_batch_pairs(pairs, default_options());
  }

  /// EncodeOptions{} with config().truncation and config().padding (tokenizer.json's stored ones).
  EncodeOptions default_options() const;
  /// A copy with other stored truncation / padding (the crate's enable_truncation, no_truncation,
  /// enable_padding, no_padding). Throws, as the crate does, when the stride is not below
  /// max_length minus the special tokens of a single sequence.
  WordPiece with_truncation(std::optional<Truncation> truncation) const;
  WordPiece with_padding(std::optional<Padding> padding) const;

  /// The inputs the model takes, in HF's order: "input_ids", "token_type_ids", "attention_mask"
  /// for BERT, ConvBERT and ELECTRA tokenizers; no "token_type_ids" for DistilBERT's.
  const std::vector<std::string>& model_input_names() const { return model_->input_names; }
  /// Whether model_input_names() has "token_type_ids" (DistilBERT's does not).
  bool takes_token_type_ids() const;
  /// model_input_names of an HF tokenizer class (with or without "Fast"; empty: BERT's). Throws
  /// for a class that is not a WordPiece tokenizer of the BERT family.
  static std::vector<std::string> class_model_input_names(const std::string& tokenizer_class);

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

  /// The special-token template of a single text or of a pair, with ids resolved.
  const std::vector<TemplatePiece>& template_pieces(bool pair) const { return template_for(pair); }

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
  /// Writes HF's fast-tokenizer file as BertTokenizerFast saves it (normalizer, pre-tokenizer,
  /// post-processor, decoder, WordPiece model, added tokens, stored truncation and padding), which
  /// HF's `tokenizers` library and transformers load. Throws when the file cannot be written.
  void save_tokenizer_json(const std::filesystem::path& file) const;
  /// Writes tokenizer.json, vocab.txt, tokenizer_config.json and special_tokens_map.json into
  /// `directory` (created when missing), the files HF's save_pretrained writes for
  /// BertTokenizerFast. Returns the files written.
  std::vector<std::filesystem::path> save_pretrained(const std::filesystem::path& directory) const;

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
    std::vector<std::string> never_split;                       // sorted
    std::vector<std::string> input_names;                       // model_input_names()
  };

  WordPiece(std::shared_ptr<const Vocab> vocab, WordPieceConfig config);
  void encode_sequence(std::string_view text, int sequence, int64_t type_id, const EncodeOptions& options,
                       Encoding& out) const;
  void encode_into(std::string_view a, const std::string_view* b, const EncodeOptions& options, bool pad,
                   Encoding& out) const;
  void pad_batch(std::vector<Encoding>& batch, const EncodeOptions& options) const;
  void pad_to(Encoding& e, std::size_t length, const Padding& p) const;
  void check_stride(const Truncation& t) const;
  void truncate_for_template(Encoding& a, Encoding* b, const Truncation& t, bool add_special_tokens) const;
  const std::vector<TemplatePiece>& template_for(bool pair) const;
  std::size_t added_by_template(bool pair) const;

  std::shared_ptr<const Model> model_;
  BasicTokenizer basic_;
};

}  // namespace tz::tokenizer
