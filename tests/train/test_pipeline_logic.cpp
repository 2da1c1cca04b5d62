// The pipelines' post-processing on hand-made scores and a tiny vocabulary, every expectation worked
// out by hand from HF's documented rules: batching groups, fill-mask's top-k and targets,
// text-classification's functions and top_k, token-classification's aggregation strategies and
// stride windows, question-answering's span scores, answer merging and no-answer, the
// sentence-transformers pooling arithmetic, and the .npy writer.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "models/registry.h"
#include "models/sentence_transformers.h"
#include "tensor/io/npy.h"
#include "tensor/ops.h"
#include "train/pipelines/fill_mask.h"
#include "train/pipelines/pipeline.h"
#include "train/pipelines/question_answering.h"
#include "train/pipelines/text_classification.h"
#include "train/pipelines/token_classification.h"
#include "train/seqeval.h"

using namespace tz::pipelines;
using tz::tokenizer::WordPiece;

namespace {

std::shared_ptr<tz::models::PretrainedConfig> config_with(int labels, const char* problem_type) {
  nlohmann::json j{{"model_type", "convbert"}, {"hidden_size", 32}, {"num_attention_heads", 4},
                   {"intermediate_size", 37}, {"embedding_size", 32}};
  nlohmann::json id2label = nlohmann::json::object();
  for (int i = 0; i < labels; ++i) {
    std::string name = "L";
    name += std::to_string(i);
    id2label[std::to_string(i)] = name;
  }
  j["id2label"] = id2label;
  if (problem_type) j["problem_type"] = problem_type;
  return tz::models::config_from_json(j);
}

}  // namespace

TEST_CASE("pipelines: equal-length batches, softmax, Python's strip and lower", "[train][pipelines]") {
  const std::vector<std::size_t> lengths{3, 5, 3, 3, 5, 4};
  CHECK(equal_length_batches(lengths, 2) ==
        std::vector<std::vector<std::size_t>>{{0, 2}, {1, 4}, {3}, {5}});
  CHECK(equal_length_batches(lengths, 32) == std::vector<std::vector<std::size_t>>{{0, 2, 3}, {1, 4}, {5}});
  CHECK_THROWS_WITH(equal_length_batches(lengths, 0), Catch::Contains("batch_size must be positive"));

  const std::vector<float> z{1.f, 2.f, 3.f};
  const double sum = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  auto p = softmax(z);
  CHECK(p[0] == Approx(std::exp(1.0) / sum));
  CHECK(p[2] == Approx(std::exp(3.0) / sum));

  CHECK(python_strip("\u00a0 Hi there\t\n") == "Hi there");
  CHECK(python_strip(" \t ") == "");
  CHECK(python_lower("\u00c4B \u0130x") == "\u00e4b i\u0307x");
}

TEST_CASE("fill-mask: top-k over the softmax, targets keep the full-vocabulary probabilities", "[train][pipelines]") {
  const std::vector<float> logits{1.f, 3.f, 3.f, 0.f, 2.f};
  double sum = 0;
  for (float v : logits) sum += std::exp(static_cast<double>(v));
  auto top = top_k_tokens(logits, 3);
  REQUIRE(top.size() == 3);
  CHECK(top[0].first == 1);  // ties: the smaller id first
  CHECK(top[1].first == 2);
  CHECK(top[2].first == 4);
  CHECK(top[2].second == Approx(std::exp(2.0) / sum));
  const std::vector<int64_t> targets{4, 0};
  auto t = top_k_tokens(logits, 5, targets);  // k capped at the number of targets
  REQUIRE(t.size() == 2);
  CHECK(t[0].first == 4);
  CHECK(t[0].second == Approx(std::exp(2.0) / sum));
  CHECK(t[1].first == 0);
  CHECK(t[1].second == Approx(std::exp(1.0) / sum));  // not renormalised over the targets
  const std::vector<int64_t> outside{7};
  CHECK_THROWS_WITH(top_k_tokens(logits, 1, outside), Catch::Contains("outside the model's vocabulary"));
}

TEST_CASE("fill-mask: targets that are not one token use their first piece, with HF's warnings", "[train][pipelines]") {
  auto tok = WordPiece::from_tokens({"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "##s", "on",
                                     "mat", "."});
  auto r = fill_mask_target_ids(tok, {"cat", "cats", "cat", "zzz", " "});
  CHECK(r.ids == std::vector<int64_t>{6, 1});  // cat; cats -> cat (again); zzz -> [UNK]; " " dropped
  REQUIRE(r.warnings.size() == 3);
  CHECK(r.warnings[0] == "The specified target token `cats` does not exist in the model vocabulary. Replacing with `cat`.");
  CHECK_THAT(r.warnings[1], Catch::Contains("`zzz`") && Catch::Contains("Replacing with `[UNK]`"));
  CHECK_THAT(r.warnings[2], Catch::Contains("ignoring it"));
  CHECK_THROWS_WITH(fill_mask_target_ids(tok, {" "}), Catch::Contains("at least one target"));
}

TEST_CASE("fill-mask: several masks; sequences keep special tokens only then", "[train][pipelines]") {
  auto tok = WordPiece::from_tokens({"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "##s", "on",
                                     "mat", "."});
  const int64_t V = 12;
  auto two = tok.encode("the [MASK] sat on the [MASK] .");
  REQUIRE(two.ids == std::vector<int64_t>{2, 5, 4, 7, 9, 5, 4, 11, 3});
  std::vector<float> logits(two.size() * V, 0.f);
  logits[2 * V + 6] = 5;   // first mask: cat, then mat
  logits[2 * V + 10] = 3;
  logits[6 * V + 10] = 4;  // second mask: mat, then cat
  logits[6 * V + 6] = 2;
  FillMaskResult r = fill_mask_predictions(tok, two, logits.data(), V, 2);
  REQUIRE(r.size() == 2);
  REQUIRE(r[0].size() == 2);
  CHECK(r[0][0].token == 6);
  CHECK(r[0][0].token_str == "cat");
  CHECK(r[0][0].score == Approx(std::exp(5.0) / (std::exp(5.0) + std::exp(3.0) + 10)));
  CHECK(r[0][0].sequence == "[CLS] the cat sat on the [MASK]. [SEP]");
  CHECK(r[0][1].token_str == "mat");
  CHECK(r[1][0].token_str == "mat");
  CHECK(r[1][0].sequence == "[CLS] the [MASK] sat on the mat. [SEP]");
  CHECK(r[1][1].score == Approx(std::exp(2.0) / (std::exp(4.0) + std::exp(2.0) + 10)));

  auto one = tok.encode("the [MASK] sat .");
  std::vector<float> l1(one.size() * V, 0.f);
  l1[2 * V + 6] = 1;
  FillMaskResult s = fill_mask_predictions(tok, one, l1.data(), V, 1);
  REQUIRE(s.size() == 1);
  CHECK(s[0][0].sequence == "the cat sat.");
  auto none = tok.encode("the cat");
  CHECK_THROWS_WITH(fill_mask_predictions(tok, none, l1.data(), V, 1), Catch::Contains("no mask_token"));
}

TEST_CASE("text-classification: function_to_apply defaults and top_k ordering", "[train][pipelines]") {
  CHECK(default_classification_function(*config_with(1, "regression")) == ClassificationFunction::None);
  CHECK(default_classification_function(*config_with(3, "multi_label_classification")) == ClassificationFunction::Sigmoid);
  CHECK(default_classification_function(*config_with(1, nullptr)) == ClassificationFunction::Sigmoid);
  CHECK(default_classification_function(*config_with(1, "single_label_classification")) == ClassificationFunction::Sigmoid);
  CHECK(default_classification_function(*config_with(3, nullptr)) == ClassificationFunction::Softmax);
  CHECK(default_classification_function(*config_with(2, "single_label_classification")) == ClassificationFunction::Softmax);
  CHECK_THROWS_WITH(classification_function_from_name("tanh"), Catch::Contains("sigmoid, softmax or none"));

  auto config = config_with(4, nullptr);
  const std::vector<float> z{0.5f, -1.f, 2.f, 0.5f};
  auto sig = label_scores(z, *config, ClassificationFunction::Sigmoid);
  CHECK(sig[1].label == "L1");
  CHECK(sig[1].score == Approx(1 / (1 + std::exp(1.0))));
  auto raw = label_scores(z, *config, ClassificationFunction::None);
  CHECK(raw[2].score == 2.0);
  auto soft = label_scores(z, *config, ClassificationFunction::Softmax);
  double s = 0;
  for (const auto& l : soft) s += l.score;
  CHECK(s == Approx(1.0));
  // Sorted best first; equal scores keep label order (L0 before L3).
  auto top = top_labels(soft, 0);
  REQUIRE(top.size() == 4);
  CHECK(top[0].label == "L2");
  CHECK(top[1].label == "L0");
  CHECK(top[2].label == "L3");
  CHECK(top[3].label == "L1");
  CHECK(top_labels(soft, 2).size() == 2);
  CHECK(label_scores(z, *config, ClassificationFunction::None)[0].label == "L0");  // label order, unsorted
}

namespace {

// Labels 0 B-ORG, 1 I-ORG, 2 B-PER, 3 I-PER, 4 O.
const std::vector<std::string> kLabels{"B-ORG", "I-ORG", "B-PER", "I-PER", "O"};

WordPiece tagging_tokenizer() {
  return WordPiece::from_tokens({"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "john", "play", "##s", "in", "new",
                                 "york", "micro", "##soft", "."});
}

// "Microsoft plays in Zoë." -> [CLS] micro ##soft play ##s in [UNK] . [SEP]
struct Tagged {
  WordPiece tok = tagging_tokenizer();
  std::string text = "Microsoft plays in Zo\u00eb.";
  tz::tokenizer::Encoding enc;
  std::vector<std::vector<double>> probs;
  Tagged() {
    tz::tokenizer::EncodeOptions o;
    o.char_offsets = true;
    enc = tok.encode(text, o);
    probs = {{},
             {0.6, 0.1, 0.1, 0.1, 0.1},       // micro   B-ORG .6
             {0.1, 0.1, 0.7, 0.05, 0.05},     // ##soft  B-PER .7 (the word disagrees with itself)
             {0.1, 0.1, 0.1, 0.1, 0.6},       // play    O
             {0.1, 0.1, 0.1, 0.1, 0.6},       // ##s     O
             {0.1, 0.1, 0.1, 0.1, 0.6},       // in      O
             {0.1, 0.1, 0.7, 0.05, 0.05},     // [UNK]   B-PER .7
             {0.05, 0.05, 0.05, 0.05, 0.8},   // .       O
             {}};
  }
  std::vector<TokenEntity> run(AggregationStrategy s) {
    return drop_labels(aggregate_tokens(tok, gather_token_scores(tok, text, enc, probs), s, kLabels), {"O"});
  }
};

}  // namespace

TEST_CASE("token-classification: sub-words from token length vs text length; [UNK] shows its text", "[train][pipelines]") {
  Tagged t;
  REQUIRE(t.enc.ids == std::vector<int64_t>{2, 11, 12, 6, 7, 8, 1, 13, 3});
  auto tokens = gather_token_scores(t.tok, t.text, t.enc, t.probs);
  REQUIRE(tokens.size() == 7);
  CHECK(!tokens[0].is_subword);  // micro: 5 code points, text "Micro" 5
  CHECK(tokens[1].is_subword);   // ##soft: 6 vs "soft" 4
  CHECK(tokens[3].is_subword);   // ##s
  CHECK(tokens[5].word == "Zo\u00eb");
  CHECK(!tokens[5].is_subword);
  CHECK(tokens[5].start == 19);  // code points, not bytes
  CHECK(tokens[5].end == 22);
  CHECK(tokens[5].index == 6);
}

TEST_CASE("token-classification: none, simple, first, average, max as HF defines them", "[train][pipelines]") {
  Tagged t;
  auto none = t.run(AggregationStrategy::None);
  REQUIRE(none.size() == 3);  // micro, ##soft, [UNK]; the O rows are ignored
  CHECK(none[1].entity == "B-PER");
  CHECK(none[1].word == "##soft");
  CHECK(none[1].index == std::optional<std::size_t>(2));
  CHECK(none[1].start == 5);
  CHECK(none[1].end == 9);

  auto simple = t.run(AggregationStrategy::Simple);
  REQUIRE(simple.size() == 3);  // ORG "micro", PER "##soft" (a B- opens a group), PER "Zoë"
  CHECK(simple[0].entity == "ORG");
  CHECK(simple[0].word == "micro");
  CHECK(simple[1].entity == "PER");
  CHECK(simple[1].word == "##soft");
  CHECK(!simple[1].index);
  CHECK(simple[2].word == "Zo\u00eb");
  CHECK(simple[2].score == Approx(0.7));

  auto first = t.run(AggregationStrategy::First);
  REQUIRE(first.size() == 2);
  CHECK(first[0].entity == "ORG");  // the first token's label
  CHECK(first[0].word == "microsoft");
  CHECK(first[0].score == Approx(0.6));
  CHECK(first[0].start == 0);
  CHECK(first[0].end == 9);
  CHECK(first[1].entity == "PER");

  auto average = t.run(AggregationStrategy::Average);  // mean row (.35 .1 .4 .075 .075): B-PER .4
  REQUIRE(average.size() == 2);
  CHECK(average[0].entity == "PER");
  CHECK(average[0].score == Approx(0.4));
  // Zoë's B-PER opens a second PER entity.
  CHECK(average[1].word == "Zo\u00eb");

  auto max = t.run(AggregationStrategy::Max);  // ##soft's .7 beats micro's .6
  REQUIRE(max.size() == 2);
  CHECK(max[0].entity == "PER");
  CHECK(max[0].score == Approx(0.7));
  CHECK(max[0].word == "microsoft");
  CHECK_THROWS_WITH(aggregation_strategy_from_name("mean"), Catch::Contains("none, simple, first, average or max"));
}

TEST_CASE("token-classification: B-/I- runs become one entity with the mean score and decoded words", "[train][pipelines]") {
  auto tok = tagging_tokenizer();
  const std::string text = "John plays in New York.";
  tz::tokenizer::EncodeOptions o;
  o.char_offsets = true;
  auto enc = tok.encode(text, o);  // [CLS] john play ##s in new york . [SEP]
  REQUIRE(enc.size() == 9);
  const std::vector<double> O{0, 0, 0, 0, 1}, B_PER{0, 0, 0.9, 0.05, 0.05}, B_ORG{0.8, 0.1, 0, 0, 0.1},
      I_ORG{0.2, 0.6, 0, 0, 0.2};
  std::vector<std::vector<double>> probs{{}, B_PER, O, O, O, B_ORG, I_ORG, O, {}};
  auto rows = drop_labels(aggregate_tokens(tok, gather_token_scores(tok, text, enc, probs), AggregationStrategy::Simple,
                                           kLabels), {"O"});
  REQUIRE(rows.size() == 2);
  CHECK(rows[1].entity == "ORG");
  CHECK(rows[1].word == "new york");
  CHECK(rows[1].score == Approx((0.8 + 0.6) / 2));
  CHECK(rows[1].start == 14);
  CHECK(rows[1].end == 22);
  // Without ignore_labels the O runs are groups too: PER, O ("plays in"), ORG, O (".").
  auto all = aggregate_tokens(tok, gather_token_scores(tok, text, enc, probs), AggregationStrategy::Simple, kLabels);
  REQUIRE(all.size() == 4);
  CHECK(all[1].entity == "O");
  CHECK(all[1].word == "plays in");
  // Two B- labels in a row never merge; labels without B-/I- continue like I- and keep their name.
  probs[6] = B_ORG;
  auto split = drop_labels(aggregate_tokens(tok, gather_token_scores(tok, text, enc, probs), AggregationStrategy::Simple,
                                            kLabels), {"O"});
  CHECK(split.size() == 3);
  const std::vector<std::string> plain{"LABEL_0", "LABEL_1", "B-LOC-X", "I-LOC-X", "O"};
  std::vector<std::vector<double>> p2{{}, {1, 0, 0, 0, 0}, {1, 0, 0, 0, 0}, {0, 1, 0, 0, 0}, O, {0, 0, 1, 0, 0},
                                      {0, 0, 0, 1, 0}, O, {}};
  auto named = drop_labels(aggregate_tokens(tok, gather_token_scores(tok, text, enc, p2), AggregationStrategy::Simple,
                                            plain), {"O"});
  // john LABEL_0 + play LABEL_0 (continues), ##s LABEL_1, new B-LOC-X + york I-LOC-X.
  REQUIRE(named.size() == 3);
  CHECK(named[0].entity == "LABEL_0");
  CHECK(named[0].word == "john play");
  CHECK(named[1].entity == "LABEL_1");
  CHECK(named[1].word == "##s");
  CHECK(named[2].entity == "LOC-X");  // everything after the first '-'
  CHECK(named[2].word == "new york");
}

TEST_CASE("token-classification: simple grouping equals seqeval's chunks on every B/I/O sequence", "[train][pipelines]") {
  auto tok = tagging_tokenizer();
  const std::vector<std::string> labels{"O", "B-A", "I-A", "B-B", "I-B"};
  for (int code = 0; code < 5 * 5 * 5 * 5 * 5; ++code) {
    std::vector<std::string> tags;
    std::vector<TokenScores> tokens;
    for (int k = 0, c = code; k < 5; ++k, c /= 5) {
      tags.push_back(labels[static_cast<std::size_t>(c % 5)]);
      TokenScores s;
      s.word = "x";
      s.scores.assign(5, 0.0);
      s.scores[static_cast<std::size_t>(c % 5)] = 1.0;
      s.start = static_cast<std::size_t>(k);
      s.end = static_cast<std::size_t>(k) + 1;
      tokens.push_back(s);
    }
    INFO(tags[0] << " " << tags[1] << " " << tags[2] << " " << tags[3] << " " << tags[4]);
    std::vector<tz::train::Entity> got;
    for (const auto& e : drop_labels(aggregate_tokens(tok, tokens, AggregationStrategy::Simple, labels), {"O"}))
      got.push_back({e.entity, e.start, e.end - 1});
    CHECK(got == tz::train::get_entities(tags));
  }
}

TEST_CASE("token-classification: each token's window is the one where it is most central", "[train][pipelines]") {
  const std::vector<std::size_t> starts{0, 4, 8}, lengths{6, 6, 2};
  CHECK(most_central_windows(10, starts, lengths) == std::vector<std::size_t>{0, 0, 0, 0, 0, 1, 1, 1, 1, 1});
  CHECK(most_central_windows(3, std::vector<std::size_t>{0}, std::vector<std::size_t>{3}) ==
        std::vector<std::size_t>{0, 0, 0});
  CHECK_THROWS_WITH(most_central_windows(11, starts, lengths), Catch::Contains("token 10 is in no window"));
}

namespace {

WordPiece qa_tokenizer() {
  return WordPiece::from_tokens({"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "who", "?", "alpha", "##bravo", "charlie",
                                 "delta"});
}

}  // namespace

TEST_CASE("question-answering: spans score start_p * end_p inside the context, top k, null score", "[train][pipelines]") {
  // [CLS] who [SEP] c1 c2 [SEP]: only c1, c2 (and [CLS]) may be in an answer.
  const std::vector<uint8_t> allowed{1, 0, 0, 1, 1, 0};
  const std::vector<float> start{0, 5, 5, 2, 1, 5}, end{0, 5, 5, 1, 3, 5};
  const double sd = 1 + std::exp(2.0) + std::exp(1.0), ed = 1 + std::exp(1.0) + std::exp(3.0);
  double null_score = 1e6;
  auto spans = best_spans(start, end, allowed, 2, 15, &null_score);
  CHECK(null_score == Approx(1 / sd * 1 / ed));
  REQUIRE(spans.size() == 2);
  CHECK(spans[0].start == 3);
  CHECK(spans[0].end == 4);
  CHECK(spans[0].score == Approx(std::exp(2.0) / sd * std::exp(3.0) / ed));
  CHECK(spans[1].start == 4);  // e^1 * e^3 beats e^2 * e^1
  CHECK(spans[1].end == 4);
  auto short_spans = best_spans(start, end, allowed, 2, 1);  // max_answer_len 1: single tokens
  REQUIRE(short_spans.size() == 2);
  CHECK(short_spans[0].start == 4);
  CHECK(short_spans[1].start == 3);
  CHECK(short_spans[1].end == 3);
  CHECK(short_spans[1].score == Approx(std::exp(2.0) / sd * std::exp(1.0) / ed));
}

TEST_CASE("question-answering: words widen answers, equal answers add up, the empty answer competes", "[train][pipelines]") {
  auto tok = qa_tokenizer();
  const std::string context = "AlphaBravo charlie delta";
  auto windows = question_windows(tok, {"who?", context}, 64, 16);
  REQUIRE(windows.size() == 1);
  const auto& w = windows[0];
  // [CLS] who ? [SEP] alpha ##bravo charlie delta [SEP]
  REQUIRE(w.ids == std::vector<int64_t>{2, 5, 6, 3, 7, 8, 9, 10, 3});
  std::vector<float> start(9, 0.f), end(9, 0.f);
  start[5] = 6;  // ##bravo
  end[5] = 6;
  const tz::tokenizer::Encoding* one[] = {&w};
  QuestionAnsweringOptions opt;
  auto words = answers_from_windows(context, one, std::vector<std::vector<float>>{start}, std::vector<std::vector<float>>{end},
                                    2, opt);
  REQUIRE(words.size() == 1);
  CHECK(words[0].answer == "AlphaBravo");
  CHECK(words[0].start == 0);
  CHECK(words[0].end == 10);
  opt.align_to_words = false;
  auto tokens = answers_from_windows(context, one, std::vector<std::vector<float>>{start},
                                     std::vector<std::vector<float>>{end}, 2, opt);
  CHECK(tokens[0].answer == "Bravo");
  CHECK(tokens[0].start == 5);

  // The same window twice: the same answer text adds its scores (HF's get_answer, case-insensitive).
  const tz::tokenizer::Encoding* two[] = {&w, &w};
  opt.align_to_words = true;
  auto twice = answers_from_windows(context, two, std::vector<std::vector<float>>{start, start},
                                    std::vector<std::vector<float>>{end, end}, 2, opt);
  REQUIRE(twice.size() == 1);
  CHECK(twice[0].score == Approx(2 * words[0].score));

  // handle_impossible_answer: the smallest [CLS] product over the windows joins as "" at [0, 0).
  std::vector<float> cls_start = start, cls_end = end;
  cls_start[0] = 9;
  cls_end[0] = 9;
  opt.handle_impossible_answer = true;
  opt.top_k = 3;
  auto with_null = answers_from_windows(context, one, std::vector<std::vector<float>>{cls_start},
                                        std::vector<std::vector<float>>{cls_end}, 2, opt);
  REQUIRE(!with_null.empty());
  CHECK(with_null[0].answer == "");
  CHECK(with_null[0].start == 0);
  CHECK(with_null[0].end == 0);
  // start_p[0] = e^9 / (e^9 + e^6 + 3) over [CLS] and the 4 context tokens (the rest at -10000).
  const double p0 = std::exp(9.0) / (std::exp(9.0) + std::exp(6.0) + 3);
  CHECK(with_null[0].score == Approx(p0 * p0));
  // The window's top 3 spans: (##bravo), then the ties (alpha..##bravo) and (##bravo..charlie); the
  // first widens to "AlphaBravo" again and adds to it.
  REQUIRE(with_null.size() == 3);
  CHECK(with_null[1].answer == "AlphaBravo");
  CHECK(with_null[2].answer == "AlphaBravo charlie");
  const double a = std::exp(6.0) / (std::exp(9.0) + std::exp(6.0) + 3), b = 1 / (std::exp(9.0) + std::exp(6.0) + 3);
  CHECK(with_null[1].score == Approx(a * a + b * a));
  CHECK(with_null[2].score == Approx(a * b));
}

TEST_CASE("sentence-transformers pooling: every mode by hand; config files", "[train][pipelines]") {
  using tz::models::PoolingConfig;
  // One row, three tokens of two values; the third is padding.
  auto x = tz::raw::from_vector(std::vector<float>{1, 2, 3, -4, 100, 100}, {1, 3, 2});
  auto mask = tz::raw::from_vector(std::vector<int64_t>{1, 1, 0}, {1, 3});
  auto pool = [&](const char* mode) { return tz::models::pool_tokens(x, mask, PoolingConfig::mode(mode)).to_vector<float>(); };
  CHECK(pool("cls") == std::vector<float>{1, 2});
  CHECK(pool("max") == std::vector<float>{3, 2});
  CHECK(pool("mean") == std::vector<float>{2, -1});
  auto sq = pool("mean_sqrt_len_tokens");
  CHECK(sq[0] == Approx(4 / std::sqrt(2.0)));
  auto wm = pool("weightedmean");  // weights 1, 2
  CHECK(wm[0] == Approx((1 * 1 + 2 * 3) / 3.0));
  CHECK(wm[1] == Approx((1 * 2 + 2 * -4) / 3.0));
  CHECK(pool("lasttoken") == std::vector<float>{3, -4});
  PoolingConfig both = PoolingConfig::mode("mean");
  both.cls_token = true;
  CHECK(both.name() == "cls+mean");
  CHECK(tz::models::pool_tokens(x, mask, both).to_vector<float>() == std::vector<float>{1, 2, 2, -1});
  auto n = tz::models::normalize_rows(tz::raw::from_vector(std::vector<float>{3, 4, 0, 0}, {2, 2})).to_vector<float>();
  CHECK(n == std::vector<float>{0.6f, 0.8f, 0, 0});

  auto c = PoolingConfig::from_json({{"word_embedding_dimension", 2}, {"pooling_mode_cls_token", true},
                                     {"pooling_mode_mean_tokens", false}}, "config.json");
  CHECK(c.name() == "cls");
  CHECK(c.word_embedding_dimension == 2);
  CHECK(PoolingConfig::from_json({{"pooling_mode", "MAX"}}, "f").name() == "max");
  CHECK(PoolingConfig::from_json(nlohmann::json::object(), "f").name() == "mean");  // Pooling's default
  CHECK_THROWS_WITH(PoolingConfig::from_json({{"pooling_mode_mean_tokens", false}}, "p/config.json"),
                    Catch::Contains("p/config.json: no pooling mode is on"));
  CHECK_THROWS_WITH(PoolingConfig::from_json({{"pooling_mode_max_tokens", 1}}, "f"), Catch::Contains("true or false"));
  CHECK_THROWS_WITH(PoolingConfig::mode("sum"), Catch::Contains("unknown mode 'sum'"));
}

TEST_CASE("save_npy writes numpy's format 1.0: magic, padded header, raw data", "[train][pipelines]") {
  const auto path = std::filesystem::temp_directory_path() / ("tz_test_npy_" + std::to_string(getpid()) + ".npy");
  auto read = [&] {
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  };
  tz::io::save_npy(path.string(), tz::raw::from_vector(std::vector<float>{1.5f, -2, 3, 4, 5, 6}, {2, 3}));
  std::string bytes = read();
  REQUIRE(bytes.size() > 10);
  CHECK(bytes.substr(0, 8) == std::string("\x93NUMPY\x01\x00", 8));
  const std::size_t header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
  CHECK((10 + header_len) % 64 == 0);
  const std::string header = bytes.substr(10, header_len);
  CHECK(header.rfind("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 0) == 0);
  CHECK(header.back() == '\n');
  REQUIRE(bytes.size() == 10 + header_len + 6 * 4);
  float first;
  std::memcpy(&first, bytes.data() + 10 + header_len, 4);
  CHECK(first == 1.5f);
  tz::io::save_npy(path.string(), tz::raw::from_vector(std::vector<int64_t>{7, 8, 9, 10}, {4}));
  bytes = read();
  CHECK(bytes.find("'descr': '<i8'") != std::string::npos);
  CHECK(bytes.find("'shape': (4,)") != std::string::npos);
  std::filesystem::remove(path);
}
