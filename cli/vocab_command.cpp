// `tensorzoo vocab`: learns a WordPiece vocabulary from text files and writes a tokenizer folder
// (tokenizer.json, vocab.txt, tokenizer_config.json, special_tokens_map.json) that `tokenize`,
// `train` and WordPiece::from_pretrained read. The algorithm is documented in
// tokenizer/vocab_builder.h.
#include <iostream>

#include "cli/args.h"
#include "cli/command.h"
#include "core/error.h"
#include "tokenizer/vocab_builder.h"

namespace tz::cli {
namespace {

int run_vocab(const std::vector<std::string>& args) {
  ArgParser p("tensorzoo vocab",
              "Learn a WordPiece vocabulary (BPE merges with ## continuation pieces) from text files.\n"
              "Ids 0..4 are [PAD] [UNK] [CLS] [SEP] [MASK] (so a model's pad_token_id is 0), then every\n"
              "character and its ## form, then merged pieces in the order they were learned.");
  p.multi_option("corpus", "FILE", "text file, one or more records per line (repeatable)");
  p.option("size", "N", "vocabulary size, special tokens included", "8000");
  p.option("out", "DIR", "output folder (created when missing)", "", true);
  p.option("min-frequency", "N", "never merge a pair seen fewer times", "2");
  p.flag("lowercase", "lowercase the text (the default)");
  p.flag("no-lowercase", "keep case");
  p.flag("strip-accents", "remove accents (default: when lowercasing, as BERT does)");
  p.flag("no-strip-accents", "keep accents");
  p.positional("corpus-file", "more corpus files");
  if (!p.parse(args)) return p.exit_code();

  std::vector<std::string> files = p.get_all("corpus");
  for (const std::string& f : p.positionals()) files.push_back(f);
  if (files.empty()) {
    std::cerr << "error: give at least one --corpus FILE\n\n" << p.help();
    return 2;
  }
  if ((p.get_flag("lowercase") && p.get_flag("no-lowercase")) ||
      (p.get_flag("strip-accents") && p.get_flag("no-strip-accents"))) {
    std::cerr << "error: --lowercase/--no-lowercase and --strip-accents/--no-strip-accents exclude each other\n";
    return 2;
  }
  long long size = p.get_int("size"), min_freq = p.get_int("min-frequency");
  if (size <= 0 || min_freq < 0) {
    std::cerr << "error: --size must be > 0 and --min-frequency >= 0\n";
    return 2;
  }
  tokenizer::VocabBuilderOptions o;
  o.vocab_size = static_cast<std::size_t>(size);
  o.min_frequency = static_cast<std::size_t>(min_freq);
  o.normalizer.lowercase = !p.get_flag("no-lowercase");
  if (p.get_flag("strip-accents")) o.normalizer.strip_accents = true;
  if (p.get_flag("no-strip-accents")) o.normalizer.strip_accents = false;

  tokenizer::VocabBuilder builder(o);
  for (const std::string& f : files) builder.add_file(f);
  // An empty corpus (a wrong path, an empty export) would give a vocabulary of special tokens only.
  TZ_CHECK(!builder.word_counts().empty(), "vocab: the corpus files hold no words (", files.front(),
           files.size() > 1 ? ", ..." : "", ")");
  std::vector<std::string> tokens = builder.build();
  tokenizer::save_vocab_dir(tokens, o, p.get("out"));
  std::cout << "vocab: " << builder.word_counts().size() << " distinct words -> " << tokens.size()
            << " tokens (lowercase=" << o.normalizer.lowercase << ", strip_accents=" << o.normalizer.strips_accents()
            << ") written to " << p.get("out") << "\n";
  if (tokens.size() < o.vocab_size)
    std::cout << "vocab: stopped below --size " << o.vocab_size << ": no pair left with count >= " << o.min_frequency
              << "\n";
  return 0;
}

Command reg{"vocab", "learn a WordPiece vocabulary from text files", run_vocab};

}  // namespace
}  // namespace tz::cli
