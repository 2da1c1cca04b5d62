// Multiple choice: SWAG CSV / JSONL readers, pair encoding per choice, [B, N, S] batching,
// probabilities and accuracy.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "tensor/tensor.h"
#include "train/multiple_choice.h"

using namespace tz::train;
using tz::tokenizer::WordPiece;

namespace {
WordPiece tiny_tokenizer() {
  // 5 the, 6 cat, 7 sat, 8 on, 9 mat, 10 ran, 11 away, 12 she
  return WordPiece::from_tokens({"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on", "mat", "ran",
                                 "away", "she"});
}
std::filesystem::path temp(const std::string& name) { return std::filesystem::temp_directory_path() / ("tz_test_mc_" + std::to_string(getpid()) + "_" + name); }
}  // namespace

TEST_CASE("multiple choice: SWAG CSV with quotes, commas and newlines", "[train][mc]") {
  auto p = temp("swag.csv");
  std::ofstream(p) << ",video-id,fold-ind,startphrase,sent1,sent2,gold-source,ending0,ending1,ending2,ending3,label\r\n"
                      "0,v1,5,x,\"The cat, tired\",It,gold,sat.,\"ran \"\"away\"\"\",\"slept\non\",ate,2\n"
                      "\n"
                      "1,v2,6,y,She sat,,gold,a,b,c,d,0\n";
  auto ex = read_multiple_choice(p);
  REQUIRE(ex.size() == 2);
  CHECK(ex[0].context == "The cat, tired");
  CHECK(ex[0].start == "It");
  CHECK(ex[0].endings == std::vector<std::string>{"sat.", "ran \"away\"", "slept\non", "ate"});
  CHECK(ex[0].label == 2);
  CHECK(ex[1].start.empty());
  CHECK(ex[1].label == 0);
  CHECK(choice_text(ex[0], 1) == "It ran \"away\"");
  CHECK(choice_text(ex[1], 3) == "d");
  std::ofstream(p) << "sent1,ending0,ending1,label\nctx,a,b,2\n";
  CHECK_THROWS_WITH(read_multiple_choice(p), Catch::Contains("swag.csv:2: label '2' is not a choice index in [0, 2)"));
  std::filesystem::remove(p);
}

TEST_CASE("multiple choice: JSONL in the SWAG and the context/endings forms", "[train][mc]") {
  auto p = temp("mc.jsonl");
  std::ofstream(p) << R"({"sent1": "A", "sent2": "B", "ending0": "x", "ending1": "y", "label": 1})" << "\n"
                   << R"({"context": "C", "endings": ["p", "q", "r"], "label": "2"})" << "\n"
                   << R"({"context": "D", "start": "S", "endings": ["p", "q"]})" << "\n";
  auto ex = read_multiple_choice(p);
  REQUIRE(ex.size() == 3);
  CHECK(ex[0].context == "A");
  CHECK(ex[0].start == "B");
  CHECK(ex[0].endings == std::vector<std::string>{"x", "y"});
  CHECK(ex[0].label == 1);
  CHECK(ex[1].endings.size() == 3);
  CHECK(ex[1].label == 2);
  CHECK(ex[2].start == "S");
  CHECK(ex[2].label == -1);
  std::filesystem::remove(p);
}

TEST_CASE("multiple choice: each choice is the pair (context, start + ending), batched [B, N, S]", "[train][mc]") {
  auto tok = tiny_tokenizer();
  MultipleChoiceExample a{"the cat", "she", {"sat", "ran away"}, 1};
  MultipleChoiceExample b{"the mat", "", {"cat", "on the mat"}, 0};
  auto f = make_multiple_choice_features(tok, {a, b});
  REQUIRE(f[0].input_ids.size() == 2);
  //                     [CLS] the cat [SEP] she sat [SEP]
  CHECK(f[0].input_ids[0] == std::vector<int64_t>{2, 5, 6, 3, 12, 7, 3});
  CHECK(f[0].token_type_ids[0] == std::vector<int64_t>{0, 0, 0, 0, 1, 1, 1});
  CHECK(f[0].input_ids[1] == std::vector<int64_t>{2, 5, 6, 3, 12, 10, 11, 3});
  CHECK(f[1].input_ids[1] == std::vector<int64_t>{2, 5, 9, 3, 8, 5, 9, 3});
  std::vector<std::size_t> idx{0, 1};
  auto in = collate_multiple_choice(f, idx, 0);
  REQUIRE(in.input_ids.shape() == tz::Shape{2, 2, 8});
  auto ids = in.input_ids.to_vector<int64_t>();
  auto mask = in.attention_mask.to_vector<int64_t>();
  auto types = in.token_type_ids.to_vector<int64_t>();
  // [0][0] has 7 tokens: one pad
  CHECK(std::vector<int64_t>(ids.begin(), ids.begin() + 8) == std::vector<int64_t>{2, 5, 6, 3, 12, 7, 3, 0});
  CHECK(std::vector<int64_t>(mask.begin(), mask.begin() + 8) == std::vector<int64_t>{1, 1, 1, 1, 1, 1, 1, 0});
  CHECK(std::vector<int64_t>(types.begin(), types.begin() + 8) == std::vector<int64_t>{0, 0, 0, 0, 1, 1, 1, 0});
  // [1][0]: [CLS] the mat [SEP] cat [SEP] + 2 pads
  CHECK(std::vector<int64_t>(ids.begin() + 16, ids.begin() + 24) == std::vector<int64_t>{2, 5, 9, 3, 6, 3, 0, 0});
  CHECK(in.labels.to_vector<int64_t>() == std::vector<int64_t>{1, 0});
  // Truncation (longest first) per choice
  auto t = make_multiple_choice_feature(tok, a, 6);
  CHECK(t.input_ids[1] == std::vector<int64_t>{2, 5, 3, 12, 10, 3});
  // Unlabelled examples give no labels tensor; different choice counts cannot share a batch.
  MultipleChoiceExample c{"the", "", {"cat", "mat", "sat"}, -1};
  auto g = make_multiple_choice_features(tok, {c});
  std::vector<std::size_t> zero{0};
  CHECK_FALSE(collate_multiple_choice(g, zero, 0).labels.defined());
  g.push_back(f[0]);
  CHECK_THROWS_WITH(collate_multiple_choice(g, idx, 0), Catch::Contains("has 2 choices, the batch has 3"));
}

TEST_CASE("multiple choice: probabilities and accuracy", "[train][mc]") {
  std::vector<float> logits{1.f, 2.f, 3.f};
  auto p = choice_probabilities(logits);
  double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  CHECK(p[0] == Approx(std::exp(1.0) / z));
  CHECK(p[2] == Approx(std::exp(3.0) / z));
  std::vector<float> batch{0.f, 1.f, 5.f, 2.f, 0.f, 0.f, 1.f, 1.f};  // [4, 2]: argmax 1, 0, 0 (tie: first), 0
  std::vector<int64_t> labels{1, 0, 1, 1};
  CHECK(choice_accuracy(batch, 2, labels) == Approx(0.5));
  CHECK_THROWS(choice_accuracy(batch, 3, labels));
}

#include "autograd/grad_mode.h"
#include "models/registry.h"
#include "nn/optim.h"
#include "tests/test_util.h"

TEST_CASE("multiple choice: [B, N, S] batches train the tiny reference model", "[train][mc][reference]") {
  if (!tz::test::have_reference("convbert/tiny-multiple-choice")) return;
  auto dir = (tz::test::reference_dir() / "convbert" / "tiny-multiple-choice").string();
  tz::models::LoadOptions lo;
  lo.verbose = false;
  auto model = tz::models::from_pretrained(dir, lo);
  model->eval();
  auto tok = WordPiece::from_pretrained(dir);
  std::vector<MultipleChoiceExample> data{{"The cat", "It", {"sat on the mat.", "flew to the moon.", "read a book."}, 0},
                                          {"The bird", "It", {"swam home.", "flew away.", "drove a car."}, 1},
                                          {"The fish", "It", {"climbed a tree.", "sang a song.", "swam in the river."}, 2},
                                          {"The dog", "It", {"barked at the man.", "wrote a letter.", "flew away."}, 0}};
  auto feats = make_multiple_choice_features(tok, data);
  std::vector<std::size_t> all{0, 1, 2, 3};
  auto batch = collate_multiple_choice(feats, all, tok.pad_id());
  REQUIRE(batch.input_ids.dim() == 3);
  auto before = evaluate_multiple_choice(*model, feats, 3, tok.pad_id());
  tz::optim::AdamW adam(model->parameters(), {.lr = 3e-3, .weight_decay = 0.0});
  for (int step = 0; step < 40; ++step) {
    auto out = model->forward(batch);
    adam.zero_grad();
    out.loss.backward();
    adam.step();
  }
  // Evaluated in batches of 3 (other padding than training's batch of 4).
  auto after = evaluate_multiple_choice(*model, feats, 3, tok.pad_id());
  INFO("loss " << before.at("eval_loss") << " -> " << after.at("eval_loss"));
  CHECK(after.at("eval_loss") < 0.5 * before.at("eval_loss"));
  CHECK(after.at("accuracy") == 1.0);
}
