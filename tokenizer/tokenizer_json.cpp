// HF's fast-tokenizer file, tokenizer.json, read and written with the `tokenizers` crate's schema
// (serde field names and order, as BertTokenizerFast saves it): version "1.0"; truncation and
// padding (null or the crate's TruncationParams / PaddingParams); added_tokens; a BertNormalizer;
// a BertPreTokenizer; a TemplateProcessing or BertProcessing post-processor; a WordPiece decoder;
// a WordPiece model with its vocabulary in id order. Components of other types are refused with
// an error naming them. Written with 2-space indentation and raw UTF-8, the layout of HF's files.
// Not here: vocab.txt, tokenizer_config.json and directories (wordpiece_io.cpp).
// Partner header: wordpiece.h.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>

#include "core/error.h"
#include "tokenizer/json_files.h"
#include "tokenizer/wordpiece.h"

namespace tz::tokenizer {

namespace fs = std::filesystem;
using nlohmann::json;
using nlohmann::ordered_json;

namespace {

// Lengths read from a file that make us allocate (padding) stay below this.
constexpr std::size_t kMaxFileLength = std::size_t{1} << 24;

NormalizerOptions normalizer_from_json(const json& n) {
  NormalizerOptions o;
  if (n.is_null()) {
    // No normalizer at all: a BertNormalizer with everything off does nothing either.
    o.clean_text = false;
    o.handle_chinese_chars = false;
    o.strip_accents = false;
    o.lowercase = false;
    return o;
  }
  std::string type = n.at("type").get<std::string>();
  TZ_CHECK(type == "BertNormalizer", "normalizer type '", type, "' is not supported (expected BertNormalizer)");
  o.clean_text = detail::json_bool(n, "clean_text", true);
  o.handle_chinese_chars = detail::json_bool(n, "handle_chinese_chars", true);
  if (n.contains("strip_accents") && !n["strip_accents"].is_null()) o.strip_accents = n["strip_accents"].get<bool>();
  o.lowercase = detail::json_bool(n, "lowercase", true);
  return o;
}

/// The crate's serde names: "Left" / "Right".
Direction direction_from_json(const json& j, const std::string& what) {
  if (!j.contains("direction")) return Direction::Right;  // TruncationParams' serde default
  std::string d = j["direction"].get<std::string>();
  TZ_CHECK(d == "Right" || d == "Left", what, ".direction is '", d, "' (expected \"Right\" or \"Left\")");
  return d == "Left" ? Direction::Left : Direction::Right;
}

const char* direction_name(Direction d) { return d == Direction::Left ? "Left" : "Right"; }

std::optional<Truncation> truncation_from_json(const json& j) {
  if (j.is_null()) return std::nullopt;
  TZ_CHECK(j.is_object(), "truncation must be null or an object");
  Truncation t;
  t.direction = direction_from_json(j, "truncation");
  t.max_length = detail::json_size(j, "max_length", SIZE_MAX, "truncation");
  t.stride = detail::json_size(j, "stride", SIZE_MAX, "truncation");
  std::string s = j.at("strategy").get<std::string>();
  if (s == "LongestFirst")
    t.strategy = TruncationStrategy::LongestFirst;
  else if (s == "OnlyFirst")
    t.strategy = TruncationStrategy::OnlyFirst;
  else if (s == "OnlySecond")
    t.strategy = TruncationStrategy::OnlySecond;
  else
    throw Error(::tz::detail::concat("truncation.strategy is '", s,
                                     "' (expected \"LongestFirst\", \"OnlyFirst\" or \"OnlySecond\")"));
  return t;
}

ordered_json truncation_to_json(const std::optional<Truncation>& t) {
  if (!t) return nullptr;
  const char* strategy = t->strategy == TruncationStrategy::OnlyFirst    ? "OnlyFirst"
                         : t->strategy == TruncationStrategy::OnlySecond ? "OnlySecond"
                                                                         : "LongestFirst";
  ordered_json j;
  j["direction"] = direction_name(t->direction);
  j["max_length"] = t->max_length;
  j["strategy"] = strategy;
  j["stride"] = t->stride;
  return j;
}

std::optional<Padding> padding_from_json(const json& j) {
  if (j.is_null()) return std::nullopt;
  TZ_CHECK(j.is_object(), "padding must be null or an object");
  Padding p;
  // PaddingStrategy: the unit variant "BatchLongest" or the newtype variant {"Fixed": n}; absent,
  // the crate's default (BatchLongest), as for the other fields.
  static const json kBatchLongest = "BatchLongest";
  const json& s = j.contains("strategy") ? j["strategy"] : kBatchLongest;
  if (s.is_object()) {
    TZ_CHECK(s.size() == 1 && s.contains("Fixed"), "padding.strategy must be \"BatchLongest\" or {\"Fixed\": n}");
    p.max_length = detail::json_size(s, "Fixed", kMaxFileLength, "padding.strategy");
  } else {
    TZ_CHECK(s.is_string() && s.get<std::string>() == "BatchLongest",
             "padding.strategy must be \"BatchLongest\" or {\"Fixed\": n}");
  }
  p.direction = direction_from_json(j, "padding");
  if (j.contains("pad_to_multiple_of") && !j["pad_to_multiple_of"].is_null())
    p.pad_to_multiple_of = detail::json_size(j, "pad_to_multiple_of", kMaxFileLength, "padding");
  if (j.contains("pad_id")) p.pad_id = static_cast<int64_t>(detail::json_size(j, "pad_id", kMaxFileLength, "padding"));
  if (j.contains("pad_type_id"))
    p.pad_type_id = static_cast<int64_t>(detail::json_size(j, "pad_type_id", kMaxFileLength, "padding"));
  if (j.contains("pad_token")) p.pad_token = j["pad_token"].get<std::string>();
  return p;
}

/// The crate stores every field; the ones our Padding leaves to the tokenizer are filled in.
ordered_json padding_to_json(const std::optional<Padding>& p, const WordPiece& tok) {
  if (!p) return nullptr;
  const std::string& token = p->pad_token.empty() ? tok.config().pad_token : p->pad_token;
  int64_t id = p->pad_id ? *p->pad_id : tok.token_to_id(token);
  TZ_CHECK(id >= 0, "save_tokenizer_json: the pad token '", token, "' has no id");
  ordered_json j;
  if (p->max_length)
    j["strategy"] = {{"Fixed", *p->max_length}};
  else
    j["strategy"] = "BatchLongest";
  j["direction"] = direction_name(p->direction);
  j["pad_to_multiple_of"] = p->pad_to_multiple_of ? ordered_json(*p->pad_to_multiple_of) : ordered_json(nullptr);
  j["pad_id"] = id;
  j["pad_type_id"] = p->pad_type_id;
  j["pad_token"] = token;
  return j;
}

/// TemplateProcessing's "single" or "pair" list.
std::vector<TemplatePiece> template_from_json(const json& list, const json& specials, const std::string& what) {
  TZ_CHECK(list.is_array(), "post_processor.", what, " must be a list");
  std::vector<TemplatePiece> out;
  for (const json& item : list) {
    TemplatePiece p;
    if (item.contains("Sequence")) {
      p.is_sequence = true;
      std::string id = item["Sequence"].at("id").get<std::string>();
      TZ_CHECK(id == "A" || id == "B", "post_processor.", what, " has sequence '", id, "' (expected A or B)");
      p.sequence = id == "A" ? 0 : 1;
      p.type_id = item["Sequence"].value("type_id", 0);
    } else {
      const json& s = item.at("SpecialToken");
      p.special_name = s.at("id").get<std::string>();
      p.type_id = s.value("type_id", 0);
      TZ_CHECK(specials.contains(p.special_name), "post_processor special token '", p.special_name,
               "' is missing from special_tokens");
      const json& def = specials[p.special_name];
      TZ_CHECK(def.at("ids").size() == 1 && def.at("tokens").size() == 1, "post_processor special token '",
               p.special_name, "' must map to exactly one token");
      p.special_token = def["tokens"][0].get<std::string>();
      p.special_id = def["ids"][0].get<int64_t>();
      if (p.special_name == p.special_token) p.special_name.clear();
    }
    TZ_CHECK(p.type_id >= 0 && p.type_id < 256, "post_processor.", what, ": type_id ", p.type_id, " is out of range");
    out.push_back(p);
  }
  return out;
}

/// The list of pieces; each special token's definition goes into `specials` by name (the crate
/// writes them sorted by name).
ordered_json template_to_json(const std::vector<TemplatePiece>& tpl, std::map<std::string, ordered_json>& specials) {
  ordered_json list = ordered_json::array();
  for (const TemplatePiece& p : tpl) {
    if (p.is_sequence) {
      list.push_back({{"Sequence", {{"id", p.sequence == 0 ? "A" : "B"}, {"type_id", p.type_id}}}});
      continue;
    }
    const std::string& name = p.special_name.empty() ? p.special_token : p.special_name;
    list.push_back({{"SpecialToken", {{"id", name}, {"type_id", p.type_id}}}});
    specials[name] = {{"id", name}, {"ids", {p.special_id}}, {"tokens", {p.special_token}}};
  }
  return list;
}

ordered_json post_processor_to_json(const WordPiece& tok) {
  const WordPieceConfig& c = tok.config();
  if (c.post_processor.empty()) return nullptr;
  const std::vector<TemplatePiece>& single = tok.template_pieces(false);
  const std::vector<TemplatePiece>& pair = tok.template_pieces(true);
  if (c.post_processor == "BertProcessing") {
    // [CLS] A [SEP] / [CLS] A [SEP] B [SEP] with fixed type ids: only the two tokens are stored.
    TZ_CHECK(single.size() == 3 && !single[0].is_sequence && !single[2].is_sequence,
             "save_tokenizer_json: a BertProcessing template must be [CLS] A [SEP]");
    ordered_json j;
    j["type"] = "BertProcessing";
    j["sep"] = {single[2].special_token, single[2].special_id};
    j["cls"] = {single[0].special_token, single[0].special_id};
    return j;
  }
  std::map<std::string, ordered_json> specials;
  ordered_json j;
  j["type"] = "TemplateProcessing";
  j["single"] = template_to_json(single, specials);
  j["pair"] = template_to_json(pair, specials);
  ordered_json by_name = ordered_json::object();
  for (auto& [name, def] : specials) by_name[name] = def;
  j["special_tokens"] = by_name;
  return j;
}

}  // namespace

WordPiece WordPiece::from_tokenizer_json(const fs::path& path) {
  json j = detail::read_json_file(path);
  auto in_file = [&](const std::exception& e) { return Error(::tz::detail::concat(path.string(), ": ", e.what())); };
  try {
    return detail::with_file_context(path, [&]() -> WordPiece {
      TZ_CHECK(j.is_object(), "expected a JSON object");
      if (j.contains("version") && !j["version"].is_null()) {
        std::string v = j["version"].get<std::string>();
        TZ_CHECK(v == "1.0", "version '", v, "' is not supported (expected \"1.0\")");
      }
      const json& model = j.at("model");
      std::string type = model.value("type", std::string("WordPiece"));
      TZ_CHECK(type == "WordPiece", "model type '", type, "' is not supported (expected WordPiece)");
      WordPieceConfig c;
      if (model.contains("unk_token")) c.unk_token = model["unk_token"].get<std::string>();
      if (model.contains("continuing_subword_prefix"))
        c.continuing_subword_prefix = model["continuing_subword_prefix"].get<std::string>();
      if (model.contains("max_input_chars_per_word"))
        c.max_input_chars_per_word = detail::json_size(model, "max_input_chars_per_word", std::size_t{1} << 20, "model");

      // The vocabulary maps token -> id; ids need not be contiguous but must be unique.
      const json& v = model.at("vocab");
      TZ_CHECK(v.is_object(), "model.vocab must be an object {token: id}");
      std::vector<std::string> tokens;
      std::vector<bool> present;
      for (auto it = v.begin(); it != v.end(); ++it) {
        TZ_CHECK(it.value().is_number_unsigned(), "model.vocab['", it.key(), "'] must be a non-negative id");
        std::size_t id = it.value().get<std::size_t>();
        detail::check_token_id(id, path);
        if (id >= tokens.size()) {
          tokens.resize(id + 1);
          present.resize(id + 1, false);
        }
        TZ_CHECK(!present[id], "id ", id, " is used by both '", tokens[id], "' and '", it.key(), "'");
        tokens[id] = it.key();
        present[id] = true;
      }
      TZ_CHECK(!tokens.empty(), "model.vocab is empty");

      c.normalizer = normalizer_from_json(j.contains("normalizer") ? j["normalizer"] : json());
      TZ_CHECK(j.contains("pre_tokenizer") && !j["pre_tokenizer"].is_null(),
               "a pre_tokenizer is required (expected BertPreTokenizer)");
      std::string pt = j["pre_tokenizer"].at("type").get<std::string>();
      TZ_CHECK(pt == "BertPreTokenizer", "pre_tokenizer type '", pt, "' is not supported (expected BertPreTokenizer)");

      if (j.contains("added_tokens") && j["added_tokens"].is_array())
        for (const json& t : j["added_tokens"]) {
          AddedToken a = detail::added_token_from_json(t);
          TZ_CHECK(t.contains("id") && t["id"].is_number_unsigned(), "added token '", a.content,
                   "' needs a non-negative id");
          a.id = t["id"].get<int64_t>();
          detail::check_token_id(static_cast<std::size_t>(a.id), path);
          c.added_tokens.push_back(std::move(a));
        }

      const json pp = j.contains("post_processor") ? j["post_processor"] : json();
      if (pp.is_null()) {
        TemplatePiece a, b;
        a.is_sequence = b.is_sequence = true;
        b.sequence = 1;
        b.type_id = 1;
        c.single_template = {a};
        c.pair_template = {a, b};
        c.post_processor.clear();
      } else {
        c.post_processor = pp.at("type").get<std::string>();
        if (c.post_processor == "BertProcessing") {
          c.cls_token = pp.at("cls").at(0).get<std::string>();
          c.sep_token = pp.at("sep").at(0).get<std::string>();
          TemplatePiece cls, sep0, sep1, a, b;
          cls.special_token = c.cls_token;
          cls.special_id = pp["cls"].at(1).get<int64_t>();
          sep0.special_token = sep1.special_token = c.sep_token;
          sep0.special_id = sep1.special_id = pp["sep"].at(1).get<int64_t>();
          sep1.type_id = 1;
          a.is_sequence = b.is_sequence = true;
          b.sequence = 1;
          b.type_id = 1;
          c.single_template = {cls, a, sep0};
          c.pair_template = {cls, a, sep0, b, sep1};
        } else if (c.post_processor == "TemplateProcessing") {
          const json& specials = pp.at("special_tokens");
          c.single_template = template_from_json(pp.at("single"), specials, "single");
          c.pair_template = template_from_json(pp.at("pair"), specials, "pair");
          // Only informative (the templates carry their ids): the usual names of the two specials.
          if (!c.single_template.empty() && !c.single_template.front().is_sequence)
            c.cls_token = c.single_template.front().special_token;
          if (!c.single_template.empty() && !c.single_template.back().is_sequence)
            c.sep_token = c.single_template.back().special_token;
        } else {
          throw Error(::tz::detail::concat("post_processor type '", c.post_processor,
                                           "' is not supported (expected TemplateProcessing or BertProcessing)"));
        }
      }

      const json dec = j.contains("decoder") ? j["decoder"] : json();
      if (dec.is_null()) {
        c.decoder_wordpiece = false;
      } else {
        std::string dt = dec.at("type").get<std::string>();
        TZ_CHECK(dt == "WordPiece", "decoder type '", dt, "' is not supported (expected WordPiece)");
        c.decoder_prefix = dec.value("prefix", std::string("##"));
        c.decoder_cleanup = detail::json_bool(dec, "cleanup", true);
      }

      c.truncation = truncation_from_json(j.contains("truncation") ? j["truncation"] : json());
      c.padding = padding_from_json(j.contains("padding") ? j["padding"] : json());
      if (c.padding && !c.padding->pad_token.empty()) c.pad_token = c.padding->pad_token;

      auto vocab = std::make_shared<const Vocab>(std::move(tokens), std::move(present), c.continuing_subword_prefix,
                                                 c.max_input_chars_per_word * 4);
      return WordPiece(std::move(vocab), std::move(c));
    });
  } catch (const Error& e) {
    std::string what = e.what();
    if (what.rfind(path.string(), 0) == 0) throw;  // already names the file
    throw in_file(e);
  }
}

void WordPiece::save_tokenizer_json(const fs::path& file) const {
  const WordPieceConfig& c = model_->config;
  ordered_json j;
  j["version"] = "1.0";
  j["truncation"] = truncation_to_json(c.truncation);
  j["padding"] = padding_to_json(c.padding, *this);

  // Added tokens in id order, each once.
  std::vector<const AddedToken*> added;
  for (const auto* list : {&model_->raw_added, &model_->normalized_added})
    for (const AddedToken& t : *list) added.push_back(&t);
  std::stable_sort(added.begin(), added.end(), [](const AddedToken* a, const AddedToken* b) { return a->id < b->id; });
  ordered_json added_json = ordered_json::array();
  for (const AddedToken* t : added)
    added_json.push_back({{"id", t->id},
                          {"content", t->content},
                          {"single_word", t->single_word},
                          {"lstrip", t->lstrip},
                          {"rstrip", t->rstrip},
                          {"normalized", t->normalized},
                          {"special", t->special}});
  j["added_tokens"] = added_json;

  const NormalizerOptions& n = c.normalizer;
  j["normalizer"] = {{"type", "BertNormalizer"},
                     {"clean_text", n.clean_text},
                     {"handle_chinese_chars", n.handle_chinese_chars},
                     {"strip_accents", n.strip_accents ? ordered_json(*n.strip_accents) : ordered_json(nullptr)},
                     {"lowercase", n.lowercase}};
  j["pre_tokenizer"] = {{"type", "BertPreTokenizer"}};
  j["post_processor"] = post_processor_to_json(*this);
  if (c.decoder_wordpiece)
    j["decoder"] = {{"type", "WordPiece"}, {"prefix", c.decoder_prefix}, {"cleanup", c.decoder_cleanup}};
  else
    j["decoder"] = nullptr;

  ordered_json model;
  model["type"] = "WordPiece";
  model["unk_token"] = c.unk_token;
  model["continuing_subword_prefix"] = c.continuing_subword_prefix;
  model["max_input_chars_per_word"] = c.max_input_chars_per_word;
  ordered_json vocab = ordered_json::object();
  const Vocab& v = *model_->vocab;
  for (std::size_t id = 0; id < v.id_limit(); ++id)
    if (const std::string* t = v.token(static_cast<int64_t>(id))) vocab[*t] = id;
  model["vocab"] = std::move(vocab);
  j["model"] = std::move(model);

  std::string text;
  try {
    text = j.dump(2) + "\n";
  } catch (const ordered_json::exception& e) {
    throw Error(::tz::detail::concat("save_tokenizer_json: a token is not valid UTF-8 (", e.what(), ")"));
  }
  detail::write_text_file(file, text, "save_tokenizer_json");
}

}  // namespace tz::tokenizer
