// `tensorzoo choose`: multiple choice with a ConvBertForMultipleChoice directory. Each ending is
// paired with the context (context, [start + " "] + ending), all endings go through the model as one
// [1, N, S] batch, and the softmax over the N logits gives each ending's probability.
// The library side is train/multiple_choice.h (choose).
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <iostream>

#include "cli/args.h"
#include "cli/command.h"
#include "cli/text_inputs.h"
#include "core/error.h"
#include "tokenizer/wordpiece.h"
#include "train/multiple_choice.h"

namespace tz::cli {
namespace {

int run_choose(const std::vector<std::string>& args) {
  ArgParser p("tensorzoo choose",
              "Pick the most likely ending of a context with a multiple-choice model; prints the\n"
              "probability of every ending (softmax over the choices), the best one marked with '*'.");
  p.option("model", "DIR", "multiple-choice model directory of any family (config.json, weights, vocab)", "", true);
  p.option("context", "C", "the context (SWAG's sent1)", "", true);
  p.option("start", "S", "the start of the second sentence shared by every ending (SWAG's sent2)", "");
  p.option("max-length", "N", "truncate each (context, ending) pair to N tokens", "512");
  p.flag("json", "print {probabilities: [...], best: index} as JSON");
  p.positional("ending", "the candidate endings", 1);
  add_plain_path_option(p);
  if (!p.parse(args)) return p.exit_code();
  apply_plain_path_option(p);
  TZ_CHECK(p.get_int("max-length") >= 3, "choose: --max-length must be at least 3, got ", p.get_int("max-length"));

  auto model = load_model_for(p.get("model"), models::Task::MultipleChoice, "choose");
  auto tok = load_tokenizer_for(p.get("model"), "");
  const auto& endings = p.positionals();
  std::vector<float> probs = train::choose(*model, tok, p.get("context"), endings, p.get("start"),
                                           static_cast<std::size_t>(p.get_int("max-length")));
  std::size_t best = static_cast<std::size_t>(std::max_element(probs.begin(), probs.end()) - probs.begin());
  if (p.get_flag("json")) {
    std::cout << nlohmann::ordered_json{{"probabilities", probs}, {"best", best}}.dump() << "\n";
    return 0;
  }
  for (std::size_t i = 0; i < endings.size(); ++i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4f", probs[i]);
    std::cout << (i == best ? "* " : "  ") << buf << "  " << endings[i] << "\n";
  }
  return 0;
}

Command reg{"choose", "score candidate endings of a context (multiple-choice model)", run_choose};

}  // namespace
}  // namespace tz::cli
