// WordPiece: construction (added tokens, templates, ids resolved once) and token <-> id lookups.
// Not here: encoding a text (wordpiece_encode.cpp), batches on several threads
// (wordpiece_batch.cpp), decoding and the slow tokenizer's helpers (wordpiece_decode.cpp), files
// (wordpiece_io.cpp). Partner header: wordpiece.h.
#include "tokenizer/wordpiece.h"

#include <algorithm>

#include "core/error.h"

namespace tz::tokenizer {

namespace {

/// An added token with normalized=true is matched by its normalized form.
std::u32string normalized_content(const BasicTokenizer& basic, const std::string& content) {
  std::vector<NormalizedChar> chars;
  BasicTokenizer::Scratch scratch;
  basic.normalize(content, 0, scratch, chars);
  std::u32string out;
  for (const auto& ch : chars) out.push_back(ch.cp);
  return out;
}

}  // namespace

std::vector<std::string> WordPiece::class_model_input_names(const std::string& tokenizer_class) {
  // transformers 4.x: DistilBERT's tokenizers leave out token_type_ids; BERT's, ConvBERT's,
  // ELECTRA's and the generic PreTrainedTokenizerFast keep the base class's three.
  std::string base = tokenizer_class;
  if (base.size() > 4 && base.compare(base.size() - 4, 4, "Fast") == 0) base.resize(base.size() - 4);
  if (base == "DistilBertTokenizer") return {"input_ids", "attention_mask"};
  TZ_CHECK(base.empty() || base == "BertTokenizer" || base == "ConvBertTokenizer" || base == "ElectraTokenizer" ||
               tokenizer_class == "PreTrainedTokenizerFast",
           "WordPiece: tokenizer_class '", tokenizer_class,
           "' is not a WordPiece tokenizer this library knows (expected BertTokenizer, ConvBertTokenizer, "
           "ElectraTokenizer, DistilBertTokenizer, their Fast versions, or PreTrainedTokenizerFast)");
  return {"input_ids", "token_type_ids", "attention_mask"};
}

int64_t WordPiece::token_to_id(std::string_view token) const {
  for (const auto& t : model_->raw_added)
    if (t.content == token) return t.id;
  for (const auto& t : model_->normalized_added)
    if (t.content == token) return t.id;
  return model_->vocab->id(token);
}

WordPiece::WordPiece(std::shared_ptr<const Vocab> vocab, WordPieceConfig config) : basic_(config.normalizer) {
  auto m = std::make_shared<Model>();
  m->vocab = std::move(vocab);
  m->config = std::move(config);
  const Vocab& v = *m->vocab;
  WordPieceConfig& c = m->config;
  m->unk_id = v.id(c.unk_token);

  // Added tokens: ids from the vocabulary, or new ids after it (as HF's add_tokens does).
  int64_t next_id = static_cast<int64_t>(v.id_limit());
  for (const AddedToken& t : c.added_tokens) next_id = std::max(next_id, t.id + 1);
  for (AddedToken& t : c.added_tokens) {
    TZ_CHECK(!t.content.empty(), "WordPiece: an added token has empty content");
    if (t.id < 0) {
      t.id = v.id(t.content);
      if (t.id < 0) t.id = next_id++;
    }
    m->added_by_id.emplace_back(t.id, t.content);
    if (t.normalized) {
      m->normalized_added.push_back(t);
      m->normalized_contents.push_back(normalized_content(basic_, t.content));
    } else {
      m->raw_added.push_back(t);
      m->first_byte[static_cast<unsigned char>(t.content[0])] = true;
    }
  }
  std::sort(m->added_by_id.begin(), m->added_by_id.end());
  model_ = m;

  // Templates: BERT's unless given; special token ids resolved now.
  auto special = [&](const std::string& token, int64_t type_id) {
    TemplatePiece p;
    p.special_token = token;
    p.type_id = type_id;
    return p;
  };
  auto sequence = [](int seq, int64_t type_id) {
    TemplatePiece p;
    p.is_sequence = true;
    p.sequence = seq;
    p.type_id = type_id;
    return p;
  };
  m->single_template = c.single_template;
  m->pair_template = c.pair_template;
  if (m->single_template.empty()) m->single_template = {special(c.cls_token, 0), sequence(0, 0), special(c.sep_token, 0)};
  if (m->pair_template.empty())
    m->pair_template = {special(c.cls_token, 0), sequence(0, 0), special(c.sep_token, 0), sequence(1, 1),
                        special(c.sep_token, 1)};
  for (auto* tpl : {&m->single_template, &m->pair_template})
    for (TemplatePiece& p : *tpl) {
      if (p.is_sequence || p.special_id >= 0) continue;
      p.special_id = token_to_id(p.special_token);
      TZ_CHECK(p.special_id >= 0, "WordPiece: template special token '", p.special_token,
               "' is neither an added token nor in the vocabulary");
    }
  m->pad_id = token_to_id(c.pad_token);

  m->never_split = c.never_split;
  std::sort(m->never_split.begin(), m->never_split.end());
  m->never_split.erase(std::unique(m->never_split.begin(), m->never_split.end()), m->never_split.end());
  m->input_names = c.model_input_names.empty() ? class_model_input_names(c.tokenizer_class) : c.model_input_names;
}

void WordPiece::check_stride(const Truncation& t) const {
  // The crate subtracts the single template's specials from max_length without a check: below
  // their number it wraps around, and there is nothing left to check.
  std::size_t n_single = added_by_template(false);
  TZ_CHECK(t.max_length < n_single || t.max_length - n_single >= t.stride, "truncation: stride ", t.stride,
           " is greater than the effective max length ", t.max_length - n_single, " (= max_length ", t.max_length,
           " - ", n_single, " special tokens)");
}

EncodeOptions WordPiece::default_options() const {
  EncodeOptions o;
  o.truncation = model_->config.truncation;
  o.padding = model_->config.padding;
  return o;
}

WordPiece WordPiece::with_truncation(std::optional<Truncation> truncation) const {
  if (truncation) check_stride(*truncation);
  WordPiece copy = *this;
  auto m = std::make_shared<Model>(*model_);
  m->config.truncation = truncation;
  copy.model_ = m;
  return copy;
}

WordPiece WordPiece::with_padding(std::optional<Padding> padding) const {
  WordPiece copy = *this;
  auto m = std::make_shared<Model>(*model_);
  m->config.padding = padding;
  copy.model_ = m;
  return copy;
}

bool WordPiece::takes_token_type_ids() const {
  const auto& names = model_->input_names;
  return std::find(names.begin(), names.end(), "token_type_ids") != names.end();
}

WordPiece WordPiece::with_normalizer(const NormalizerOptions& options) const {
  WordPiece copy = *this;
  copy.basic_ = BasicTokenizer(options);
  auto m = std::make_shared<Model>(*model_);
  m->config.normalizer = options;
  if (!m->normalized_added.empty()) {
    // Normalized added tokens are matched in their normalized form, which depends on the options.
    m->normalized_contents.clear();
    for (const AddedToken& t : m->normalized_added) m->normalized_contents.push_back(normalized_content(copy.basic_, t.content));
  }
  copy.model_ = m;
  return copy;
}

const std::vector<TemplatePiece>& WordPiece::template_for(bool pair) const {
  return pair ? model_->pair_template : model_->single_template;
}

std::size_t WordPiece::added_by_template(bool pair) const {
  std::size_t n = 0;
  for (const TemplatePiece& p : template_for(pair)) n += !p.is_sequence;
  return n;
}

std::optional<std::string> WordPiece::id_to_token(int64_t id) const {
  const auto& added = model_->added_by_id;
  auto it = std::lower_bound(added.begin(), added.end(), id,
                             [](const std::pair<int64_t, std::string>& p, int64_t v) { return p.first < v; });
  if (it != added.end() && it->first == id) return it->second;
  if (const std::string* t = model_->vocab->token(id)) return *t;
  return std::nullopt;
}

bool WordPiece::is_special_token(std::string_view token) const {
  for (const auto* list : {&model_->raw_added, &model_->normalized_added})
    for (const AddedToken& t : *list)
      if (t.special && t.content == token) return true;
  return false;
}

std::size_t WordPiece::vocab_size() const {
  std::size_t n = model_->vocab->size();
  for (const auto& [id, content] : model_->added_by_id)
    if (model_->vocab->id(content) != id) ++n;
  return n;
}

}  // namespace tz::tokenizer
