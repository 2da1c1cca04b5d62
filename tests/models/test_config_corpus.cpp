// config.json files of every family, valid and hostile (tests/models/corpus, also the seeds of the
// config fuzzer): each loads or fails with its expected message, and every valid small one builds
// a model that runs.
#include <catch2/catch.hpp>

#include "autograd/grad_mode.h"
#include "models/convbert/config.h"
#include "models/registry.h"
#include "tensor/ops.h"
#include "tests/corpus_cases.h"

using namespace tz;

TEST_CASE("config corpus: every file loads or fails with its expected message", "[models][config][corpus]") {
  const auto corpus = std::filesystem::path(TZ_SOURCE_DIR) / "tests" / "models" / "corpus";
  size_t hostile = test::check_corpus(corpus, [](const std::string&, const std::filesystem::path& path) {
    std::shared_ptr<models::PretrainedConfig> c = models::load_config(path.string());
    c->check_fits_in_memory();
    if (c->hidden_size > 64) return;  // the small HF config: loading is the point
    auto model = models::create(*c, c->architectures.empty() ? "" : c->architectures.front(), 0);
    NoGradGuard ng;
    models::Inputs in;
    in.input_ids = raw::full({1, 3}, 1.0, DType::Int64);
    auto out = model->forward(in);
    CHECK((out.logits.defined() || out.last_hidden_state.defined()));
  });
  CHECK(hostile >= 9);
}

TEST_CASE("a config whose weights cannot fit in memory is refused before allocating", "[models][config]") {
  convbert::ConvBertConfig c;
  c.vocab_size = int64_t{1} << 24;
  c.hidden_size = c.embedding_size = 1 << 14;
  c.num_attention_heads = 2;
  c.intermediate_size = 1 << 14;
  c.max_position_embeddings = 8;
  REQUIRE_NOTHROW(c.validate());
  REQUIRE_THROWS_WITH(models::create(c, "ConvBertForMaskedLM", 0),
                      Catch::Contains("the config's weights need at least") && Catch::Contains("GB of memory"));
}
