// A language-identification data set made from the Debian fortune packages (fortunes, fortunes-de,
// -es, -it, -ru, -pl, -cs, -br): eight languages, records separated by lines that are exactly "%".
//
//   tz::data::FortuneCorpusOptions opt;             // /usr/share/games/fortunes, seed 42
//   auto corpus = tz::data::build_fortune_langid(opt);
//   tz::data::write_fortune_langid(corpus, "data/"); // train/dev/test.tsv, corpus.txt, stats.json
//
// Where each language lives (FortuneSource): a folder per language (de/, es/, it/, ru/, pl/, cs/),
// the file `brasil` for Portuguese, and the top-level files of `fortunes`/`fortunes-min` for English.
// A file is read once, by the first language that claims it (canonical path), so the top-level
// symlinks into it/ stay Italian. The `.u8` twin of a file is preferred when it is a non-empty
// file (fortunes-pl ships empty .u8 files); `.dat` indexes are skipped.
// Decoding: files are UTF-8 on current Debian; a file that is not valid UTF-8 is decoded with its
// language's legacy 8-bit charset (KOI8-R for ru, ISO-8859-2 for pl/cs, ISO-8859-1 otherwise) and
// counted in the stats.
// Demo data for the CLI's `data` commands and the task scripts, kept out of libtensorzoo: an app that
// embeds the library does not link it (CMake target tensorzoo_data).
// Not here: tokenization (tokenizer/), the training loop (train/trainer).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace tz::data {

/// One language's files: every file under `dir` (relative to the fortunes root; "" = the root
/// itself), or only the listed `files` when that is not empty.
struct FortuneSource {
  std::string language;             ///< label written to the TSVs ("en", "pt", ...)
  std::string dir;                  ///< relative to the fortunes root
  std::vector<std::string> files;   ///< only these file names (empty: every file in dir)
  std::vector<std::string> exclude; ///< file names to skip (e.g. Slovak in cs/)
  bool recursive = false;           ///< also walk sub-folders of dir
  std::string legacy_charset;       ///< "koi8-r", "iso-8859-2" or "iso-8859-1" for non-UTF-8 files
};

/// The eight languages of the Debian packages, in claiming order (specific folders before the root).
std::vector<FortuneSource> debian_fortune_sources();

struct FortuneCorpusOptions {
  std::filesystem::path fortunes_dir = "/usr/share/games/fortunes";
  std::vector<FortuneSource> sources = debian_fortune_sources();
  /// Records per language over all splits; 0 = as many as the smallest language has.
  /// Larger than the smallest language is clamped (the set stays balanced).
  std::size_t per_language = 0;
  std::size_t min_chars = 20;       ///< shorter records (after normalisation) are dropped
  std::size_t max_chars = 2000;     ///< longer ones too (ASCII art, whole stories)
  double dev_fraction = 0.1, test_fraction = 0.1;
  uint64_t seed = 42;
};

struct LabelledText {
  std::string text;
  std::string label;
  bool operator==(const LabelledText&) const = default;
};

/// What happened to one language's files and records.
struct LanguageStats {
  std::size_t files = 0;
  std::size_t files_non_utf8 = 0;  ///< decoded with the legacy charset
  std::size_t records = 0;         ///< non-empty records read
  std::size_t too_short = 0, too_long = 0;
  std::size_t duplicates = 0;            ///< repeated within the language (one copy kept)
  std::size_t cross_language = 0;        ///< also found under another language (every copy dropped)
  std::size_t usable = 0;                ///< after the filters above
  std::size_t train = 0, dev = 0, test = 0;
  std::vector<std::string> non_utf8_files;
};

struct FortuneCorpus {
  std::vector<LabelledText> train, dev, test;  ///< each shuffled across languages
  std::map<std::string, LanguageStats> stats;
  std::size_t per_language = 0, per_language_dev = 0, per_language_test = 0;
  uint64_t seed = 0;
};

/// Splits the raw content of a fortune file into records: lines that are exactly "%" (a trailing
/// '\r' is allowed) separate records; empty records are dropped. Content is kept as it is.
std::vector<std::string> split_fortune_records(std::string_view content);

/// Collapses every run of whitespace (and control characters, e.g. the backspaces of overstruck
/// text) to one space and trims the ends: one record becomes one line without tabs.
std::string normalize_record(std::string_view record);

/// `bytes` as UTF-8: returned unchanged when valid, else decoded from `charset` ("koi8-r",
/// "iso-8859-2", "iso-8859-1"). Sets `was_utf8`.
std::string decode_to_utf8(std::string_view bytes, const std::string& charset, bool& was_utf8);

/// Reads, filters, dedupes and splits; throws tz::Error when the folder or a language is missing.
FortuneCorpus build_fortune_langid(const FortuneCorpusOptions& options);

/// Writes train.tsv, dev.tsv, test.tsv (header "sentence\tlabel"), corpus.txt (the train texts,
/// one per line) and stats.json into `out_dir` (created when missing).
void write_fortune_langid(const FortuneCorpus& corpus, const std::filesystem::path& out_dir);

}  // namespace tz::data
