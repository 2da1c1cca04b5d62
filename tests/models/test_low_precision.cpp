// Low-precision inference (nn/low_precision.h) on every reference case of every family: int8 and
// bf16 outputs against float32 within bounds derived from the rounding, the quantized model
// directory (models::save_quantized) against quantizing at load time, and one dense layer against
// a worst-case bound computed element by element. The kernels' own tests (against their scalar
// references) are in tests/tensor.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <vector>

#include "autograd/grad_mode.h"
#include "models/blocks/inference.h"
#include "models/convbert/encoder.h"
#include "models/convbert/inference.h"
#include "models/registry.h"
#include "nn/layers.h"
#include "nn/low_precision.h"
#include "tensor/io/checkpoint.h"
#include "tensor/ops.h"
#include "tensor/random.h"
#include "tests/models/reference_case.h"

using namespace tz;
using namespace tz::models;

namespace {

// The outputs a precision changes as a whole model would: the heads' logits and the encoder's
// states. The loss is left out: it is a function of the logits already compared.
bool compared_output(const std::string& name) { return name != "loss"; }

double rms(const std::vector<float>& v) {
  double s = 0;
  for (float x : v) s += static_cast<double>(x) * x;
  return std::sqrt(s / static_cast<double>(std::max<size_t>(v.size(), 1)));
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(static_cast<double>(a[i]) - b[i]));
  return m;
}

std::shared_ptr<PreTrainedModel> load(const std::string& dir, std::optional<nn::Precision> precision) {
  LoadOptions opt;
  opt.verbose = false;
  opt.precision = precision;
  auto model = from_pretrained(dir, opt);
  model->eval();
  return model;
}

std::vector<std::pair<std::string, Tensor>> outputs(PreTrainedModel& model, const Inputs& in) {
  NoGradGuard no_grad;
  std::vector<std::pair<std::string, Tensor>> out;
  for (auto& [name, t] : model.forward(in).named())
    if (compared_output(name)) out.emplace_back(name, t);
  return out;
}

// The bound on max |low precision - float32| of one output tensor, as a multiple of the float32
// output's RMS r. Derived from the rounding alone, for the reference models (a few layers,
// LayerNorm after every residual sum, weights drawn from a normal distribution):
//   One product y = sum_k x_k w_k. Rounding replaces each term by (x_k + dx_k)(w_k + dw_k); with
//   the roundings independent, the error of y has RMS at most rho * RMS(y) where rho bounds the
//   RMS relative rounding error of one term.
//   int8: |dw| <= s_w / 2 = max_k |w_k| / 254 (symmetric per output channel) and |dx| <= s_x / 2 =
//     (hi - lo) / 510 <= max_k |x_k| / 255 (asymmetric per row); uniform rounding has RMS
//     (half step) / sqrt(3). Relative to the row's RMS that is kappa / (254 sqrt(3)), where kappa
//     is a row's max |value| / RMS; we take kappa = 8 for activations and weights alike: a row of
//     at most a few thousand Gaussian values exceeds 5 sigma with probability below 1e-3, and 8
//     leaves room for the heavier tails after GELU and in attention contexts. Both factors:
//     rho = sqrt(2) kappa / (254 sqrt(3)) = 0.0257.
//   bf16: each weight rounded to 8 significant bits: |dw| <= 2^-8 |w| (half an ulp at the bottom
//     of a binade); the AMX and AVX-512 BF16 kernels round the activations too, so a term's
//     relative error is at most 2^-8 + 2^-8 (+ 2^-16), and rho = 2^-7 = 0.0078 bounds its RMS
//     whatever the values' distribution. (An RMS estimate for uniformly spread significands
//     would be about 5x smaller; the worst case also covers the gain of the attention softmax
//     and of LayerNorm's division, which this accounting does not model separately.)
//   Depth: D products lie in series between the embeddings and the output, 4 per layer (value,
//   attention output, the two feed-forward products; ConvBERT's span-based branch runs beside the
//   value projection, not after it) and at most 2 in a head (transform + decoder, pooler +
//   classifier). Their roundings are independent, so the relative RMS errors add in quadrature:
//   sqrt(D) rho. LayerNorm restores every stage's scale, so no stage amplifies earlier errors.
//   Elements: the largest of the output's elements stays below 5 RMS errors (a Gaussian exceeds
//   5 sigma with probability 6e-7 per element; the cases have fewer than 1e5 elements).
//   Bound: max |lp - f32| <= 5 sqrt(D) rho r.
double relative_bound(nn::Precision p, int64_t layers) {
  const double D = 4.0 * static_cast<double>(layers) + 2.0;
  const double kappa = 8.0;
  const double rho =
      p == nn::Precision::Int8 ? std::sqrt(2.0) * kappa / (254.0 * std::sqrt(3.0)) : std::ldexp(1.0, -7);
  return 5.0 * std::sqrt(D) * rho;
}

}  // namespace

TEST_CASE("int8 and bf16 outputs stay within the rounding bound of float32 on every reference case",
          "[models][reference][low-precision]") {
  for (const auto& family : test::reference_families())
    if (!test::have_reference(family)) return;
  const auto dirs = test::all_case_dirs();
  REQUIRE(!dirs.empty());
  for (const auto& dir : dirs) {
    test::CaseData c = test::load_case(dir);
    SECTION(c.name) {
      Inputs in = test::inputs_from(c);
      auto f32 = load(c.dir.string(), nn::Precision::Float32);
      const auto ref = outputs(*f32, in);
      REQUIRE(!ref.empty());
      const int64_t layers = f32->config().num_hidden_layers;
      for (nn::Precision p : {nn::Precision::Int8, nn::Precision::Bfloat16}) {
        auto lp = load(c.dir.string(), p);
        const auto got = outputs(*lp, in);
        REQUIRE(got.size() == ref.size());
        double worst_change = 0;
        for (size_t i = 0; i < ref.size(); ++i) {
          INFO(c.name << " " << nn::precision_name(p) << " " << ref[i].first);
          REQUIRE(got[i].first == ref[i].first);
          REQUIRE(got[i].second.shape() == ref[i].second.shape());
          const auto a = raw::contiguous(got[i].second).to_vector<float>();
          const auto b = raw::contiguous(ref[i].second).to_vector<float>();
          const double diff = max_abs_diff(a, b), r = rms(b), bound = relative_bound(p, layers) * r;
          std::cout << "  low precision " << c.name << " " << nn::precision_name(p) << " " << ref[i].first
                    << ": max |diff| " << diff << " (bound " << bound << ", rms " << r << ")\n";
          CHECK(diff <= bound);
          worst_change = std::max(worst_change, diff);
        }
        // The low-precision products did run: rounding every weight changes the outputs.
        CHECK(worst_change > 0);
      }
    }
  }
}

TEST_CASE("the graph-free inference paths run the prepared weights, and agree with the op-by-op forward",
          "[models][reference][low-precision]") {
  for (const auto& family : test::reference_families())
    if (!test::have_reference(family)) return;
  // ConvBERT's path and the BERT-style one (BERT, ELECTRA, DistilBERT) count their runs apart.
  auto path_calls = [] { return convbert::inference_path_calls() + blocks::inference_path_calls(); };
  for (const auto& dir : test::all_case_dirs()) {
    test::CaseData c = test::load_case(dir);
    Inputs in = test::inputs_from(c);
    if (in.inputs_embeds.defined() || in.head_mask.defined()) continue;
    SECTION(c.name) {
      for (nn::Precision p : {nn::Precision::Int8, nn::Precision::Bfloat16}) {
        INFO(c.name << " " << nn::precision_name(p));
        auto model = load(c.dir.string(), p);
        const int64_t before = path_calls();
        const auto fast = outputs(*model, in);
        REQUIRE(path_calls() > before);
        set_inference_path_enabled(false);
        const auto plain = outputs(*model, in);
        set_inference_path_enabled(true);
        // Both paths run the same kernels on activations that differ by float rounding (attention
        // and LayerNorms computed in another order); a last-bit difference can move an int8 value
        // across a quantization step, so the bound is the one of the test above.
        for (size_t i = 0; i < fast.size(); ++i) {
          INFO(fast[i].first);
          const auto a = raw::contiguous(fast[i].second).to_vector<float>();
          const auto b = raw::contiguous(plain[i].second).to_vector<float>();
          CHECK(max_abs_diff(a, b) <= relative_bound(p, model->config().num_hidden_layers) * rms(b));
        }
        // And the fast path did not fall back to float32: its outputs moved as the plain path's did.
        auto f32 = load(c.dir.string(), nn::Precision::Float32);
        const auto ref = outputs(*f32, in);
        for (size_t i = 0; i < fast.size(); ++i) {
          if (fast[i].first != "last_hidden_state") continue;
          const auto a = raw::contiguous(fast[i].second).to_vector<float>();
          const auto b = raw::contiguous(ref[i].second).to_vector<float>();
          CHECK(max_abs_diff(a, b) > 0);
        }
      }
    }
  }
}

TEST_CASE("a quantized model directory loads without re-quantizing and gives the outputs of quantizing at load",
          "[models][reference][low-precision]") {
  for (const auto& family : test::reference_families())
    if (!test::have_reference(family)) return;
  for (const auto& dir : test::all_case_dirs()) {
    test::CaseData c = test::load_case(dir);
    SECTION(c.name) {
      Inputs in = test::inputs_from(c);
      for (nn::Precision p : {nn::Precision::Int8, nn::Precision::Bfloat16}) {
        INFO(c.name << " " << nn::precision_name(p));
        auto on_the_fly = load(c.dir.string(), p);
        test::TempDir tmp("quantized");
        save_quantized(*on_the_fly, tmp.path.string(), p);

        // The file holds I8 (or BF16) dense weights, int8 ones with their scales.
        io::Checkpoint file = io::load_safetensors(tmp / "model.safetensors");
        int64_t narrow = 0;
        for (const auto& [name, dtype] : file.source_dtype) {
          if (dtype == "I8") {
            ++narrow;
            CHECK(file.contains(name + "_scale"));
          }
          if (dtype == "BF16") ++narrow;
        }
        CHECK(narrow > 0);
        CHECK(file.metadata.at("tensorzoo.precision") == nn::precision_name(p));

        auto loaded = load(tmp.path.string(), std::nullopt);  // the directory's own precision
        const auto want = outputs(*on_the_fly, in), got = outputs(*loaded, in);
        REQUIRE(got.size() == want.size());
        for (size_t i = 0; i < want.size(); ++i) {
          INFO(want[i].first);
          CHECK(raw::contiguous(got[i].second).to_vector<float>() == raw::contiguous(want[i].second).to_vector<float>());
        }
      }
    }
  }
}

TEST_CASE("an int8 dense layer stays within the worst-case rounding bound, element by element", "[nn][low-precision]") {
  // For y_n = sum_k x_k w_nk + b_n, the int8 product computes sum_k (x_k + dx_k)(w_nk + dw_nk) + b_n
  // with |dx_k| <= s_x / 2 (its row's step) and |dw_nk| <= s_w[n] / 2, exactly in int32, then one
  // float fma. So |error_n| <= sum_k (|dx_k| |w_nk| + |x_k| |dw_nk| + |dx_k| |dw_nk|) plus float
  // rounding of the scales and the fma (a few ulp of sum_k |x_k w_nk|).
  Generator gen(31);
  for (int64_t groups : {1, 3}) {
    const int64_t in = 48 * groups, out = 20 * groups, M = 7;
    std::shared_ptr<nn::Module> layer;
    nn::LowPrecisionDense* dense = nullptr;
    Tensor weight, bias;
    if (groups == 1) {
      auto l = std::make_shared<nn::Linear>(in, out);
      dense = l.get(), weight = l->weight, bias = l->bias, layer = l;
    } else {
      auto l = std::make_shared<convbert::GroupedLinear>(in, out, groups);
      for (auto& v : {l->weight, l->bias})
        for (int64_t i = 0; i < v.numel(); ++i) v.data<float>()[i] = static_cast<float>(gen.normal() * 0.2);
      dense = l.get(), weight = l->weight, bias = l->bias, layer = l;
    }
    Tensor x = Tensor::empty({1, M, in});
    for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = static_cast<float>(gen.normal() + (i % 5 == 0 ? 2 : 0));
    dense->set_precision(nn::Precision::Int8);
    NoGradGuard no_grad;
    Tensor y = dense->forward_low_precision(x, bias);
    auto [q, scale] = dense->int8_weight();
    const nn::DenseLayout l = dense->dense_layout();
    const float* X = x.data<float>();
    const float* W = weight.data<float>();
    for (int64_t m = 0; m < M; ++m) {
      float lo = 0, hi = 0;
      for (int64_t k = 0; k < in; ++k) lo = std::min(lo, X[m * in + k]), hi = std::max(hi, X[m * in + k]);
      const double dx = (hi - lo) / 255.0 / 2.0;
      for (int64_t g = 0; g < l.groups; ++g)
        for (int64_t n = 0; n < l.N; ++n) {
          const double dw = scale.data<float>()[g * l.N + n] / 2.0;
          double exact = bias.data<float>()[g * l.N + n], bound = 0, mag = 0;
          for (int64_t k = 0; k < l.K; ++k) {
            const double xv = X[m * in + g * l.K + k], wv = W[g * l.group_stride + n * l.stride_n + k * l.stride_k];
            exact += xv * wv;
            bound += dx * std::fabs(wv) + std::fabs(xv) * dw + dx * dw;
            mag += std::fabs(xv * wv) + std::fabs(xv) * dw;
          }
          const double got = y.data<float>()[m * out + g * l.N + n];
          INFO("groups " << groups << " row " << m << " column " << g * l.N + n);
          CHECK(std::fabs(got - exact) <= bound + 1e-5 * mag + 1e-6);
        }
    }
  }
}

TEST_CASE("precision names parse, and a bad one is refused by name", "[nn][low-precision]") {
  CHECK(nn::parse_precision("int8") == nn::Precision::Int8);
  CHECK(nn::parse_precision("bf16") == nn::Precision::Bfloat16);
  CHECK(nn::parse_precision("f32") == nn::Precision::Float32);
  CHECK_THROWS_WITH(nn::parse_precision("fp16"), Catch::Contains("'fp16'") && Catch::Contains("f32, bf16, int8"));
}

TEST_CASE("a quantized directory with a missing scale or a value outside [-127, 127] is refused by name",
          "[models][reference][low-precision]") {
  if (!test::have_reference("bert")) return;
  const std::string src = (test::reference_dir() / "bert" / "tiny-model").string();
  auto model = load(src, nn::Precision::Int8);
  test::TempDir tmp("quantized_bad");
  save_quantized(*model, tmp.path.string(), nn::Precision::Int8);
  const std::string file = tmp / "model.safetensors";
  const io::Checkpoint good = io::load_safetensors(file);
  const std::string key = "encoder.layer.0.attention.self.query.weight";
  REQUIRE(good.source_dtype.at(key) == "I8");
  auto rewrite = [&](bool drop_scale, int64_t first_value) {
    std::vector<std::pair<std::string, Tensor>> tensors;
    io::StoreAs store_as;
    for (const auto& name : good.names) {
      if (drop_scale && name == key + "_scale") continue;
      Tensor t = raw::clone(good.at(name));
      if (name == key) t.data<int64_t>()[0] = first_value;
      if (good.source_dtype.at(name) == "I8" && first_value <= 127) store_as[name] = io::StoredDType::I8;
      tensors.emplace_back(name, t);
    }
    io::save_safetensors(file, tensors, good.metadata, store_as);
  };
  rewrite(true, 0);
  CHECK_THROWS_WITH(load(tmp.path.string(), std::nullopt),
                    Catch::Contains(key) && Catch::Contains("no '" + key + "_scale'"));
  rewrite(false, 128);  // stored as I64 (128 does not fit I8): still integers, still refused
  CHECK_THROWS_WITH(load(tmp.path.string(), std::nullopt), Catch::Contains("128") && Catch::Contains("[-127, 127]"));
}
