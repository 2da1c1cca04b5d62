// Token classification (NER, POS, tagging) as HF's token-classification guide and run_ner.py do it:
//   (a) readers: JSONL with `tokens` + `ner_tags` / `tags` (ints or strings) and CoNLL text;
//   (b) preprocessing: the words are encoded as pre-split words; the first piece of each word gets
//       the word's label, other pieces and special tokens get -100 (or, with label_all_pieces, every
//       piece gets it, B-X turned into I-X after the first piece as run_ner does); dynamic padding;
//   (c) post-processing: logits back to one tag per word, BIO spans merged into entities with
//       character offsets (what `tensorzoo tag` prints);
//   (d) the metric: seqeval (seqeval.h) over the positions whose label is not -100, as run_ner.
// Not here: the training loop (trainer.h), the model (models/model.h).
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "models/model.h"
#include "tokenizer/wordpiece.h"
#include "train/seqeval.h"

namespace tz::train {

inline constexpr int64_t kTokenClassificationIgnore = -100;

/// One sentence: its words and one tag per word.
struct TokenClassificationExample {
  std::vector<std::string> words;
  std::vector<std::string> tags;
};

/// Tag names in id order, with the reverse map.
class TagSet {
 public:
  TagSet() = default;
  explicit TagSet(std::vector<std::string> names);
  const std::vector<std::string>& names() const { return names_; }
  std::size_t size() const { return names_.size(); }
  const std::string& name(int64_t id) const;
  /// Throws naming the tag and the known tags when it is not in the set.
  int64_t id(const std::string& name) const;
  bool contains(const std::string& name) const { return ids_.count(name) != 0; }

 private:
  std::vector<std::string> names_;
  std::map<std::string, int64_t> ids_;
};

/// JSONL: one object per line with "tokens" and "ner_tags" (or "tags"), tags as strings or ints.
/// Integer tags become names through `int_names` when given (e.g. a config's id2label), else their
/// decimal text. Errors name the file and line.
std::vector<TokenClassificationExample> read_token_classification_jsonl(
    const std::filesystem::path& path, const std::vector<std::string>& int_names = {});
/// CoNLL text: "word ... tag" per line (the first column is the word, the last the tag, separated by
/// spaces or tabs), a blank line between sentences, "-DOCSTART-" lines skipped.
std::vector<TokenClassificationExample> read_conll(const std::filesystem::path& path);
/// .jsonl / .json -> JSONL, anything else -> CoNLL.
std::vector<TokenClassificationExample> read_token_classification(const std::filesystem::path& path,
                                                                  const std::vector<std::string>& int_names = {});

/// The sorted set of tags in `examples` (numerically when every tag is an integer, so that "10"
/// follows "9"), as run_ner.py's get_label_list.
TagSet collect_labels(const std::vector<TokenClassificationExample>& examples);
/// run_ner.py's rule: the model's id2label when it is not the default LABEL_<i> list and holds
/// exactly the tags of `examples`; else collect_labels(examples).
TagSet choose_labels(const std::vector<TokenClassificationExample>& examples,
                       const std::vector<std::string>& config_id2label);

/// Encodes pre-split words like HF's `tokenizer(words, is_split_into_words=True, truncation=True,
/// max_length=...)`: each word tokenized on its own, word_ids = the word's index, special tokens from
/// the tokenizer's template, the pieces cut to max_length (0 = no truncation). Offsets are left
/// empty ([0, 0)): they would be relative to each word.
tokenizer::Encoding encode_words(const tokenizer::WordPiece& tok, const std::vector<std::string>& words,
                                 std::size_t max_length = 512);

struct TokenClassificationOptions {
  std::size_t max_length = 512;
  bool label_all_pieces = false;  ///< run_ner's label_all_tokens
};

/// One model input row (unpadded). labels[i] = tag id or kTokenClassificationIgnore.
struct TokenClassificationFeature {
  std::vector<int64_t> input_ids, token_type_ids, attention_mask, labels;
  std::vector<int32_t> word_ids;
};

TokenClassificationFeature make_token_classification_feature(const tokenizer::WordPiece& tok,
                                                              const TokenClassificationExample& example,
                                                              const TagSet& labels,
                                                              const TokenClassificationOptions& options = {});
std::vector<TokenClassificationFeature> make_token_classification_features(
    const tokenizer::WordPiece& tok, const std::vector<TokenClassificationExample>& examples, const TagSet& labels,
    const TokenClassificationOptions& options = {});

/// The rows `indices` of `features` padded to the longest of them (DataCollatorForTokenClassification):
/// input_ids with pad_id, masks and type ids with 0, labels with -100; all int64 [B, T].
models::Inputs collate_token_classification(const std::vector<TokenClassificationFeature>& features,
                                              std::span<const std::size_t> indices, int64_t pad_id);

/// run_ner's compute_metrics for one row: the true and predicted tag names at every position whose
/// label is not -100. `logits` is the row's [T, L] block (row-major, T >= feature length).
void tags_for_metric(const TokenClassificationFeature& feature, const float* logits, std::size_t num_labels,
                     const TagSet& labels, std::vector<std::string>& truth, std::vector<std::string>& predicted);

/// Evaluation as run_ner reports it: the model (put in eval mode by the caller) runs over `features`
/// in order, batch_size rows at a time, without gradients; returns "eval_loss" (the model's loss,
/// averaged over rows), "precision", "recall", "f1" (seqeval overall) and "accuracy" (token accuracy).
/// `report` receives the full seqeval report when given.
std::map<std::string, double> evaluate_token_classification(models::PreTrainedModel& model,
                                                            const std::vector<TokenClassificationFeature>& features,
                                                            const TagSet& tags, std::size_t batch_size, int64_t pad_id,
                                                            SeqevalReport* report = nullptr);

// ---- inference -----------------------------------------------------------------------------------

/// A word of the input text (as the tokenizer's pre-tokenizer splits it) with its predicted tag: the
/// tag of its first piece and that tag's softmax probability. begin/end are code-point offsets.
struct TaggedWord {
  std::string text, label;
  float score = 0;
  std::size_t begin = 0, end = 0;
};

/// HF's token-classification pipeline grouping: "B-X" starts an X entity, "I-X" continues the
/// previous word's X entity or starts one (after O or another type), a label without a B-/I- prefix
/// (e.g. "LABEL_3") acts as "I-LABEL_3", and "O" words belong to no entity. On B/I/O tags this is
/// exactly seqeval's default-mode chunking (get_entities); it differs only on other tag shapes.
std::vector<Entity> group_entities(const std::vector<std::string>& tags);

/// A span of words (group_entities over the words' tags) with the text it covers.
struct TaggedEntity {
  std::string type, text;
  float score = 0;  ///< mean of its words' scores
  std::size_t begin = 0, end = 0;  ///< code-point offsets into the text
  std::size_t first_word = 0, last_word = 0;
};

struct TagResult {
  std::vector<TaggedWord> words;
  std::vector<TaggedEntity> entities;
};

/// Words and entities from a text's encoding (made with char_offsets) and its logits [T, L].
TagResult tags_from_logits(const std::string& text, const tokenizer::Encoding& encoding, const float* logits,
                           const TagSet& labels);

/// Encodes `text` (truncated to max_length), runs a ForTokenClassification model and calls
/// tags_from_logits with the labels of the model's config.
TagResult tag_text(models::PreTrainedModel& model, const tokenizer::WordPiece& tok, const std::string& text,
                   std::size_t max_length = 512);

}  // namespace tz::train
