// The pipelines on the reference models, against values computed in the test from the model's own
// logits (each input run alone through the library, softmax / sigmoid / pooling written out here):
// fill-mask (also HF's reference probes), text-classification, token-classification with and
// without stride windows, question-answering across windows and questions, feature extraction, and
// sentence-transformers directories built from a reference model with every pooling mode. The
// pipelines know models only through the model interface, so each runs on every family's reference
// model with the head it needs (ConvBERT, BERT, ELECTRA, DistilBERT).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <numeric>

#include "autograd/grad_mode.h"
#include "models/registry.h"
#include "models/sentence_transformers.h"
#include "tensor/io/checkpoint.h"
#include "tensor/ops.h"
#include "tests/run_alone.h"
#include "tests/test_util.h"
#include "train/pipelines/feature_extraction.h"
#include "train/pipelines/fill_mask.h"
#include "train/pipelines/question_answering.h"
#include "train/pipelines/text_classification.h"
#include "train/pipelines/token_classification.h"

namespace fs = std::filesystem;
using namespace tz::pipelines;
using tz::tokenizer::Encoding;
using tz::tokenizer::WordPiece;
using tz::test::run_alone;
using tz::test::TempDir;
using tz::test::softmax_by_hand;

namespace {

fs::path case_dir(const std::string& name, const std::string& family = "convbert") {
  return tz::test::reference_dir() / family / name;
}

const std::vector<std::string> kFamilies{"convbert", "bert", "electra", "distilbert"};

// `check(family)` on every family's reference case `name` (e.g. "tiny-qa").
void on_every_family(const std::string& name, const std::function<void(const std::string&)>& check) {
  for (const std::string& family : kFamilies) {
    if (!tz::test::have_reference(family + "/" + name)) return;
    INFO(family);
    check(family);
  }
}

std::shared_ptr<tz::models::PreTrainedModel> load(const fs::path& dir, const std::string& head = "") {
  tz::models::LoadOptions o;
  o.verbose = false;
  o.architecture = head;
  auto m = tz::models::from_pretrained(dir.string(), o);
  m->eval();
  return m;
}

void write_json(const fs::path& p, const nlohmann::json& j) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << j.dump(2);
}

}  // namespace

TEST_CASE("fill-mask pipeline: HF's probes and the softmax of each text's own logits", "[train][pipelines][reference]") {
  if (!tz::test::have_reference("convbert/trained-mlm")) return;
  const fs::path dir = case_dir("trained-mlm");
  nlohmann::json manifest = nlohmann::json::parse(std::ifstream(dir / "manifest.json"));
  auto tok = WordPiece::from_pretrained(dir);
  auto model = load(dir);
  auto ref = tz::io::load_safetensors((dir / "expected.safetensors").string());
  const int64_t T_ref = ref.at("input_ids").size(1);
  std::vector<std::string> texts;
  std::vector<std::size_t> lengths;
  for (const auto& probe : manifest["probes"]) {
    const std::string text = probe["text"];
    auto enc = tok.encode(text);
    const auto span = enc.offsets[probe["mask_index"].get<std::size_t>()];
    texts.push_back(text.substr(0, span.begin) + "[MASK]" + text.substr(span.end));
    lengths.push_back(enc.size());
  }
  FillMaskOptions opt;
  opt.top_k = 5;
  std::vector<FillMaskResult> got = fill_mask(*model, tok, texts, opt);
  REQUIRE(got.size() == texts.size());
  const double atol = manifest["tolerance"]["atol"], rtol = manifest["tolerance"]["rtol"];
  bool checked_unpadded_row = false;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    INFO(texts[i]);
    REQUIRE(got[i].size() == 1);
    const auto& preds = got[i][0];
    REQUIRE(preds.size() == 5);
    // By hand: this text alone, the softmax of the mask's row.
    auto enc = tok.encode(texts[i]);
    const std::size_t at = manifest["probes"][i]["mask_index"];
    auto logits = tz::raw::contiguous(run_alone(*model, enc).logits);
    const int64_t V = logits.size(2);
    auto probs = softmax_by_hand(logits.data<float>() + static_cast<int64_t>(at) * V, static_cast<std::size_t>(V));
    std::vector<int64_t> order(static_cast<std::size_t>(V));
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + 5, order.end(),
                      [&](int64_t a, int64_t b) { return probs[static_cast<std::size_t>(a)] > probs[static_cast<std::size_t>(b)]; });
    for (std::size_t k = 0; k < 5; ++k) {
      CHECK(preds[k].token == order[k]);
      CHECK(preds[k].score == Approx(probs[static_cast<std::size_t>(order[k])]).margin(1e-6));
      CHECK(preds[k].token_str == tok.id_to_token(order[k]).value());
      // HF's top-5 ids (computed in a padded batch; padding moves probabilities by ~1e-3 at most here).
      CHECK(preds[k].token == manifest["probes"][i]["top5_ids"][k].get<int64_t>());
      const double hf = manifest["probes"][i]["top5"][k][1];
      CHECK(std::abs(preds[k].score - hf) < 2e-3);
      // The longest probe had no padding in HF's batch: there the numbers are HF's exactly.
      if (static_cast<int64_t>(lengths[i]) == T_ref) {
        CHECK(std::abs(preds[k].score - hf) <= atol + rtol * std::abs(hf));
        checked_unpadded_row = true;
      }
    }
    CHECK(preds[0].sequence.find("[MASK]") == std::string::npos);
  }
  CHECK(checked_unpadded_row);

  // Targets: their probabilities in the full softmax, best first; batch size changes nothing.
  opt.targets = {"the", "of", "and"};
  opt.batch_size = 1;
  auto targeted = fill_mask(*model, tok, {texts[0]}, opt);
  auto enc = tok.encode(texts[0]);
  auto logits = tz::raw::contiguous(run_alone(*model, enc).logits);
  const int64_t V = logits.size(2);
  const std::size_t at = manifest["probes"][0]["mask_index"];
  auto probs = softmax_by_hand(logits.data<float>() + static_cast<int64_t>(at) * V, static_cast<std::size_t>(V));
  REQUIRE(targeted[0][0].size() == 3);
  for (const auto& p : targeted[0][0]) CHECK(p.score == Approx(probs[static_cast<std::size_t>(p.token)]).margin(1e-7));
  CHECK(targeted[0][0][0].score >= targeted[0][0][1].score);
  FillMaskOptions big = opt;
  big.batch_size = 32;
  big.targets.clear();
  opt.targets.clear();
  auto a = fill_mask(*model, tok, texts, opt), b = fill_mask(*model, tok, texts, big);
  // (Rows of one forward pass differ from rows run alone only by float rounding in the matrix products.)
  for (std::size_t i = 0; i < texts.size(); ++i) CHECK(a[i][0][0].score == Approx(b[i][0][0].score).epsilon(1e-5));
}

TEST_CASE("fill-mask pipeline on every family's masked-LM: each mask's softmax over its own row", "[train][pipelines][reference]") {
  const std::vector<std::pair<std::string, std::string>> cases{
      {"convbert", "tiny-masked-lm"}, {"bert", "tiny-masked-lm"}, {"electra", "tiny-generator"}, {"distilbert", "tiny-masked-lm"}};
  const std::vector<std::string> texts{"the [MASK] sat on the mat .", "[MASK] world , hello [MASK] again"};
  for (const auto& [family, name] : cases) {
    if (!tz::test::have_reference(family + "/" + name)) return;
    INFO(family << "/" << name);
    auto tok = WordPiece::from_pretrained(case_dir(name, family));
    auto model = load(case_dir(name, family));
    FillMaskOptions opt;
    opt.top_k = 3;
    auto got = fill_mask(*model, tok, texts, opt);
    REQUIRE(got.size() == texts.size());
    const int64_t mask_id = tok.token_to_id("[MASK]");
    for (std::size_t i = 0; i < texts.size(); ++i) {
      auto enc = tok.encode(texts[i]);
      auto logits = tz::raw::contiguous(run_alone(*model, enc).logits);
      const int64_t V = logits.size(2);
      std::size_t m = 0;
      for (std::size_t t = 0; t < enc.size(); ++t) {
        if (enc.ids[t] != mask_id) continue;
        REQUIRE(m < got[i].size());
        auto probs = softmax_by_hand(logits.data<float>() + static_cast<int64_t>(t) * V, static_cast<std::size_t>(V));
        std::vector<std::size_t> order(probs.size());
        std::iota(order.begin(), order.end(), std::size_t{0});
        std::partial_sort(order.begin(), order.begin() + 3, order.end(),
                          [&](std::size_t a, std::size_t b) { return probs[a] > probs[b]; });
        REQUIRE(got[i][m].size() == 3);
        for (std::size_t k = 0; k < 3; ++k) {
          CHECK(got[i][m][k].token == static_cast<int64_t>(order[k]));
          CHECK(got[i][m][k].score == Approx(probs[order[k]]).margin(1e-6));
        }
        ++m;
      }
      CHECK(m == got[i].size());
      CHECK(m == (i == 0 ? 1u : 2u));
    }
  }
}

TEST_CASE("text-classification pipeline: softmax, sigmoid, raw scores of each input's own logits", "[train][pipelines][reference]") {
  const std::vector<std::string> texts{"the cat sat on the mat", "hello world", "a somewhat longer sentence about nothing"};
  const std::vector<std::pair<std::string, std::string>> cases{
      {"convbert", "tiny-seqcls"}, {"convbert", "seqcls-multilabel"}, {"convbert", "seqcls-regression"},
      {"bert", "tiny-seqcls"},     {"electra", "tiny-seqcls"},        {"distilbert", "tiny-seqcls"}};
  for (const auto& [family, name] : cases) {
    if (!tz::test::have_reference(family + "/" + name)) return;
    INFO(family << "/" << name);
    auto tok = WordPiece::from_pretrained(case_dir(name, family));
    auto model = load(case_dir(name, family));
    const auto& cfg = model->config();
    auto got = classify_texts(*model, tok, texts);
    auto forced = classify_texts(*model, tok, texts, {.function_to_apply = ClassificationFunction::Sigmoid});
    REQUIRE(got.size() == texts.size());
    for (std::size_t i = 0; i < texts.size(); ++i) {
      auto logits = tz::raw::contiguous(run_alone(*model, tok.encode(texts[i])).logits).to_vector<float>();
      const std::string problem = cfg.problem_type.value_or("");
      std::vector<double> want;
      if (problem == "regression") {
        want.assign(logits.begin(), logits.end());
      } else if (problem == "multi_label_classification") {
        for (float z : logits) want.push_back(1 / (1 + std::exp(-static_cast<double>(z))));
      } else {
        want = softmax_by_hand(logits.data(), logits.size());
      }
      REQUIRE(got[i].size() == want.size());
      for (std::size_t l = 0; l < want.size(); ++l) {
        CHECK(got[i][l].label == cfg.id2label[l]);
        CHECK(got[i][l].score == Approx(want[l]).margin(1e-6));
        CHECK(forced[i][l].score == Approx(1 / (1 + std::exp(-static_cast<double>(logits[l])))).margin(1e-6));
      }
    }
  }
  on_every_family("tiny-seqcls", [&](const std::string& family) {
    auto tok = WordPiece::from_pretrained(case_dir("tiny-seqcls", family));
    auto model = load(case_dir("tiny-seqcls", family));
    const std::vector<std::pair<std::string, std::string>> pairs{{"is it raining", "yes it is"}, {"a question", "an answer"}};
    auto got = classify_pairs(*model, tok, pairs);
    for (std::size_t i = 0; i < pairs.size(); ++i) {
      auto logits = tz::raw::contiguous(run_alone(*model, tok.encode_pair(pairs[i].first, pairs[i].second)).logits)
                        .to_vector<float>();
      auto want = softmax_by_hand(logits.data(), logits.size());
      for (std::size_t l = 0; l < want.size(); ++l) CHECK(got[i][l].score == Approx(want[l]).margin(1e-6));
    }
  });
}

namespace {

void check_token_classification(const std::string& family) {
  const fs::path dir = case_dir("tiny-token-cls", family);
  auto tok = WordPiece::from_pretrained(dir);
  auto model = load(dir);
  const std::string text = "John Smith lives in New York and works for a small company near the river with Mary.";
  TokenClassificationOptions opt;
  opt.ignore_labels = {};
  auto rows = classify_tokens(*model, tok, {text}, opt)[0];
  tz::tokenizer::EncodeOptions eo;
  eo.char_offsets = true;
  const Encoding all = tok.encode(text, eo);
  auto logits = tz::raw::contiguous(run_alone(*model, all).logits).to_vector<float>();
  const std::size_t L = model->config().id2label.size();
  REQUIRE(rows.size() == all.size() - 2);
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const std::size_t t = r + 1;
    auto p = softmax_by_hand(logits.data() + t * L, L);
    const std::size_t best = static_cast<std::size_t>(std::max_element(p.begin(), p.end()) - p.begin());
    CHECK(rows[r].index == std::optional<std::size_t>(t));
    CHECK(rows[r].entity == model->config().id2label[best]);
    CHECK(rows[r].score == Approx(p[best]).margin(1e-6));
    CHECK(rows[r].start == all.char_offsets[t].begin);
  }
  // A stride with windows long enough for the whole text changes nothing.
  opt.stride = 4;
  auto same = classify_tokens(*model, tok, {text}, opt)[0];
  REQUIRE(same.size() == rows.size());
  for (std::size_t r = 0; r < rows.size(); ++r) CHECK(same[r].score == Approx(rows[r].score).epsilon(1e-6));

  // Windows of 10 tokens (8 of the text) overlapping by 3: window k holds text tokens [5k, 5k + 8).
  opt.max_length = 10;
  opt.stride = 3;
  auto windowed = classify_tokens(*model, tok, {text}, opt)[0];
  const std::size_t n = all.size() - 2;
  REQUIRE(windowed.size() == n);
  const std::vector<int64_t> content(all.ids.begin() + 1, all.ids.end() - 1);
  std::vector<std::vector<float>> window_logits;
  std::vector<std::size_t> starts;
  for (std::size_t s = 0;; s += 5) {
    Encoding w;
    w.ids = {all.ids.front()};
    for (std::size_t j = s; j < std::min(n, s + 8); ++j) w.ids.push_back(content[j]);
    w.ids.push_back(all.ids.back());
    w.attention_mask.assign(w.ids.size(), 1);
    w.type_ids.assign(w.ids.size(), 0);
    window_logits.push_back(tz::raw::contiguous(run_alone(*model, w).logits).to_vector<float>());
    starts.push_back(s);
    if (s + 8 >= n) break;
  }
  REQUIRE(starts.size() >= 3);
  for (std::size_t i = 0; i < n; ++i) {
    std::size_t best_k = 0, best_margin = 0;
    bool found = false;
    for (std::size_t k = 0; k < starts.size(); ++k) {
      const std::size_t len = std::min(n, starts[k] + 8) - starts[k];
      if (i < starts[k] || i >= starts[k] + len) continue;
      const std::size_t margin = std::min(i - starts[k], starts[k] + len - 1 - i);
      if (!found || margin > best_margin) best_k = k, best_margin = margin, found = true;
    }
    auto p = softmax_by_hand(window_logits[best_k].data() + (i - starts[best_k] + 1) * L, L);
    const std::size_t best = static_cast<std::size_t>(std::max_element(p.begin(), p.end()) - p.begin());
    INFO("token " << i << " from window " << best_k);
    CHECK(windowed[i].entity == model->config().id2label[best]);
    CHECK(windowed[i].score == Approx(p[best]).margin(1e-6));
    CHECK(windowed[i].index == std::optional<std::size_t>(i + 1));
    CHECK(windowed[i].start == all.char_offsets[i + 1].begin);
  }
  // Without a stride the same max_length truncates: only the first 8 tokens are tagged.
  opt.stride.reset();
  CHECK(classify_tokens(*model, tok, {text}, opt)[0].size() == 8);
}

}  // namespace

TEST_CASE("token-classification pipeline: per-token argmax; stride windows score tokens where most central", "[train][pipelines][reference]") {
  on_every_family("tiny-token-cls", check_token_classification);
}

namespace {

void check_question_answering(const std::string& family) {
  const fs::path dir = case_dir("tiny-qa", family);
  auto tok = WordPiece::from_pretrained(dir);
  auto model = load(dir);
  const std::string context =
      "John Smith lives in New York and works for a small company near the river. His sister Mary moved to Paris "
      "in 1990, where she studied music and later taught at the old school by the park.";
  const std::vector<QAInput> inputs{{"Where did Mary move?", context}, {"Who lives in New York?", context}};
  QuestionAnsweringOptions opt;
  opt.max_seq_len = 40;
  opt.doc_stride = 10;
  opt.top_k = 3;
  opt.align_to_words = false;
  opt.handle_impossible_answer = true;
  auto got = answer_questions(*model, tok, inputs, opt);
  REQUIRE(got.size() == 2);
  const int64_t cls = tok.token_to_id("[CLS]");
  for (std::size_t q = 0; q < inputs.size(); ++q) {
    INFO(inputs[q].question);
    // By hand: each window alone; masked softmaxes; the window's 3 best spans; merge equal texts.
    tz::tokenizer::EncodeOptions eo;
    eo.char_offsets = true;
    eo.truncation = tz::tokenizer::Truncation{40, tz::tokenizer::TruncationStrategy::OnlySecond, 10};
    Encoding first = tok.encode_pair(inputs[q].question, context, eo);
    std::vector<Encoding> windows{first};
    for (const auto& w : first.overflowing) windows.push_back(w);
    REQUIRE(windows.size() >= 2);
    std::vector<std::pair<std::string, double>> answers;
    std::vector<std::pair<std::size_t, std::size_t>> spans_of;
    double null_score = 1e6;
    for (const Encoding& w : windows) {
      auto out = run_alone(*model, w);
      auto s = tz::raw::contiguous(out.start_logits).to_vector<float>();
      auto e = tz::raw::contiguous(out.end_logits).to_vector<float>();
      const std::size_t T = w.size();
      auto ok = [&](std::size_t t) { return w.sequence_ids[t] == 1 || w.ids[t] == cls; };
      for (std::size_t t = 0; t < T; ++t)
        if (!ok(t)) s[t] = e[t] = -10000.f;
      auto sp = softmax_by_hand(s.data(), T), ep = softmax_by_hand(e.data(), T);
      null_score = std::min(null_score, sp[0] * ep[0]);
      sp[0] = ep[0] = 0;
      struct Cand { double score; std::size_t s, e; };
      std::vector<Cand> cands;
      for (std::size_t a = 0; a < T; ++a)
        for (std::size_t b = a; b < T && b < a + 15; ++b) cands.push_back({sp[a] * ep[b], a, b});
      std::stable_sort(cands.begin(), cands.end(), [](const Cand& x, const Cand& y) { return x.score > y.score; });
      for (std::size_t k = 0; k < 3; ++k) {
        if (!ok(cands[k].s) || !ok(cands[k].e)) continue;
        const std::size_t cb = w.char_offsets[cands[k].s].begin, ce = w.char_offsets[cands[k].e].end;
        const std::string text = context.substr(cb, ce - cb);  // ASCII context: code points = bytes
        auto same = std::find_if(answers.begin(), answers.end(), [&](const auto& x) {
          std::string l1 = x.first, l2 = text;
          std::transform(l1.begin(), l1.end(), l1.begin(), ::tolower);
          std::transform(l2.begin(), l2.end(), l2.begin(), ::tolower);
          return l1 == l2;
        });
        if (same != answers.end()) {
          same->second += cands[k].score;
        } else {
          answers.emplace_back(text, cands[k].score);
          spans_of.emplace_back(cb, ce);
        }
      }
    }
    answers.emplace_back("", null_score);
    std::stable_sort(answers.begin(), answers.end(), [](const auto& x, const auto& y) { return x.second > y.second; });
    REQUIRE(got[q].size() == 3);
    for (std::size_t k = 0; k < 3; ++k) {
      CHECK(got[q][k].answer == answers[k].first);
      CHECK(got[q][k].score == Approx(answers[k].second).margin(1e-7));
      CHECK(context.substr(got[q][k].start, got[q][k].end - got[q][k].start) == got[q][k].answer);
    }
    // Each question alone, and one window per forward pass, give the same answers.
    QuestionAnsweringOptions one = opt;
    one.batch_size = 1;
    auto alone = answer_questions(*model, tok, {inputs[q]}, one);
    for (std::size_t k = 0; k < 3; ++k) CHECK(alone[0][k].score == Approx(got[q][k].score).epsilon(1e-5));
  }
  CHECK_THROWS_WITH(answer_questions(*model, tok, {{"", context}}), Catch::Contains("`question` cannot be empty"));
}

}  // namespace

TEST_CASE("question-answering pipeline: start_p * end_p per window, merged across windows and questions", "[train][pipelines][reference]") {
  on_every_family("tiny-qa", check_question_answering);
}

namespace {

void check_feature_extraction(const std::string& family) {
  const fs::path dir = case_dir("tiny-model", family);
  auto tok = WordPiece::from_pretrained(dir);
  auto model = load(dir);
  const std::vector<std::string> texts{"hello world", "the river near New York", "hi"};
  auto got = extract_features(*model, tok, texts);
  tz::tokenizer::EncodeOptions eo;
  eo.char_offsets = true;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    auto enc = tok.encode(texts[i], eo);
    auto h = tz::raw::contiguous(run_alone(*model, enc).last_hidden_state).to_vector<float>();
    CHECK(got[i].tokens == enc.tokens);
    CHECK(got[i].offsets == enc.char_offsets);
    // Equal up to float rounding: the pipeline stacks its inputs itself (token_type_ids only for the
    // families that take them), which may change the order of a sum or the GEMM kernel chosen.
    auto v = got[i].vectors.to_vector<float>();
    REQUIRE(v.size() == h.size());
    double worst = 0;
    for (std::size_t k = 0; k < v.size(); ++k) worst = std::max(worst, static_cast<double>(std::abs(v[k] - h[k])));
    CHECK(worst < 1e-5);
  }
}

}  // namespace

TEST_CASE("feature extraction: token vectors and offsets equal each text's own last_hidden_state", "[train][pipelines][reference]") {
  on_every_family("tiny-model", check_feature_extraction);
}

namespace {

// A sentence-transformers directory around a copy of tiny-model: the encoder at `transformer_path`.
fs::path make_st_dir(const fs::path& root, const std::string& transformer_path, const nlohmann::json& pooling,
                     bool normalize, const nlohmann::json& sbert) {
  fs::create_directories(root / transformer_path);
  for (const char* f : {"config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json"})
    fs::copy_file(case_dir("tiny-model") / f, root / transformer_path / f, fs::copy_options::overwrite_existing);
  nlohmann::json modules = nlohmann::json::array();
  modules.push_back({{"idx", 0}, {"name", "0"}, {"path", transformer_path}, {"type", "sentence_transformers.models.Transformer"}});
  modules.push_back({{"idx", 1}, {"name", "1"}, {"path", "1_Pooling"}, {"type", "sentence_transformers.models.Pooling"}});
  if (normalize) {
    modules.push_back({{"idx", 2}, {"name", "2"}, {"path", "2_Normalize"}, {"type", "sentence_transformers.models.Normalize"}});
    fs::create_directories(root / "2_Normalize");
  }
  write_json(root / "modules.json", modules);
  write_json(root / "1_Pooling" / "config.json", pooling);
  if (!sbert.is_null()) write_json(root / transformer_path / "sentence_bert_config.json", sbert);
  return root;
}

// The pooled vector of one row of hidden states [T, H] over its first `n` (real) tokens, by hand.
std::vector<double> pool_by_hand(const std::vector<float>& h, int64_t n, int64_t H, const std::string& mode) {
  std::vector<double> v(static_cast<std::size_t>(H), 0.0);
  for (int64_t d = 0; d < H; ++d) {
    auto x = [&](int64_t t) { return static_cast<double>(h[static_cast<std::size_t>(t * H + d)]); };
    double acc = mode == "max" ? -1e30 : 0.0, weights = 0;
    for (int64_t t = 0; t < n; ++t) {
      if (mode == "max") acc = std::max(acc, x(t));
      if (mode == "mean" || mode == "mean_sqrt_len_tokens") acc += x(t);
      if (mode == "weightedmean") acc += (t + 1) * x(t), weights += t + 1;
    }
    if (mode == "cls") acc = x(0);
    if (mode == "lasttoken") acc = x(n - 1);
    if (mode == "mean") acc /= n;
    if (mode == "mean_sqrt_len_tokens") acc /= std::sqrt(static_cast<double>(n));
    if (mode == "weightedmean") acc /= weights;
    v[static_cast<std::size_t>(d)] = acc;
  }
  return v;
}

}  // namespace

TEST_CASE("sentence-transformers directories: every pooling mode, Normalize, subfolder, max_seq_length, lower case", "[train][pipelines][reference]") {
  if (!tz::test::have_reference("convbert/tiny-model")) return;
  TempDir tmp;
  auto model = load(case_dir("tiny-model"), "base");
  auto tok = WordPiece::from_pretrained(case_dir("tiny-model"));
  const int64_t H = model->config().hidden_size;
  const std::vector<std::string> texts{"  hello world ", "the river near new york and paris", "john"};
  std::vector<std::vector<float>> hidden;
  std::vector<int64_t> lengths;
  for (const auto& t : texts) {
    auto enc = tok.encode(t);
    hidden.push_back(tz::raw::contiguous(run_alone(*model, enc).last_hidden_state).to_vector<float>());
    lengths.push_back(static_cast<int64_t>(enc.size()));
  }
  int n = 0;
  for (const std::string mode : {"cls", "mean", "max", "mean_sqrt_len_tokens", "weightedmean", "lasttoken"}) {
    for (bool normalize : {false, true}) {
      INFO(mode << (normalize ? " + Normalize" : ""));
      const std::string sub = n % 2 ? "0_Transformer" : "";  // the encoder in the root or in a subfolder
      const fs::path dir = make_st_dir(tmp.path / ("st" + std::to_string(n++)), sub,
                                       {{"word_embedding_dimension", H}, {"pooling_mode", mode}}, normalize, nullptr);
      auto st = tz::models::SentenceTransformer::from_pretrained(dir.string());
      CHECK(st.config().transformer_dir == (sub.empty() ? dir : dir / sub).string());
      auto st_tok = WordPiece::from_pretrained(st.config().transformer_dir);
      auto got = encode_sentences(st, st_tok, texts).to_vector<float>();
      REQUIRE(got.size() == texts.size() * static_cast<std::size_t>(H));
      for (std::size_t i = 0; i < texts.size(); ++i) {
        auto want = pool_by_hand(hidden[i], lengths[i], H, mode);
        if (normalize) {
          double norm = 0;
          for (double v : want) norm += v * v;
          for (double& v : want) v /= std::sqrt(norm);
        }
        for (int64_t d = 0; d < H; ++d)
          CHECK(got[i * static_cast<std::size_t>(H) + static_cast<std::size_t>(d)] ==
                Approx(want[static_cast<std::size_t>(d)]).margin(1e-5));
      }
    }
  }

  // Several modes concatenate in Pooling.forward's order (cls, then mean).
  const fs::path both = make_st_dir(tmp.path / "both", "",
                                    {{"pooling_mode_cls_token", true}, {"pooling_mode_mean_tokens", true}}, false, nullptr);
  auto st = tz::models::SentenceTransformer::from_pretrained(both.string());
  CHECK(st.dimension() == 2 * H);
  auto v = encode_sentences(st, tok, {texts[1]}).to_vector<float>();
  auto cls = pool_by_hand(hidden[1], lengths[1], H, "cls"), mean = pool_by_hand(hidden[1], lengths[1], H, "mean");
  CHECK(v[0] == Approx(cls[0]).margin(1e-5));
  CHECK(v[static_cast<std::size_t>(H)] == Approx(mean[0]).margin(1e-5));

  // Padding in a batch given to encode() is masked out of the pooling.
  tz::tokenizer::EncodeOptions padded;
  padded.padding = tz::tokenizer::Padding{};
  auto batch = tok.encode_batch({texts[0], texts[1]}, padded);
  const int64_t T = static_cast<int64_t>(batch[0].size());
  std::vector<int64_t> ids, mask;
  for (const auto& e : batch) {
    ids.insert(ids.end(), e.ids.begin(), e.ids.end());
    mask.insert(mask.end(), e.attention_mask.begin(), e.attention_mask.end());
  }
  tz::models::Inputs in;
  in.input_ids = tz::raw::from_vector(ids, {2, T});
  in.attention_mask = tz::raw::from_vector(mask, {2, T});
  auto pooled = st.encode(in).to_vector<float>();
  tz::Tensor h;
  {
    tz::NoGradGuard g;
    h = tz::raw::contiguous(st.encoder().forward(in).last_hidden_state);
  }
  auto hv = h.to_vector<float>();
  std::vector<float> row0(hv.begin(), hv.begin() + T * H);
  auto want0 = pool_by_hand(row0, lengths[0], H, "mean");  // the short row: only its real tokens
  CHECK(pooled[static_cast<std::size_t>(H)] == Approx(want0[0]).margin(1e-5));

  // sentence_bert_config.json: max_seq_length truncates; do_lower_case lower-cases before a cased tokenizer.
  const fs::path cased = make_st_dir(tmp.path / "cased", "", {{"pooling_mode_mean_tokens", true}}, false,
                                     {{"max_seq_length", 5}, {"do_lower_case", true}});
  write_json(cased / "tokenizer_config.json", {{"do_lower_case", false}, {"model_max_length", 512}});
  auto cst = tz::models::SentenceTransformer::from_pretrained(cased.string());
  CHECK(cst.config().max_seq_length == std::optional<int64_t>(5));
  CHECK(cst.config().do_lower_case);
  auto cased_tok = WordPiece::from_pretrained(cased);
  auto upper = encode_sentences(cst, cased_tok, {"  The River near New York"}).to_vector<float>();
  tz::tokenizer::EncodeOptions five;
  five.truncation = tz::tokenizer::Truncation{5};
  auto short_enc = tok.encode("the river near new york", five);
  REQUIRE(short_enc.size() == 5);
  auto short_h = tz::raw::contiguous(run_alone(*model, short_enc).last_hidden_state).to_vector<float>();
  auto want = pool_by_hand(short_h, 5, H, "mean");
  for (int64_t d = 0; d < H; ++d)
    CHECK(upper[static_cast<std::size_t>(d)] == Approx(want[static_cast<std::size_t>(d)]).margin(1e-5));
}

TEST_CASE("sentence-transformers directories: what cannot be honoured is an error naming it", "[train][pipelines][reference]") {
  if (!tz::test::have_reference("convbert/tiny-model")) return;
  TempDir tmp;
  const fs::path dir = make_st_dir(tmp.path / "st", "", {{"pooling_mode_mean_tokens", true}}, true, nullptr);
  auto modules = nlohmann::json::parse(std::ifstream(dir / "modules.json"));
  auto with = [&](const nlohmann::json& m) {
    write_json(dir / "modules.json", m);
    return dir.string();
  };
  nlohmann::json dense = modules;
  dense.push_back({{"idx", 3}, {"name", "3"}, {"path", "3_Dense"}, {"type", "sentence_transformers.models.Dense"}});
  CHECK_THROWS_WITH(tz::models::read_sentence_transformers_config(with(dense)),
                    Catch::Contains("module 3") && Catch::Contains("sentence_transformers.models.Dense' is not supported"));
  nlohmann::json escape = modules;
  escape[1]["path"] = "../elsewhere";
  CHECK_THROWS_WITH(tz::models::read_sentence_transformers_config(with(escape)), Catch::Contains("leaves the model directory"));
  nlohmann::json no_pooling = nlohmann::json::array({modules[0]});
  CHECK_THROWS_WITH(tz::models::read_sentence_transformers_config(with(no_pooling)), Catch::Contains("no sentence_transformers.models.Pooling"));
  nlohmann::json missing = modules;
  missing[1]["path"] = "9_Pooling";
  CHECK_THROWS_WITH(tz::models::read_sentence_transformers_config(with(missing)), Catch::Contains("9_Pooling/config.json' does not exist"));
  CHECK_THROWS_WITH(tz::models::read_sentence_transformers_config(with(nlohmann::json::object())), Catch::Contains("expected a list of modules"));
  with(modules);
  write_json(dir / "1_Pooling" / "config.json", {{"word_embedding_dimension", 7}});
  CHECK_THROWS_WITH(tz::models::SentenceTransformer::from_pretrained(dir.string()),
                    Catch::Contains("word_embedding_dimension 7 does not match the encoder's hidden_size 32"));
}
