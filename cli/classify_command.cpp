// `tensorzoo classify`: HF's text-classification pipeline from the command line, on texts or text
// pairs. The library side is train/pipelines/text_classification.h (classify_texts, classify_pairs).
//   tensorzoo classify --model DIR [--top-k K|all] [--function sigmoid|softmax|none] [--pair] [--json] ...
// --json prints one record per input as HF returns it: {label, score} of the best label by default;
// with --top-k a list of {label, score}, best first; with --return-all-scores (HF's legacy flag)
// every label in label order.
#include <cstdio>
#include <iostream>
#include <optional>

#include "cli/args.h"
#include "cli/command.h"
#include "cli/text_inputs.h"
#include "train/pipelines/text_classification.h"

namespace tz::cli {
namespace {

int run_classify(const std::vector<std::string>& args) {
  ArgParser p("tensorzoo classify",
              "Classify texts (or text pairs) with a sequence-classification model of any family (HF's\n"
              "text-classification pipeline). Scores: --function, by default from config.json as HF: no\n"
              "function for problem_type regression, a sigmoid for multi_label_classification or a single\n"
              "label, a softmax otherwise. Prints the best label and its score per input, or the top k.\n"
              "Inputs: the text arguments, else the lines of --file, else stdin.");
  add_model_options(p, "sequence-classification");
  p.option("top-k", "K|all", "the K best labels, best first, or all of them (HF's top_k; unset: the best only)", "");
  p.option("function", "F", "sigmoid, softmax or none (HF's function_to_apply; unset: from the config)", "");
  p.flag("return-all-scores", "every label's score in label order (HF's legacy return_all_scores)");
  p.flag("pair", "inputs are pairs: consecutive text arguments, or a<TAB>b lines");
  add_inference_options(p, "inputs (with --pair: a<TAB>b)");
  p.positional("text", "texts to classify");
  if (!p.parse(args)) return p.exit_code();
  InferenceOptions io;
  if (!apply_inference_options(p, io)) return 2;

  pipelines::TextClassificationOptions opt;
  opt.batch_size = io.batch_size;
  opt.max_length = io.max_length;
  if (!p.get("function").empty()) {
    const std::string f = p.get("function");
    if (f != "sigmoid" && f != "softmax" && f != "none")
      return usage_error("--function must be sigmoid, softmax or none, got '" + f + "'");
    opt.function_to_apply = pipelines::classification_function_from_name(f);
  }
  std::optional<std::size_t> top_k;  // unset: HF's default call (the best label as one record)
  if (const std::string k = p.get("top-k"); !k.empty()) {
    if (k == "all") {
      top_k = 0;
    } else {
      const long long v = p.get_int("top-k");
      if (v <= 0) return usage_error("--top-k must be a positive number or 'all', got '" + k + "'");
      top_k = static_cast<std::size_t>(v);
    }
  }
  const bool all_scores = p.get_flag("return-all-scores");
  if (all_scores && top_k) return usage_error("--return-all-scores and --top-k exclude each other");

  const bool pair = p.get_flag("pair");
  std::vector<std::string> lines = read_texts(p.positionals(), p.get("file"));
  if (lines.empty()) return usage_error("no input texts (give texts, --file F, or lines on stdin)");
  std::vector<std::pair<std::string, std::string>> pairs;
  if (pair) {
    if (!p.positionals().empty()) {
      if (lines.size() % 2 != 0)
        return usage_error("--pair needs an even number of texts (got " + std::to_string(lines.size()) + ")");
      for (std::size_t i = 0; i < lines.size(); i += 2) pairs.emplace_back(lines[i], lines[i + 1]);
    } else {
      for (std::size_t i = 0; i < lines.size(); ++i) {
        const std::size_t tab = lines[i].find('\t');
        if (tab == std::string::npos)
          return usage_error("--pair input line " + std::to_string(i + 1) + " has no TAB between the two texts");
        pairs.emplace_back(lines[i].substr(0, tab), lines[i].substr(tab + 1));
      }
    }
  }

  tokenizer::WordPiece tok = load_tokenizer_for(p.get("model"), p.get("tokenizer"));
  auto model = load_model_for(p.get("model"), models::Task::SequenceClassification, "classify", io.precision);
  const std::vector<std::vector<pipelines::LabelScore>> results =
      pair ? pipelines::classify_pairs(*model, tok, pairs, opt) : pipelines::classify_texts(*model, tok, lines, opt);

  if (!io.json && !top_k && !all_scores) std::cout << "label\tscore\ttext\n";
  for (std::size_t i = 0; i < results.size(); ++i) {
    const std::string text = pair ? pairs[i].first + "\t" + pairs[i].second : lines[i];
    // The rows of this input's record: the best one, the top k, or every label in label order.
    const std::vector<pipelines::LabelScore> rows =
        all_scores ? results[i] : pipelines::top_labels(results[i], top_k ? *top_k : 1);
    if (io.json) {
      auto row_json = [](const pipelines::LabelScore& s) { return nlohmann::ordered_json{{"label", s.label}, {"score", s.score}}; };
      if (!top_k && !all_scores) {
        print_json(row_json(rows.at(0)));
      } else {
        nlohmann::ordered_json list = nlohmann::ordered_json::array();
        for (const auto& s : rows) list.push_back(row_json(s));
        print_json(list);
      }
      continue;
    }
    char score[32];
    if (!top_k && !all_scores) {
      std::snprintf(score, sizeof score, "%.6f", rows.at(0).score);
      std::cout << rows[0].label << "\t" << score << "\t" << text << "\n";
      continue;
    }
    std::cout << text << "\n";
    for (const auto& s : rows) {
      std::snprintf(score, sizeof score, "%.6f", s.score);
      std::cout << "  " << s.label << "\t" << score << "\n";
    }
  }
  return 0;
}

Command reg{"classify", "label texts or text pairs (HF's text-classification pipeline)", run_classify};

}  // namespace
}  // namespace tz::cli
