// `tensorzoo demo`: the quickstart's main job until the training recipes land. It shows the three
// layers working end to end: tensors, autograd (an MLP learns a toy problem) and ConvBERT (a
// HuggingFace checkpoint loaded and compared with HF's own outputs, when the reference data is
// present; a randomly initialised model otherwise).
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "autograd/ops.h"
#include "cli/args.h"
#include "cli/command.h"
#include "models/registry.h"
#include "tensor/io/checkpoint.h"
#include "tensor/parallel.h"

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

double train_mlp(int steps) {
  tz::Generator gen(7);
  const int64_t N = 240, C = 3;
  std::vector<float> xs;
  std::vector<int64_t> ys;
  for (int64_t i = 0; i < N; ++i) {
    double a = 2.0 * 3.14159265 * (i % C) / C;
    xs.push_back(static_cast<float>(2 * std::cos(a) + 0.6 * gen.normal()));
    xs.push_back(static_cast<float>(2 * std::sin(a) + 0.6 * gen.normal()));
    ys.push_back(i % C);
  }
  tz::Tensor x = tz::raw::from_vector(xs, {N, 2}), y = tz::raw::from_vector(ys, {N});
  auto leaf = [](tz::Tensor t) { t.set_requires_grad(true); return t; };
  tz::Tensor w1 = leaf(tz::raw::randn({32, 2}, gen, 0, 0.5f)), b1 = leaf(tz::raw::zeros({32}));
  tz::Tensor w2 = leaf(tz::raw::randn({C, 32}, gen, 0, 0.2f)), b2 = leaf(tz::raw::zeros({C}));
  auto forward = [&] { return tz::linear(tz::gelu(tz::linear(x, w1, b1)), w2, b2); };
  for (int s = 0; s <= steps; ++s) {
    tz::Tensor loss = tz::cross_entropy(forward(), y);
    if (s % 50 == 0) std::cout << "  step " << s << "  loss " << loss.item() << "\n";
    if (s == steps) break;
    for (auto* p : {&w1, &b1, &w2, &b2}) p->set_grad(tz::Tensor());
    loss.backward();
    tz::NoGradGuard ng;
    for (auto* p : {&w1, &b1, &w2, &b2}) tz::raw::add_(*p, p->grad(), -0.2);
  }
  tz::NoGradGuard ng;
  auto pred = tz::raw::argmax(forward(), -1).to_vector<int64_t>();
  int correct = 0;
  for (int64_t i = 0; i < N; ++i) correct += pred[i] == ys[i];
  return static_cast<double>(correct) / N;
}

int run_demo(const std::vector<std::string>& args) {
  tz::cli::ArgParser p("tensorzoo demo", "A tour of tensorzoo: tensors, autograd and a HuggingFace ConvBERT checkpoint.");
  p.option("out", "DIR", "where to write demo outputs", "runs/demo");
  p.option("reference", "DIR", "HF golden data (a ConvBERT case is loaded from it)", "../shared/reference");
  p.option("threads", "N", "threads for our kernels and OpenBLAS", "2");
  if (!p.parse(args)) return p.exit_code();
  tz::set_num_threads(static_cast<int>(p.get_int("threads")));
  std::filesystem::create_directories(p.get("out"));

  std::cout << "[1/3] tensors\n";
  tz::Tensor a = tz::raw::arange(6, tz::DType::Float32);
  tz::Tensor m = tz::raw::reshape(a, {2, 3});
  std::cout << "  m = " << m << "\n  m @ m^T = " << tz::raw::matmul(m, tz::raw::transpose(m, 0, 1)) << "\n"
            << "  softmax(m) = " << tz::raw::softmax(m, -1) << "\n";

  std::cout << "[2/3] autograd: an MLP learns three clusters\n";
  double acc = train_mlp(200);
  std::cout << "  accuracy " << acc << "\n";

  std::cout << "[3/3] ConvBERT\n";
  auto case_dir = std::filesystem::path(p.get("reference")) / "convbert" / "small-2layer";
  std::ofstream summary(std::filesystem::path(p.get("out")) / "demo.txt");
  summary << "mlp_accuracy=" << acc << "\n";
  if (std::filesystem::exists(case_dir / "expected.safetensors")) {
    tz::models::LoadOptions opt;
    opt.verbose = false;
    auto t0 = Clock::now();
    auto model = tz::models::from_pretrained(case_dir.string(), opt);
    model->eval();
    std::cout << "  loaded " << case_dir.string() << " (" << model->architecture() << ") in " << seconds_since(t0) << " s\n";
    auto expected = tz::io::load_safetensors((case_dir / "expected.safetensors").string());
    tz::models::Inputs in;
    in.input_ids = expected.tensors.at("input_ids");
    in.attention_mask = expected.tensors.at("attention_mask");
    in.token_type_ids = expected.tensors.at("token_type_ids");
    tz::NoGradGuard ng;
    t0 = Clock::now();
    auto out = model->forward(in);
    double secs = seconds_since(t0);
    double diff = tz::raw::max_abs_diff(out.last_hidden_state, expected.tensors.at("last_hidden_state"));
    std::cout << "  forward " << tz::shape_str(in.input_ids.shape()) << " -> " << tz::shape_str(out.last_hidden_state.shape())
              << " in " << secs << " s; max |ours - HuggingFace| = " << diff << "\n";
    summary << "convbert_max_abs_diff=" << diff << "\n";
  } else {
    std::cout << "  (no reference data at " << case_dir.string() << "; running a random conv-bert-small, 2 layers)\n";
    auto config = tz::models::named_config("convbert", "small");
    config->num_hidden_layers = 2;
    auto model = tz::models::create(*config, "base", 0);
    model->eval();
    tz::Generator gen(1);
    tz::models::Inputs in;
    in.input_ids = tz::raw::randint({2, 16}, 0, config->vocab_size, gen);
    tz::NoGradGuard ng;
    auto out = model->forward(in);
    std::cout << "  forward " << tz::shape_str(in.input_ids.shape()) << " -> " << tz::shape_str(out.last_hidden_state.shape()) << "\n";
  }
  std::cout << "demo outputs in " << p.get("out") << "\n";
  return 0;
}

tz::cli::Command reg{"demo", "a short tour: tensors, autograd, a HuggingFace ConvBERT checkpoint", run_demo};

}  // namespace
