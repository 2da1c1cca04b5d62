// The shared blocks (models/blocks/) on their own, against hand computations: the embeddings'
// options, HF's SequenceSummary types, the prediction transform's registration order, the input
// checks, and the task-loss rules (problem_type, the QA clamp, the masked-LM labelled rows).
#include <catch2/catch.hpp>

#include <cmath>

#include "autograd/ops.h"
#include "models/blocks/embeddings.h"
#include "models/blocks/heads.h"
#include "models/blocks/inputs.h"
#include "models/blocks/task_losses.h"
#include "models/bert/config.h"
#include "tensor/random.h"

using namespace tz;

namespace {

Tensor ids(std::vector<int64_t> v, Shape shape) { return raw::from_vector(v, shape); }

std::vector<std::string> names(const nn::Module& m) {
  std::vector<std::string> out;
  for (const auto& [n, t] : m.state_dict()) out.push_back(n);
  return out;
}

}  // namespace

TEST_CASE("embeddings: token types, buffer persistence and the order of the sum are options", "[models][blocks]") {
  blocks::EmbeddingsOptions o;
  o.vocab_size = 20;
  o.embedding_size = 8;
  o.max_position_embeddings = 10;
  o.dropout = 0;
  blocks::Embeddings bert(o);
  CHECK(names(bert) == std::vector<std::string>{"position_ids", "word_embeddings.weight", "position_embeddings.weight",
                                                "token_type_embeddings.weight", "LayerNorm.weight", "LayerNorm.bias"});
  o.positions_before_token_types = true;
  blocks::Embeddings convbert(o);
  convbert.load_state_dict([&] {
    std::map<std::string, Tensor> s;
    for (auto& [n, t] : bert.state_dict()) s[n] = t;
    return s;
  }());
  const Tensor x = ids({1, 2, 3, 4, 5, 6}, {2, 3}), types = ids({0, 0, 1, 1, 1, 0}, {2, 3});
  // The same sum in another order: equal to the last bit or two.
  CHECK(raw::max_abs_diff(bert.forward(x, types, Tensor(), Tensor()), convbert.forward(x, types, Tensor(), Tensor())) < 1e-5);
  o.type_vocab_size = 0;
  o.position_ids_persistent = false;
  blocks::Embeddings distilbert(o);
  CHECK(names(distilbert) == std::vector<std::string>{"word_embeddings.weight", "position_embeddings.weight",
                                                      "LayerNorm.weight", "LayerNorm.bias"});
  // Without token types: LayerNorm(word + position), token types ignored.
  const Tensor want = distilbert.layer_norm->forward(add(distilbert.word_embeddings->forward(x),
                                                         distilbert.position_embeddings->forward(ids({0, 1, 2, 0, 1, 2}, {2, 3}))));
  CHECK(raw::max_abs_diff(distilbert.forward(x, types, Tensor(), Tensor()), want) == 0.0);
  CHECK_THROWS_WITH(distilbert.forward(raw::zeros({1, 11}, DType::Int64), Tensor(), Tensor(), Tensor()),
                    Catch::Contains("exceeds max_position_embeddings 10"));
}

TEST_CASE("sequence summary: first, last, mean, projection and activation as HF's", "[models][blocks]") {
  Generator gen(5);
  const Tensor h = raw::randn({2, 4, 6}, gen);
  blocks::SequenceSummaryOptions o;
  o.hidden_size = 6;
  for (const char* type : {"first", "last", "mean", "cls_index"}) {
    INFO(type);
    o.summary_type = type;
    blocks::SequenceSummary s(o);
    CHECK(names(s).empty());
    const std::string t = type;
    const Tensor want = t == "first" ? raw::select(h, 1, 0) : t == "mean" ? raw::mean(h, {1}) : raw::select(h, 1, 3);
    CHECK(raw::max_abs_diff(s.forward(h), want) <= 1e-6);
  }
  o.summary_type = "first";
  o.use_proj = true;
  o.proj_to_labels = true;
  o.num_labels = 3;
  o.activation = "tanh";
  blocks::SequenceSummary s(o);
  CHECK(names(s) == std::vector<std::string>{"summary.weight", "summary.bias"});
  CHECK(raw::max_abs_diff(s.forward(h), raw::tanh(s.summary->forward(raw::select(h, 1, 0)))) <= 1e-6);
  o.summary_type = "attn";
  CHECK_THROWS_WITH(blocks::SequenceSummary(o), Catch::Contains("attn"));
}

TEST_CASE("prediction transform: dense -> activation -> LayerNorm, in either registration order", "[models][blocks]") {
  blocks::PredictionTransformOptions o;
  o.in = 4;
  o.out = 3;
  o.activation = "gelu_new";
  blocks::PredictionTransform bert(o);
  CHECK(names(bert) == std::vector<std::string>{"dense.weight", "dense.bias", "LayerNorm.weight", "LayerNorm.bias"});
  o.layer_norm_first = true;
  blocks::PredictionTransform electra(o);
  CHECK(names(electra) == std::vector<std::string>{"LayerNorm.weight", "LayerNorm.bias", "dense.weight", "dense.bias"});
  Generator gen(1);
  const Tensor x = raw::randn({2, 4}, gen);
  CHECK(raw::max_abs_diff(bert.forward(x), bert.layer_norm->forward(gelu_new(bert.dense->forward(x)))) == 0.0);
}

TEST_CASE("input checks name the family, the input and the rule", "[models][blocks]") {
  bert::BertConfig c = bert::BertConfig::named("tiny");
  c.vocab_size = 30;
  c.max_position_embeddings = 8;
  models::Inputs in;
  CHECK_THROWS_WITH(blocks::check_inputs(in, c, "bert", 128), Catch::Contains("bert: give exactly one of input_ids"));
  in.input_ids = ids({1, 2, 3}, {1, 3});
  CHECK(blocks::check_inputs(in, c, "bert", 128) == Shape{1, 3});
  in.attention_mask = raw::ones({1, 4});
  CHECK_THROWS_WITH(blocks::check_inputs(in, c, "bert", 128), Catch::Contains("attention_mask has shape [1,4]"));
  in.attention_mask = Tensor();
  in.token_type_ids = ids({0, 2, 0}, {1, 3});
  CHECK_THROWS_WITH(blocks::check_inputs(in, c, "bert", 128), Catch::Contains("token_type_ids contains 2"));
  CHECK_NOTHROW(blocks::check_inputs(in, c, "distilbert", 128, /*token_types=*/false));
  in.token_type_ids = Tensor();
  in.input_ids = ids({1, 2, 30}, {1, 3});
  CHECK_THROWS_WITH(blocks::check_inputs(in, c, "bert", 128), Catch::Contains("input_ids contains 30"));
  in.input_ids = raw::zeros({1, 9}, DType::Int64);
  CHECK_THROWS_WITH(blocks::check_inputs(in, c, "bert", 128), Catch::Contains("exceeds max_position_embeddings 8"));
  CHECK_THROWS_WITH(blocks::expand_head_mask(raw::ones({3}), 2, 2, "bert"), Catch::Contains("head_mask must be [2]"));
  CHECK(blocks::expand_head_mask(raw::ones({2}), 3, 2, "bert").shape() == Shape{3, 2});
  int64_t C = 0;
  in.input_ids = raw::zeros({2, 3, 5}, DType::Int64);
  models::Inputs flat = blocks::flatten_choices(in, "bert", &C);
  CHECK(C == 3);
  CHECK(flat.input_ids.shape() == Shape{6, 5});
}

TEST_CASE("task losses: problem_type rule, QA clamp, labelled masked-LM rows", "[models][blocks]") {
  bert::BertConfig c;
  c.set_num_labels(3);
  CHECK(blocks::problem_type_for(c, raw::zeros({2}, DType::Int64)) == "single_label_classification");
  CHECK(blocks::problem_type_for(c, raw::zeros({2, 3})) == "multi_label_classification");
  c.set_num_labels(1);
  CHECK(blocks::problem_type_for(c, raw::zeros({2}, DType::Int64)) == "regression");
  c.problem_type = "multi_label_classification";
  CHECK(blocks::problem_type_for(c, raw::zeros({2}, DType::Int64)) == "multi_label_classification");

  // QA: position 5 == T is ignored, -3 counts as 0, 9 is clamped to T and ignored.
  Generator gen(2);
  const Tensor logits = raw::randn({3, 5, 2}, gen);
  models::Inputs in;
  in.start_positions = ids({5, -3, 1}, {3});
  in.end_positions = ids({2, 9, 4}, {3});
  models::Output out;
  blocks::span_outputs(logits, in, out, "test");
  const Tensor start = cross_entropy(out.start_logits, ids({5, 0, 1}, {3}), 5);
  const Tensor end = cross_entropy(out.end_logits, ids({2, 5, 4}, {3}), 5);
  CHECK(std::abs(out.loss.item() - (start.item() + end.item()) / 2) <= 1e-6);
  const Tensor start_by_hand = raw::mean(raw::from_vector(std::vector<float>{
      static_cast<float>(-raw::log_softmax(out.start_logits, -1).at({1, 0})),
      static_cast<float>(-raw::log_softmax(out.start_logits, -1).at({2, 1}))}, {2}));
  CHECK(std::abs(start.item() - start_by_hand.item()) <= 1e-6);

  // Masked LM at the labelled rows only: the same loss as over every row.
  models::Output base;
  base.last_hidden_state = raw::randn({2, 4, 3}, gen);
  const Tensor w = raw::randn({7, 3}, gen);
  auto head = [&](const Tensor& h) { return linear(h, w, Tensor()); };
  in = models::Inputs();
  in.labels = ids({-100, 3, -100, -100, 6, -100, 0, -100}, {2, 4});
  models::Output full = base, part = base;
  blocks::masked_lm_outputs(full, in, 7, head, "test");
  in.mlm_logits_at_labels_only = true;
  blocks::masked_lm_outputs(part, in, 7, head, "test");
  CHECK(full.logits.shape() == Shape{2, 4, 7});
  CHECK(part.logits.shape() == Shape{3, 7});
  CHECK(std::abs(full.loss.item() - part.loss.item()) <= 1e-6);
  CHECK_THROWS_WITH(blocks::flat_cross_entropy(full.logits, ids({1, 2}, {2}), "test"), Catch::Contains("do not match"));
}
