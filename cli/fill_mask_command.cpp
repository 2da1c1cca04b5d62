// `tensorzoo fill-mask`: HF's fill-mask pipeline from the command line: the top-k tokens for every
// mask of each text, optionally among --targets only. The library side is
// train/pipelines/fill_mask.h (fill_mask).
//   tensorzoo fill-mask --model DIR [--top-k 5] [--targets w1,w2] [--json] "The [MASK] sat on the mat." ...
// --json prints one record per text as HF returns it: a list of {score, token, token_str, sequence}
// for a text with one mask, a list of such lists (one per mask) for several.
#include <cstdio>
#include <iostream>

#include "cli/args.h"
#include "cli/command.h"
#include "cli/text_inputs.h"
#include "train/pipelines/fill_mask.h"

namespace tz::cli {
namespace {

nlohmann::ordered_json to_json(const std::vector<pipelines::FillMaskPrediction>& predictions) {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const auto& p : predictions)
    list.push_back({{"score", p.score}, {"token", p.token}, {"token_str", p.token_str}, {"sequence", p.sequence}});
  return list;
}

int run_fill_mask(const std::vector<std::string>& args) {
  ArgParser p("tensorzoo fill-mask",
              "Predict the tokens hidden behind the mask token ([MASK]) with a masked-LM model of any family\n"
              "(HF's fill-mask pipeline). For each mask of each text: the top-k tokens by probability (softmax\n"
              "over the vocabulary); several masks in one text are predicted independently from one forward\n"
              "pass. Inputs: the text arguments, else the lines of --file, else stdin.");
  add_model_options(p, "masked-LM");
  p.option("top-k", "K", "predictions per mask (HF's top_k; capped at the number of targets)", "5");
  p.multi_option("targets", "W1,W2",
                 "score only these tokens (HF's targets); a word that is not one token uses its first piece, "
                 "with a warning");
  add_inference_options(p, "texts");
  p.positional("text", "texts containing the mask token");
  if (!p.parse(args)) return p.exit_code();
  InferenceOptions io;
  if (!apply_inference_options(p, io)) return 2;
  const long long k = p.get_int("top-k");
  if (k <= 0) return usage_error("--top-k must be positive");
  pipelines::FillMaskOptions opt;
  opt.top_k = static_cast<std::size_t>(k);
  opt.batch_size = io.batch_size;
  opt.max_length = io.max_length;
  for (const std::string& list : p.get_all("targets"))
    for (const std::string& t : split_list(list)) opt.targets.push_back(t);
  if (!p.get_all("targets").empty() && opt.targets.empty()) return usage_error("--targets is empty");

  tokenizer::WordPiece tok = load_tokenizer_for(p.get("model"), p.get("tokenizer"));
  const std::string mask = tok.config().mask_token;
  std::vector<std::string> texts = read_texts(p.positionals(), p.get("file"));
  if (texts.empty()) return usage_error("no input texts (give texts, --file F, or lines on stdin)");
  for (const std::string& t : texts)
    if (t.find(mask) == std::string::npos) return usage_error("text has no " + mask + ": \"" + t + "\"");

  auto model = load_model_for(p.get("model"), models::Task::MaskedLM, "fill-mask", io.precision);
  std::vector<std::string> warnings;
  std::vector<pipelines::FillMaskResult> results = pipelines::fill_mask(*model, tok, texts, opt, &warnings);
  for (const std::string& w : warnings) std::cerr << "fill-mask: warning: " << w << "\n";
  for (std::size_t i = 0; i < texts.size(); ++i) {
    const pipelines::FillMaskResult& r = results[i];
    if (io.json) {
      if (r.size() == 1) {
        print_json(to_json(r[0]));
      } else {
        nlohmann::ordered_json per_mask = nlohmann::ordered_json::array();
        for (const auto& predictions : r) per_mask.push_back(to_json(predictions));
        print_json(per_mask);
      }
      continue;
    }
    std::cout << texts[i] << "\n";
    for (std::size_t m = 0; m < r.size(); ++m) {
      std::cout << "  " << mask << " #" << m + 1 << "\n";
      for (std::size_t j = 0; j < r[m].size(); ++j) {
        char line[160];
        std::snprintf(line, sizeof line, "    %2zu  %-16s %.6f  ", j + 1, r[m][j].token_str.c_str(), r[m][j].score);
        std::cout << line << r[m][j].sequence << "\n";
      }
    }
  }
  return 0;
}

Command reg{"fill-mask", "top-k predictions for each [MASK] of a text (HF's fill-mask pipeline)", run_fill_mask};

}  // namespace
}  // namespace tz::cli
