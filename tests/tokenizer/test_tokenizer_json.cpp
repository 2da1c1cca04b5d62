// tokenizer.json written by WordPiece::save_tokenizer_json and the directory written by
// save_pretrained. For the reference tokenizer the file must equal HF's
// (shared/reference/tokenizer/tokenizer.json) field by field and byte for byte. Every file written
// is checked against the `tokenizers` crate's serde schema (field names, order, types and enum
// values, written out below from its sources) and read back: the reloaded tokenizer must encode
// as the original did. When /usr/bin/python3 has the `tokenizers` package the file is also loaded
// there and must give the same ids.
#include <nlohmann/json.hpp>

#include <unistd.h>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "core/error.h"
#include "tests/test_util.h"
#include "tokenizer/wordpiece.h"

using namespace tz::tokenizer;
using nlohmann::json;
using nlohmann::ordered_json;
namespace fs = std::filesystem;

namespace {

fs::path temp_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("tz_tokenizer_json_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::vector<std::string> keys(const ordered_json& j) {
  std::vector<std::string> out;
  for (auto it = j.begin(); it != j.end(); ++it) out.push_back(it.key());
  return out;
}

using Keys = std::vector<std::string>;

bool is_direction(const ordered_json& j) { return j == "Left" || j == "Right"; }

/// The crate's serde schema for a tokenizer.json of the kinds we write.
void check_schema(const ordered_json& j) {
  REQUIRE(j.is_object());
  CHECK(keys(j) == Keys{"version", "truncation", "padding", "added_tokens", "normalizer", "pre_tokenizer",
                        "post_processor", "decoder", "model"});
  CHECK(j["version"] == "1.0");

  const ordered_json& t = j["truncation"];
  if (!t.is_null()) {
    CHECK(keys(t) == Keys{"direction", "max_length", "strategy", "stride"});
    CHECK(is_direction(t["direction"]));
    CHECK(t["max_length"].is_number_unsigned());
    CHECK((t["strategy"] == "LongestFirst" || t["strategy"] == "OnlyFirst" || t["strategy"] == "OnlySecond"));
    CHECK(t["stride"].is_number_unsigned());
  }
  const ordered_json& p = j["padding"];
  if (!p.is_null()) {
    CHECK(keys(p) == Keys{"strategy", "direction", "pad_to_multiple_of", "pad_id", "pad_type_id", "pad_token"});
    const ordered_json& s = p["strategy"];
    CHECK((s == "BatchLongest" || (s.is_object() && keys(s) == Keys{"Fixed"} && s["Fixed"].is_number_unsigned())));
    CHECK(is_direction(p["direction"]));
    CHECK((p["pad_to_multiple_of"].is_null() || p["pad_to_multiple_of"].is_number_unsigned()));
    CHECK(p["pad_id"].is_number_unsigned());
    CHECK(p["pad_type_id"].is_number_unsigned());
    CHECK(p["pad_token"].is_string());
  }

  REQUIRE(j["added_tokens"].is_array());
  std::set<int64_t> added_ids;
  for (const auto& a : j["added_tokens"]) {
    CHECK(keys(a) == Keys{"id", "content", "single_word", "lstrip", "rstrip", "normalized", "special"});
    CHECK(a["id"].is_number_unsigned());
    CHECK(a["content"].is_string());
    for (const char* flag : {"single_word", "lstrip", "rstrip", "normalized", "special"}) CHECK(a[flag].is_boolean());
    CHECK(added_ids.insert(a["id"].get<int64_t>()).second);
  }

  const ordered_json& n = j["normalizer"];
  CHECK(keys(n) == Keys{"type", "clean_text", "handle_chinese_chars", "strip_accents", "lowercase"});
  CHECK(n["type"] == "BertNormalizer");
  CHECK((n["strip_accents"].is_null() || n["strip_accents"].is_boolean()));
  CHECK(j["pre_tokenizer"] == ordered_json{{"type", "BertPreTokenizer"}});

  const ordered_json& pp = j["post_processor"];
  if (pp.is_object() && pp["type"] == "TemplateProcessing") {
    CHECK(keys(pp) == Keys{"type", "single", "pair", "special_tokens"});
    std::set<std::string> used;
    for (const char* which : {"single", "pair"})
      for (const auto& piece : pp[which]) {
        REQUIRE(piece.size() == 1);
        if (piece.contains("Sequence")) {
          CHECK(keys(piece["Sequence"]) == Keys{"id", "type_id"});
          CHECK((piece["Sequence"]["id"] == "A" || piece["Sequence"]["id"] == "B"));
        } else {
          CHECK(keys(piece["SpecialToken"]) == Keys{"id", "type_id"});
          used.insert(piece["SpecialToken"]["id"].get<std::string>());
        }
      }
    std::set<std::string> defined;
    std::string previous;
    for (auto it = pp["special_tokens"].begin(); it != pp["special_tokens"].end(); ++it) {
      CHECK(keys(it.value()) == Keys{"id", "ids", "tokens"});
      CHECK(it.value()["id"] == it.key());
      CHECK(it.value()["ids"].size() == it.value()["tokens"].size());
      CHECK(previous < it.key());  // written sorted by name
      previous = it.key();
      defined.insert(it.key());
    }
    CHECK(used == defined);
  } else if (pp.is_object()) {
    CHECK(keys(pp) == Keys{"type", "sep", "cls"});
    CHECK(pp["type"] == "BertProcessing");
    CHECK((pp["sep"].size() == 2 && pp["sep"][0].is_string() && pp["sep"][1].is_number_unsigned()));
    CHECK((pp["cls"].size() == 2 && pp["cls"][0].is_string() && pp["cls"][1].is_number_unsigned()));
  }

  const ordered_json& d = j["decoder"];
  if (!d.is_null()) {
    CHECK(keys(d) == Keys{"type", "prefix", "cleanup"});
    CHECK(d["type"] == "WordPiece");
  }

  const ordered_json& m = j["model"];
  CHECK(keys(m) == Keys{"type", "unk_token", "continuing_subword_prefix", "max_input_chars_per_word", "vocab"});
  CHECK(m["type"] == "WordPiece");
  CHECK(m["max_input_chars_per_word"].is_number_unsigned());
  int64_t last = -1;
  bool ascending = true;
  for (const auto& [token, id] : m["vocab"].items()) {
    ascending = ascending && id.is_number_unsigned() && id.get<int64_t>() > last;
    last = id.get<int64_t>();
  }
  CHECK(ascending);  // the crate writes the vocabulary in id order
  CHECK(m["vocab"].contains(m["unk_token"].get<std::string>()));
}

/// Reports every differing field by its path, then the whole comparison.
void compare_fields(const ordered_json& ours, const ordered_json& theirs, const std::string& path,
                    std::size_t& differences) {
  if (ours.is_object() && theirs.is_object()) {
    if (keys(ours) != keys(theirs)) {
      ++differences;
      UNSCOPED_INFO(path << ": fields differ");
    }
    for (auto it = theirs.begin(); it != theirs.end(); ++it)
      if (ours.contains(it.key())) compare_fields(ours[it.key()], it.value(), path + "." + it.key(), differences);
  } else if (ours != theirs && differences++ < 20) {
    UNSCOPED_INFO(path << ": ours " << ours.dump().substr(0, 200) << " vs HF " << theirs.dump().substr(0, 200));
  }
}

/// Encodings that touch every part of a tokenizer.json: specials, pairs, truncation, padding.
void check_same_encodings(const WordPiece& a, const WordPiece& b) {
  const std::vector<std::string> texts = {"Hello, World! [MASK] and [SEP]", "Ünïcode café 中文 text", "",
                                          "a <extra> b<extra>c", "unaffable runs!"};
  for (const auto& t : texts) {
    INFO("text: " << t);
    for (const auto& opts : {a.default_options(), EncodeOptions{}}) {
      Encoding x = a.encode(t, opts), y = b.encode(t, opts);
      CHECK(x.ids == y.ids);
      CHECK(x.tokens == y.tokens);
      CHECK(x.offsets == y.offsets);
      CHECK(x.special_tokens_mask == y.special_tokens_mask);
      CHECK(x.overflowing.size() == y.overflowing.size());
      Encoding px = a.encode_pair(t, "second one", opts), py = b.encode_pair(t, "second one", opts);
      CHECK(px.ids == py.ids);
      CHECK(px.type_ids == py.type_ids);
    }
    CHECK(a.decode(a.encode(t).ids) == b.decode(b.encode(t).ids));
  }
}

bool python_has_tokenizers() { return std::system("/usr/bin/python3 -c 'import tokenizers' > /dev/null 2>&1") == 0; }

}  // namespace

TEST_CASE("tokenizer.json of the reference tokenizer equals HF's", "[tokenizer][tokenizer-json]") {
  if (!tz::test::have_reference("tokenizer")) return;
  fs::path ref = tz::test::reference_dir() / "tokenizer";
  fs::path dir = temp_dir("reference");
  const std::string hf_text = slurp(ref / "tokenizer.json");
  const ordered_json hf = ordered_json::parse(hf_text);
  check_schema(hf);  // the schema as written here describes HF's own file

  // Read from HF's tokenizer.json, and built from vocab.txt as BertTokenizerFast converts it.
  for (const char* source : {"tokenizer.json", "vocab.txt"}) {
    INFO("loaded from " << source);
    auto tok = WordPiece::from_pretrained(ref / source);
    tok.save_tokenizer_json(dir / "tokenizer.json");
    const std::string text = slurp(dir / "tokenizer.json");
    const ordered_json ours = ordered_json::parse(text);
    check_schema(ours);
    std::size_t differences = 0;
    compare_fields(ours, hf, "tokenizer.json", differences);
    CHECK(differences == 0);
    CHECK(text == hf_text);  // HF's layout too: 2-space indentation, raw UTF-8, final newline
  }
  fs::remove_all(dir);
}

TEST_CASE("tokenizer.json round-trips every setting we write", "[tokenizer][tokenizer-json]") {
  fs::path dir = temp_dir("roundtrip");
  const std::vector<std::string> vocab = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", ",", "world",
                                          "!",     "and",   "un",    "##aff", "##able", "runs",  "a",  "b",
                                          "c",     "cafe",  "text",  "second", "one",   "中",   "文"};
  WordPieceConfig c;
  c.normalizer.lowercase = true;
  c.normalizer.strip_accents = false;
  c.normalizer.handle_chinese_chars = true;
  c.max_input_chars_per_word = 50;
  c.added_tokens = {AddedToken{"[PAD]"}, AddedToken{"[UNK]"}, AddedToken{"[CLS]"}, AddedToken{"[SEP]"},
                    AddedToken{"[MASK]"}};
  AddedToken extra;
  extra.content = "<extra>";
  extra.special = false;
  extra.single_word = true;
  extra.lstrip = true;
  extra.normalized = false;
  c.added_tokens.push_back(extra);
  AddedToken norm;
  norm.content = "Text";
  norm.special = false;
  norm.normalized = true;
  c.added_tokens.push_back(norm);
  c.decoder_cleanup = false;
  Truncation t;
  t.max_length = 9;
  t.stride = 2;
  t.strategy = TruncationStrategy::OnlyFirst;
  t.direction = Direction::Left;
  c.truncation = t;
  Padding p;
  p.max_length = 12;
  p.direction = Direction::Left;
  p.pad_to_multiple_of = 4;
  c.padding = p;

  for (const char* post : {"TemplateProcessing", "BertProcessing"}) {
    INFO(post);
    c.post_processor = post;
    auto tok = WordPiece::from_tokens(vocab, c);
    tok.save_tokenizer_json(dir / "tokenizer.json");
    ordered_json written = ordered_json::parse(slurp(dir / "tokenizer.json"));
    check_schema(written);
    CHECK(written["truncation"] ==
          ordered_json::parse(R"({"direction": "Left", "max_length": 9, "strategy": "OnlyFirst", "stride": 2})"));
    CHECK(written["padding"] == ordered_json::parse(R"({"strategy": {"Fixed": 12}, "direction": "Left",
        "pad_to_multiple_of": 4, "pad_id": 0, "pad_type_id": 0, "pad_token": "[PAD]"})"));
    CHECK(written["post_processor"]["type"] == post);
    CHECK(written["added_tokens"].size() == 7);

    auto back = WordPiece::from_tokenizer_json(dir / "tokenizer.json");
    CHECK(back.config().truncation->max_length == 9);
    CHECK(back.config().truncation->strategy == TruncationStrategy::OnlyFirst);
    CHECK(back.config().padding->pad_to_multiple_of == 4u);
    CHECK(back.config().post_processor == post);
    CHECK(back.config().normalizer.strip_accents == std::optional<bool>(false));
    CHECK_FALSE(back.config().decoder_cleanup);
    CHECK(back.config().max_input_chars_per_word == 50);
    check_same_encodings(tok, back);

    // Writing what was read gives the same file.
    back.save_tokenizer_json(dir / "again.json");
    CHECK(slurp(dir / "again.json") == slurp(dir / "tokenizer.json"));
  }

  if (python_has_tokenizers()) {
    // HF's own reader: the same ids for a text and a pair.
    auto tok = WordPiece::from_tokens(vocab, c);
    tok.save_tokenizer_json(dir / "tokenizer.json");
    std::ostringstream cmd;
    cmd << "/usr/bin/python3 -c \"import tokenizers,sys; t=tokenizers.Tokenizer.from_file(sys.argv[1]); "
           "print(' '.join(map(str, t.encode('Hello, World! and un affable', 'second one').ids)))\" \""
        << (dir / "tokenizer.json").string() << "\" > \"" << (dir / "ids.txt").string() << "\"";
    REQUIRE(std::system(cmd.str().c_str()) == 0);
    std::string ids_text = slurp(dir / "ids.txt");
    std::ostringstream ours;
    auto enc = tok.encode_pair("Hello, World! and un affable", "second one");
    for (std::size_t k = 0; k < enc.ids.size(); ++k) ours << (k ? " " : "") << enc.ids[k];
    CHECK(ids_text == ours.str() + "\n");
  } else {
    WARN("/usr/bin/python3 has no `tokenizers` package: HF's reader not run (schema and round trip checked)");
  }
  fs::remove_all(dir);
}

TEST_CASE("save_pretrained writes what from_pretrained and HF read back", "[tokenizer][tokenizer-json]") {
  fs::path dir = temp_dir("pretrained");
  WordPieceConfig c;
  c.normalizer.lowercase = false;
  c.tokenizer_class = "DistilBertTokenizerFast";
  c.never_split = {"C++"};
  c.do_basic_tokenize = true;
  c.model_max_length = 128;
  auto tok = WordPiece::from_tokens({"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "C++", "C", "+", "x"}, c);
  auto files = tok.save_pretrained(dir / "out");
  CHECK(files.size() == 4);
  for (const auto& f : files) CHECK(fs::exists(f));

  json config = json::parse(slurp(dir / "out" / "tokenizer_config.json"));
  CHECK(config["tokenizer_class"] == "DistilBertTokenizerFast");
  CHECK(config["do_lower_case"] == false);
  CHECK(config["never_split"] == json::array({"C++"}));
  CHECK(config["do_basic_tokenize"] == true);
  CHECK(config["model_max_length"] == 128);
  CHECK(config["added_tokens_decoder"]["0"]["content"] == "[PAD]");
  CHECK_FALSE(config.contains("model_input_names"));  // the class's own
  json special_map = json::parse(slurp(dir / "out" / "special_tokens_map.json"));
  CHECK(special_map == json::parse(R"({"cls_token": "[CLS]", "mask_token": "[MASK]", "pad_token": "[PAD]",
                                       "sep_token": "[SEP]", "unk_token": "[UNK]"})"));
  check_schema(ordered_json::parse(slurp(dir / "out" / "tokenizer.json")));

  auto back = WordPiece::from_pretrained(dir / "out");
  CHECK(back.model_input_names() == std::vector<std::string>{"input_ids", "attention_mask"});
  CHECK(back.config().never_split == std::vector<std::string>{"C++"});
  CHECK_FALSE(back.config().normalizer.lowercase);
  CHECK(back.config().model_max_length == 128);
  CHECK(back.tokenize("x C++ x") == std::vector<std::string>{"x", "C++", "x"});
  CHECK(back.tokenize("x C++ x") == tok.tokenize("x C++ x"));
  fs::remove_all(dir);
}

TEST_CASE("malformed truncation and padding in tokenizer.json are refused", "[tokenizer][tokenizer-json]") {
  fs::path dir = temp_dir("malformed");
  auto tok = WordPiece::from_tokens({"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a"});
  tok.save_tokenizer_json(dir / "good.json");
  json j = json::parse(slurp(dir / "good.json"));
  auto refused = [&](const json& bad, const std::string& needle) {
    std::ofstream(dir / "bad.json") << bad.dump();
    try {
      WordPiece::from_tokenizer_json(dir / "bad.json");
      FAIL("expected an error for " << bad.dump().substr(0, 120));
    } catch (const tz::Error& e) {
      std::string what = e.what();
      CHECK(what.find("bad.json") != std::string::npos);
      CHECK(what.find(needle) != std::string::npos);
    }
  };
  json bad = j;
  bad["truncation"] = {{"max_length", 8}, {"strategy", "Sideways"}, {"stride", 0}};
  refused(bad, "Sideways");
  bad["truncation"] = {{"max_length", -8}, {"strategy", "LongestFirst"}, {"stride", 0}};
  refused(bad, "max_length");
  bad = j;
  bad["padding"] = {{"strategy", {{"Fixed", 1e12}}}, {"direction", "Right"}, {"pad_id", 0},
                    {"pad_type_id", 0}, {"pad_token", "[PAD]"}};
  refused(bad, "Fixed");
  bad["padding"]["strategy"] = {{"Fixed", 1000000000000}};
  refused(bad, "out of range");
  bad["padding"]["strategy"] = "Longest";
  refused(bad, "BatchLongest");
  bad = j;
  bad["version"] = "2.0";
  refused(bad, "version");
  fs::remove_all(dir);
}
