// Loading and saving WordPiece tokenizers: vocab.txt (+ tokenizer_config.json and
// special_tokens_map.json, as HF's BertTokenizerFast builds itself from them) and HF tokenizers'
// tokenizer.json (BertNormalizer, BertPreTokenizer, WordPiece model, TemplateProcessing or
// BertProcessing, WordPiece decoder). Every file is untrusted: errors name the file and the line
// (vocab.txt, JSON syntax) or the JSON field. Partner: wordpiece.h; encoding is in wordpiece.cpp.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "tokenizer/unicode.h"
#include "tokenizer/wordpiece.h"

namespace tz::tokenizer {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  TZ_CHECK(in.good(), "tokenizer: cannot open '", path.string(), "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  TZ_CHECK(!in.bad(), "tokenizer: error while reading '", path.string(), "'");
  return ss.str();
}

json read_json(const fs::path& path) {
  std::string text = read_file(path);
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    std::size_t at = std::min<std::size_t>(e.byte > 0 ? e.byte - 1 : 0, text.size());
    std::size_t line = 1 + static_cast<std::size_t>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n'));
    throw Error(::tz::detail::concat(path.string(), ":", line, ": invalid JSON (", e.what(), ")"));
  } catch (const json::exception& e) {  // e.g. a number too large for a double (out_of_range 406)
    throw Error(::tz::detail::concat(path.string(), ": invalid JSON (", e.what(), ")"));
  }
}

/// Runs `fn` and turns JSON type errors into tz::Error naming the file.
template <class Fn>
auto with_file_context(const fs::path& path, Fn&& fn) {
  try {
    return fn();
  } catch (const json::exception& e) {
    throw Error(::tz::detail::concat(path.string(), ": unexpected content (", e.what(), ")"));
  }
}

bool get_bool(const json& j, const char* key, bool fallback) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  return j[key].get<bool>();
}

/// A special token in a config: a plain string or an AddedToken object {"content": ...}.
std::optional<std::string> token_content(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || j[key].is_null()) return std::nullopt;
  const json& v = j[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content")) return v["content"].get<std::string>();
  throw Error(::tz::detail::concat("tokenizer: '", key, "' must be a string or an object with \"content\""));
}

AddedToken added_token_from_json(const json& t) {
  AddedToken a;
  a.content = t.at("content").get<std::string>();
  a.single_word = get_bool(t, "single_word", false);
  a.lstrip = get_bool(t, "lstrip", false);
  a.rstrip = get_bool(t, "rstrip", false);
  a.normalized = get_bool(t, "normalized", false);
  a.special = get_bool(t, "special", false);
  return a;
}

NormalizerOptions normalizer_from_json(const json& n) {
  NormalizerOptions o;
  if (n.is_null()) {
    // No normalizer at all.
    o.clean_text = false;
    o.handle_chinese_chars = false;
    o.strip_accents = false;
    o.lowercase = false;
    return o;
  }
  std::string type = n.at("type").get<std::string>();
  TZ_CHECK(type == "BertNormalizer", "normalizer type '", type, "' is not supported (expected BertNormalizer)");
  o.clean_text = get_bool(n, "clean_text", true);
  o.handle_chinese_chars = get_bool(n, "handle_chinese_chars", true);
  if (n.contains("strip_accents") && !n["strip_accents"].is_null()) o.strip_accents = n["strip_accents"].get<bool>();
  o.lowercase = get_bool(n, "lowercase", true);
  return o;
}

void check_vocab_size(std::size_t id, const fs::path& path) {
  // A WordPiece vocabulary has tens of thousands of entries; a huge id is a corrupt file.
  TZ_CHECK(id < (std::size_t{1} << 24), path.string(), ": token id ", id, " is out of range (expected < 2^24)");
}

}  // namespace

WordPiece WordPiece::from_tokens(std::vector<std::string> tokens, WordPieceConfig config) {
  if (config.added_tokens.empty()) {
    for (const std::string* t : {&config.unk_token, &config.sep_token, &config.pad_token, &config.cls_token,
                                 &config.mask_token})
      if (!t->empty()) config.added_tokens.push_back(AddedToken{*t});
  }
  std::vector<bool> present(tokens.size(), true);
  auto vocab = std::make_shared<const Vocab>(std::move(tokens), std::move(present), config.continuing_subword_prefix,
                                             config.max_input_chars_per_word * 4);
  return WordPiece(std::move(vocab), std::move(config));
}

WordPiece WordPiece::from_vocab_file(const fs::path& vocab_txt, WordPieceConfig config) {
  std::string text = read_file(vocab_txt);
  std::vector<std::string> tokens;
  std::size_t line = 0;
  for (std::size_t pos = 0; pos < text.size();) {
    std::size_t nl = text.find('\n', pos);
    std::size_t end = nl == std::string::npos ? text.size() : nl;
    ++line;
    std::string_view token(text.data() + pos, end - pos);
    if (!token.empty() && token.back() == '\r') token.remove_suffix(1);
    std::size_t bad = unicode::find_invalid_utf8(token);
    TZ_CHECK(bad == std::string_view::npos, vocab_txt.string(), ":", line, ": invalid UTF-8 at column ", bad + 1);
    check_vocab_size(tokens.size(), vocab_txt);
    tokens.emplace_back(token);
    pos = nl == std::string::npos ? text.size() : nl + 1;
  }
  TZ_CHECK(!tokens.empty(), vocab_txt.string(), ":1: the vocabulary is empty");
  return from_tokens(std::move(tokens), std::move(config));
}

WordPiece WordPiece::from_tokenizer_json(const fs::path& path) {
  json j = read_json(path);
  return with_file_context(path, [&]() -> WordPiece {
    TZ_CHECK(j.is_object(), path.string(), ":1: expected a JSON object");
    const json& model = j.at("model");
    std::string type = model.value("type", std::string("WordPiece"));
    TZ_CHECK(type == "WordPiece", path.string(), ": model type '", type, "' is not supported (expected WordPiece)");
    WordPieceConfig c;
    if (model.contains("unk_token")) c.unk_token = model["unk_token"].get<std::string>();
    if (model.contains("continuing_subword_prefix"))
      c.continuing_subword_prefix = model["continuing_subword_prefix"].get<std::string>();
    if (model.contains("max_input_chars_per_word")) {
      c.max_input_chars_per_word = model["max_input_chars_per_word"].get<std::size_t>();
      TZ_CHECK(c.max_input_chars_per_word <= (std::size_t{1} << 20), path.string(),
               ": max_input_chars_per_word ", c.max_input_chars_per_word, " is out of range");
    }

    // The vocabulary maps token -> id; ids need not be contiguous but must be unique.
    const json& v = model.at("vocab");
    TZ_CHECK(v.is_object(), path.string(), ": model.vocab must be an object {token: id}");
    std::vector<std::string> tokens;
    std::vector<bool> present;
    for (auto it = v.begin(); it != v.end(); ++it) {
      TZ_CHECK(it.value().is_number_unsigned(), path.string(), ": model.vocab['", it.key(), "'] must be a non-negative id");
      std::size_t id = it.value().get<std::size_t>();
      check_vocab_size(id, path);
      if (id >= tokens.size()) {
        tokens.resize(id + 1);
        present.resize(id + 1, false);
      }
      TZ_CHECK(!present[id], path.string(), ": id ", id, " is used by both '", tokens[id], "' and '", it.key(), "'");
      tokens[id] = it.key();
      present[id] = true;
    }
    TZ_CHECK(!tokens.empty(), path.string(), ": model.vocab is empty");

    c.normalizer = normalizer_from_json(j.contains("normalizer") ? j["normalizer"] : json());
    if (j.contains("pre_tokenizer") && !j["pre_tokenizer"].is_null()) {
      std::string pt = j["pre_tokenizer"].at("type").get<std::string>();
      TZ_CHECK(pt == "BertPreTokenizer", path.string(), ": pre_tokenizer type '", pt,
               "' is not supported (expected BertPreTokenizer)");
    } else {
      throw Error(::tz::detail::concat(path.string(), ": a pre_tokenizer is required (expected BertPreTokenizer)"));
    }

    if (j.contains("added_tokens") && j["added_tokens"].is_array())
      for (const json& t : j["added_tokens"]) {
        AddedToken a = added_token_from_json(t);
        TZ_CHECK(t.contains("id") && t["id"].is_number_unsigned(), path.string(), ": added token '", a.content,
                 "' needs a non-negative id");
        a.id = t["id"].get<int64_t>();
        check_vocab_size(static_cast<std::size_t>(a.id), path);
        c.added_tokens.push_back(std::move(a));
      }

    // Post-processor: the special-token templates.
    const json pp = j.contains("post_processor") ? j["post_processor"] : json();
    if (pp.is_null()) {
      TemplatePiece a, b;
      a.is_sequence = b.is_sequence = true;
      b.sequence = 1;
      b.type_id = 1;
      c.single_template = {a};
      c.pair_template = {a, b};
    } else {
      std::string pt = pp.at("type").get<std::string>();
      if (pt == "BertProcessing") {
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
      } else if (pt == "TemplateProcessing") {
        const json& specials = pp.at("special_tokens");
        auto parse = [&](const json& list, const char* which) {
          std::vector<TemplatePiece> out;
          for (const json& item : list) {
            TemplatePiece p;
            if (item.contains("Sequence")) {
              p.is_sequence = true;
              std::string id = item["Sequence"].at("id").get<std::string>();
              TZ_CHECK(id == "A" || id == "B", path.string(), ": post_processor.", which, " has sequence '", id,
                       "' (expected A or B)");
              p.sequence = id == "A" ? 0 : 1;
              p.type_id = item["Sequence"].value("type_id", 0);
            } else {
              const json& s = item.at("SpecialToken");
              std::string name = s.at("id").get<std::string>();
              p.type_id = s.value("type_id", 0);
              TZ_CHECK(specials.contains(name), path.string(), ": post_processor special token '", name,
                       "' is missing from special_tokens");
              const json& def = specials[name];
              TZ_CHECK(def.at("ids").size() == 1 && def.at("tokens").size() == 1, path.string(),
                       ": post_processor special token '", name, "' must map to exactly one token");
              p.special_token = def["tokens"][0].get<std::string>();
              p.special_id = def["ids"][0].get<int64_t>();
            }
            out.push_back(p);
          }
          return out;
        };
        c.single_template = parse(pp.at("single"), "single");
        c.pair_template = parse(pp.at("pair"), "pair");
        // Only informative (the templates carry their ids): the usual names of the two specials.
        if (!c.single_template.empty() && !c.single_template.front().is_sequence)
          c.cls_token = c.single_template.front().special_token;
        if (!c.single_template.empty() && !c.single_template.back().is_sequence)
          c.sep_token = c.single_template.back().special_token;
      } else {
        throw Error(::tz::detail::concat(path.string(), ": post_processor type '", pt,
                                   "' is not supported (expected TemplateProcessing or BertProcessing)"));
      }
    }

    const json dec = j.contains("decoder") ? j["decoder"] : json();
    if (dec.is_null()) {
      c.decoder_wordpiece = false;
    } else {
      std::string dt = dec.at("type").get<std::string>();
      TZ_CHECK(dt == "WordPiece", path.string(), ": decoder type '", dt, "' is not supported (expected WordPiece)");
      c.decoder_prefix = dec.value("prefix", std::string("##"));
      c.decoder_cleanup = get_bool(dec, "cleanup", true);
    }
    if (j.contains("padding") && j["padding"].is_object() && j["padding"].contains("pad_token"))
      c.pad_token = j["padding"]["pad_token"].get<std::string>();

    auto vocab = std::make_shared<const Vocab>(std::move(tokens), std::move(present), c.continuing_subword_prefix,
                                               c.max_input_chars_per_word * 4);
    return WordPiece(std::move(vocab), std::move(c));
  });
}

WordPiece WordPiece::from_pretrained(const fs::path& path) {
  TZ_CHECK(fs::exists(path), "tokenizer: '", path.string(), "' does not exist");
  if (!fs::is_directory(path)) {
    if (path.extension() == ".json") return from_tokenizer_json(path);
    return from_vocab_file(path);
  }
  fs::path config_path = path / "tokenizer_config.json";
  std::optional<std::size_t> max_length;
  json config = json::object(), special_map = json::object();
  if (fs::exists(config_path)) config = read_json(config_path);
  if (fs::exists(path / "special_tokens_map.json")) special_map = read_json(path / "special_tokens_map.json");
  with_file_context(config_path, [&] {
    if (config.contains("model_max_length") && config["model_max_length"].is_number()) {
      // HF writes 1e30 for "no limit"; keep it representable.
      double v = config["model_max_length"].get<double>();
      max_length = v >= 0 && v < 1e15 ? static_cast<std::size_t>(v) : std::size_t{1} << 50;
    }
    return 0;
  });

  if (fs::exists(path / "tokenizer.json")) {
    WordPiece tok = from_tokenizer_json(path / "tokenizer.json");
    if (max_length) {
      auto m = std::make_shared<Model>(*tok.model_);
      m->config.model_max_length = *max_length;
      tok.model_ = m;
    }
    return tok;
  }
  TZ_CHECK(fs::exists(path / "vocab.txt"), "tokenizer: '", path.string(),
           "' has neither tokenizer.json nor vocab.txt");

  WordPieceConfig c;
  with_file_context(config_path, [&] {
    TZ_CHECK(config.is_object(), config_path.string(), ":1: expected a JSON object");
    c.normalizer.lowercase = get_bool(config, "do_lower_case", true);
    if (config.contains("strip_accents") && !config["strip_accents"].is_null())
      c.normalizer.strip_accents = config["strip_accents"].get<bool>();
    c.normalizer.handle_chinese_chars = get_bool(config, "tokenize_chinese_chars", true);
    if (max_length) c.model_max_length = *max_length;
    // Special tokens: tokenizer_config.json wins over special_tokens_map.json.
    for (const json* src : {&special_map, &config}) {
      if (auto t = token_content(*src, "unk_token")) c.unk_token = *t;
      if (auto t = token_content(*src, "sep_token")) c.sep_token = *t;
      if (auto t = token_content(*src, "pad_token")) c.pad_token = *t;
      if (auto t = token_content(*src, "cls_token")) c.cls_token = *t;
      if (auto t = token_content(*src, "mask_token")) c.mask_token = *t;
    }
    for (const std::string* t : {&c.unk_token, &c.sep_token, &c.pad_token, &c.cls_token, &c.mask_token})
      c.added_tokens.push_back(AddedToken{*t});
    for (const json* src : {&special_map, &config})
      if (src->contains("additional_special_tokens") && (*src)["additional_special_tokens"].is_array())
        for (const json& t : (*src)["additional_special_tokens"])
          c.added_tokens.push_back(AddedToken{t.is_string() ? t.get<std::string>() : t.at("content").get<std::string>()});
    if (config.contains("added_tokens_decoder") && config["added_tokens_decoder"].is_object())
      for (auto it = config["added_tokens_decoder"].begin(); it != config["added_tokens_decoder"].end(); ++it) {
        AddedToken a = added_token_from_json(it.value());
        // Digits only, checked before std::stoull (which throws its own exception on "x1").
        const std::string& key = it.key();
        TZ_CHECK(!key.empty() && key.size() <= 9 && std::all_of(key.begin(), key.end(), [](char ch) {
                   return ch >= '0' && ch <= '9';
                 }), config_path.string(), ": added_tokens_decoder key '", key, "' is not an id");
        unsigned long long id = std::stoull(key);
        check_vocab_size(static_cast<std::size_t>(id), config_path);
        a.id = static_cast<int64_t>(id);
        bool known = false;
        for (AddedToken& existing : c.added_tokens)
          if (existing.content == a.content) {
            existing = a;
            known = true;
          }
        if (!known) c.added_tokens.push_back(a);
      }
    return 0;
  });
  // Drop duplicate contents (a token listed twice keeps its first entry).
  std::vector<AddedToken> unique;
  for (const AddedToken& a : c.added_tokens) {
    bool seen = false;
    for (const AddedToken& u : unique) seen = seen || u.content == a.content;
    if (!seen && !a.content.empty()) unique.push_back(a);
  }
  c.added_tokens = std::move(unique);
  return from_vocab_file(path / "vocab.txt", std::move(c));
}

fs::path WordPiece::save_vocabulary(const fs::path& directory, const std::string& prefix) const {
  fs::path file = fs::is_directory(directory) ? directory / (prefix.empty() ? "vocab.txt" : prefix + "-vocab.txt")
                                              : directory;
  const Vocab& v = *model_->vocab;
  std::string out;
  for (std::size_t id = 0; id < v.id_limit(); ++id) {
    const std::string* t = v.token(static_cast<int64_t>(id));
    TZ_CHECK(t != nullptr, "save_vocabulary: id ", id, " has no token, so a vocab.txt (id = line) cannot represent it");
    TZ_CHECK(t->find('\n') == std::string::npos, "save_vocabulary: token ", id, " contains a newline");
    out += *t;
    out += '\n';
  }
  std::ofstream f(file, std::ios::binary);
  TZ_CHECK(f.good(), "save_vocabulary: cannot write '", file.string(), "'");
  f << out;
  TZ_CHECK(f.good(), "save_vocabulary: error while writing '", file.string(), "'");
  return file;
}

}  // namespace tz::tokenizer
