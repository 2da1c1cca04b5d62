// `tensorzoo qa`: extractive question answering with a ConvBertForQuestionAnswering directory. The
// context is cut into doc_stride windows, the best span over all windows is mapped back to the
// context's characters (HF's postprocess_qa_predictions); prints the answer, its character span and
// score. The library side is train/question_answering.h (answer_question).
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>

#include "cli/args.h"
#include "cli/command.h"
#include "cli/text_inputs.h"
#include "core/error.h"
#include "tokenizer/wordpiece.h"
#include "train/question_answering.h"

namespace tz::cli {
namespace {

int run_qa(const std::vector<std::string>& args) {
  ArgParser p("tensorzoo qa",
              "Answer a question from a context with a question-answering model. The answer is a span of\n"
              "the context: its text, its character (code point) span [start, end) and its score\n"
              "(start logit + end logit) and probability (softmax over the n-best spans).");
  p.option("model", "DIR", "question-answering model directory of any family (config.json, weights, vocab)", "", true);
  p.option("question", "Q", "the question", "", true);
  p.option("context", "C", "the text that holds the answer", "", true);
  p.option("max-length", "N", "tokens per window (question + context + special tokens)", "384");
  p.option("doc-stride", "N", "tokens shared by consecutive windows of a long context", "128");
  p.option("n-best", "N", "top start and end logits considered per window", "20");
  p.option("max-answer-length", "N", "longest answer, in tokens", "30");
  p.flag("allow-no-answer", "SQuAD v2: answer \"\" when the null ([CLS]) score beats the best span");
  p.option("null-threshold", "X", "with --allow-no-answer: answer \"\" when null - best > X", "0");
  p.flag("json", "print {answer, start, end, score, probability, null_score_diff} as JSON");
  add_plain_path_option(p);
  if (!p.parse(args)) return p.exit_code();
  apply_plain_path_option(p);
  for (const char* name : {"max-length", "doc-stride", "n-best", "max-answer-length"})
    TZ_CHECK(p.get_int(name) >= (std::string(name) == "doc-stride" ? 0 : 1), "qa: --", name,
             " must be positive, got ", p.get_int(name));

  auto model = load_model_for(p.get("model"), models::Task::QuestionAnswering, "qa");
  auto tok = load_tokenizer_for(p.get("model"), "");

  train::QAOptions qa{static_cast<std::size_t>(p.get_int("max-length")), static_cast<std::size_t>(p.get_int("doc-stride"))};
  train::QAPostprocessOptions post;
  post.n_best_size = static_cast<std::size_t>(p.get_int("n-best"));
  post.max_answer_length = static_cast<std::size_t>(p.get_int("max-answer-length"));
  post.version_2_with_negative = p.get_flag("allow-no-answer");
  post.null_score_diff_threshold = p.get_double("null-threshold");
  train::QAPrediction a = train::answer_question(*model, tok, p.get("question"), p.get("context"), qa, post);

  if (p.get_flag("json")) {
    nlohmann::ordered_json j{{"answer", a.text},   {"start", a.begin},           {"end", a.end},
                             {"score", a.score},   {"probability", a.probability}};
    if (post.version_2_with_negative) j["null_score_diff"] = a.null_score_diff;
    std::cout << j.dump() << "\n";
    return 0;
  }
  char buf[96];
  std::snprintf(buf, sizeof buf, "score %.4f  probability %.4f", a.score, a.probability);
  std::cout << "answer: \"" << a.text << "\"\nspan: [" << a.begin << ", " << a.end << ")\n" << buf << "\n";
  return 0;
}

Command reg{"qa", "answer a question with a span of a context (extractive QA model)", run_qa};

}  // namespace
}  // namespace tz::cli
