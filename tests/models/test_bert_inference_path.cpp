// The graph-free inference path of the BERT-style families (models/blocks/inference.h) against
// the plain op-by-op forward and HF's outputs on every reference case of BERT, ELECTRA and
// DistilBERT, at 1 and 2 threads and both work splits; the conditions under which it must not run;
// the shapes the reference models are too small to reach (the direct GEMM at base's widths, the
// embeddings projection, inputs_embeds, padded rows); and the product seam (dense_product.h)
// against a naive loop.
#include <catch2/catch.hpp>

#include <cmath>
#include <iostream>
#include <limits>
#include <vector>

#include "autograd/grad_mode.h"
#include "models/bert/model.h"
#include "models/blocks/dense_product.h"
#include "models/blocks/inference.h"
#include "models/distilbert/model.h"
#include "models/electra/model.h"
#include "models/registry.h"
#include "tensor/kernels/gemm.h"
#include "tensor/parallel.h"
#include "tensor/random.h"
#include "tests/models/reference_case.h"

using namespace tz;
using models::Inputs;
using models::Output;

namespace {

std::vector<float> values(const Tensor& t) { return raw::contiguous(t).to_vector<float>(); }

double max_diff(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = std::fabs(static_cast<double>(a[i]) - b[i]);
    m = std::isnan(d) ? std::numeric_limits<double>::infinity() : std::max(m, d);
  }
  return m;
}

// Restores the thread count and the work split when a test ends, also on a failed REQUIRE.
struct ThreadsScope {
  int saved = get_num_threads();
  ~ThreadsScope() {
    set_num_threads(saved);
    blocks::set_inference_work_split(blocks::WorkSplit::Auto);
    models::set_inference_path_enabled(true);
  }
};

// Biases and LayerNorm parameters as noise (init_weights zeroes biases), so a product that dropped
// its bias or a norm that dropped beta would show.
void perturb_biases(models::PreTrainedModel& model, uint64_t seed) {
  Generator gen(seed);
  for (auto& [name, p] : model.named_parameters()) {
    const bool small = name.find("bias") != std::string::npos || name.find("LayerNorm.weight") != std::string::npos ||
                       name.find("layer_norm.weight") != std::string::npos;
    if (!small || p.dtype() != DType::Float32) continue;
    float* d = p.data<float>();
    for (int64_t i = 0; i < p.numel(); ++i) d[i] += static_cast<float>(gen.normal()) * 0.1f;
  }
}

// The plain forward (switch off) and the fast one at each (threads, split), with the fast path's
// call count checked; returns the largest difference of last_hidden_state.
double fast_vs_plain(models::PreTrainedModel& model, const Inputs& in, double bound) {
  ThreadsScope scope;
  NoGradGuard ng;
  models::set_inference_path_enabled(false);
  const auto plain = values(model.forward(in).last_hidden_state);
  models::set_inference_path_enabled(true);
  double worst = 0;
  for (auto [threads, split] : {std::pair{1, blocks::WorkSplit::Auto}, std::pair{2, blocks::WorkSplit::Rows},
                                std::pair{2, blocks::WorkSplit::Columns}, std::pair{3, blocks::WorkSplit::Rows}}) {
    set_num_threads(threads);
    blocks::set_inference_work_split(split);
    INFO("threads " << threads << ", split " << static_cast<int>(split));
    const int64_t calls = blocks::inference_path_calls();
    for (int rep = 0; rep < 2; ++rep) {  // the second call reuses the workspace
      const double d = max_diff(values(model.forward(in).last_hidden_state), plain);
      CHECK(d < bound);
      worst = std::max(worst, d);
    }
    CHECK(blocks::inference_path_calls() == calls + 2);
  }
  return worst;
}

}  // namespace

TEST_CASE("BERT-style inference path equals the plain forward and HF on every reference case",
          "[models][reference][inference]") {
  for (const std::string family : {"bert", "electra", "distilbert"}) {
    if (!test::have_reference(family)) continue;
    auto dirs = test::case_dirs(family);
    REQUIRE(static_cast<int64_t>(dirs.size()) >= test::readme_case_count(test::reference_dir() / family));
    for (const auto& dir : dirs) {
      test::CaseData c = test::load_case(dir);
      SECTION(c.name) {
        models::LoadOptions opt;
        opt.verbose = false;
        auto model = models::from_pretrained(c.dir.string(), opt);
        model->eval();
        Inputs in = test::inputs_from(c);
        const auto tol = test::tolerance_of(c.manifest.at("tolerance"));
        Output plain = model->forward(in);  // grad mode on: the op-by-op path
        ThreadsScope scope;
        const auto [threads, split] = GENERATE(std::pair{1, blocks::WorkSplit::Auto},
                                               std::pair{2, blocks::WorkSplit::Rows},
                                               std::pair{2, blocks::WorkSplit::Columns});
        set_num_threads(threads);
        blocks::set_inference_work_split(split);
        const int64_t calls_before = blocks::inference_path_calls();
        Output fast;
        {
          NoGradGuard ng;
          fast = model->forward(in);
        }
        INFO(c.name << ", " << threads << " threads, split " << static_cast<int>(split));
        CHECK(blocks::inference_path_calls() == calls_before + 1);  // the fast path really ran
        auto p = plain.named(), f = fast.named();  // no hidden states or attentions were asked for
        REQUIRE(p.size() == f.size());
        for (size_t i = 0; i < p.size(); ++i) {
          INFO(c.name << " output " << p[i].first);
          REQUIRE(p[i].first == f[i].first);
          test::Diff d = test::compare(f[i].second, p[i].second.detach(), tol);
          std::cout << "case " << c.name << " " << p[i].first << ": fast vs plain max abs diff " << d.max_abs << "\n";
          INFO(d.first_bad);
          CHECK(d.bad == 0);
          if (c.has(p[i].first)) {  // and against HF's numbers directly
            test::Diff e = test::compare(f[i].second, c.get(p[i].first), tol);
            INFO("vs expected: " << e.first_bad);
            CHECK(e.bad == 0);
          }
        }
      }
    }
  }
}

TEST_CASE("BERT-style inference path is not taken when it must not be", "[models][inference]") {
  bert::BertConfig c = bert::BertConfig::named("tiny");
  c.vocab_size = 40;
  bert::BertModel model(c);
  model.init_weights(3);
  model.eval();
  Generator gen(4);
  Inputs in;
  in.input_ids = raw::randint({2, 9}, 0, c.vocab_size, gen);
  const int64_t calls = blocks::inference_path_calls();
  model.forward(in);  // grad mode on
  CHECK(blocks::inference_path_calls() == calls);
  NoGradGuard ng;
  for (int which = 0; which < 4; ++which) {
    Inputs asked = in;
    if (which == 0) asked.output_attentions = true;
    if (which == 1) asked.output_hidden_states = true;
    if (which == 2) asked.head_mask = raw::ones({c.num_attention_heads});
    if (which == 3) models::set_inference_path_enabled(false);
    INFO("condition " << which);
    model.forward(asked);
    CHECK(blocks::inference_path_calls() == calls);
    models::set_inference_path_enabled(true);
  }
  model.train();
  model.forward(in);
  CHECK(blocks::inference_path_calls() == calls);
  model.eval();
  // An activation without a fused kernel.
  bert::BertConfig silu = c;
  silu.hidden_act = "silu";
  bert::BertModel other(silu);
  other.init_weights(5);
  other.eval();
  other.forward(in);
  CHECK(blocks::inference_path_calls() == calls);
  model.forward(in);
  CHECK(blocks::inference_path_calls() == calls + 1);
}

TEST_CASE("BERT inference path: base's widths (direct GEMM), padded rows, position ids, gelu_new",
          "[models][inference]") {
  // The reference models are too small for sgemm_nt_direct (weights of 384+ rows and 512+
  // columns at <= 160 token rows): this is base's layer, one layer, a shorter FFN.
  bert::BertConfig c = bert::BertConfig::named("base");
  c.num_hidden_layers = 2;
  c.intermediate_size = 1536;
  c.vocab_size = 50;
  c.hidden_act = "gelu_new";
  bert::BertModel model(c);
  model.init_weights(11);
  perturb_biases(model, 12);
  model.eval();
  REQUIRE(kernels::sgemm_nt_direct_pays(100, 384, c.hidden_size));
  Generator gen(13);
  Inputs in;
  in.input_ids = raw::randint({1, 100}, 0, c.vocab_size, gen);
  in.token_type_ids = raw::randint({1, 100}, 0, 2, gen);
  in.attention_mask = raw::ones({1, 100}, DType::Int64);
  in.attention_mask.data<int64_t>()[97] = 0;
  std::cout << "bert base widths: fast vs plain " << fast_vs_plain(model, in, 1e-4) << "\n";
  // Two sequences, the second padded, with explicit (shifted) position ids and a float mask.
  Inputs padded;
  padded.input_ids = raw::randint({2, 37}, 0, c.vocab_size, gen);
  std::vector<float> mask(74, 1.f);
  for (int i = 60; i < 74; ++i) mask[i] = 0.f;
  padded.attention_mask = raw::from_vector(mask, {2, 37});
  std::vector<int64_t> pos(74);
  for (int i = 0; i < 74; ++i) pos[i] = i % 37 + 3;
  padded.position_ids = raw::from_vector(pos, {2, 37});
  std::cout << "bert padded: fast vs plain " << fast_vs_plain(model, padded, 1e-4) << "\n";
}

TEST_CASE("ELECTRA inference path: embeddings_project, inputs_embeds, many rows", "[models][inference]") {
  electra::ElectraConfig c = electra::ElectraConfig::named("small");  // embedding 128 -> hidden 256
  c.num_hidden_layers = 2;
  c.vocab_size = 60;
  electra::ElectraModel model(c);
  model.init_weights(21);
  perturb_biases(model, 22);
  model.eval();
  REQUIRE(model.embeddings_project);
  Generator gen(23);
  Inputs in;
  in.input_ids = raw::randint({3, 150}, 0, c.vocab_size, gen);  // 450 rows: Auto splits by rows at 2 threads
  in.attention_mask = raw::ones({3, 150}, DType::Int64);
  for (int i = 140; i < 150; ++i) in.attention_mask.data<int64_t>()[150 + i] = 0;
  std::cout << "electra small: fast vs plain " << fast_vs_plain(model, in, 1e-4) << "\n";
  Inputs emb;
  emb.inputs_embeds = raw::randn({2, 11, c.embedding_size}, gen);
  std::cout << "electra inputs_embeds: fast vs plain " << fast_vs_plain(model, emb, 1e-4) << "\n";
}

TEST_CASE("DistilBERT inference path: -inf masking, a fully masked row, inputs_embeds, head size 32",
          "[models][inference]") {
  distilbert::DistilBertConfig c = distilbert::DistilBertConfig::named("base");
  c.num_hidden_layers = 2;
  c.hidden_size = 384;  // 12 heads of 32, where 1/sqrt(d) is not a power of two
  c.intermediate_size = 1536;
  c.vocab_size = 70;
  distilbert::DistilBertModel model(c);
  model.init_weights(31);
  perturb_biases(model, 32);
  model.eval();
  Generator gen(33);
  Inputs in;
  in.input_ids = raw::randint({3, 20}, 0, c.vocab_size, gen);
  std::vector<int64_t> mask(60, 1);
  for (int i = 15; i < 20; ++i) mask[i] = 0;    // padding in row 0
  for (int i = 40; i < 60; ++i) mask[i] = 0;    // row 2 without any real token
  mask[25] = 2;                                 // any non-zero value attends
  in.attention_mask = raw::from_vector(mask, {3, 20});
  std::cout << "distilbert: fast vs plain " << fast_vs_plain(model, in, 1e-4) << "\n";
  Inputs emb;
  emb.inputs_embeds = raw::randn({2, 7, c.hidden_size}, gen);
  emb.attention_mask = raw::from_vector(std::vector<int64_t>{1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1}, {2, 7});
  std::cout << "distilbert inputs_embeds: fast vs plain " << fast_vs_plain(model, emb, 1e-4) << "\n";
}

TEST_CASE("dense products: every kernel choice and column band equals a naive loop", "[models][inference][kernels]") {
  Generator gen(41);
  ThreadsScope scope;
  // (m, out, in): OpenBLAS shapes, direct-kernel shapes (<= 160 rows, >= 384 x 512 weights), odd sizes.
  for (auto [m, out, in] : {std::tuple<int64_t, int64_t, int64_t>{7, 33, 19}, {100, 400, 520}, {161, 384, 512},
                            {5, 768, 768}}) {
    auto W = values(raw::randn({out, in}, gen)), b = values(raw::randn({out}, gen));
    auto X = values(raw::randn({m, in + 3}, gen));  // leading dim in + 3
    blocks::DenseWeights w{W.data(), b.data(), in, out};
    for (auto act : {kernels::FusedAct::None, kernels::FusedAct::GeluErf, kernels::FusedAct::Relu}) {
      std::vector<double> expect(static_cast<size_t>(m * out));
      for (int64_t r = 0; r < m; ++r)
        for (int64_t j = 0; j < out; ++j) {
          double s = b[j];
          for (int64_t k = 0; k < in; ++k) s += static_cast<double>(X[r * (in + 3) + k]) * W[j * in + k];
          if (act == kernels::FusedAct::GeluErf) s = 0.5 * s * (1 + std::erf(s / std::sqrt(2.0)));
          if (act == kernels::FusedAct::Relu) s = std::max(s, 0.0);
          expect[r * out + j] = s;
        }
      auto check = [&](const std::vector<float>& Y, int64_t ldy, const char* how) {
        double worst = 0;
        for (int64_t r = 0; r < m; ++r)
          for (int64_t j = 0; j < out; ++j) worst = std::max(worst, std::fabs(Y[r * ldy + j] - expect[r * out + j]));
        INFO(how << ": m " << m << ", out " << out << ", in " << in << ", act " << static_cast<int>(act));
        CHECK(worst < 1e-3);
      };
      const int64_t ldy = out + 5;
      blocks::DenseProduct p{&w, X.data(), in + 3, nullptr, ldy, act};
      std::vector<float> Y(static_cast<size_t>(m * ldy), -7.f);
      p.Y = Y.data();
      blocks::dense_columns(true, p, m, 0, out / 3);  // two column bands and a row band
      blocks::dense_columns(true, p, m, out / 3, out);
      check(Y, ldy, "column bands");
      std::fill(Y.begin(), Y.end(), -7.f);
      blocks::dense_rows(false, p, 0, m / 2);
      blocks::dense_rows(false, p, m / 2, m);
      check(Y, ldy, "row bands, scalar activation");
      for (int threads : {1, 2, 3}) {
        set_num_threads(threads);
        std::fill(Y.begin(), Y.end(), -7.f);
        std::vector<float> Y2(static_cast<size_t>(m * ldy), -7.f);
        blocks::DenseProduct p2 = p;
        p2.Y = Y2.data();
        blocks::dense_columns_parallel(true, m, {p, p2});  // one product twice: bands cross the seam
        check(Y, ldy, "parallel, first");
        check(Y2, ldy, "parallel, second");
      }
    }
  }
}
