// `tensorzoo tag | qa | choose` against the tiny reference models: the CLI's JSON output must equal
// the library computed in this process (train/pipelines/, train/multiple_choice.h), and questions
// answered in one call (their windows batched together) must equal each question answered alone.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>

#include "autograd/grad_mode.h"
#include "models/registry.h"
#include "tensor/ops.h"
#include "tests/test_util.h"
#include "tokenizer/wordpiece.h"
#include "train/multiple_choice.h"
#include "train/pipelines/question_answering.h"
#include "train/pipelines/token_classification.h"

#include "tests/cli/run_cli.h"

namespace {

struct Result {
  int code;
  std::string out;
};

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

Result run(const std::string& args, bool merge_stderr = true) {
  int code = 0;
  std::string out = tz::test::capture_command(
      std::string(TZ_CLI_PATH) + " " + args + (merge_stderr ? " 2>&1" : " 2>/dev/null"), &code);
  return {code, out};
}

std::string model_dir(const char* name) { return (tz::test::reference_dir() / "convbert" / name).string(); }

std::shared_ptr<tz::models::PreTrainedModel> load(const std::string& dir) {
  tz::models::LoadOptions opt;
  opt.verbose = false;
  auto m = tz::models::from_pretrained(dir, opt);
  m->eval();
  return m;
}

const std::string kContext =
    "John Smith lives in New York and works for a small company near the river. His sister Mary moved to "
    "Paris in 1990, where she studied music and later taught at the old school by the park. They meet every "
    "summer in a village in the mountains.";

}  // namespace

TEST_CASE("task commands have --help and refuse the wrong head", "[cli][tasks]") {
  for (const char* cmd : {"tag", "qa", "choose"}) {
    Result h = run(std::string(cmd) + " --help");
    INFO(cmd << ": " << h.out);
    CHECK(h.code == 0);
    CHECK_THAT(h.out, Catch::Contains("usage: tensorzoo " + std::string(cmd)));
  }
  CHECK(run("tag").code == 2);
  if (!tz::test::have_reference("convbert/tiny-qa")) return;
  Result r = run("tag --model " + model_dir("tiny-qa") + " hello");
  CHECK(r.code == 1);
  CHECK_THAT(r.out, Catch::Contains("no trained weights for ConvBertForTokenClassification"));
}

TEST_CASE("tensorzoo tag equals classify_tokens; rows are each token's argmax", "[cli][tasks][reference]") {
  if (!tz::test::have_reference("convbert/tiny-token-cls")) return;
  std::string dir = model_dir("tiny-token-cls");
  std::vector<std::string> texts{"John lives in New York.", "Zo\u00eb visited the Hugging Face office, didn't she?"};
  auto model = load(dir);
  auto tok = tz::tokenizer::WordPiece::from_pretrained(dir);
  for (const char* strategy : {"none", "simple", "first", "average", "max"}) {
    INFO(strategy);
    Result r = run(std::string("tag --json --ignore-labels '' --aggregation ") + strategy + " --model " + dir + " " +
                       quote(texts[0]) + " " + quote(texts[1]),
                   false);
    REQUIRE(r.code == 0);
    tz::pipelines::TokenClassificationOptions opt;
    opt.aggregation = tz::pipelines::aggregation_strategy_from_name(strategy);
    opt.ignore_labels = {};
    auto want = tz::pipelines::classify_tokens(*model, tok, texts, opt);
    std::istringstream lines(r.out);
    for (std::size_t i = 0; i < texts.size(); ++i) {
      std::string line;
      REQUIRE(std::getline(lines, line));
      auto j = nlohmann::json::parse(line);
      REQUIRE(j.size() == want[i].size());
      const char* key = std::string(strategy) == "none" ? "entity" : "entity_group";
      for (std::size_t k = 0; k < want[i].size(); ++k) {
        CHECK(j[k][key] == want[i][k].entity);
        CHECK(j[k]["word"] == want[i][k].word);
        CHECK(j[k]["score"].get<double>() == Approx(want[i][k].score).margin(1e-6));
        CHECK(j[k]["start"] == want[i][k].start);
        CHECK(j[k]["end"] == want[i][k].end);
        CHECK(j[k].contains("index") == (std::string(strategy) == "none"));
      }
    }
  }
  // The first text by hand: john [0,4) live [5,9) ##s [9,10) in [11,13) new [14,17) york [18,22)
  // . [22,23); each row's label is the argmax of that token's logits.
  Result r = run("tag --json --ignore-labels '' --model " + dir + " " + quote(texts[0]), false);
  REQUIRE(r.code == 0);
  auto rows = nlohmann::json::parse(r.out);
  tz::tokenizer::EncodeOptions opt;
  opt.char_offsets = true;
  auto enc = tok.encode(texts[0], opt);
  REQUIRE(rows.size() == enc.size() - 2);
  CHECK(rows[2]["word"] == "##s");
  CHECK(rows[5]["start"] == 18);
  CHECK(rows[5]["word"] == "york");
  tz::models::Inputs in;
  in.input_ids = tz::raw::from_vector(enc.ids, {1, static_cast<int64_t>(enc.size())});
  tz::NoGradGuard no_grad;
  auto logits = tz::raw::contiguous(model->forward(in).logits).to_vector<float>();
  const std::size_t L = model->config().id2label.size();
  for (std::size_t t = 1; t + 1 < enc.size(); ++t) {
    auto row = logits.begin() + static_cast<std::ptrdiff_t>(t * L);
    auto best = static_cast<std::size_t>(std::max_element(row, row + static_cast<std::ptrdiff_t>(L)) - row);
    CHECK(rows[t - 1]["entity"] == model->config().id2label[best]);
    CHECK(rows[t - 1]["index"] == t);
  }
}

TEST_CASE("tensorzoo qa equals answer_questions; questions batched together equal each alone", "[cli][tasks][reference]") {
  if (!tz::test::have_reference("convbert/tiny-qa")) return;
  std::string dir = model_dir("tiny-qa");
  const std::vector<std::string> questions{"Where did Mary move?", "Who lives in New York?", "When?"};
  std::string args = "qa --json --model " + dir + " --max-length 40 --doc-stride 10 --context " + quote(kContext);
  for (const auto& q : questions) args += " --question " + quote(q);
  Result r = run(args, false);
  REQUIRE(r.code == 0);
  auto model = load(dir);
  auto tok = tz::tokenizer::WordPiece::from_pretrained(dir);
  tz::pipelines::QuestionAnsweringOptions opt;
  opt.max_seq_len = 40;
  opt.doc_stride = 10;
  std::vector<tz::pipelines::QAInput> inputs;
  for (const auto& q : questions) inputs.push_back({q, kContext});
  auto want = tz::pipelines::answer_questions(*model, tok, inputs, opt);
  std::istringstream lines(r.out);
  for (std::size_t i = 0; i < questions.size(); ++i) {
    std::string line;
    REQUIRE(std::getline(lines, line));
    auto j = nlohmann::json::parse(line);  // top_k 1: HF's single answer record
    REQUIRE(j.is_object());
    CHECK(j["answer"] == want[i][0].answer);
    CHECK(j["start"] == want[i][0].start);
    CHECK(j["end"] == want[i][0].end);
    CHECK(j["score"].get<double>() == Approx(want[i][0].score).epsilon(1e-6));
    CHECK(kContext.substr(want[i][0].start, want[i][0].end - want[i][0].start) == want[i][0].answer);  // ASCII
    // The same question alone.
    Result alone = run("qa --json --model " + dir + " --max-length 40 --doc-stride 10 --context " + quote(kContext) +
                           " --question " + quote(questions[i]),
                       false);
    REQUIRE(alone.code == 0);
    auto a = nlohmann::json::parse(alone.out);
    CHECK(a["answer"] == j["answer"]);
    CHECK(a["score"].get<double>() == Approx(j["score"].get<double>()).epsilon(1e-5));
  }
  REQUIRE(tz::pipelines::question_windows(tok, inputs[0], 40, 10).size() >= 3);  // several windows per question
}

TEST_CASE("tensorzoo choose equals choose(); probabilities are the softmax of the logits", "[cli][tasks][reference]") {
  if (!tz::test::have_reference("convbert/tiny-multiple-choice")) return;
  std::string dir = model_dir("tiny-multiple-choice");
  std::vector<std::string> endings{"sat down on the mat.", "flew to the moon.", "ate a very large fish yesterday."};
  Result r = run("choose --json --model " + dir + " --context " + quote("The cat") + " " + quote(endings[0]) + " " +
                     quote(endings[1]) + " " + quote(endings[2]),
                 false);
  REQUIRE(r.code == 0);
  auto j = nlohmann::json::parse(r.out);
  auto model = load(dir);
  auto tok = tz::tokenizer::WordPiece::from_pretrained(dir);
  auto want = tz::train::choose(*model, tok, "The cat", endings);
  REQUIRE(j["probabilities"].size() == 3);
  double sum = 0;
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(j["probabilities"][i].get<double>() == Approx(want[i]).margin(1e-6));
    sum += want[i];
  }
  CHECK(sum == Approx(1.0));
  // ConvBertForMultipleChoice reads the LAST position (HF's SequenceSummary "last"), which for a
  // padded choice is padding: as in HF, a choice's logit depends on the batch's padding. The longest
  // ending is not padded, so its logit alone must equal its logit in the batch.
  auto feats = tz::train::make_multiple_choice_features(tok, {{"The cat", "", endings, -1}});
  tz::NoGradGuard no_grad;
  auto batch_logits = tz::raw::contiguous(
      model->forward(tz::train::collate_multiple_choice(feats, std::vector<std::size_t>{0}, 0)).logits).to_vector<float>();
  CHECK(tz::train::choice_probabilities(batch_logits)[1] == Approx(want[1]).margin(1e-6));
  auto longest = tz::train::make_multiple_choice_features(tok, {{"The cat", "", {endings[2]}, -1}});
  REQUIRE(longest[0].input_ids[0].size() > feats[0].input_ids[0].size());
  auto alone = model->forward(tz::train::collate_multiple_choice(longest, std::vector<std::size_t>{0}, 0)).logits.item();
  CHECK(alone == Approx(batch_logits[2]).margin(1e-5));
}
