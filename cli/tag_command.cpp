// `tensorzoo tag`: HF's token-classification ("ner") pipeline from the command line. The library
// side is train/pipelines/token_classification.h (classify_tokens).
//   tensorzoo tag --model DIR [--aggregation none|simple|first|average|max] [--ignore-labels O,...]
//                 [--stride N] [--json] "John lives in New York." ...
// --json prints one record per text as HF returns it: a list of {entity, score, index, word, start,
// end} per token (--aggregation none) or {entity_group, score, word, start, end} per entity.
#include <cstdio>
#include <iostream>

#include "cli/args.h"
#include "cli/command.h"
#include "cli/text_inputs.h"
#include "train/pipelines/token_classification.h"

namespace tz::cli {
namespace {

int run_tag(const std::vector<std::string>& args) {
  ArgParser p("tensorzoo tag",
              "Tag the tokens of each text with a token-classification model of any family (HF's\n"
              "token-classification pipeline; labels from config.json id2label). --aggregation merges tokens\n"
              "into words and B-/I- runs into entities as HF does. start/end are character (code point)\n"
              "offsets into the text, end exclusive. Inputs: the text arguments, else the lines of --file,\n"
              "else stdin.");
  add_model_options(p, "token-classification");
  p.option("aggregation", "S",
           "none (a row per token), simple (B-/I- runs grouped), or first|average|max (tokens merged into "
           "words first, the word's label from its first token, the mean of its scores, or its best token); "
           "HF's aggregation_strategy",
           "none");
  p.option("ignore-labels", "L1,L2", "labels whose rows are dropped (HF's ignore_labels; '' keeps all)", "O");
  p.option("stride", "N",
           "tag texts longer than --max-length whole: windows overlapping by N tokens, each token scored "
           "by the window where it is most central (unset: long texts are truncated)",
           "");
  add_inference_options(p, "texts");
  p.positional("text", "texts to tag");
  if (!p.parse(args)) return p.exit_code();
  InferenceOptions io;
  if (!apply_inference_options(p, io)) return 2;
  pipelines::TokenClassificationOptions opt;
  const std::string strategy = p.get("aggregation");
  if (strategy != "none" && strategy != "simple" && strategy != "first" && strategy != "average" && strategy != "max")
    return usage_error("--aggregation must be none, simple, first, average or max, got '" + strategy + "'");
  opt.aggregation = pipelines::aggregation_strategy_from_name(strategy);
  opt.ignore_labels = split_list(p.get("ignore-labels"));
  opt.batch_size = io.batch_size;
  opt.max_length = io.max_length;
  if (!p.get("stride").empty()) {
    const long long stride = p.get_int("stride");
    if (stride < 0) return usage_error("--stride must be 0 or positive");
    opt.stride = static_cast<std::size_t>(stride);
  }
  std::vector<std::string> texts = read_texts(p.positionals(), p.get("file"));
  if (texts.empty()) return usage_error("no input texts (give texts, --file F, or lines on stdin)");

  tokenizer::WordPiece tok = load_tokenizer_for(p.get("model"), p.get("tokenizer"));
  auto model = load_model_for(p.get("model"), models::Task::TokenClassification, "tag", io.precision);
  const auto results = pipelines::classify_tokens(*model, tok, texts, opt);
  const bool grouped = opt.aggregation != pipelines::AggregationStrategy::None;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    if (io.json) {
      nlohmann::ordered_json rows = nlohmann::ordered_json::array();
      for (const auto& r : results[i]) {
        nlohmann::ordered_json row;
        row[grouped ? "entity_group" : "entity"] = r.entity;
        row["score"] = r.score;
        if (r.index) row["index"] = *r.index;
        row["word"] = r.word;
        row["start"] = r.start;
        row["end"] = r.end;
        rows.push_back(row);
      }
      print_json(rows);
      continue;
    }
    std::cout << texts[i] << "\n";
    if (results[i].empty()) std::cout << "  (nothing outside the ignored labels)\n";
    for (const auto& r : results[i]) {
      char score[32];
      std::snprintf(score, sizeof score, "%.4f", r.score);
      std::cout << "  " << r.entity << "\t" << score << "\t[" << r.start << ", " << r.end << ")\t" << r.word << "\n";
    }
  }
  return 0;
}

Command reg{"tag", "tag tokens or entities (HF's token-classification pipeline)", run_tag};

}  // namespace
}  // namespace tz::cli
