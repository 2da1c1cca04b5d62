// Batch encoding on the pool of long-lived workers (tokenizer/wordpiece_batch.cpp): every thread
// count gives what one-by-one encoding gives, calls after calls and from several callers at once,
// a failing text fails the whole batch without stopping the pool, and a reused output vector is
// refilled exactly.
#include <catch2/catch.hpp>

#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "tokenizer/wordpiece.h"

using namespace tz::tokenizer;

namespace {

WordPiece small() {
  return WordPiece::from_tokens({"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "a", "##ff",
                                 "##a", "the", "cat", ",", "##s", "runs", "!", "##un", "."});
}

/// Texts of varied length (the chunks of a loop are uneven in work).
std::vector<std::string> texts(std::size_t n) {
  const char* words[] = {"the", "cat", "runs", "unaffable", "cats", "aff", "[MASK]", "!", "zebra", "un,"};
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i) {
    std::string t;
    for (std::size_t k = 0; k < 1 + (i * 7) % 23; ++k) t += std::string(words[(i + k * 3) % 10]) + " ";
    out.push_back(t);
  }
  return out;
}

void check_same(const std::vector<Encoding>& batch, const std::vector<Encoding>& one_by_one) {
  REQUIRE(batch.size() == one_by_one.size());
  for (std::size_t i = 0; i < batch.size(); ++i) {
    INFO("text " << i);
    CHECK(batch[i].ids == one_by_one[i].ids);
    CHECK(batch[i].tokens == one_by_one[i].tokens);
    CHECK(batch[i].offsets == one_by_one[i].offsets);
    CHECK(batch[i].type_ids == one_by_one[i].type_ids);
    CHECK(batch[i].word_ids == one_by_one[i].word_ids);
  }
}

}  // namespace

TEST_CASE("batch encoding equals one-by-one encoding for every thread count", "[tokenizer][batch]") {
  auto tok = small();
  auto in = texts(1000);
  std::vector<Encoding> want;
  for (const auto& t : in) want.push_back(tok.encode(t));
  // Growing and shrinking thread counts reuse the workers started by earlier calls.
  for (unsigned threads : {1u, 2u, 3u, 8u, 2u, 0u}) {
    INFO("threads " << threads);
    EncodeOptions o;
    o.num_threads = threads;
    check_same(tok.encode_batch(in, o), want);
  }
  // Fewer texts than threads, one text, none.
  EncodeOptions o;
  o.num_threads = 4;
  check_same(tok.encode_batch({in[0], in[1]}, o), {want[0], want[1]});
  check_same(tok.encode_batch({in[5]}, o), {want[5]});
  CHECK(tok.encode_batch({}, o).empty());
}

TEST_CASE("batches of pairs equal one-by-one pairs", "[tokenizer][batch]") {
  auto tok = small();
  auto in = texts(300);
  std::vector<std::pair<std::string, std::string>> pairs;
  std::vector<Encoding> want;
  for (std::size_t i = 0; i + 1 < in.size(); ++i) {
    pairs.emplace_back(in[i], in[i + 1]);
    want.push_back(tok.encode_pair(in[i], in[i + 1]));
  }
  EncodeOptions o;
  o.num_threads = 3;
  check_same(tok.encode_batch_pairs(pairs, o), want);
}

TEST_CASE("several callers share the workers", "[tokenizer][batch]") {
  auto tok = small();
  auto in = texts(500);
  std::vector<Encoding> want;
  for (const auto& t : in) want.push_back(tok.encode(t));
  std::vector<std::vector<Encoding>> got(4);
  std::vector<std::thread> callers;
  for (std::size_t c = 0; c < got.size(); ++c)
    callers.emplace_back([&, c] {
      EncodeOptions o;
      o.num_threads = 2 + static_cast<unsigned>(c);
      for (int round = 0; round < 5; ++round) got[c] = tok.encode_batch(in, o);
    });
  for (auto& t : callers) t.join();
  for (const auto& g : got) check_same(g, want);
}

TEST_CASE("a failing text fails the batch, and the workers carry on", "[tokenizer][batch]") {
  auto tok = small();
  auto in = texts(400);
  in[333] = "bad \xFF utf-8";
  EncodeOptions o;
  o.num_threads = 2;
  CHECK_THROWS_AS(tok.encode_batch(in, o), tz::Error);
  try {
    tok.encode_batch(in, o);
  } catch (const tz::Error& e) {
    CHECK(std::string(e.what()).find("invalid UTF-8") != std::string::npos);
  }
  in[333] = "the cat";
  std::vector<Encoding> want;
  for (const auto& t : in) want.push_back(tok.encode(t));
  check_same(tok.encode_batch(in, o), want);
}

TEST_CASE("a reused output vector gives what fresh encodings give", "[tokenizer][batch]") {
  auto tok = small();
  std::vector<Encoding> out;
  // Calls with other texts, sizes and options in between must leave nothing behind: char offsets
  // from an earlier call, overflowing windows, padding.
  EncodeOptions rich;
  rich.char_offsets = true;
  rich.truncation = Truncation{6, TruncationStrategy::LongestFirst, 1, Direction::Right};
  rich.padding = Padding{};
  rich.num_threads = 2;
  EncodeOptions plain_options;
  plain_options.num_threads = 3;
  for (int round = 0; round < 3; ++round)
    for (const EncodeOptions* o : {&rich, &plain_options}) {
      auto in = texts(round == 1 ? 50 : 700);
      tok.encode_batch(in, *o, out);
      auto fresh = tok.encode_batch(in, *o);
      check_same(out, fresh);
      for (std::size_t i = 0; i < out.size(); ++i) {
        INFO("text " << i);
        CHECK(out[i].char_offsets == fresh[i].char_offsets);
        CHECK(out[i].attention_mask == fresh[i].attention_mask);
        REQUIRE(out[i].overflowing.size() == fresh[i].overflowing.size());
        for (std::size_t k = 0; k < out[i].overflowing.size(); ++k)
          CHECK(out[i].overflowing[k].ids == fresh[i].overflowing[k].ids);
      }
    }
  std::vector<std::pair<std::string, std::string>> pairs = {{"the cat", "runs"}, {"unaffable", "a cat , a cat !"}};
  rich.truncation->max_length = 12;  // room for a stride of 1 in both texts of a pair
  tok.encode_batch_pairs(pairs, rich, out);
  check_same(out, tok.encode_batch_pairs(pairs, rich));
}
