// `tensorzoo tag | qa | choose` against the tiny reference models: the CLI's JSON output must equal
// the library computed in this process, and the batched QA windows must equal running each window
// alone (padding and the attention mask must not change a window's logits).
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <numeric>

#include "autograd/grad_mode.h"
#include "models/registry.h"
#include "tensor/ops.h"
#include "tests/test_util.h"
#include "tokenizer/wordpiece.h"
#include "train/multiple_choice.h"
#include "train/question_answering.h"
#include "train/token_classification.h"

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

TEST_CASE("tensorzoo tag equals tag_text", "[cli][tasks][reference]") {
  if (!tz::test::have_reference("convbert/tiny-token-cls")) return;
  std::string dir = model_dir("tiny-token-cls");
  std::vector<std::string> texts{"John lives in New York.", "Zo\u00eb visited the Hugging Face office, didn't she?"};
  Result r = run("tag --json --model " + dir + " " + quote(texts[0]) + " " + quote(texts[1]), false);
  REQUIRE(r.code == 0);
  auto model = load(dir);
  auto tok = tz::tokenizer::WordPiece::from_pretrained(dir);
  std::istringstream lines(r.out);
  for (const auto& text : texts) {
    std::string line;
    REQUIRE(std::getline(lines, line));
    auto j = nlohmann::json::parse(line);
    auto want = tz::train::tag_text(*model, tok, text);
    CHECK(j["text"] == text);
    REQUIRE(j["words"].size() == want.words.size());
    for (std::size_t i = 0; i < want.words.size(); ++i) {
      CHECK(j["words"][i]["word"] == want.words[i].text);
      CHECK(j["words"][i]["label"] == want.words[i].label);
      CHECK(j["words"][i]["score"].get<double>() == Approx(want.words[i].score).margin(1e-6));
      CHECK(j["words"][i]["start"] == want.words[i].begin);
      CHECK(j["words"][i]["end"] == want.words[i].end);
    }
    REQUIRE(j["entities"].size() == want.entities.size());
    for (std::size_t i = 0; i < want.entities.size(); ++i) {
      CHECK(j["entities"][i]["text"] == want.entities[i].text);
      CHECK(j["entities"][i]["entity"] == want.entities[i].type);
    }
  }
  // The first text by hand: John [0,4) lives [5,10) in [11,13) New [14,17) York [18,22) . [22,23)
  auto first = tz::train::tag_text(*model, tok, texts[0]);
  REQUIRE(first.words.size() == 6);
  CHECK(first.words[4].text == "York");
  CHECK(first.words[4].begin == 18);
  // Word labels come from the first piece's argmax over the model's logits.
  tz::tokenizer::EncodeOptions opt;
  opt.char_offsets = true;
  auto enc = tok.encode(texts[0], opt);
  tz::models::Inputs in;
  in.input_ids = tz::raw::from_vector(enc.ids, {1, static_cast<int64_t>(enc.size())});
  tz::NoGradGuard no_grad;
  auto logits = tz::raw::contiguous(model->forward(in).logits).to_vector<float>();
  const std::size_t L = model->config().id2label.size();
  std::size_t word = 0;
  for (std::size_t t = 0; t < enc.size(); ++t) {
    if (enc.word_ids[t] < 0 || (t > 0 && enc.word_ids[t] == enc.word_ids[t - 1])) continue;
    auto row = logits.begin() + static_cast<std::ptrdiff_t>(t * L);
    auto best = static_cast<std::size_t>(std::max_element(row, row + static_cast<std::ptrdiff_t>(L)) - row);
    CHECK(first.words[word++].label == model->config().id2label[best]);
  }
}

TEST_CASE("tensorzoo qa equals answer_question; batched windows equal windows run alone", "[cli][tasks][reference]") {
  if (!tz::test::have_reference("convbert/tiny-qa")) return;
  std::string dir = model_dir("tiny-qa");
  const std::string question = "Where did Mary move?";
  Result r = run("qa --json --model " + dir + " --max-length 40 --doc-stride 10 --question " + quote(question) +
                     " --context " + quote(kContext),
                 false);
  REQUIRE(r.code == 0);
  auto j = nlohmann::json::parse(r.out);
  auto model = load(dir);
  auto tok = tz::tokenizer::WordPiece::from_pretrained(dir);
  tz::train::QAOptions opt{.max_length = 40, .doc_stride = 10};
  auto want = tz::train::answer_question(*model, tok, question, kContext, opt);
  CHECK(j["answer"] == want.text);
  CHECK(j["start"] == want.begin);
  CHECK(j["end"] == want.end);
  CHECK(j["score"].get<double>() == Approx(want.score).margin(1e-5));
  CHECK(kContext.substr(want.begin, want.end - want.begin) == want.text);  // ASCII context

  // The same prediction from each window run on its own (no padding).
  std::vector<tz::train::QAExample> ex{{"0", question, kContext, {}, {}}};
  auto feats = tz::train::prepare_qa_features(tok, ex, opt);
  REQUIRE(feats.size() >= 3);  // the context needs several windows at this length
  std::vector<std::vector<float>> starts, ends;
  tz::NoGradGuard no_grad;
  for (std::size_t k = 0; k < feats.size(); ++k) {
    auto in = tz::train::collate_qa(feats, std::vector<std::size_t>{k}, 0, false);
    auto out = model->forward(in);
    starts.push_back(tz::raw::contiguous(out.start_logits).to_vector<float>());
    ends.push_back(tz::raw::contiguous(out.end_logits).to_vector<float>());
  }
  auto alone = tz::train::postprocess_qa_predictions(ex, feats, starts, ends).at(0);
  CHECK(alone.text == want.text);
  CHECK(alone.score == Approx(want.score).margin(1e-4));
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
