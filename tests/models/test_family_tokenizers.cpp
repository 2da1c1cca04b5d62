// Every family's reference model directory carries the tokenizer files HF saves beside a model
// (BertTokenizer, ElectraTokenizer, DistilBertTokenizer, ConvBertTokenizer: tokenizer_config.json +
// vocab.txt); each loads through tz::tokenizer::WordPiece and agrees with the model's config.
#include <catch2/catch.hpp>

#include "models/registry.h"
#include "tests/models/reference_case.h"
#include "tokenizer/wordpiece.h"

using namespace tz;

TEST_CASE("every family's tokenizer files load through WordPiece and fit the model", "[models][tokenizer][reference]") {
  for (const auto& family : test::reference_families()) {
    if (!test::have_reference(family)) continue;
    int loaded = 0;
    for (const auto& dir : test::case_dirs(family)) {
      if (!std::filesystem::exists(dir / "vocab.txt")) continue;
      INFO(test::case_label(dir));
      auto config = models::load_config(dir.string());
      auto tok = tokenizer::WordPiece::from_pretrained(dir);
      CHECK(static_cast<int64_t>(tok.vocab_size()) == config->vocab_size);
      // (config.pad_token_id need not be the vocabulary's [PAD]: HF's ConvBertConfig defaults to 1.)
      CHECK(tok.pad_id() == tok.token_to_id("[PAD]"));
      CHECK(tok.pad_id() >= 0);
      const int64_t cls = tok.token_to_id("[CLS]"), sep = tok.token_to_id("[SEP]"), mask = tok.token_to_id("[MASK]");
      CHECK(cls >= 0);
      CHECK(sep >= 0);
      CHECK(mask >= 0);
      auto enc = tok.encode("Hello, World!");
      REQUIRE(enc.ids.size() >= 3);
      CHECK(enc.ids.front() == cls);
      CHECK(enc.ids.back() == sep);
      for (int64_t id : enc.ids) CHECK((id >= 0 && id < config->vocab_size));
      auto pair = tok.encode_pair("a question", "an answer");
      CHECK(pair.type_ids.back() == 1);  // DistilBERT's forward drops these (models/distilbert/model.h)
      ++loaded;
    }
    INFO(family);
    CHECK(loaded > 0);
  }
}
