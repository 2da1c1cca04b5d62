// `tensorzoo qa`: HF's question-answering pipeline from the command line, many questions per call.
// The library side is train/pipelines/question_answering.h (answer_questions).
//   tensorzoo qa --model DIR --context C --question Q [--question Q2 ...] [--top-k K] [--json]
//   tensorzoo qa --model DIR --file questions.jsonl --json      # {"question": ..., "context": ...} per line
// --json prints one record per question as HF returns it: {score, start, end, answer}, or a list of
// them when more than one answer is left (--top-k).
#include <cstdio>
#include <iostream>

#include "cli/args.h"
#include "cli/command.h"
#include "cli/text_inputs.h"
#include "core/error.h"
#include "train/pipelines/question_answering.h"

namespace tz::cli {
namespace {

// {"question": ..., "context": ...} per line of `file` ("-" or "": stdin); blank lines skipped.
std::vector<pipelines::QAInput> read_questions(const std::string& file) {
  const std::string name = file.empty() || file == "-" ? "stdin" : file;
  const std::vector<std::string> lines = read_lines(file);
  std::vector<pipelines::QAInput> out;
  for (std::size_t n = 0; n < lines.size(); ++n) {
    if (lines[n].find_first_not_of(" \t") == std::string::npos) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(lines[n]);
    } catch (const nlohmann::json::exception& e) {
      throw Error(detail::concat("qa: ", name, ":", n + 1, ": not a JSON object (", e.what(), ")"));
    }
    TZ_CHECK(j.is_object() && j.contains("question") && j["question"].is_string() && j.contains("context") &&
                 j["context"].is_string(),
             "qa: ", name, ":", n + 1, ": expected {\"question\": \"...\", \"context\": \"...\"}");
    out.push_back({j["question"].get<std::string>(), j["context"].get<std::string>()});
  }
  return out;
}

nlohmann::ordered_json answer_json(const pipelines::QAAnswer& a) {
  return {{"score", a.score}, {"start", a.start}, {"end", a.end}, {"answer", a.answer}};
}

int run_qa(const std::vector<std::string>& args) {
  ArgParser p("tensorzoo qa",
              "Answer questions from contexts with an extractive question-answering model of any family\n"
              "(HF's question-answering pipeline). An answer is a span of the context: its text, its\n"
              "character (code point) span [start, end) and its score, the product of the start and end\n"
              "probabilities. Inputs: --question (repeatable) with --context, else JSONL lines\n"
              "{\"question\", \"context\"} from --file or stdin; windows of all questions are batched together.");
  add_model_options(p, "question-answering");
  p.multi_option("question", "Q", "a question about --context");
  p.option("context", "C", "the text that holds the answers", "");
  p.option("top-k", "K", "answers per question (HF's top_k)", "1");
  p.option("max-answer-length", "N", "longest answer, in tokens (HF's max_answer_len)", "15");
  p.option("doc-stride", "N", "tokens shared by consecutive windows of a long context (HF's doc_stride; "
           "unset: min(max-length / 2, 128))", "");
  p.flag("allow-no-answer", "the empty answer competes, scored by the [CLS] probabilities (HF's handle_impossible_answer)");
  p.flag("no-align-to-words", "answers end on token boundaries instead of whole words (HF's align_to_words=False)");
  add_inference_options(p, "JSONL questions {\"question\", \"context\"}");
  p.option("max-length", "N", "tokens per window, question + context + special tokens (HF's max_seq_len; 0: "
           "min(384, the model's limit))", "0");
  if (!p.parse(args)) return p.exit_code();
  InferenceOptions io;
  if (!apply_inference_options(p, io)) return 2;
  pipelines::QuestionAnsweringOptions opt;
  const long long top_k = p.get_int("top-k"), max_answer = p.get_int("max-answer-length");
  if (top_k < 1) return usage_error("--top-k must be >= 1");
  if (max_answer < 1) return usage_error("--max-answer-length must be >= 1");
  opt.top_k = static_cast<std::size_t>(top_k);
  opt.max_answer_len = static_cast<std::size_t>(max_answer);
  opt.max_seq_len = io.max_length;
  opt.batch_size = io.batch_size;
  opt.handle_impossible_answer = p.get_flag("allow-no-answer");
  opt.align_to_words = !p.get_flag("no-align-to-words");
  if (!p.get("doc-stride").empty()) {
    const long long stride = p.get_int("doc-stride");
    if (stride < 0) return usage_error("--doc-stride must be 0 or positive");
    opt.doc_stride = static_cast<std::size_t>(stride);
  }

  std::vector<pipelines::QAInput> inputs;
  const std::vector<std::string> questions = p.get_all("question");
  if (!questions.empty()) {
    if (p.get("context").empty()) return usage_error("--question needs --context");
    if (!p.get("file").empty()) return usage_error("give questions either with --question or in --file, not both");
    for (const std::string& q : questions) inputs.push_back({q, p.get("context")});
  } else {
    if (!p.get("context").empty()) return usage_error("--context needs at least one --question");
    inputs = read_questions(p.get("file"));
  }
  if (inputs.empty()) return usage_error("no questions (give --question and --context, --file F, or JSONL on stdin)");

  tokenizer::WordPiece tok = load_tokenizer_for(p.get("model"), p.get("tokenizer"));
  auto model = load_model_for(p.get("model"), models::Task::QuestionAnswering, "qa", io.precision);
  const auto results = pipelines::answer_questions(*model, tok, inputs, opt);
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (io.json) {
      // HF returns the answer itself when one is left, else the list.
      if (results[i].size() == 1) {
        print_json(answer_json(results[i][0]));
      } else {
        nlohmann::ordered_json list = nlohmann::ordered_json::array();
        for (const auto& a : results[i]) list.push_back(answer_json(a));
        print_json(list);
      }
      continue;
    }
    std::cout << "question: " << inputs[i].question << "\n";
    for (const auto& a : results[i]) {
      char score[32];
      std::snprintf(score, sizeof score, "%.4f", a.score);
      std::cout << "  answer: \"" << a.answer << "\"  span: [" << a.start << ", " << a.end << ")  score: " << score << "\n";
    }
  }
  return 0;
}

Command reg{"qa", "answer questions with spans of a context (HF's question-answering pipeline)", run_qa};

}  // namespace
}  // namespace tz::cli
