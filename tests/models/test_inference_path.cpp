// The graph-free inference path (models/convbert/inference.h) against the plain op-by-op forward
// on every reference case, its fused kernels (tensor/kernels/fused.h) against their scalar
// references and naive loops, and the FLOP count behind `tensorzoo bench`'s gflops.
#include <catch2/catch.hpp>

#include <cmath>
#include <iostream>
#include <limits>
#include <vector>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "models/convbert/inference.h"
#include "models/convbert/heads.h"
#include "models/registry.h"
#include "tensor/kernels/fused.h"
#include "tensor/kernels/gemm.h"
#include "tensor/parallel.h"
#include "tensor/random.h"
#include "tests/models/reference_case.h"

using namespace tz;
using namespace tz::convbert;
using namespace tz::models;

namespace {

std::vector<float> random_vec(size_t n, Generator& gen, float scale = 1.f) {
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>(gen.normal()) * scale;
  return v;
}

double max_diff(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(static_cast<double>(a[i]) - b[i]));
  return m;
}

// The outputs a head produces that both paths must give.
std::vector<std::pair<std::string, Tensor>> primary_outputs(const Output& o) {
  std::vector<std::pair<std::string, Tensor>> v;
  for (auto& [name, t] : {std::pair<std::string, Tensor>{"last_hidden_state", o.last_hidden_state},
                          {"logits", o.logits}, {"start_logits", o.start_logits},
                          {"end_logits", o.end_logits}, {"loss", o.loss}})
    if (t.defined()) v.emplace_back(name, t);
  return v;
}

// The "small" config cut to one layer and a tiny vocabulary, for quick checks on random weights.
ConvBertConfig one_layer_small(int64_t vocab) {
  ConvBertConfig c = ConvBertConfig::named("small");
  c.num_hidden_layers = 1;
  c.vocab_size = vocab;
  return c;
}

}  // namespace

TEST_CASE("inference path equals the plain forward on every reference case", "[models][reference][inference]") {
  if (!test::have_reference("convbert")) return;
  auto dirs = test::case_dirs("convbert");
  REQUIRE(static_cast<int64_t>(dirs.size()) >= test::readme_case_count(test::reference_dir() / "convbert"));
  for (const auto& dir : dirs) {
    test::CaseData c = test::load_case(dir);
    SECTION(c.name) {
      LoadOptions opt;
      opt.verbose = false;
      auto model = from_pretrained(c.dir.string(), opt);
      model->eval();
      Inputs in = test::inputs_from(c);
      auto tol = test::tolerance_of(c.manifest.at("tolerance"));

      Output plain = model->forward(in);  // grad mode on: the op-by-op path, recorded
      // 1 thread, and 2 threads with the work split by rows (uneven row chunks on the tiny cases)
      // and by columns.
      const int saved_threads = get_num_threads();
      const auto [threads, split] = GENERATE(std::pair{1, WorkSplit::Auto}, std::pair{2, WorkSplit::Rows},
                                             std::pair{2, WorkSplit::Columns});
      set_num_threads(threads);
      set_inference_work_split(split);
      const int64_t calls_before = inference_path_calls();
      Output fast;
      {
        NoGradGuard ng;
        fast = model->forward(in);
      }
      set_num_threads(saved_threads);
      set_inference_work_split(WorkSplit::Auto);
      INFO(c.name << ", " << threads << " threads, split " << static_cast<int>(split));
      CHECK(inference_path_calls() == calls_before + 1);  // the fast path really ran
      auto p = primary_outputs(plain), f = primary_outputs(fast);
      REQUIRE(p.size() == f.size());
      for (size_t i = 0; i < p.size(); ++i) {
        INFO(c.name << " output " << p[i].first);
        test::Diff d = test::compare(f[i].second, p[i].second.detach(), tol);
        std::cout << "case " << c.name << " " << p[i].first << ": fast vs plain max abs diff " << d.max_abs << "\n";
        INFO(d.first_bad);
        CHECK(d.bad == 0);
        // And against HuggingFace's numbers directly (when the case recorded this output).
        if (c.has(p[i].first)) {
          test::Diff e = test::compare(f[i].second, c.get(p[i].first), tol);
          INFO("vs expected: " << e.first_bad);
          CHECK(e.bad == 0);
        }
      }
    }
  }
}

TEST_CASE("inference path is not taken when it must not be", "[models][inference]") {
  ConvBertModel model(one_layer_small(50));
  model.init_weights(3);
  model.eval();
  const ConvBertConfig& c = model.config();
  Inputs in;
  Generator gen(4);
  in.input_ids = raw::randint({2, 11}, 0, c.vocab_size, gen);
  std::vector<int64_t> mask(22, 1);
  mask[20] = mask[21] = 0;  // a padded row
  in.attention_mask = raw::from_vector(mask, {2, 11});
  int64_t calls = inference_path_calls();
  model.forward(in);  // grad mode on
  CHECK(inference_path_calls() == calls);
  NoGradGuard ng;
  in.output_attentions = true;
  model.forward(in);
  CHECK(inference_path_calls() == calls);
  in.output_attentions = false;
  set_inference_path_enabled(false);
  Output plain = model.forward(in);
  CHECK(inference_path_calls() == calls);
  set_inference_path_enabled(true);
  Output fast = model.forward(in);
  CHECK(inference_path_calls() == calls + 1);
  // Padded row, odd length: still the same numbers.
  auto plain_v = raw::contiguous(plain.last_hidden_state).to_vector<float>();
  CHECK(max_diff(raw::contiguous(fast.last_hidden_state).to_vector<float>(), plain_v) < 1e-4);
  // Any thread count (uneven row chunks, more threads than (batch, head) tasks) and a repeated
  // call on the reused workspace give the same numbers.
  const int saved = get_num_threads();
  for (int threads : {1, 3, 2}) {
    set_num_threads(threads);
    INFO("threads " << threads);
    for (int rep = 0; rep < 2; ++rep)
      CHECK(max_diff(raw::contiguous(model.forward(in).last_hidden_state).to_vector<float>(), plain_v) < 1e-4);
  }
  set_num_threads(saved);
}

TEST_CASE("inference path: grouped feed-forward, embeddings_project and gelu_new", "[models][inference]") {
  ConvBertConfig c = ConvBertConfig::named("medium-small");  // 2 groups, embedding 128 != hidden 384
  c.num_hidden_layers = 2;
  c.vocab_size = 40;
  c.hidden_act = "gelu_new";
  ConvBertModel model(c);
  model.init_weights(5);
  model.eval();
  Generator gen(6);
  Inputs in;
  in.input_ids = raw::randint({3, 9}, 0, c.vocab_size, gen);
  NoGradGuard ng;
  set_inference_path_enabled(false);
  auto plain = raw::contiguous(model.forward(in).last_hidden_state).to_vector<float>();
  set_inference_path_enabled(true);
  const int64_t calls = inference_path_calls();
  auto fast = raw::contiguous(model.forward(in).last_hidden_state).to_vector<float>();
  CHECK(inference_path_calls() == calls + 1);
  CHECK(max_diff(fast, plain) < 1e-4);
  const auto plain_in = plain;

  // inputs_embeds: the plain embeddings, then the fast encoder (encoder_forward_inference).
  Inputs emb;
  emb.inputs_embeds = raw::randn({3, 9, c.embedding_size}, gen);
  set_inference_path_enabled(false);
  plain = raw::contiguous(model.forward(emb).last_hidden_state).to_vector<float>();
  set_inference_path_enabled(true);
  fast = raw::contiguous(model.forward(emb).last_hidden_state).to_vector<float>();
  CHECK(inference_path_calls() == calls + 2);
  CHECK(max_diff(fast, plain) < 1e-4);

  // 2 and 3 threads, the work split by rows (uneven row chunks) and by columns (at 3 threads the
  // column bands cut through a group of the grouped FFN and through the q|k|v|conv_in block),
  // and a longer input (3 x 200 rows).
  Inputs many;
  many.input_ids = raw::randint({3, 200}, 0, c.vocab_size, gen);
  set_inference_path_enabled(false);
  auto plain_many = raw::contiguous(model.forward(many).last_hidden_state).to_vector<float>();
  set_inference_path_enabled(true);
  const int saved = get_num_threads();
  for (int threads : {2, 3}) {
    for (WorkSplit split : {WorkSplit::Rows, WorkSplit::Columns}) {
      set_num_threads(threads);
      set_inference_work_split(split);
      INFO("threads " << threads << ", split " << static_cast<int>(split));
      CHECK(max_diff(raw::contiguous(model.forward(in).last_hidden_state).to_vector<float>(), plain_in) < 1e-4);
      CHECK(max_diff(raw::contiguous(model.forward(many).last_hidden_state).to_vector<float>(), plain_many) < 1e-4);
    }
  }
  set_inference_work_split(WorkSplit::Auto);
  set_num_threads(saved);
}

TEST_CASE("inference path: the Auto split picks columns for few rows per thread, rows otherwise",
          "[models][inference]") {
  ConvBertModel model(one_layer_small(30));
  model.init_weights(8);
  model.eval();
  const ConvBertConfig& c = model.config();
  Generator gen(9);
  NoGradGuard ng;
  const int saved = get_num_threads();
  set_num_threads(2);
  // Same outputs whichever split runs: Auto must agree with the split it claims to pick.
  for (int64_t T : {100, 300}) {  // 100 rows: columns; 300 rows (150 per thread): rows
    Inputs in;
    in.input_ids = raw::randint({1, T}, 0, c.vocab_size, gen);
    std::vector<std::vector<float>> out;
    for (WorkSplit split : {WorkSplit::Rows, WorkSplit::Columns, WorkSplit::Auto}) {
      set_inference_work_split(split);
      out.push_back(raw::contiguous(model.forward(in).last_hidden_state).to_vector<float>());
    }
    INFO("T = " << T);
    CHECK(max_diff(out[0], out[1]) < 1e-5);
    CHECK(max_diff(out[2], T == 100 ? out[1] : out[0]) == 0.f);
  }
  set_inference_work_split(WorkSplit::Auto);
  set_num_threads(saved);
}

TEST_CASE("inference path: base-sized weights at few rows go through sgemm_nt_direct, rows and columns",
          "[models][inference]") {
  // The reference models are too small for the direct GEMM (sgemm_nt_direct_pays wants weight rows
  // of 512 or more): this is base's layer shape, cut to one layer and a shorter FFN.
  ConvBertConfig c = ConvBertConfig::named("base");
  c.num_hidden_layers = 1;
  c.intermediate_size = 1536;
  c.vocab_size = 30;
  ConvBertModel model(c);
  model.init_weights(11);
  model.eval();
  Generator gen(12);
  for (auto& [name, p] : model.named_parameters())  // init_weights zeroes biases; these must show
    if (name.size() > 4 && name.compare(name.size() - 4, 4, "bias") == 0) {
      auto noise = random_vec(static_cast<size_t>(p.numel()), gen, 0.1f);
      std::copy(noise.begin(), noise.end(), p.data<float>());
    }
  Inputs in;
  in.input_ids = raw::randint({1, 100}, 0, c.vocab_size, gen);
  in.attention_mask = raw::ones({1, 100}, DType::Int64);
  in.attention_mask.data<int64_t>()[97] = 0;  // a masked key too
  // Which products take the direct kernel: all the big ones at 1 thread; at 2 threads by columns,
  // q|k|v|conv_out (two 384-wide products per thread), attention dense and both FFN products.
  REQUIRE(kernels::sgemm_nt_direct_pays(100, 384, c.hidden_size));
  REQUIRE(kernels::sgemm_nt_direct_pays(50, 384, c.hidden_size));
  REQUIRE(kernels::sgemm_nt_direct_pays(100, 384, c.intermediate_size));
  NoGradGuard ng;
  set_inference_path_enabled(false);
  auto plain = raw::contiguous(model.forward(in).last_hidden_state).to_vector<float>();
  set_inference_path_enabled(true);
  const int saved = get_num_threads();
  for (auto [threads, split] : {std::pair{1, WorkSplit::Auto}, std::pair{2, WorkSplit::Rows},
                                std::pair{2, WorkSplit::Columns}}) {
    set_num_threads(threads);
    set_inference_work_split(split);
    INFO("threads " << threads << ", split " << static_cast<int>(split));
    CHECK(max_diff(raw::contiguous(model.forward(in).last_hidden_state).to_vector<float>(), plain) < 1e-4);
  }
  set_inference_work_split(WorkSplit::Auto);
  set_num_threads(saved);
}

TEST_CASE("fused kernels: vectorised equals the scalar reference", "[models][inference][kernels]") {
  Generator gen(7);
  for (int64_t n : {1, 5, 8, 17, 64, 131}) {
    const int64_t rows = 3, ld = n + 3;
    auto y0 = random_vec(rows * ld, gen, 2.f), bias = random_vec(n, gen), other = random_vec(rows * ld, gen);
    auto res = random_vec(rows * ld, gen), gamma = random_vec(n, gen), beta = random_vec(n, gen);
    INFO("n = " << n);
    for (auto act : {kernels::FusedAct::None, kernels::FusedAct::GeluErf, kernels::FusedAct::GeluTanh,
                     kernels::FusedAct::Relu}) {
      auto a = y0, b = y0;
      kernels::bias_act_rows(true, act, rows, n, a.data(), ld, bias.data());
      kernels::bias_act_rows(false, act, rows, n, b.data(), ld, bias.data());
      CHECK(max_diff(a, b) < 1e-5);
      // The reference itself, checked by hand for GELU on the first element.
      if (act == kernels::FusedAct::GeluErf) {
        double x = static_cast<double>(y0[0]) + bias[0];
        CHECK(std::fabs(b[0] - 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)))) < 1e-5);
      }
    }
    {
      auto a = y0, b = y0;
      kernels::bias_mul_rows(true, rows, n, a.data(), ld, bias.data(), other.data(), ld);
      kernels::bias_mul_rows(false, rows, n, b.data(), ld, bias.data(), other.data(), ld);
      CHECK(max_diff(a, b) < 1e-5);
      CHECK(std::fabs(b[0] - (y0[0] + bias[0]) * other[0]) < 1e-5);
    }
    {
      auto a = y0, b = y0;
      std::vector<float> oa(rows * ld, 0.f), ob(rows * ld, 0.f);
      kernels::bias_residual_layer_norm_rows(true, rows, n, a.data(), ld, bias.data(), res.data(), ld, gamma.data(),
                                             beta.data(), 1e-12f, oa.data(), ld);
      kernels::bias_residual_layer_norm_rows(false, rows, n, b.data(), ld, bias.data(), res.data(), ld,
                                             gamma.data(), beta.data(), 1e-12f, ob.data(), ld);
      CHECK(max_diff(oa, ob) < 1e-4);
      // Naive double-precision LayerNorm of row 1.
      if (n > 1) {
        std::vector<double> t(n);
        double mean = 0, var = 0;
        for (int64_t i = 0; i < n; ++i) mean += t[i] = static_cast<double>(y0[ld + i]) + bias[i] + res[ld + i];
        mean /= n;
        for (int64_t i = 0; i < n; ++i) var += (t[i] - mean) * (t[i] - mean);
        var /= n;
        for (int64_t i = 0; i < n; ++i)
          CHECK(std::fabs(ob[ld + i] - ((t[i] - mean) / std::sqrt(var + 1e-12) * gamma[i] + beta[i])) < 1e-4);
      }
    }
    {
      auto a = y0, b = y0;
      std::vector<float> add(n, 0.f);
      add[n / 2] = std::numeric_limits<float>::lowest();  // a masked position
      kernels::softmax_add_rows(true, rows, n, a.data(), ld, add.data());
      kernels::softmax_add_rows(false, rows, n, b.data(), ld, add.data());
      CHECK(max_diff(a, b) < 1e-6);
      double sum = 0;
      for (int64_t i = 0; i < n; ++i) sum += b[i];
      CHECK(std::fabs(sum - 1.0) < 1e-5);
      if (n > 1) CHECK(b[n / 2] == 0.f);
    }
  }
}

TEST_CASE("fused kernels: depthwise and dynamic convolutions match naive loops", "[models][inference][kernels]") {
  Generator gen(11);
  const int64_t B = 2, T = 7, heads = 3, d = 5, C = heads * d, K = 5, pad = 2;
  auto x = random_vec(B * T * C, gen), w = random_vec(K * C, gen);
  auto probs = random_vec(B * T * heads * K, gen);
  for (bool vec : {true, false}) {
    std::vector<float> out(B * T * C, -1.f);
    kernels::depthwise_conv_time(vec, T, C, K, pad, x.data(), C, w.data(), out.data(), C, 0, B * T);
    std::vector<float> dyn(B * T * C, -1.f);
    kernels::dynamic_conv_rows(vec, T, heads, d, K, pad, probs.data(), heads * K, x.data(), C, dyn.data(), C, 0,
                               B * T);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < T; ++t)
        for (int64_t ch = 0; ch < C; ++ch) {
          double conv = 0, dc = 0;
          for (int64_t k = 0; k < K; ++k) {
            int64_t s = t + k - pad;
            if (s < 0 || s >= T) continue;
            conv += static_cast<double>(w[k * C + ch]) * x[(b * T + s) * C + ch];
            dc += static_cast<double>(probs[((b * T + t) * heads + ch / d) * K + k]) * x[(b * T + s) * C + ch];
          }
          CHECK(std::fabs(out[(b * T + t) * C + ch] - conv) < 1e-5);
          CHECK(std::fabs(dyn[(b * T + t) * C + ch] - dc) < 1e-5);
        }
  }
}

TEST_CASE("forward_flops matches a hand count", "[models][inference]") {
  // conv-bert-small at 1 x 128, per layer (N = 128, H = 256, A = 128, 2 heads of 64, K = 9, I = 1024):
  // qkv 25165824 + depthwise 589824 + pointwise 8388608 + conv_kernel 589824 + conv_out 8388608
  // + dynamic conv 294912 + QK^T/PV 8388608 + attention dense 16777216 + FFN 134217728
  // = 202801152; x 12 layers + embeddings_project 2*128*128*256 = 8388608.
  ConvBertConfig small = ConvBertConfig::named("small");
  // The named configs have the sizes of HF's conv-bert-small and conv-bert-base checkpoints.
  CHECK((small.hidden_size == 256 && small.embedding_size == 128 && small.intermediate_size == 1024 &&
         small.num_attention_heads == 4 && small.num_groups == 1 && small.num_hidden_layers == 12));
  ConvBertConfig base = ConvBertConfig::named("base");
  CHECK((base.hidden_size == 768 && base.embedding_size == 768 && base.intermediate_size == 3072 &&
         base.num_attention_heads == 12 && base.num_groups == 1));
  CHECK(forward_flops(small, 1, 128) == 202801152.0 * 12 + 8388608.0);
  // Counted by hand at two bench rows: base 8x128 = 169.9 GFLOP, medium-small 1x128 = 3.6 (its
  // grouped FFN has half the FLOPs of a dense one).
  CHECK(std::fabs(forward_flops(ConvBertConfig::named("base"), 8, 128) / 1e9 - 169.9) < 0.1);
  CHECK(std::fabs(forward_flops(ConvBertConfig::named("medium-small"), 1, 128) / 1e9 - 3.6) < 0.1);
}
