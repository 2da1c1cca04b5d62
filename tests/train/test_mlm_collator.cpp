// The masked-LM rule: exact invariants (specials and padding untouched, labels = original ids where
// chosen and -100 elsewhere) and HF's proportions (15% chosen; 80/10/10) on a large batch.
#include <catch2/catch.hpp>

#include <cmath>

#include "tokenizer/wordpiece.h"
#include "train/mlm_collator.h"
#include "train/mlm_data.h"

using namespace tz::train;

TEST_CASE("MLM masking: invariants and HF's 15% / 80-10-10 proportions", "[train][mlm]") {
  const int64_t pad = 0, cls = 1, sep = 2, mask = 3, unk = 4, V = 1000;
  MlmCollator collator(mask, pad, V, {cls, sep, unk});
  tz::Generator gen(123);
  // 64 examples of varied length; ids from 5..V-1 plus specials at the ends.
  std::vector<TokenizedExample> examples;
  tz::Generator data_gen(1);
  for (int i = 0; i < 64; ++i) {
    TokenizedExample e;
    e.ids.push_back(cls);
    int64_t n = 100 + data_gen.randint(0, 400);
    for (int64_t t = 0; t < n; ++t) e.ids.push_back(t % 97 == 5 ? unk : data_gen.randint(5, V));
    e.ids.push_back(sep);
    examples.push_back(std::move(e));
  }
  std::vector<const TokenizedExample*> ptrs;
  for (const auto& e : examples) ptrs.push_back(&e);
  Batch b = collator(ptrs, gen);
  Batch plain = pad_batch(ptrs, pad);
  auto in = b.input_ids.to_vector<int64_t>(), labels = b.labels.to_vector<int64_t>();
  auto orig = plain.input_ids.to_vector<int64_t>();
  REQUIRE(b.labels.shape() == b.input_ids.shape());
  int64_t candidates = 0, chosen = 0, to_mask = 0, to_random = 0, kept = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    bool special = orig[i] == pad || orig[i] == cls || orig[i] == sep || orig[i] == unk;
    if (special) {
      // Specials and padding are never chosen and never changed.
      CHECK(labels[i] == -100);
      CHECK(in[i] == orig[i]);
      continue;
    }
    ++candidates;
    if (labels[i] == -100) {
      CHECK(in[i] == orig[i]);  // not chosen: unchanged
      continue;
    }
    CHECK(labels[i] == orig[i]);  // chosen: the label is the original token
    ++chosen;
    if (in[i] == mask) ++to_mask;
    else if (in[i] == orig[i]) ++kept;
    else ++to_random;
    CHECK((in[i] >= 0 && in[i] < V));
  }
  REQUIRE(candidates > 15000);
  // Binomial tolerances: ~5 standard deviations.
  double p_chosen = double(chosen) / double(candidates);
  CHECK(std::abs(p_chosen - 0.15) < 5 * std::sqrt(0.15 * 0.85 / double(candidates)));
  double sd = std::sqrt(0.1 * 0.9 / double(chosen));
  CHECK(std::abs(double(to_mask) / double(chosen) - 0.8) < 5 * std::sqrt(0.8 * 0.2 / double(chosen)));
  // A random replacement can draw the original token (1/V of the time), which counts as kept.
  CHECK(std::abs(double(to_random) / double(chosen) - 0.1) < 5 * sd);
  CHECK(std::abs(double(kept) / double(chosen) - 0.1) < 5 * sd);

  // Same generator state, same masks.
  tz::Generator g1(9), g2(9);
  CHECK(collator(ptrs, g1).input_ids.to_vector<int64_t>() == collator(ptrs, g2).input_ids.to_vector<int64_t>());
}

TEST_CASE("MLM examples: packed blocks of seq_len, or one truncated example per line", "[train][mlm]") {
  auto tok = tz::tokenizer::WordPiece::from_tokens(
      {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b", "c", "d"});
  std::vector<std::string> lines = {"a b c", "d", "a a a a a a"};
  // Encodings: [CLS] a b c [SEP] (5), [CLS] d [SEP] (3), [CLS] a*6 [SEP] (8) -> 16 tokens -> 3 blocks of 5.
  auto packed = make_mlm_examples(lines, tok, 5, /*line_by_line=*/false);
  REQUIRE(packed.size() == 3);
  CHECK(packed[0].ids == std::vector<int64_t>{2, 5, 6, 7, 3});
  CHECK(packed[1].ids == std::vector<int64_t>{2, 8, 3, 2, 5});
  auto lbl = make_mlm_examples(lines, tok, 5, /*line_by_line=*/true);
  REQUIRE(lbl.size() == 3);
  CHECK(lbl[2].ids == std::vector<int64_t>{2, 5, 5, 5, 3});
  CHECK(special_token_ids(tok) == std::vector<int64_t>{1, 3, 0, 2, 4});
  CHECK_THROWS_WITH(MlmCollator(99, 0, 10, {}), Catch::Contains("mask id 99 is not in the vocabulary"));
}
