// Loading and saving WordPiece tokenizers the way HF's BertTokenizer family does: vocab.txt with
// tokenizer_config.json and special_tokens_map.json, or a directory that also holds
// tokenizer.json. tokenizer_config.json's options are read as transformers 4.x reads them for
// BertTokenizer(Fast), ConvBertTokenizer(Fast), ElectraTokenizer(Fast) and
// DistilBertTokenizer(Fast): do_lower_case, strip_accents, tokenize_chinese_chars (which replace
// tokenizer.json's normalizer settings, as the Fast classes' constructors do), do_basic_tokenize,
// never_split, model_max_length, the special tokens, added_tokens_decoder, tokenizer_class and
// model_input_names. Every file is untrusted: errors name the file and line or field.
// Not here: tokenizer.json itself (tokenizer_json.cpp). Partner header: wordpiece.h.
#include <nlohmann/json.hpp>

#include <algorithm>

#include "core/error.h"
#include "tokenizer/json_files.h"
#include "tokenizer/unicode.h"
#include "tokenizer/wordpiece.h"

namespace tz::tokenizer {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

/// A special token in a config: a plain string or an AddedToken object {"content": ...}.
std::optional<std::string> token_content(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || j[key].is_null()) return std::nullopt;
  const json& v = j[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content")) return v["content"].get<std::string>();
  throw Error(::tz::detail::concat("'", key, "' must be a string or an object with \"content\""));
}

std::vector<std::string> string_list(const json& j, const char* key) {
  std::vector<std::string> out;
  if (!j.contains(key) || j[key].is_null()) return out;
  TZ_CHECK(j[key].is_array(), "'", key, "' must be a list of strings");
  for (const json& s : j[key]) out.push_back(s.get<std::string>());
  return out;
}

/// What every tokenizer_config.json says besides the normalizer and the vocabulary's tokens.
void read_common_options(const json& config, WordPieceConfig& c) {
  if (config.contains("model_max_length") && config["model_max_length"].is_number()) {
    // HF writes 1e30 for "no limit"; keep it representable.
    double v = config["model_max_length"].get<double>();
    c.model_max_length = v >= 0 && v < 1e15 ? static_cast<std::size_t>(v) : WordPieceConfig::kNoMaxLength;
  }
  c.do_basic_tokenize = detail::json_bool(config, "do_basic_tokenize", true);
  c.never_split = string_list(config, "never_split");
  if (config.contains("tokenizer_class") && !config["tokenizer_class"].is_null())
    c.tokenizer_class = config["tokenizer_class"].get<std::string>();
  c.model_input_names = string_list(config, "model_input_names");
  // The class is checked here so that an unknown one is reported with the file's name.
  if (c.model_input_names.empty()) WordPiece::class_model_input_names(c.tokenizer_class);
}

/// do_lower_case, strip_accents and tokenize_chinese_chars with the defaults of BertTokenizer's
/// and BertTokenizerFast's constructors (true, unset, true).
void read_normalizer_options(const json& config, NormalizerOptions& n) {
  n.lowercase = detail::json_bool(config, "do_lower_case", true);
  if (config.contains("strip_accents") && !config["strip_accents"].is_null())
    n.strip_accents = config["strip_accents"].get<bool>();
  else
    n.strip_accents.reset();
  n.handle_chinese_chars = detail::json_bool(config, "tokenize_chinese_chars", true);
}

/// The Fast classes of the BERT family replace tokenizer.json's normalizer settings by the
/// constructor's (so by tokenizer_config.json's, or the defaults); PreTrainedTokenizerFast and a
/// bare tokenizer.json keep the file's.
bool constructor_sets_normalizer(const std::string& tokenizer_class) {
  std::string base = tokenizer_class;
  if (base.size() > 4 && base.compare(base.size() - 4, 4, "Fast") == 0) base.resize(base.size() - 4);
  return base == "BertTokenizer" || base == "ConvBertTokenizer" || base == "ElectraTokenizer" ||
         base == "DistilBertTokenizer";
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
  std::string text = detail::read_text_file(vocab_txt);
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
    detail::check_token_id(tokens.size(), vocab_txt);
    tokens.emplace_back(token);
    pos = nl == std::string::npos ? text.size() : nl + 1;
  }
  TZ_CHECK(!tokens.empty(), vocab_txt.string(), ":1: the vocabulary is empty");
  return from_tokens(std::move(tokens), std::move(config));
}

WordPiece WordPiece::from_pretrained(const fs::path& path) {
  TZ_CHECK(fs::exists(path), "tokenizer: '", path.string(), "' does not exist");
  if (!fs::is_directory(path)) {
    if (path.extension() == ".json") return from_tokenizer_json(path);
    return from_vocab_file(path);
  }
  fs::path config_path = path / "tokenizer_config.json";
  fs::path map_path = path / "special_tokens_map.json";
  json config = json::object(), special_map = json::object();
  if (fs::exists(config_path)) config = detail::read_json_file(config_path);
  if (fs::exists(map_path)) special_map = detail::read_json_file(map_path);
  TZ_CHECK(config.is_object(), config_path.string(), ":1: expected a JSON object");
  TZ_CHECK(special_map.is_object(), map_path.string(), ":1: expected a JSON object");
  auto in_config = [&](auto&& fn) {
    detail::with_file_context(config_path, [&] {
      try {
        fn();
      } catch (const Error& e) {
        throw Error(::tz::detail::concat(config_path.string(), ": ", e.what()));
      }
      return 0;
    });
  };

  if (fs::exists(path / "tokenizer.json")) {
    WordPiece tok = from_tokenizer_json(path / "tokenizer.json");
    WordPieceConfig c = tok.config();
    in_config([&] {
      read_common_options(config, c);
      if (constructor_sets_normalizer(c.tokenizer_class)) read_normalizer_options(config, c.normalizer);
      // The names of the special tokens (the templates and the model keep their own ids).
      for (const json* src : {&special_map, &config}) {
        if (auto t = token_content(*src, "cls_token")) c.cls_token = *t;
        if (auto t = token_content(*src, "sep_token")) c.sep_token = *t;
        if (auto t = token_content(*src, "pad_token")) c.pad_token = *t;
        if (auto t = token_content(*src, "mask_token")) c.mask_token = *t;
      }
    });
    return WordPiece(tok.model_->vocab, std::move(c));
  }
  TZ_CHECK(fs::exists(path / "vocab.txt"), "tokenizer: '", path.string(),
           "' has neither tokenizer.json nor vocab.txt");

  WordPieceConfig c;
  in_config([&] {
    read_common_options(config, c);
    read_normalizer_options(config, c.normalizer);
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
        AddedToken a = detail::added_token_from_json(it.value());
        std::size_t used = 0;
        unsigned long long id = 0;
        try {
          id = std::stoull(it.key(), &used);
        } catch (const std::exception&) {
          used = 0;
        }
        TZ_CHECK(used > 0 && used == it.key().size(), "added_tokens_decoder key '", it.key(), "' is not an id");
        detail::check_token_id(static_cast<std::size_t>(id), config_path);
        a.id = static_cast<int64_t>(id);
        bool known = false;
        for (AddedToken& existing : c.added_tokens)
          if (existing.content == a.content) {
            existing = a;
            known = true;
          }
        if (!known) c.added_tokens.push_back(a);
      }
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
  detail::write_text_file(file, out, "save_vocabulary");
  return file;
}

std::vector<fs::path> WordPiece::save_pretrained(const fs::path& directory) const {
  const WordPieceConfig& c = model_->config;
  std::error_code ec;
  fs::create_directories(directory, ec);
  TZ_CHECK(fs::is_directory(directory), "save_pretrained: cannot create the directory '", directory.string(), "'");
  std::vector<fs::path> written;

  written.push_back(directory / "tokenizer.json");
  save_tokenizer_json(written.back());
  // vocab.txt numbers tokens by line: a vocabulary with unused ids (possible in tokenizer.json)
  // has no vocab.txt, and tokenizer.json alone describes it.
  const Vocab& v = *model_->vocab;
  bool by_line = true;
  for (std::size_t id = 0; by_line && id < v.id_limit(); ++id) {
    const std::string* t = v.token(static_cast<int64_t>(id));
    by_line = t != nullptr && t->find('\n') == std::string::npos;
  }
  if (by_line) written.push_back(save_vocabulary(directory));

  // tokenizer_config.json as transformers writes it: keys sorted, added tokens by id.
  json config = json::object();
  json decoder = json::object();
  for (const auto* list : {&model_->raw_added, &model_->normalized_added})
    for (const AddedToken& t : *list)
      decoder[std::to_string(t.id)] = {{"content", t.content},     {"lstrip", t.lstrip},
                                       {"normalized", t.normalized}, {"rstrip", t.rstrip},
                                       {"single_word", t.single_word}, {"special", t.special}};
  config["added_tokens_decoder"] = decoder;
  config["clean_up_tokenization_spaces"] = true;
  config["cls_token"] = c.cls_token;
  config["do_basic_tokenize"] = c.do_basic_tokenize;
  config["do_lower_case"] = c.normalizer.lowercase;
  config["mask_token"] = c.mask_token;
  if (!c.model_input_names.empty()) config["model_input_names"] = c.model_input_names;
  if (c.model_max_length >= WordPieceConfig::kNoMaxLength)
    config["model_max_length"] = 1e30;  // transformers' "no limit"
  else
    config["model_max_length"] = c.model_max_length;
  config["never_split"] = c.never_split.empty() ? json(nullptr) : json(c.never_split);
  config["pad_token"] = c.pad_token;
  config["sep_token"] = c.sep_token;
  config["strip_accents"] = c.normalizer.strip_accents ? json(*c.normalizer.strip_accents) : json(nullptr);
  config["tokenize_chinese_chars"] = c.normalizer.handle_chinese_chars;
  config["tokenizer_class"] = c.tokenizer_class.empty() ? std::string("BertTokenizer") : c.tokenizer_class;
  config["unk_token"] = c.unk_token;

  json special_map = {{"cls_token", c.cls_token}, {"mask_token", c.mask_token}, {"pad_token", c.pad_token},
                      {"sep_token", c.sep_token}, {"unk_token", c.unk_token}};
  std::vector<std::string> additional;
  for (const auto* list : {&model_->raw_added, &model_->normalized_added})
    for (const AddedToken& t : *list)
      if (t.special && t.content != c.cls_token && t.content != c.mask_token && t.content != c.pad_token &&
          t.content != c.sep_token && t.content != c.unk_token)
        additional.push_back(t.content);
  if (!additional.empty()) {
    special_map["additional_special_tokens"] = additional;
    config["additional_special_tokens"] = additional;
  }

  written.push_back(directory / "tokenizer_config.json");
  detail::write_text_file(written.back(), config.dump(2) + "\n", "save_pretrained");
  written.push_back(directory / "special_tokens_map.json");
  detail::write_text_file(written.back(), special_map.dump(2) + "\n", "save_pretrained");
  return written;
}

}  // namespace tz::tokenizer
