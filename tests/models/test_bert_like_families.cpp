// What the reference cases do not show of BERT, ELECTRA and DistilBERT: tied weights are one
// tensor under two names after loading (BERT's decoder bias IS cls.predictions.bias), heads load
// each other's checkpoints as HF's rules allow, DistilBERT ignores token types and keeps its
// sinusoidal table frozen, configs read HF's spellings, and the named sizes have the parameter
// counts of the checkpoints they stand for.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>

#include "autograd/ops.h"
#include "models/bert/heads.h"
#include "models/distilbert/heads.h"
#include "models/electra/heads.h"
#include "models/registry.h"
#include "nn/init.h"
#include "nn/optim.h"
#include "tests/models/reference_case.h"

using namespace tz;
using namespace tz::models;
namespace fs = std::filesystem;

namespace {

LoadOptions quiet(const std::string& arch = "") {
  LoadOptions o;
  o.architecture = arch;
  o.verbose = false;
  return o;
}

Tensor state(const PreTrainedModel& m, const std::string& name) {
  for (const auto& [n, t] : m.state_dict())
    if (n == name) return t;
  FAIL("no tensor " << name);
  return Tensor();
}

Tensor param(const PreTrainedModel& m, const std::string& name) {
  for (const auto& [n, t] : m.named_parameters())
    if (n == name) return t;
  FAIL("no parameter " << name);
  return Tensor();
}

int64_t parameter_count(const std::string& model_type, const std::string& size) {
  nn::SkipInitGuard skip;  // zero pages, never touched: counting bert-large costs nothing
  auto config = named_config(model_type, size);
  auto model = family(model_type).build(*config, family(model_type).architectures.front().second);
  int64_t n = 0;
  for (const auto& p : model->parameters()) n += p.numel();
  return n;
}

}  // namespace

TEST_CASE("bert: the decoder's weight and bias are the word embeddings and cls.predictions.bias", "[models][bert]") {
  if (!test::have_reference("bert/tiny-pretraining")) return;
  for (const char* head : {"BertForPreTraining", "BertForMaskedLM"}) {
    INFO(head);
    auto m = from_pretrained((test::reference_dir() / "bert/tiny-pretraining").string(), quiet(head));
    auto& lm = dynamic_cast<bert::WithLMHead&>(*m);
    auto& p = *lm.cls->predictions;
    CHECK(p.decoder->bias.is_same(p.bias));
    CHECK(p.decoder->weight.is_same(lm.bert->embeddings->word_embeddings->weight));
    CHECK(raw::max_abs_diff(state(*m, "cls.predictions.decoder.bias"), state(*m, "cls.predictions.bias")) == 0.0);
    // Each tied tensor is one parameter (named once), as torch's named_parameters.
    int64_t named = 0;
    for (const auto& [n, t] : m->named_parameters()) named += n.rfind("cls.predictions.decoder", 0) == 0;
    CHECK(named == 0);
  }
}

TEST_CASE("bert: without tie_word_embeddings the decoder weight is its own, its bias still shared", "[models][bert]") {
  bert::BertConfig c = bert::BertConfig::named("tiny");
  c.vocab_size = 50;
  c.num_hidden_layers = 1;
  c.tie_word_embeddings = false;
  auto m = create(c, "masked-lm", 3);
  auto& lm = dynamic_cast<bert::ForMaskedLM&>(*m);
  CHECK_FALSE(lm.cls->predictions->decoder->weight.is_same(lm.bert->embeddings->word_embeddings->weight));
  CHECK(lm.cls->predictions->decoder->bias.is_same(lm.cls->predictions->bias));
  REQUIRE(m->tied_weights().size() == 1);
  CHECK(m->tied_weights()[0].first == "cls.predictions.decoder.bias");
  // Saved and loaded again: the untied decoder weight is stored and read back.
  const auto dir = fs::temp_directory_path() / ("tz_bert_untied_" + std::to_string(::getpid()));
  save_pretrained(*m, dir.string());
  auto again = from_pretrained(dir.string(), [] { auto o = quiet(); o.strict = true; return o; }());
  CHECK(raw::max_abs_diff(state(*again, "cls.predictions.decoder.weight"), state(*m, "cls.predictions.decoder.weight")) == 0.0);
  fs::remove_all(dir);
}

TEST_CASE("bert: next-sentence prediction reads the pretraining checkpoint's cls.seq_relationship", "[models][bert]") {
  if (!test::have_reference("bert/tiny-pretraining")) return;
  test::CaseData c = test::load_case(test::reference_dir() / "bert/tiny-pretraining");
  LoadReport report;
  auto nsp = from_pretrained(c.dir.string(), quiet("next-sentence"), &report);
  CHECK(report.missing.empty());
  nsp->eval();
  Inputs in = test::inputs_from(c);
  in.labels = in.next_sentence_label;
  Output out = nsp->forward(in);
  auto tol = test::tolerance_of(c.manifest.at("tolerance"));
  CHECK(test::compare(out.logits, c.get("seq_relationship_logits"), tol).bad == 0);
  // The loss is the next-sentence term of the pretraining loss.
  Tensor manual = cross_entropy(out.logits, c.get("next_sentence_label"));
  CHECK(std::abs(out.loss.item() - manual.item()) <= 1e-6);
  // The same checkpoint as a masked LM: the pooler is passed over silently (HF's rule), the
  // next-sentence head is reported unused.
  auto mlm = from_pretrained(c.dir.string(), quiet("masked-lm"), &report);
  CHECK(report.missing.empty());
  REQUIRE(report.unexpected.size() == 2);
  CHECK(report.unexpected[0].rfind("cls.seq_relationship", 0) == 0);
}

TEST_CASE("sequence classification: HF's problem_type rule on a BERT head", "[models][bert]") {
  if (!test::have_reference("bert/tiny-seqcls")) return;
  test::CaseData c = test::load_case(test::reference_dir() / "bert/tiny-seqcls");
  auto m = from_pretrained(c.dir.string(), quiet());
  m->eval();
  Inputs in = test::inputs_from(c);
  const Tensor logits = m->forward(in).logits;  // [B, 3]
  const int64_t B = logits.size(0);
  // Float labels with 3 labels: multi-label BCE.
  Tensor targets = raw::from_vector(std::vector<float>(static_cast<size_t>(B * 3), 1.f), {B, 3});
  in.labels = targets;
  CHECK(std::abs(m->forward(in).loss.item() - bce_with_logits(logits, targets).item()) <= 1e-6);
  // problem_type "regression" set in the config: MSE against float targets of the logits' shape.
  auto config = load_config(c.dir.string());
  config->problem_type = "regression";
  auto reg = from_pretrained(c.dir.string(), [&] { auto o = quiet(); o.config = config; return o; }());
  reg->eval();
  CHECK(std::abs(reg->forward(in).loss.item() - mse_loss(logits, targets).item()) <= 1e-6);
  in.labels = raw::zeros({B, 2});
  CHECK_THROWS_WITH(reg->forward(in), Catch::Contains("regression labels must have shape"));
}

TEST_CASE("distilbert: token_type_ids are ignored, position_ids refused", "[models][distilbert]") {
  if (!test::have_reference("distilbert/tiny-model")) return;
  test::CaseData c = test::load_case(test::reference_dir() / "distilbert/tiny-model");
  auto m = from_pretrained(c.dir.string(), quiet());
  m->eval();
  CHECK_FALSE(m->takes_token_type_ids());
  Inputs in = test::inputs_from(c);
  REQUIRE_FALSE(in.token_type_ids.defined());
  const Tensor plain = m->forward(in).last_hidden_state;
  in.token_type_ids = raw::ones(in.input_ids.shape(), DType::Int64);  // what a BERT tokenizer gives for a pair
  CHECK(raw::max_abs_diff(m->forward(in).last_hidden_state, plain) == 0.0);
  in.position_ids = raw::zeros(in.input_ids.shape(), DType::Int64);
  CHECK_THROWS_WITH(m->forward(in), Catch::Contains("position_ids"));
}

TEST_CASE("distilbert: the sinusoidal table is HF's, frozen, and read from the file", "[models][distilbert]") {
  if (!test::have_reference("distilbert/tiny-sinusoidal")) return;
  const auto dir = test::reference_dir() / "distilbert/tiny-sinusoidal";
  auto loaded = from_pretrained(dir.string(), quiet());
  const Tensor stored = param(*loaded, "embeddings.position_embeddings.weight");
  CHECK_FALSE(stored.requires_grad());
  // A fresh model has the same table (HF's formula in double, rounded once), whatever the seed.
  auto fresh = create(*load_config(dir.string()), "", 11);
  const Tensor table = param(*fresh, "embeddings.position_embeddings.weight");
  CHECK_FALSE(table.requires_grad());
  CHECK(raw::max_abs_diff(table, stored) <= 1e-7);
  // Training never moves it (no gradient reaches a frozen parameter); the other weights move.
  auto mlm = from_pretrained(dir.string(), quiet("masked-lm"));
  mlm->train();
  optim::AdamW opt(mlm->parameters(), {});
  Inputs in;
  in.input_ids = raw::from_vector(std::vector<int64_t>{101, 7, 103, 9, 102}, {1, 5});
  in.labels = raw::from_vector(std::vector<int64_t>{-100, -100, 8, -100, -100}, {1, 5});
  const Tensor before = raw::clone(param(*mlm, "distilbert.embeddings.position_embeddings.weight"));
  const Tensor word_before = raw::clone(param(*mlm, "distilbert.embeddings.word_embeddings.weight"));
  mlm->forward(in).loss.backward();
  CHECK_FALSE(param(*mlm, "distilbert.embeddings.position_embeddings.weight").grad().defined());
  opt.step();
  CHECK(raw::max_abs_diff(param(*mlm, "distilbert.embeddings.position_embeddings.weight"), before) == 0.0);
  CHECK(raw::max_abs_diff(param(*mlm, "distilbert.embeddings.word_embeddings.weight"), word_before) > 0.0);
}

TEST_CASE("distilbert: config.json in DistilBERT's spelling, the common names as HF's attribute_map", "[models][distilbert]") {
  nlohmann::json j = {{"model_type", "distilbert"}, {"dim", 64}, {"n_layers", 3}, {"n_heads", 4},
                      {"hidden_dim", 100}, {"activation", "relu"}, {"dropout", 0.0}, {"attention_dropout", 0.05},
                      {"tie_weights_", true}};
  auto c = config_from_json(j);
  CHECK(c->hidden_size == 64);
  CHECK(c->num_hidden_layers == 3);
  CHECK(c->intermediate_size == 100);
  CHECK(c->hidden_act == "relu");
  CHECK(c->type_vocab_size == 0);
  CHECK(c->layer_norm_eps == 1e-12);
  nlohmann::json out = c->to_json();
  CHECK(out["dim"] == 64);
  CHECK(out["attention_dropout"] == 0.05);
  CHECK(out["tie_weights_"] == true);  // unknown keys are kept
  CHECK_FALSE(out.contains("hidden_size"));
  j["hidden_size"] = 32;  // HF: the common name sets dim
  CHECK(config_from_json(j)->hidden_size == 32);
  j["n_heads"] = 5;
  j.erase("hidden_size");
  CHECK_THROWS_WITH(config_from_json(j), Catch::Contains("n_heads 5 must divide dim 64"));
}

TEST_CASE("electra: config.json's summary fields build HF's SequenceSummary", "[models][electra]") {
  electra::ElectraConfig c = electra::ElectraConfig::named("small");
  c.vocab_size = 40;
  c.num_hidden_layers = 1;
  c.summary_type = "mean";
  c.summary_use_proj = false;
  c.summary_activation = "tanh";
  auto m = create(c, "multiple-choice", 2);
  auto& mc = dynamic_cast<electra::ForMultipleChoice&>(*m);
  CHECK_FALSE(mc.sequence_summary->summary);
  for (const auto& [name, t] : m->named_parameters()) CHECK(name.rfind("sequence_summary", 0) != 0);
  m->eval();
  Inputs in;
  in.input_ids = raw::from_vector(std::vector<int64_t>{1, 2, 3, 4, 5, 6}, {1, 2, 3});
  Output out = m->forward(in);
  REQUIRE(out.logits.shape() == Shape{1, 2});
  // Choice 0 by hand: tanh(mean over positions) -> classifier.
  Inputs one;
  one.input_ids = raw::from_vector(std::vector<int64_t>{1, 2, 3}, {1, 3});
  Tensor h = mc.electra->forward(one).last_hidden_state;
  Tensor want = mc.classifier->forward(tz::tanh(mean(h, {1})));
  CHECK(std::abs(out.logits.at({0, 0}) - want.at({0, 0})) <= 1e-6);
  c.summary_type = "attn";
  CHECK_THROWS_WITH(c.validate(), Catch::Contains("summary_type 'attn'"));
  // summary_activation null: no activation (HF's getattr gives None), written back as null.
  nlohmann::json j = {{"model_type", "electra"}, {"summary_activation", nullptr}};
  auto none = config_from_json(j);
  CHECK(dynamic_cast<electra::ElectraConfig&>(*none).summary_options().activation.empty());
  CHECK(none->to_json()["summary_activation"].is_null());
  CHECK(dynamic_cast<electra::ElectraConfig&>(*config_from_json({{"model_type", "electra"}})).summary_activation == "gelu");
}

TEST_CASE("named sizes have the parameter counts of the checkpoints they stand for", "[models]") {
  CHECK(parameter_count("bert", "base") == 109482240);      // bert-base-uncased, BertModel
  CHECK(parameter_count("bert", "minilm-l6") == 22713216);  // all-MiniLM-L6-v2
  CHECK(parameter_count("bert", "large") == 335141888);     // bert-large-uncased
  CHECK(parameter_count("distilbert", "base") == 66362880); // distilbert-base-uncased
  CHECK(parameter_count("electra", "small") == 13483008);   // electra-small-discriminator's encoder
  for (const auto& f : families())
    for (const auto& size : f.sizes) {
      INFO(f.model_type << " " << size);
      CHECK_NOTHROW(named_config(f.model_type, size));
    }
  CHECK_THROWS_WITH(named_config("bert", "huge"), Catch::Contains("tiny, mini, small, medium, base, large"));
}

TEST_CASE("old BERT checkpoints' LayerNorm.gamma / LayerNorm.beta load as weight / bias (HF's rename)", "[models][bert][io]") {
  if (!test::have_reference("bert/tiny-pretraining")) return;
  const auto src = test::reference_dir() / "bert/tiny-pretraining";
  const auto dir = fs::temp_directory_path() / ("tz_bert_gamma_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  fs::copy_file(src / "config.json", dir / "config.json", fs::copy_options::overwrite_existing);
  const io::Checkpoint ck = io::load_checkpoint((src / "model.safetensors").string());
  std::vector<std::pair<std::string, Tensor>> renamed;
  int legacy = 0;
  for (const auto& name : ck.names) {
    std::string n = name;
    for (auto [from, to] : {std::pair{"LayerNorm.weight", "LayerNorm.gamma"}, std::pair{"LayerNorm.bias", "LayerNorm.beta"}})
      if (n.size() > std::string(from).size() && n.compare(n.size() - std::string(from).size(), std::string::npos, from) == 0) {
        n = n.substr(0, n.size() - std::string(from).size()) + to;
        ++legacy;
      }
    renamed.emplace_back(n, ck.at(name));
  }
  REQUIRE(legacy > 0);
  io::save_safetensors((dir / "model.safetensors").string(), renamed, {{"format", "pt"}});
  auto a = from_pretrained(src.string(), quiet());
  auto b = from_pretrained(dir.string(), [] { auto o = quiet(); o.strict = true; return o; }());
  for (const auto& [name, t] : a->state_dict()) {
    INFO(name);
    CHECK(raw::max_abs_diff(state(*b, name), t) == 0.0);
  }
  fs::remove_all(dir);
}

TEST_CASE("inputs_embeds and head_mask reach every family as HF's forward takes them", "[models][reference]") {
  for (const char* name : {"bert/tiny-model", "electra/tiny-model", "distilbert/tiny-model"}) {
    if (!test::have_reference(name)) return;
    INFO(name);
    test::CaseData c = test::load_case(test::reference_dir() / name);
    auto m = from_pretrained(c.dir.string(), quiet());
    m->eval();
    NoGradGuard ng;
    Inputs in = test::inputs_from(c);
    in.output_attentions = true;
    const Output plain = m->forward(in);
    // inputs_embeds: the word embeddings of the ids (BERT, ELECTRA: the embeddings block adds
    // positions and types; DistilBERT's forward takes them as the embeddings output, as HF 4.19).
    Inputs e = in;
    e.input_ids = Tensor();
    const std::string family = m->config().model_type;
    if (family == "distilbert") {
      auto& d = dynamic_cast<distilbert::DistilBertModel&>(*m);
      e.inputs_embeds = d.embeddings->forward(in.input_ids, Tensor(), Tensor(), Tensor());
    } else {
      const Tensor table = state(*m, "embeddings.word_embeddings.weight");
      e.inputs_embeds = embedding(table, in.input_ids);
    }
    CHECK(raw::max_abs_diff(m->forward(e).last_hidden_state, plain.last_hidden_state) <= 1e-6);
    // head_mask [layers, heads]: a zero silences that head's probabilities in that layer only.
    const int64_t L = m->config().num_hidden_layers, H = m->config().num_attention_heads;
    std::vector<float> keep(static_cast<size_t>(L * H), 1.f);
    keep[1] = 0.f;  // layer 0, head 1
    Inputs h = in;
    h.head_mask = raw::from_vector(keep, {L, H});
    const Output masked = m->forward(h);
    CHECK(raw::max_abs_diff(raw::select(masked.attentions[0], 1, 1), raw::zeros_like(raw::select(masked.attentions[0], 1, 1))) == 0.0);
    CHECK(raw::max_abs_diff(raw::select(masked.attentions[0], 1, 0), raw::select(plain.attentions[0], 1, 0)) == 0.0);
    CHECK(raw::max_abs_diff(masked.last_hidden_state, plain.last_hidden_state) > 1e-4);
    h.head_mask = raw::ones({H + 1});
    CHECK_THROWS_WITH(m->forward(h), Catch::Contains("head_mask must be"));
  }
}

TEST_CASE("configs that make BERT or ELECTRA a decoder are refused, not run as encoders", "[models]") {
  for (const char* type : {"bert", "electra"}) {
    INFO(type);
    nlohmann::json j = {{"model_type", type}, {"is_decoder", false}};
    CHECK_NOTHROW(config_from_json(j));
    j["is_decoder"] = true;
    CHECK_THROWS_WITH(config_from_json(j), Catch::Contains("is_decoder is true"));
    j["is_decoder"] = false;
    j["add_cross_attention"] = true;
    CHECK_THROWS_WITH(config_from_json(j), Catch::Contains("add_cross_attention is true"));
    j.erase("add_cross_attention");
    j["position_embedding_type"] = "relative_key";
    CHECK_THROWS_WITH(config_from_json(j), Catch::Contains("relative_key"));
  }
}
