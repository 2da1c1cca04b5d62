// `tensorzoo tokenize`: WordPiece tokenization from the command line.
//   tensorzoo tokenize --tokenizer PATH [--pair] [--no-special-tokens] [--max-length N]
//                      [--truncation STRATEGY] [--padding STRATEGY] [--stride N] "text" ["pair text"]
//       prints the model's input names, then the tokens, ids, type ids, attention mask and offsets
//       of the encoding and of each overflowing window;
//   tensorzoo tokenize --tokenizer PATH --cases IN.jsonl --output OUT.jsonl
//       reads cases in the format of shared/reference/tokenizer/cases.jsonl and writes each case
//       back with "expected" replaced by our output (every field the reference has), or by
//       {"error": message} where we refuse the input or the options.
// The library side is tokenizer/wordpiece.h; the parity test is tests/tokenizer/.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>

#include "cli/args.h"
#include "cli/command.h"
#include "core/error.h"
#include "tokenizer/wordpiece.h"

namespace tz::cli {
namespace {

using nlohmann::ordered_json;
namespace tk = tz::tokenizer;

tk::Direction direction_from(const ordered_json& o, const char* key) {
  std::string d = o.contains(key) && o[key].is_string() ? o[key].get<std::string>() : "right";
  TZ_CHECK(d == "right" || d == "left", "options: ", key, " must be \"right\" or \"left\", got \"", d, "\"");
  return d == "left" ? tk::Direction::Left : tk::Direction::Right;
}

/// The per-case options of cases.jsonl: normalizer settings and encode options.
std::pair<tk::NormalizerOptions, tk::EncodeOptions> options_from(const ordered_json& o,
                                                                 const tk::NormalizerOptions& base) {
  tk::NormalizerOptions n = base;
  tk::EncodeOptions e;
  e.char_offsets = true;
  if (!o.is_object()) return {n, e};
  if (o.contains("lowercase") && o["lowercase"].is_boolean()) n.lowercase = o["lowercase"].get<bool>();
  if (o.contains("strip_accents")) {
    if (o["strip_accents"].is_null())
      n.strip_accents.reset();
    else
      n.strip_accents = o["strip_accents"].get<bool>();
  }
  if (o.contains("add_special_tokens")) e.add_special_tokens = o["add_special_tokens"].get<bool>();
  if (o.contains("truncation") && o["truncation"].is_object()) {
    const auto& t = o["truncation"];
    tk::Truncation tr;
    tr.max_length = t.at("max_length").get<std::size_t>();
    std::string s = t.contains("strategy") ? t["strategy"].get<std::string>() : "longest_first";
    if (s == "longest_first")
      tr.strategy = tk::TruncationStrategy::LongestFirst;
    else if (s == "only_first")
      tr.strategy = tk::TruncationStrategy::OnlyFirst;
    else if (s == "only_second")
      tr.strategy = tk::TruncationStrategy::OnlySecond;
    else
      throw Error(detail::concat("options: unknown truncation strategy \"", s, "\""));
    if (t.contains("stride")) tr.stride = t["stride"].get<std::size_t>();
    tr.direction = direction_from(t, "direction");
    e.truncation = tr;
  }
  if (o.contains("padding") && o["padding"].is_object()) {
    const auto& p = o["padding"];
    tk::Padding pad;
    if (p.contains("max_length") && !p["max_length"].is_null()) pad.max_length = p["max_length"].get<std::size_t>();
    if (p.contains("pad_to_multiple_of") && !p["pad_to_multiple_of"].is_null())
      pad.pad_to_multiple_of = p["pad_to_multiple_of"].get<std::size_t>();
    pad.direction = direction_from(p, "direction");
    e.padding = pad;
  }
  return {n, e};
}

ordered_json encoding_json(const tk::WordPiece& tok, const tk::Encoding& enc, bool with_overflowing) {
  ordered_json j;
  j["tokens"] = enc.tokens;
  j["ids"] = enc.ids;
  j["type_ids"] = enc.type_ids;
  j["attention_mask"] = enc.attention_mask;
  j["special_tokens_mask"] = enc.special_tokens_mask;
  auto spans = [](const std::vector<tk::Offset>& v) {
    ordered_json a = ordered_json::array();
    for (const auto& o : v) a.push_back({o.begin, o.end});
    return a;
  };
  auto optional_ids = [](const std::vector<int32_t>& v) {
    ordered_json a = ordered_json::array();
    for (int32_t x : v) a.push_back(x < 0 ? ordered_json(nullptr) : ordered_json(x));
    return a;
  };
  j["offsets"] = spans(enc.char_offsets);
  j["offsets_utf8"] = spans(enc.offsets);
  j["sequence_ids"] = optional_ids(enc.sequence_ids);
  j["word_ids"] = optional_ids(enc.word_ids);
  j["decoded"] = tok.decode(enc.ids, false);
  j["decoded_skip_special"] = tok.decode(enc.ids, true);
  if (with_overflowing) {
    ordered_json o = ordered_json::array();
    for (const auto& w : enc.overflowing) o.push_back(encoding_json(tok, w, false));
    j["overflowing"] = o;
  }
  return j;
}

int run_cases(const tk::WordPiece& base, const std::string& in_path, const std::string& out_path) {
  TZ_CHECK(!std::filesystem::is_directory(in_path), "tokenize: cases file '", in_path, "' is a directory");
  std::ifstream in(in_path, std::ios::binary);
  TZ_CHECK(in.good(), "tokenize: cannot open cases file '", in_path, "'");
  // Written beside the output and renamed at the end, so a bad case file leaves no partial output.
  const std::string tmp_path = out_path + ".tmp";
  struct RemoveUnlessDone {
    std::string path;
    bool done = false;
    ~RemoveUnlessDone() {
      if (!done) std::remove(path.c_str());
    }
  } tmp_guard{tmp_path};
  std::ofstream out(tmp_path, std::ios::binary);
  TZ_CHECK(out.good(), "tokenize: cannot write '", tmp_path, "'");
  std::map<std::pair<bool, int>, tk::WordPiece> by_normalizer;  // (lowercase, strip: -1 unset/0/1)
  std::string line;
  std::size_t line_no = 0, n_cases = 0, n_errors = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    ordered_json c;
    try {
      c = ordered_json::parse(line);
    } catch (const ordered_json::exception& e) {  // parse errors, and numbers too large (out_of_range)
      throw Error(detail::concat(in_path, ":", line_no, ": invalid JSON (", e.what(), ")"));
    }
    TZ_CHECK(c.is_object() && c.contains("text") && c["text"].is_string(), in_path, ":", line_no,
             ": a case needs a string field \"text\"");
    ordered_json result;
    try {
      auto [norm, opts] = options_from(c.contains("options") ? c["options"] : ordered_json(), base.config().normalizer);
      auto key = std::make_pair(norm.lowercase, norm.strip_accents ? int(*norm.strip_accents) : -1);
      auto it = by_normalizer.find(key);
      if (it == by_normalizer.end()) it = by_normalizer.emplace(key, base.with_normalizer(norm)).first;
      const tk::WordPiece& tok = it->second;
      std::string text = c["text"].get<std::string>();
      tk::Encoding enc;
      if (c.contains("text_pair") && c["text_pair"].is_string())
        enc = tok.encode_pair(text, c["text_pair"].get<std::string>(), opts);
      else
        enc = tok.encode(text, opts);
      bool overflow = c.contains("options") && c["options"].value("return_overflowing_tokens", false);
      result = encoding_json(tok, enc, overflow);
    } catch (const std::exception& e) {
      result = ordered_json{{"error", e.what()}};
      ++n_errors;
    }
    c["expected"] = result;
    out << c.dump(-1, ' ', false, ordered_json::error_handler_t::replace) << "\n";
    ++n_cases;
  }
  TZ_CHECK(!in.bad(), "tokenize: error while reading '", in_path, "'");
  out.close();
  TZ_CHECK(out.good(), "tokenize: error while writing '", tmp_path, "'");
  TZ_CHECK(std::rename(tmp_path.c_str(), out_path.c_str()) == 0, "tokenize: cannot rename '", tmp_path, "' to '",
           out_path, "'");
  tmp_guard.done = true;
  std::cerr << "tokenize: wrote " << n_cases << " cases to " << out_path << " (" << n_errors << " refused)\n";
  return 0;
}

/// Padding and truncation from --padding, --truncation, --max-length and --stride, with the rules
/// of transformers' tokenizer call: only --max-length turns on longest_first truncation; truncation
/// or padding to max_length without --max-length use model_max_length (none when it is
/// transformers' "no limit"). Without any of them the tokenizer's stored settings apply
/// (tokenizer.json's truncation and padding), as HF's `tokenizers` library applies them.
tk::EncodeOptions options_from_flags(const ArgParser& p, const tk::WordPiece& tok) {
  std::string truncation = p.get("truncation"), padding = p.get("padding");
  std::string max_length_text = p.get("max-length"), stride_text = p.get("stride");
  if (truncation.empty() && padding.empty() && max_length_text.empty() && stride_text.empty())
    return tok.default_options();

  tk::EncodeOptions o;
  std::optional<std::size_t> max_length;
  if (!max_length_text.empty()) {
    long long v = p.get_int("max-length");
    TZ_CHECK(v >= 0, "tokenize: --max-length must be >= 0, got ", v);
    max_length = static_cast<std::size_t>(v);
  }
  std::size_t stride = 0;
  if (!stride_text.empty()) {
    long long v = p.get_int("stride");
    TZ_CHECK(v >= 0, "tokenize: --stride must be >= 0, got ", v);
    stride = static_cast<std::size_t>(v);
  }
  if (padding.empty()) padding = "do_not_pad";
  TZ_CHECK(padding == "longest" || padding == "max_length" || padding == "do_not_pad",
           "tokenize: --padding must be longest, max_length or do_not_pad, got '", padding, "'");
  if (truncation.empty()) truncation = max_length && padding == "do_not_pad" ? "longest_first" : "do_not_truncate";
  TZ_CHECK(truncation == "longest_first" || truncation == "only_first" || truncation == "only_second" ||
               truncation == "do_not_truncate",
           "tokenize: --truncation must be longest_first, only_first, only_second or do_not_truncate, got '",
           truncation, "'");
  std::optional<std::size_t> limit = max_length;
  if (!limit && tok.config().model_max_length < tk::WordPieceConfig::kNoMaxLength)
    limit = tok.config().model_max_length;

  if (truncation != "do_not_truncate" && limit) {
    tk::Truncation t;
    t.max_length = *limit;
    t.stride = stride;
    t.strategy = truncation == "only_first"    ? tk::TruncationStrategy::OnlyFirst
                 : truncation == "only_second" ? tk::TruncationStrategy::OnlySecond
                                               : tk::TruncationStrategy::LongestFirst;
    o.truncation = t;
  }
  if (padding == "longest") {
    o.padding = tk::Padding{};
  } else if (padding == "max_length" && limit) {
    o.padding = tk::Padding{};
    o.padding->max_length = *limit;
  }
  return o;
}

void print_encoding(const tk::Encoding& enc) {
  std::cout << "tokens:";
  for (const auto& t : enc.tokens) std::cout << " " << t;
  std::cout << "\nids:";
  for (auto id : enc.ids) std::cout << " " << id;
  std::cout << "\ntype_ids:";
  for (auto t : enc.type_ids) std::cout << " " << t;
  std::cout << "\nattention_mask:";
  for (auto a : enc.attention_mask) std::cout << " " << a;
  std::cout << "\noffsets:";
  for (const auto& o : enc.char_offsets) std::cout << " [" << o.begin << "," << o.end << ")";
  std::cout << "\n";
}

int run_tokenize(const std::vector<std::string>& args) {
  ArgParser p("tensorzoo tokenize", "Split text into WordPiece tokens and ids (HF BertTokenizerFast compatible).");
  p.option("tokenizer", "PATH", "vocab.txt, tokenizer.json or a model directory", "", true);
  p.flag("pair", "encode the two positional texts as a pair");
  p.flag("no-special-tokens", "do not add [CLS]/[SEP]");
  p.option("max-length", "N", "truncate (longest_first unless --truncation or --padding says otherwise) or pad to N");
  p.option("truncation", "STRATEGY",
           "longest_first, only_first, only_second or do_not_truncate; without --max-length: to model_max_length");
  p.option("padding", "STRATEGY", "longest, max_length (to --max-length or model_max_length) or do_not_pad");
  p.option("stride", "N", "tokens repeated between overflowing windows (with truncation)");
  p.flag("lenient", "replace invalid UTF-8 with U+FFFD instead of failing");
  p.option("cases", "IN.jsonl", "run every case of a cases.jsonl file (reference format)");
  p.option("output", "OUT.jsonl", "where --cases writes its results", "");
  p.positional("text", "text(s) to tokenize; without --max-length, --truncation, --padding and --stride the "
                       "tokenizer.json's stored truncation and padding apply");
  if (!p.parse(args)) return p.exit_code();

  tk::WordPiece tok = tk::WordPiece::from_pretrained(p.get("tokenizer"));
  if (p.has("cases") && !p.get("cases").empty()) {
    if (p.get("output").empty()) {
      std::cerr << "error: --cases needs --output\n";
      return 2;
    }
    return run_cases(tok, p.get("cases"), p.get("output"));
  }
  const auto& texts = p.positionals();
  if (texts.empty() || (p.get_flag("pair") && texts.size() != 2) || (!p.get_flag("pair") && texts.size() != 1)) {
    std::cerr << "error: give one text, or two with --pair (or --cases)\n\n" << p.help();
    return 2;
  }
  tk::EncodeOptions opts = options_from_flags(p, tok);
  opts.add_special_tokens = !p.get_flag("no-special-tokens");
  opts.lenient_utf8 = p.get_flag("lenient");
  opts.char_offsets = true;
  tk::Encoding enc = p.get_flag("pair") ? tok.encode_pair(texts[0], texts[1], opts) : tok.encode(texts[0], opts);
  std::cout << "model_input_names:";
  for (const auto& name : tok.model_input_names()) std::cout << " " << name;
  std::cout << "\n";
  print_encoding(enc);
  for (std::size_t k = 0; k < enc.overflowing.size(); ++k) {
    std::cout << "overflowing window " << k + 1 << " of " << enc.overflowing.size() << ":\n";
    print_encoding(enc.overflowing[k]);
  }
  return 0;
}

Command reg{"tokenize", "split text into WordPiece tokens and ids (or run a cases.jsonl file)", run_tokenize};

}  // namespace
}  // namespace tz::cli
