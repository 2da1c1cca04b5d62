// The fortune language-ID data set: file discovery, decoding, record normalisation, dedupe and the
// seeded balanced split. Partner: fortune_corpus.h (the rules are documented there).
#include "data/fortune_corpus.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <unordered_map>

#include "core/error.h"
#include "tensor/random.h"
#include "tokenizer/unicode.h"

namespace tz::data {

namespace fs = std::filesystem;
namespace uc = tz::tokenizer::unicode;

std::vector<FortuneSource> debian_fortune_sources() {
  std::vector<FortuneSource> s;
  s.push_back({"pt", "", {"brasil"}, {}, false, "iso-8859-1"});
  s.push_back({"de", "de", {}, {}, true, "iso-8859-1"});
  // es/off holds the offensive collection (not shown by `fortune` by default); we leave it out too.
  s.push_back({"es", "es", {}, {"off"}, false, "iso-8859-1"});
  s.push_back({"it", "it", {}, {}, true, "iso-8859-1"});
  s.push_back({"ru", "ru", {}, {}, true, "koi8-r"});
  s.push_back({"pl", "pl", {}, {}, true, "iso-8859-2"});
  // klasik-sk is Slovak; cz/ and sk/ only hold links into cs/.
  s.push_back({"cs", "cs", {}, {"klasik-sk"}, true, "iso-8859-2"});
  // The root: fortunes + fortunes-min. Art and translate-me are pictures and template strings.
  s.push_back({"en", "", {}, {"ascii-art", "translate-me"}, false, "iso-8859-1"});
  return s;
}

namespace {

// High halves (bytes 0x80..0xFF) of the legacy charsets, as Unicode code points.
constexpr char16_t kKoi8r[128] = {
    0x2500, 0x2502, 0x250C, 0x2510, 0x2514, 0x2518, 0x251C, 0x2524, 0x252C, 0x2534, 0x253C, 0x2580, 0x2584, 0x2588, 0x258C, 0x2590,
    0x2591, 0x2592, 0x2593, 0x2320, 0x25A0, 0x2219, 0x221A, 0x2248, 0x2264, 0x2265, 0x00A0, 0x2321, 0x00B0, 0x00B2, 0x00B7, 0x00F7,
    0x2550, 0x2551, 0x2552, 0x0451, 0x2553, 0x2554, 0x2555, 0x2556, 0x2557, 0x2558, 0x2559, 0x255A, 0x255B, 0x255C, 0x255D, 0x255E,
    0x255F, 0x2560, 0x2561, 0x0401, 0x2562, 0x2563, 0x2564, 0x2565, 0x2566, 0x2567, 0x2568, 0x2569, 0x256A, 0x256B, 0x256C, 0x00A9,
    0x044E, 0x0430, 0x0431, 0x0446, 0x0434, 0x0435, 0x0444, 0x0433, 0x0445, 0x0438, 0x0439, 0x043A, 0x043B, 0x043C, 0x043D, 0x043E,
    0x043F, 0x044F, 0x0440, 0x0441, 0x0442, 0x0443, 0x0436, 0x0432, 0x044C, 0x044B, 0x0437, 0x0448, 0x044D, 0x0449, 0x0447, 0x044A,
    0x042E, 0x0410, 0x0411, 0x0426, 0x0414, 0x0415, 0x0424, 0x0413, 0x0425, 0x0418, 0x0419, 0x041A, 0x041B, 0x041C, 0x041D, 0x041E,
    0x041F, 0x042F, 0x0420, 0x0421, 0x0422, 0x0423, 0x0416, 0x0412, 0x042C, 0x042B, 0x0417, 0x0428, 0x042D, 0x0429, 0x0427, 0x042A,
};
constexpr char16_t kLatin2[128] = {
    0x0080, 0x0081, 0x0082, 0x0083, 0x0084, 0x0085, 0x0086, 0x0087, 0x0088, 0x0089, 0x008A, 0x008B, 0x008C, 0x008D, 0x008E, 0x008F,
    0x0090, 0x0091, 0x0092, 0x0093, 0x0094, 0x0095, 0x0096, 0x0097, 0x0098, 0x0099, 0x009A, 0x009B, 0x009C, 0x009D, 0x009E, 0x009F,
    0x00A0, 0x0104, 0x02D8, 0x0141, 0x00A4, 0x013D, 0x015A, 0x00A7, 0x00A8, 0x0160, 0x015E, 0x0164, 0x0179, 0x00AD, 0x017D, 0x017B,
    0x00B0, 0x0105, 0x02DB, 0x0142, 0x00B4, 0x013E, 0x015B, 0x02C7, 0x00B8, 0x0161, 0x015F, 0x0165, 0x017A, 0x02DD, 0x017E, 0x017C,
    0x0154, 0x00C1, 0x00C2, 0x0102, 0x00C4, 0x0139, 0x0106, 0x00C7, 0x010C, 0x00C9, 0x0118, 0x00CB, 0x011A, 0x00CD, 0x00CE, 0x010E,
    0x0110, 0x0143, 0x0147, 0x00D3, 0x00D4, 0x0150, 0x00D6, 0x00D7, 0x0158, 0x016E, 0x00DA, 0x0170, 0x00DC, 0x00DD, 0x0162, 0x00DF,
    0x0155, 0x00E1, 0x00E2, 0x0103, 0x00E4, 0x013A, 0x0107, 0x00E7, 0x010D, 0x00E9, 0x0119, 0x00EB, 0x011B, 0x00ED, 0x00EE, 0x010F,
    0x0111, 0x0144, 0x0148, 0x00F3, 0x00F4, 0x0151, 0x00F6, 0x00F7, 0x0159, 0x016F, 0x00FA, 0x0171, 0x00FC, 0x00FD, 0x0163, 0x02D9,
};

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  TZ_CHECK(in.good(), "fortunes: cannot open '", path.string(), "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  TZ_CHECK(!in.bad(), "fortunes: error while reading '", path.string(), "'");
  return ss.str();
}

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_nonempty_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec) && fs::file_size(p, ec) > 0 && !ec;
}

/// The files of one source in sorted path order, each with the canonical paths it claims.
struct SourceFile {
  fs::path path;
  std::vector<fs::path> claims;
};

void list_source_files(const fs::path& dir, const FortuneSource& src, std::vector<SourceFile>& out) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  std::set<std::string> present(names.begin(), names.end());
  auto excluded = [&](const std::string& n) {
    return std::find(src.exclude.begin(), src.exclude.end(), n) != src.exclude.end();
  };
  for (const std::string& name : names) {
    fs::path p = dir / name;
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      if (src.recursive && !excluded(name) && !fs::is_symlink(p)) list_source_files(p, src, out);
      continue;
    }
    if (ends_with(name, ".dat")) continue;
    std::string base = ends_with(name, ".u8") ? name.substr(0, name.size() - 3) : name;
    if (base != name && present.count(base)) continue;  // read together with its base file
    if (excluded(base)) continue;
    if (!src.files.empty() && std::find(src.files.begin(), src.files.end(), base) == src.files.end()) continue;
    if (!fs::is_regular_file(p, ec)) continue;  // dangling links, sockets, ...
    SourceFile f;
    fs::path u8 = dir / (base + ".u8");
    f.path = (base == name && is_nonempty_file(u8)) ? u8 : p;
    f.claims.push_back(fs::canonical(p));
    if (present.count(base + ".u8") && fs::exists(u8)) f.claims.push_back(fs::canonical(u8));
    out.push_back(std::move(f));
  }
}

uint64_t fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

void shuffle(std::vector<std::string>& v, Generator& gen) {
  for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[static_cast<std::size_t>(gen.randint(0, static_cast<int64_t>(i)))]);
}

void shuffle(std::vector<LabelledText>& v, Generator& gen) {
  for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[static_cast<std::size_t>(gen.randint(0, static_cast<int64_t>(i)))]);
}

}  // namespace

std::vector<std::string> split_fortune_records(std::string_view content) {
  std::vector<std::string> records;
  std::string current;
  std::size_t pos = 0;
  auto flush = [&] {
    if (current.find_first_not_of(" \t\r\n") != std::string::npos) records.push_back(current);
    current.clear();
  };
  while (pos < content.size()) {
    std::size_t nl = content.find('\n', pos);
    std::size_t end = nl == std::string_view::npos ? content.size() : nl;
    std::string_view line = content.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line == "%")
      flush();
    else {
      current.append(line);
      current.push_back('\n');
    }
    pos = nl == std::string_view::npos ? content.size() : nl + 1;
  }
  flush();
  return records;
}

std::string normalize_record(std::string_view record) {
  std::string out;
  bool pending_space = false;
  for (std::size_t i = 0; i < record.size();) {
    std::size_t len = 1;
    int32_t cp = uc::decode(record.data(), record.size(), i, len);
    bool blank = cp < 0x20 || cp == 0x7f || (cp >= 0 && uc::is_white_space(static_cast<char32_t>(cp)));
    if (cp >= 0 && blank) {
      pending_space = !out.empty();
    } else {
      if (pending_space) out.push_back(' ');
      pending_space = false;
      if (cp < 0)
        uc::append_utf8(out, 0xFFFD);
      else
        out.append(record.substr(i, len));
    }
    i += len;
  }
  return out;
}

std::string decode_to_utf8(std::string_view bytes, const std::string& charset, bool& was_utf8) {
  was_utf8 = uc::find_invalid_utf8(bytes) == std::string_view::npos;
  if (was_utf8) return std::string(bytes);
  const char16_t* table = nullptr;
  if (charset == "koi8-r")
    table = kKoi8r;
  else if (charset == "iso-8859-2")
    table = kLatin2;
  else
    TZ_CHECK(charset == "iso-8859-1", "fortunes: unknown charset '", charset,
             "' (expected koi8-r, iso-8859-2 or iso-8859-1)");
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    if (c < 0x80)
      out.push_back(static_cast<char>(c));
    else
      uc::append_utf8(out, table ? table[c - 0x80] : c);  // Latin-1 bytes are their code points
  }
  return out;
}

FortuneCorpus build_fortune_langid(const FortuneCorpusOptions& o) {
  TZ_CHECK(fs::is_directory(o.fortunes_dir), "fortunes: '", o.fortunes_dir.string(),
           "' is not a directory (install the fortunes, fortunes-de, ... packages or pass --fortunes-dir)");
  TZ_CHECK(o.dev_fraction >= 0 && o.test_fraction >= 0 && o.dev_fraction + o.test_fraction < 1,
           "fortunes: dev and test fractions must be >= 0 and sum to < 1, got ", o.dev_fraction, " and ",
           o.test_fraction);
  FortuneCorpus corpus;
  corpus.seed = o.seed;

  // 1. Read every language's records (unique within the language, in first-seen order).
  std::set<fs::path> claimed;
  std::vector<std::string> languages;
  std::map<std::string, std::vector<std::string>> texts;
  for (const FortuneSource& src : o.sources) {
    fs::path dir = src.dir.empty() ? o.fortunes_dir : o.fortunes_dir / src.dir;
    if (!fs::is_directory(dir)) continue;
    std::vector<SourceFile> files;
    list_source_files(dir, src, files);
    LanguageStats& st = corpus.stats[src.language];
    if (std::find(languages.begin(), languages.end(), src.language) == languages.end())
      languages.push_back(src.language);
    std::set<std::string> seen;
    for (const SourceFile& f : files) {
      if (claimed.count(f.claims.front())) continue;
      claimed.insert(f.claims.begin(), f.claims.end());
      ++st.files;
      bool utf8 = true;
      std::string content = decode_to_utf8(read_bytes(f.path), src.legacy_charset, utf8);
      if (!utf8) {
        ++st.files_non_utf8;
        st.non_utf8_files.push_back(fs::relative(f.path, o.fortunes_dir).string() + " (" + src.legacy_charset + ")");
      }
      for (const std::string& raw : split_fortune_records(content)) {
        ++st.records;
        std::string text = normalize_record(raw);
        std::size_t chars = uc::count_code_points(text, 0, text.size());
        if (chars < o.min_chars) {
          ++st.too_short;
          continue;
        }
        if (chars > o.max_chars) {
          ++st.too_long;
          continue;
        }
        if (!seen.insert(text).second) {
          ++st.duplicates;
          continue;
        }
        texts[src.language].push_back(std::move(text));
      }
    }
  }
  for (const std::string& lang : languages)
    TZ_CHECK(!texts[lang].empty(), "fortunes: no records for language '", lang, "' under '",
             o.fortunes_dir.string(), "' (is its package installed?)");

  // 2. A text filed under two languages cannot be labelled: drop every copy.
  std::unordered_map<std::string, int> languages_of;
  for (const auto& [lang, v] : texts)
    for (const std::string& t : v) ++languages_of[t];
  std::size_t smallest = SIZE_MAX;
  for (auto& [lang, v] : texts) {
    LanguageStats& st = corpus.stats[lang];
    std::vector<std::string> kept;
    for (std::string& t : v) {
      if (languages_of[t] > 1)
        ++st.cross_language;
      else
        kept.push_back(std::move(t));
    }
    v = std::move(kept);
    st.usable = v.size();
    smallest = std::min(smallest, v.size());
  }

  // 3. The same number of records per language, test and dev taken first from a seeded shuffle.
  std::size_t n = o.per_language == 0 ? smallest : std::min(o.per_language, smallest);
  std::size_t n_test = static_cast<std::size_t>(static_cast<double>(n) * o.test_fraction + 0.5);
  std::size_t n_dev = static_cast<std::size_t>(static_cast<double>(n) * o.dev_fraction + 0.5);
  TZ_CHECK(n > n_dev + n_test, "fortunes: ", n, " records per language leave nothing to train on");
  corpus.per_language = n;
  corpus.per_language_dev = n_dev;
  corpus.per_language_test = n_test;
  for (const std::string& lang : languages) {
    std::vector<std::string>& v = texts[lang];
    std::sort(v.begin(), v.end());  // independent of file order
    Generator gen(o.seed ^ fnv1a(lang));
    shuffle(v, gen);
    LanguageStats& st = corpus.stats[lang];
    for (std::size_t i = 0; i < n; ++i) {
      auto& split = i < n_test ? corpus.test : i < n_test + n_dev ? corpus.dev : corpus.train;
      split.push_back({v[i], lang});
    }
    st.test = n_test;
    st.dev = n_dev;
    st.train = n - n_test - n_dev;
  }
  Generator gen(o.seed);
  shuffle(corpus.train, gen);
  shuffle(corpus.dev, gen);
  shuffle(corpus.test, gen);
  return corpus;
}

void write_fortune_langid(const FortuneCorpus& corpus, const fs::path& out_dir) {
  fs::create_directories(out_dir);
  auto write = [&](const std::string& name, const std::string& text) {
    fs::path p = out_dir / name;
    std::ofstream f(p, std::ios::binary);
    TZ_CHECK(f.good(), "fortunes: cannot write '", p.string(), "'");
    f << text;
    TZ_CHECK(f.good(), "fortunes: error while writing '", p.string(), "'");
  };
  auto tsv = [](const std::vector<LabelledText>& rows) {
    std::string s = "sentence\tlabel\n";
    for (const LabelledText& r : rows) s += r.text + "\t" + r.label + "\n";
    return s;
  };
  write("train.tsv", tsv(corpus.train));
  write("dev.tsv", tsv(corpus.dev));
  write("test.tsv", tsv(corpus.test));
  std::string lines;
  for (const LabelledText& r : corpus.train) lines += r.text + "\n";
  write("corpus.txt", lines);

  nlohmann::ordered_json j;
  j["seed"] = corpus.seed;
  j["per_language"] = {{"total", corpus.per_language},
                       {"train", corpus.per_language - corpus.per_language_dev - corpus.per_language_test},
                       {"dev", corpus.per_language_dev},
                       {"test", corpus.per_language_test}};
  j["rows"] = {{"train", corpus.train.size()}, {"dev", corpus.dev.size()}, {"test", corpus.test.size()}};
  nlohmann::ordered_json langs = nlohmann::ordered_json::object();
  for (const auto& [lang, st] : corpus.stats)
    langs[lang] = {{"files", st.files},         {"files_non_utf8", st.files_non_utf8},
                   {"records", st.records},     {"too_short", st.too_short},
                   {"too_long", st.too_long},   {"duplicates", st.duplicates},
                   {"cross_language", st.cross_language}, {"usable", st.usable},
                   {"train", st.train},         {"dev", st.dev},
                   {"test", st.test},           {"non_utf8_files", st.non_utf8_files}};
  j["languages"] = langs;
  write("stats.json", j.dump(2) + "\n");
}

}  // namespace tz::data
