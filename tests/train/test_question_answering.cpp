// Extractive QA: readers, doc_stride windows and answer positions (answers cut by a window edge,
// contexts longer than several windows), and post-processing on hand-made logits.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tensor/tensor.h"
#include "train/question_answering.h"

using namespace tz::train;
using tz::tokenizer::WordPiece;

namespace {

const std::vector<std::string> kWords{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot",
                                      "golf",  "hotel", "india",   "juliet", "kilo"};

WordPiece tiny_tokenizer() {
  std::vector<std::string> v{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "who", "?"};
  v.insert(v.end(), kWords.begin(), kWords.end());  // alpha = 7 ... kilo = 17
  return WordPiece::from_tokens(v);
}

// "alpha bravo ... kilo": alpha [0,5) bravo [6,11) charlie [12,19) delta [20,25) echo [26,30)
// foxtrot [31,38) golf [39,43) hotel [44,49) india [50,55) juliet [56,62) kilo [63,67)
const std::string kContext = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo";

// [CLS] who ? [SEP] + 5 context tokens + [SEP]; windows step by 5 - 2 = 3 tokens.
const QAOptions kSmall{.max_length = 10, .doc_stride = 2};

QAExample ask(const std::string& answer, std::size_t start) {
  return QAExample{"q", " who?", kContext, {answer}, {start}};
}

std::string span_text(const QAFeature& f, const std::string& context) {
  auto b = f.offsets[static_cast<std::size_t>(f.start_position)].begin;
  auto e = f.offsets[static_cast<std::size_t>(f.end_position)].end;
  return context.substr(b, e - b);  // ASCII contexts here
}

}  // namespace

TEST_CASE("QA windows: only_second truncation with doc_stride keeps every window", "[train][qa]") {
  auto tok = tiny_tokenizer();
  auto feats = prepare_qa_features(tok, {ask("echo foxtrot", 26)}, kSmall);
  REQUIRE(feats.size() == 3);
  // Windows: alpha..echo, delta..hotel, golf..kilo (two tokens shared with the previous window).
  CHECK(feats[0].input_ids == std::vector<int64_t>{2, 5, 6, 3, 7, 8, 9, 10, 11, 3});
  CHECK(feats[1].input_ids == std::vector<int64_t>{2, 5, 6, 3, 10, 11, 12, 13, 14, 3});
  CHECK(feats[2].input_ids == std::vector<int64_t>{2, 5, 6, 3, 13, 14, 15, 16, 17, 3});
  for (const auto& f : feats) {
    CHECK(f.example_index == 0);
    CHECK(f.cls_index == 0);
    CHECK(f.sequence_ids == std::vector<int32_t>{-1, 0, 0, -1, 1, 1, 1, 1, 1, -1});
    CHECK(f.token_type_ids == std::vector<int64_t>{0, 0, 0, 0, 1, 1, 1, 1, 1, 1});
  }
  CHECK(feats[1].offsets[4] == tz::tokenizer::Offset{20, 25});  // delta, in context characters
}

TEST_CASE("QA positions: an answer cut by a window edge points at [CLS]", "[train][qa]") {
  auto tok = tiny_tokenizer();
  auto feats = prepare_qa_features(tok, {ask("echo foxtrot", 26)}, kSmall);
  REQUIRE(feats.size() == 3);
  CHECK(feats[0].start_position == 0);  // window 0 ends with echo: the answer is cut
  CHECK(feats[0].end_position == 0);
  CHECK(feats[1].start_position == 5);  // [CLS] who ? [SEP] delta echo foxtrot ...
  CHECK(feats[1].end_position == 6);
  CHECK(span_text(feats[1], kContext) == "echo foxtrot");
  CHECK(feats[2].start_position == 0);
  CHECK(feats[2].end_position == 0);
}

TEST_CASE("QA positions: answers on the window's last token, in two windows, unanswerable", "[train][qa]") {
  auto tok = tiny_tokenizer();
  auto last = prepare_qa_features(tok, {ask("kilo", 63)}, kSmall);
  REQUIRE(last.size() == 3);
  CHECK(last[2].start_position == 8);  // run_qa's unbounded loop would run into [SEP] here
  CHECK(last[2].end_position == 8);
  CHECK(last[0].start_position == 0);
  CHECK(last[1].start_position == 0);

  auto twice = prepare_qa_features(tok, {ask("delta", 20)}, kSmall);
  CHECK(twice[0].start_position == 7);
  CHECK(twice[0].end_position == 7);
  CHECK(twice[1].start_position == 4);
  CHECK(twice[1].end_position == 4);
  CHECK(twice[2].start_position == 0);

  // Part of a word: the positions cover the whole token holding it.
  auto partial = prepare_qa_features(tok, {ask("ravo", 7)}, kSmall);
  CHECK(partial[0].start_position == 5);
  CHECK(partial[0].end_position == 5);

  QAExample none{"n", "who?", kContext, {}, {}};
  for (const auto& f : prepare_qa_features(tok, {none}, kSmall)) {
    CHECK(f.start_position == 0);
    CHECK(f.end_position == 0);
  }
}

TEST_CASE("QA positions: a context many windows long; every answer found where it fits", "[train][qa]") {
  auto tok = tiny_tokenizer();
  std::string context;
  std::vector<std::pair<std::size_t, std::string>> words;  // (char start, word)
  for (std::size_t i = 0; i < 40; ++i) {
    if (!context.empty()) context += ' ';
    words.emplace_back(context.size(), kWords[(i * 7) % kWords.size()]);
    context += words.back().second;
  }
  const QAOptions opt{.max_length = 12, .doc_stride = 3};  // 7 context tokens, step 4
  for (std::size_t a = 0; a + 1 < words.size(); a += 3) {
    // A two-word answer starting at word a.
    std::string answer = context.substr(words[a].first, words[a + 1].first + words[a + 1].second.size() - words[a].first);
    QAExample ex{"q", "who?", context, {answer}, {words[a].first}};
    auto feats = prepare_qa_features(tok, {ex}, opt);
    REQUIRE(feats.size() == 10);  // windows start at context tokens 0, 4, ..., 36 (36 + 7 >= 40 ends it)
    std::size_t found = 0;
    for (std::size_t w = 0; w < feats.size(); ++w) {
      const auto& f = feats[w];
      std::size_t first_word = 4 * w, last_word = std::min<std::size_t>(first_word + 6, 39);
      CHECK(f.offsets[4].begin == words[first_word].first);
      bool inside = a >= first_word && a + 1 <= last_word;
      INFO("answer at word " << a << ", window " << w);
      if (inside) {
        ++found;
        CHECK(f.start_position == static_cast<int64_t>(4 + a - first_word));
        CHECK(span_text(f, context) == answer);
      } else {
        CHECK(f.start_position == 0);
        CHECK(f.end_position == 0);
      }
    }
    CHECK(found >= 1);
  }
}

TEST_CASE("QA collate: dynamic padding and positions", "[train][qa]") {
  auto tok = tiny_tokenizer();
  auto feats = prepare_qa_features(tok, {ask("echo foxtrot", 26), QAExample{"s", "who", "kilo", {"kilo"}, {0}}}, kSmall);
  REQUIRE(feats.size() == 4);
  std::vector<std::size_t> idx{1, 3};
  auto in = collate_qa(feats, idx, 0);
  REQUIRE(in.input_ids.shape() == tz::Shape{2, 10});
  // Row 1: [CLS] who [SEP] kilo [SEP] + 5 padding
  CHECK(in.input_ids.to_vector<int64_t>()[10 + 3] == 17);
  CHECK(in.input_ids.to_vector<int64_t>()[10 + 5] == 0);
  CHECK(in.attention_mask.to_vector<int64_t>()[10 + 4] == 1);
  CHECK(in.attention_mask.to_vector<int64_t>()[10 + 5] == 0);
  CHECK(in.start_positions.to_vector<int64_t>() == std::vector<int64_t>{5, 3});
  CHECK(in.end_positions.to_vector<int64_t>() == std::vector<int64_t>{6, 3});
  CHECK_FALSE(collate_qa(feats, idx, 0, false).start_positions.defined());
}

TEST_CASE("QA post-processing on hand-made logits", "[train][qa]") {
  auto tok = tiny_tokenizer();
  QAExample ex = ask("echo foxtrot", 26);
  auto feats = prepare_qa_features(tok, {ex}, kSmall);
  REQUIRE(feats.size() == 3);
  std::vector<std::vector<float>> s(3, std::vector<float>(10, 0.f)), e = s;
  s[0][0] = 1, e[0][0] = 1;   // null scores 2, 10, 6: the smallest (2) counts
  s[1][0] = 5, e[1][0] = 5;
  s[2][0] = 3, e[2][0] = 3;
  s[1][5] = 5, e[1][6] = 4;   // window 1: echo .. foxtrot, score 9
  s[1][1] = 10, e[1][1] = 10; // the question token "who": never an answer
  s[0][7] = 3, e[0][6] = 6;   // window 0: delta .. charlie is reversed
  e[0][8] = 2;                // delta .. echo, score 5
  s[2][4] = 4, e[2][8] = 6;   // golf .. kilo, score 10 but 5 tokens long
  QAPostprocessOptions opt{.n_best_size = 20, .max_answer_length = 3};
  auto p = postprocess_qa_predictions({ex}, feats, s, e, opt);
  REQUIRE(p.size() == 1);
  CHECK(p[0].text == "echo foxtrot");
  CHECK(p[0].begin == 26);
  CHECK(p[0].end == 38);
  CHECK(p[0].score == Approx(9));
  CHECK(p[0].n_best.size() == 20);
  for (std::size_t i = 1; i < p[0].n_best.size(); ++i) CHECK(p[0].n_best[i - 1].score >= p[0].n_best[i].score);

  opt.max_answer_length = 30;  // now golf .. kilo wins
  auto longer = postprocess_qa_predictions({ex}, feats, s, e, opt);
  CHECK(longer[0].text == "golf hotel india juliet kilo");
  CHECK(longer[0].score == Approx(10));

  // SQuAD v2: null score 2 (the minimum over windows) against the best span 9.
  opt = {.n_best_size = 20, .max_answer_length = 3, .version_2_with_negative = true};
  auto v2 = postprocess_qa_predictions({ex}, feats, s, e, opt);
  CHECK(v2[0].text == "echo foxtrot");
  CHECK(v2[0].null_score == Approx(2));
  CHECK(v2[0].null_score_diff == Approx(2 - 9));
  opt.null_score_diff_threshold = -8;  // null wins when null - best > threshold
  auto v2null = postprocess_qa_predictions({ex}, feats, s, e, opt);
  CHECK(v2null[0].text == "");
  CHECK(v2null[0].score == Approx(2));

  // n_best_size = 1: only the top start and end per window; none makes a valid span, and HF's
  // guard answers "empty".
  opt = {.n_best_size = 1, .max_answer_length = 3};
  auto empty = postprocess_qa_predictions({ex}, feats, s, e, opt);
  CHECK(empty[0].text == "empty");
}

TEST_CASE("QA readers: SQuAD JSON v1/v2 and flat JSONL", "[train][qa]") {
  // One folder per process: parallel runs of this test (other worktrees) must not share files.
  auto dir = std::filesystem::temp_directory_path() / ("tz_test_qa_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  auto squad = dir / "tz_test_squad.json";
  std::ofstream(squad) << R"({"version": "v2.0", "data": [{"title": "T", "paragraphs": [{"context": "Zoë went to Paris.",
    "qas": [{"id": "a", "question": "Where?", "answers": [{"text": "Paris", "answer_start": 12}], "is_impossible": false},
            {"id": "b", "question": "Why?", "answers": [], "plausible_answers": [{"text": "x", "answer_start": 0}], "is_impossible": true}]}]}]})";
  auto ex = read_qa(squad);
  REQUIRE(ex.size() == 2);
  CHECK(ex[0].id == "a");
  CHECK(ex[0].answer_texts == std::vector<std::string>{"Paris"});
  CHECK(ex[0].answer_starts == std::vector<std::size_t>{12});  // code points: "Zoë" is 3 characters
  CHECK(ex[1].answer_texts.empty());

  auto jsonl = dir / "tz_test_qa.jsonl";
  std::ofstream(jsonl) << R"({"id": "x1", "question": "Q", "context": "abc def", "answers": {"text": ["def"], "answer_start": [4]}})"
                       << "\n" << R"({"id": "x2", "question": "Q", "context": "abc", "answers": {"text": [], "answer_start": []}})" << "\n";
  auto j = read_qa(jsonl);
  REQUIRE(j.size() == 2);
  CHECK(j[0].answer_starts == std::vector<std::size_t>{4});
  CHECK(j[1].answer_texts.empty());
  // Same JSONL under a .json name (HF's to_json)
  auto jsonl_as_json = dir / "tz_test_qa_lines.json";
  std::filesystem::copy_file(jsonl, jsonl_as_json, std::filesystem::copy_options::overwrite_existing);
  CHECK(read_qa(jsonl_as_json).size() == 2);

  auto bad = dir / "tz_test_qa_bad.jsonl";
  std::ofstream(bad) << R"({"id": "x", "question": "Q", "context": "abc", "answers": {"text": ["abcd"], "answer_start": [1]}})";
  CHECK_THROWS_WITH(read_qa(bad), Catch::Contains("runs past the context"));
  CHECK(squad_gold(ex).at("a") == std::vector<std::string>{"Paris"});
  std::filesystem::remove_all(dir);
}

#include "autograd/grad_mode.h"
#include "models/registry.h"
#include "nn/optim.h"
#include "tests/test_util.h"

TEST_CASE("QA: windows train the tiny reference model to the answers", "[train][qa][reference]") {
  if (!tz::test::have_reference("convbert/tiny-qa")) return;
  auto dir = (tz::test::reference_dir() / "convbert" / "tiny-qa").string();
  tz::models::LoadOptions lo;
  lo.verbose = false;
  auto model = tz::models::from_pretrained(dir, lo);
  model->eval();
  auto tok = WordPiece::from_pretrained(dir);
  const std::string ctx = "John lives in New York. Mary moved to Paris in 1990. Peter works near the river in London.";
  std::vector<QAExample> data{{"a", "Where does John live?", ctx, {"New York"}, {14}},
                              {"b", "Where did Mary move?", ctx, {"Paris"}, {38}},
                              {"c", "When did Mary move?", ctx, {"1990"}, {47}},
                              {"d", "Where does Peter work?", ctx, {"London"}, {83}}};
  for (const auto& e : data) REQUIRE(ctx.substr(e.answer_starts[0], e.answer_texts[0].size()) == e.answer_texts[0]);
  QAOptions opt{.max_length = 24, .doc_stride = 6};
  auto feats = prepare_qa_features(tok, data, opt);
  REQUIRE(feats.size() > data.size());  // several windows per example
  std::vector<std::size_t> all(feats.size());
  std::iota(all.begin(), all.end(), 0);
  auto batch = collate_qa(feats, all, tok.pad_id());
  auto before = evaluate_qa(*model, data, feats, 4, tok.pad_id());
  tz::optim::AdamW adam(model->parameters(), {.lr = 3e-3, .weight_decay = 0.0});
  // 600 steps: 300 reach a tiny loss but leave the answer order sensitive to float rounding (the
  // sanitizer build's -O1 arithmetic then puts John's answer in a neighbouring window).
  for (int step = 0; step < 600; ++step) {
    auto out = model->forward(batch);
    adam.zero_grad();
    out.loss.backward();
    adam.step();
  }
  std::vector<QAPrediction> preds;
  auto after = evaluate_qa(*model, data, feats, 4, tok.pad_id(), {}, &preds);
  INFO("loss " << before.at("eval_loss") << " -> " << after.at("eval_loss") << ", EM " << before.at("exact_match")
               << " -> " << after.at("exact_match"));
  CHECK(after.at("eval_loss") < 0.5 * before.at("eval_loss"));
  CHECK(after.at("exact_match") == 100.0);
  CHECK(preds[1].text == "Paris");
  CHECK(preds[1].begin == 38);
}

TEST_CASE("QA: positions and answers in code points on a non-ASCII context", "[train][qa]") {
  auto tok = WordPiece::from_tokens({"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "where", "?", "zoe", "went", "to",
                                     "paris", "cafe", "by", "the", "seine"});
  // "Zoë" and "café" have one two-byte character each: code points differ from bytes after them.
  const std::string ctx = "Zo\u00eb went to the caf\u00e9 by the Seine";
  QAExample ex{"u", "where?", ctx, {"the Seine"}, {24}};  // "Zoë went to the café by " is 24 characters
  auto feats = prepare_qa_features(tok, {ex}, {.max_length = 384, .doc_stride = 128});
  REQUIRE(feats.size() == 1);
  // [CLS] where ? [SEP] zoe went to the cafe by the seine [SEP]
  CHECK(feats[0].start_position == 10);
  CHECK(feats[0].end_position == 11);
  CHECK(feats[0].offsets[8] == tz::tokenizer::Offset{16, 20});  // café, in characters
  std::vector<std::vector<float>> s(1, std::vector<float>(feats[0].size(), 0.f)), e = s;
  s[0][8] = 5;  // café .. seine
  e[0][11] = 5;
  auto p = postprocess_qa_predictions({ex}, feats, s, e);
  CHECK(p[0].text == "caf\u00e9 by the Seine");
  CHECK(p[0].begin == 16);
  CHECK(p[0].end == 33);
}
