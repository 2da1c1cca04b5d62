// `tensorzoo tag`: token classification (NER-style tagging) of texts with a
// ConvBertForTokenClassification directory. Prints each word with its tag and probability, then the
// BIO spans merged into entities with code-point offsets; --json prints one JSON object per text.
// The library side is train/token_classification.h (tag_text).
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>

#include "cli/args.h"
#include "cli/command.h"
#include "cli/text_inputs.h"
#include "core/error.h"
#include "tokenizer/wordpiece.h"
#include "train/token_classification.h"

namespace tz::cli {
namespace {

std::string fixed(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", v);
  return buf;
}

int run_tag(const std::vector<std::string>& args) {
  ArgParser p("tensorzoo tag",
              "Tag the words of each text with a token-classification model (labels from the model's\n"
              "config id2label), and merge BIO/IOB2 tags into entities (seqeval's chunking). Offsets are\n"
              "character (code point) offsets into the text, end exclusive.");
  p.option("model", "DIR", "token-classification model directory of any family (config.json, weights, vocab)", "", true);
  p.option("max-length", "N", "truncate each text to N tokens (special tokens included)", "512");
  p.flag("json", "print one JSON object per text: {text, words: [...], entities: [...]}");
  p.positional("text", "texts to tag", 1);
  add_plain_path_option(p);
  if (!p.parse(args)) return p.exit_code();
  apply_plain_path_option(p);
  long long max_length = p.get_int("max-length");
  TZ_CHECK(max_length >= 3, "tag: --max-length must be at least 3, got ", max_length);

  auto model = load_model_for(p.get("model"), models::Task::TokenClassification, "tag");
  auto tok = load_tokenizer_for(p.get("model"), "");

  for (const std::string& text : p.positionals()) {
    train::TagResult r = train::tag_text(*model, tok, text, static_cast<std::size_t>(max_length));
    if (p.get_flag("json")) {
      nlohmann::ordered_json j;
      j["text"] = text;
      j["words"] = nlohmann::ordered_json::array();
      for (const auto& w : r.words)
        j["words"].push_back({{"word", w.text}, {"label", w.label}, {"score", w.score}, {"start", w.begin}, {"end", w.end}});
      j["entities"] = nlohmann::ordered_json::array();
      for (const auto& e : r.entities)
        j["entities"].push_back({{"entity", e.type}, {"text", e.text}, {"score", e.score}, {"start", e.begin},
                                 {"end", e.end}, {"first_word", e.first_word}, {"last_word", e.last_word}});
      std::cout << j.dump() << "\n";
      continue;
    }
    std::cout << text << "\n";
    for (const auto& w : r.words)
      std::cout << "  " << w.text << "\t" << w.label << "\t" << fixed(w.score) << "\t[" << w.begin << ", " << w.end << ")\n";
    std::cout << "entities:" << (r.entities.empty() ? " none" : "") << "\n";
    for (const auto& e : r.entities)
      std::cout << "  " << e.type << "\t\"" << e.text << "\"\t[" << e.begin << ", " << e.end << ")\t" << fixed(e.score) << "\n";
  }
  return 0;
}

Command reg{"tag", "tag words with a token-classification model; merge BIO spans into entities", run_tag};

}  // namespace
}  // namespace tz::cli
