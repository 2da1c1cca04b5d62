// HuggingFace TensorFlow weights (tf_model.h5) for ConvBERT, against shared/reference/convbert-tf
// (every case folder found by listing it):
//  - names, transpositions and shapes of every variable follow the manifest's weight_map;
//  - every variable, converted, equals the source PyTorch case's model.safetensors tensor bit for bit;
//  - from_pretrained on the tf-only folder reproduces HF's outputs (expected.safetensors);
//  - our tf_model.h5 for the source PyTorch weights holds exactly the reference file's variables,
//    read by us and by h5py the way HF's load_tf_weights reads it;
//  - save_pretrained(..., {.tf_weights = true}) round-trips through tf_model.h5 alone;
//  - the rules on small tensors (models/tf_weights.h).
#include <catch2/catch.hpp>

#include <cstring>
#include <iostream>

#include "autograd/grad_mode.h"
#include "models/convbert/tf_weights.h"
#include "models/registry.h"
#include "models/tf_weights.h"
#include "tensor/io/keras_weights.h"
#include "tests/h5py_util.h"
#include "tests/same_bits.h"
#include "tests/models/reference_case.h"

using namespace tz;
using test::same_bits;
using convbert::tf_weights_table;
using models::LoadReport;
using models::PreTrainedModel;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::vector<fs::path> tf_case_dirs() { return test::case_dirs("convbert-tf"); }

json manifest_of(const fs::path& dir) {
  std::ifstream f(dir / "manifest.json");
  return json::parse(f);
}

// The PyTorch case the TF case was made from (manifest "source_case": shared/reference/convbert/<name>).
fs::path source_dir(const json& manifest) {
  return test::reference_dir() / "convbert" / fs::path(manifest["source_case"].get<std::string>()).filename();
}

std::string architecture_of(const json& manifest) {
  return manifest.contains("load_as") ? manifest["load_as"]["pytorch"].get<std::string>()
                                      : manifest["head"].get<std::string>();
}


std::shared_ptr<PreTrainedModel> load(const fs::path& dir, const std::string& architecture, bool strict = true,
                                      LoadReport* report = nullptr) {
  models::LoadOptions opt;
  opt.architecture = architecture;
  opt.strict = strict;
  opt.verbose = false;
  auto m = models::from_pretrained(dir.string(), opt, report);
  m->eval();
  return m;
}

}  // namespace

TEST_CASE("tf weights: names, transpositions and shapes follow every manifest's weight_map", "[models][tf]") {
  if (!test::have_reference("convbert-tf")) return;
  size_t variables = 0;
  for (const auto& dir : tf_case_dirs()) {
    const json manifest = manifest_of(dir);
    const io::KerasWeights file = io::load_keras_weights((dir / "tf_model.h5").string());
    for (const json& m : manifest["weight_map"]) {
      const std::string tf_name = m["h5"];
      INFO(dir.filename().string() << ": " << tf_name);
      const Shape tf_shape = m["tf_shape"].get<Shape>(), pt_shape = m["pt_shape"].get<Shape>();
      models::TfTranspose t;
      const std::string name = models::pytorch_name_of_tf(tf_name, tf_shape.size(), &t);
      const std::string pytorch = m["pytorch"];
      // The manifest spells bare-model names without "convbert.", as HF loads them.
      CHECK((name == pytorch || name == "convbert." + pytorch));
      const std::string rule = m["transpose"];
      CHECK(t == (rule == "no" ? models::TfTranspose::None
                               : rule == "simple" ? models::TfTranspose::Reverse : models::TfTranspose::Conv1d));
      CHECK(models::tf_shape_of(tf_name, pt_shape) == tf_shape);
      CHECK(models::tf_name_of_pytorch(name, manifest["keras"]["model_name"], tf_weights_table()) == tf_name);
      ++variables;
    }
    CHECK(file.weights.size() == manifest["weight_map"].size());
  }
  CHECK(variables > 300);
}

TEST_CASE("tf weights: every reference variable converts to its PyTorch source bit for bit", "[models][tf][reference]") {
  if (!test::have_reference("convbert-tf")) return;
  for (const auto& dir : tf_case_dirs()) {
    const json manifest = manifest_of(dir);
    const std::string arch = architecture_of(manifest);
    INFO(dir.filename().string() << " as " << arch);
    const io::Checkpoint source = io::load_safetensors((source_dir(manifest) / "model.safetensors").string());
    const bool base = arch == "ConvBertModel";
    // The target's names: the source checkpoint's, without "convbert." (and without the head) for a
    // bare model; position_ids and the tied decoder are never in TF files.
    std::map<std::string, Shape> shapes;
    std::map<std::string, std::string> source_name;
    std::vector<std::string> head_weights;
    const bool source_prefixed = std::any_of(source.names.begin(), source.names.end(), [](const std::string& n) {
      return n.rfind("convbert.", 0) == 0;
    });
    for (const auto& name : source.names) {
      std::string key = name;
      if (base && source_prefixed) {
        if (key.rfind("convbert.", 0) != 0) {
          head_weights.push_back(name);
          continue;
        }
        key = key.substr(9);
      }
      shapes[key] = source.at(name).shape();
      source_name[key] = name;
    }
    const auto converted = models::tf_to_pytorch(io::load_keras_weights((dir / "tf_model.h5").string()),
                                                 tf_weights_table(), shapes, base);
    size_t equal = 0;
    for (const auto& [key, tensor] : converted.tensors) {
      INFO(key);
      REQUIRE(shapes.count(key));
      CHECK(same_bits(tensor, source.at(source_name[key])));
      equal += same_bits(tensor, source.at(source_name[key]));
    }
    std::vector<std::string> not_in_file;
    for (const auto& [key, shape] : shapes)
      if (!converted.tensors.count(key)) not_in_file.push_back(key);
    for (const auto& key : not_in_file)
      CHECK((key.find("position_ids") != std::string::npos || key == "generator_lm_head.weight"));
    std::vector<std::string> expected_unexpected;
    for (const auto& name : head_weights)
      if (name != "generator_lm_head.weight") expected_unexpected.push_back(name);
    auto unexpected = converted.unexpected;
    std::sort(unexpected.begin(), unexpected.end());
    std::sort(expected_unexpected.begin(), expected_unexpected.end());
    CHECK(unexpected == expected_unexpected);
    std::cout << "tf case " << dir.filename().string() << ": " << equal << " tensors bit-identical to "
              << source_dir(manifest).filename().string() << "/model.safetensors\n";
  }
}

TEST_CASE("tf weights: from_pretrained on each tf-only folder gives HF's outputs", "[models][tf][reference]") {
  if (!test::have_reference("convbert-tf")) return;
  for (const auto& dir : tf_case_dirs()) {
    test::CaseData c = test::load_case(dir);
    const std::string arch = architecture_of(c.manifest);
    INFO(c.name << " as " << arch);
    REQUIRE(models::find_weights_file(dir.string()) == "tf_model.h5");
    LoadReport report;
    // HF skips the masked-LM head's groups when loading the bare model: unexpected, not an error.
    const bool strict = !c.manifest.contains("load_as");
    auto model = load(dir, arch, strict, &report);
    CHECK(model->architecture() == arch);
    CHECK(report.missing.empty());
    if (!strict) {
      std::sort(report.unexpected.begin(), report.unexpected.end());
      CHECK(report.unexpected == std::vector<std::string>{"generator_lm_head.bias", "generator_predictions.LayerNorm.bias",
                                                          "generator_predictions.LayerNorm.weight",
                                                          "generator_predictions.dense.bias",
                                                          "generator_predictions.dense.weight"});
    }
    models::Inputs in = test::inputs_from(c);
    in.output_hidden_states = in.output_attentions = true;
    NoGradGuard ng;
    const models::Output out = model->forward(in);
    const auto tol = test::tolerance_of(c.manifest.at("tolerance"));
    double worst = 0;
    for (const auto& name : c.manifest.at("outputs")) {
      const std::string n = name.get<std::string>();
      INFO("output " << n);
      const Tensor ours = out.get(n);
      REQUIRE(ours.defined());
      const test::Diff d = test::compare(ours, c.get(n), tol);
      worst = std::max(worst, d.max_abs);
      INFO(d.first_bad);
      CHECK(d.bad == 0);
    }
    std::cout << "tf case " << c.name << ": " << c.manifest.at("outputs").size() << " outputs, max abs diff " << worst
              << "\n";
  }
}

TEST_CASE("tf weights: our tf_model.h5 holds exactly HF's variables, for us and for h5py", "[models][tf][reference][h5py]") {
  if (!test::have_reference("convbert-tf")) return;
  test::TempDir tmp("tf_write");
  for (const auto& dir : tf_case_dirs()) {
    const json manifest = manifest_of(dir);
    std::string arch = manifest["tf_class"].get<std::string>().substr(2);  // "TFConvBertFor..." -> "ConvBertFor..."
    INFO(dir.filename().string() << " as " << arch);
    auto model = load(source_dir(manifest), arch);
    const std::string out_dir = (tmp.path / dir.filename()).string();
    models::save_pretrained(*model, out_dir, "", {.tf_weights = true});
    const std::string ours = out_dir + "/tf_model.h5";
    const io::KerasWeights a = io::load_keras_weights(ours);
    const io::KerasWeights b = io::load_keras_weights((dir / "tf_model.h5").string());
    CHECK(a.layer_names == b.layer_names);
    CHECK(a.backend == "tensorflow");
    CHECK_FALSE(a.top_level_model_weights);
    REQUIRE(a.weights.size() == b.weights.size());
    for (const io::KerasWeight& w : b.weights) {
      INFO(w.layer << " " << w.name);
      auto it = std::find_if(a.weights.begin(), a.weights.end(),
                             [&](const io::KerasWeight& x) { return x.layer == w.layer && x.name == w.name; });
      REQUIRE(it != a.weights.end());
      CHECK(same_bits(it->value, w.value));
    }
    if (!test::have_h5py()) continue;
    std::string out;
    const int status =
        test::run_python("tests/io/h5py_check.py", {"same-keras", ours, (dir / "tf_model.h5").string()}, out);
    INFO(out);
    CHECK(status == 0);
  }
}

TEST_CASE("tf weights: save_pretrained with tf_weights loads back from tf_model.h5 alone", "[models][tf][reference]") {
  if (!test::have_reference("convbert")) return;
  for (const char* name : {"tiny-seqcls", "proj-groups", "tiny-model"}) {
    INFO(name);
    const fs::path source = test::reference_dir() / "convbert" / name;
    auto model = load(source, "");
    test::TempDir tmp("tf_save");
    models::save_pretrained(*model, tmp.path.string(), source.string(), {.tf_weights = true});
    REQUIRE(fs::exists(tmp.path / "tf_model.h5"));
    fs::remove(tmp.path / "model.safetensors");
    LoadReport report;
    auto again = load(tmp.path, "", true, &report);
    CHECK(report.weights_file == "tf_model.h5");
    const auto a = model->state_dict(), b = again->state_dict();
    REQUIRE(a.size() == b.size());
    for (size_t i = 0; i < a.size(); ++i) {
      INFO(a[i].first);
      CHECK(a[i].first == b[i].first);
      if (a[i].second.dtype() == DType::Float32) CHECK(same_bits(a[i].second, b[i].second));
    }
  }
}

TEST_CASE("tf weights: shape mismatches and untied decoders, through the registry", "[models][tf][reference]") {
  if (!test::have_reference("convbert-tf/tiny-seqcls")) return;
  const fs::path dir = test::reference_dir() / "convbert-tf" / "tiny-seqcls";
  // Five labels where the file has three: the classifier's out_proj does not fit.
  auto config = models::load_config(dir.string());
  config->set_num_labels(5);
  models::LoadOptions opt;
  opt.config = config;
  opt.verbose = false;
  CHECK_THROWS_WITH(models::from_pretrained(dir.string(), opt),
                    Catch::Contains("classifier.out_proj.weight (TF variable") &&
                        Catch::Contains("[32,3], expected [32,5] for the model's [5,32]"));
  opt.ignore_mismatched_sizes = true;
  LoadReport report;
  auto model = models::from_pretrained(dir.string(), opt, &report);
  CHECK(report.mismatched.size() == 2);
  CHECK(report.missing.size() == 2);  // and newly initialised, as HF reports them
  CHECK(model->state_dict().size() > 50);

  // TF ties the masked-LM decoder to the word embeddings: a model with its own decoder cannot be written.
  auto untied = models::load_config((test::reference_dir() / "convbert" / "tiny-masked-lm").string());
  untied->tie_word_embeddings = false;
  auto mlm = models::create(*untied, "masked-lm", 1);
  test::TempDir tmp("tf_untied");
  CHECK_THROWS_WITH(models::save_pretrained(*mlm, tmp.path.string(), "", {.tf_weights = true}),
                    Catch::Contains("does not store 'generator_lm_head.weight'"));
}

TEST_CASE("tf weights: the rules on small tensors", "[models][tf]") {
  const auto& table = tf_weights_table();
  const std::string m = "tf_conv_bert_for_masked_lm";
  auto tf = [&](const std::string& pt) { return models::tf_name_of_pytorch(pt, m, table); };
  CHECK(tf("convbert.embeddings.word_embeddings.weight") == m + "/convbert/embeddings/word_embeddings/weight:0");
  CHECK(tf("convbert.embeddings.position_embeddings.weight") == m + "/convbert/embeddings/position_embeddings/embeddings:0");
  CHECK(tf("convbert.embeddings.LayerNorm.bias") == m + "/convbert/embeddings/LayerNorm/beta:0");
  CHECK(tf("convbert.encoder.layer.11.attention.self.key_conv_attn_layer.depthwise.weight") ==
        m + "/convbert/encoder/layer_._11/attention/self/key_conv_attn_layer/depthwise_kernel:0");
  CHECK(tf("generator_predictions.dense.weight") == m + "/generator_predictions/dense/kernel:0");
  CHECK(models::pytorch_name_of_tf("x/a___b/layer_._2/c/gamma:0", 1) == "b.layer.2.c.weight");
  CHECK(table.dropout_name(2) == "dropout_7");
  CHECK_THROWS_WITH(table.head("BertModel"), Catch::Contains("known: ConvBertModel, ConvBertForMaskedLM"));

  // Values: depthwise [in=3, 1, k=2] <-> TF [k, in, 1]; grouped [g=2, in=3, out=4] <-> TF [out, in, g];
  // dense [out=2, in=3] <-> TF [in, out]; separable-conv bias [4, 1] <-> TF [4].
  auto arange = [](const Shape& s) {
    Tensor t = Tensor::empty(s);
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = static_cast<float>(i);
    return t;
  };
  const Tensor depthwise = arange({3, 1, 2});
  const std::string dw = m + "/convbert/k/depthwise_kernel:0";
  const Tensor dw_tf = models::pytorch_to_tf_value(depthwise, dw, models::tf_shape_of(dw, {3, 1, 2}));
  REQUIRE(dw_tf.shape() == Shape{2, 3, 1});
  for (int i = 0; i < 2; ++i)
    for (int h = 0; h < 3; ++h) CHECK(dw_tf.at({i, h, 0}) == depthwise.at({h, 0, i}));
  CHECK(same_bits(models::tf_to_pytorch_value(dw_tf, dw, {3, 1, 2}), depthwise));
  const Tensor grouped = arange({2, 3, 4});
  const std::string gk = m + "/convbert/intermediate/dense/kernel:0";
  const Tensor g_tf = models::pytorch_to_tf_value(grouped, gk, models::tf_shape_of(gk, {2, 3, 4}));
  REQUIRE(g_tf.shape() == Shape{4, 3, 2});
  for (int o = 0; o < 4; ++o)
    for (int i = 0; i < 3; ++i)
      for (int g = 0; g < 2; ++g) CHECK(g_tf.at({o, i, g}) == grouped.at({g, i, o}));
  CHECK(same_bits(models::tf_to_pytorch_value(g_tf, gk, {2, 3, 4}), grouped));
  const Tensor dense = arange({2, 3});
  const std::string dk = m + "/convbert/d/kernel:0";
  const Tensor d_tf = models::pytorch_to_tf_value(dense, dk, models::tf_shape_of(dk, {2, 3}));
  REQUIRE(d_tf.shape() == Shape{3, 2});
  CHECK(d_tf.at({2, 1}) == dense.at({1, 2}));
  const std::string bias = m + "/convbert/k/bias:0";
  CHECK(models::tf_shape_of(bias, {4, 1}) == Shape{4});
  CHECK(same_bits(models::tf_to_pytorch_value(models::pytorch_to_tf_value(arange({4, 1}), bias, {4}), bias, {4, 1}),
                  arange({4, 1})));

  // Shapes must match exactly (else the variable is reported, not converted), and a variable
  // listed twice must hold the same values.
  io::KerasWeights file;
  file.weights.push_back({"convbert", m + "/convbert/d/kernel:0", arange({2, 3})});
  const auto mismatched = models::tf_to_pytorch(file, table, {{"convbert.d.weight", {2, 3}}}, false);
  CHECK(mismatched.tensors.empty());
  REQUIRE(mismatched.mismatched.size() == 1);
  CHECK_THAT(mismatched.mismatched[0], Catch::Contains("[2,3], expected [3,2] for the model's [2,3]"));
  file.weights[0].value = arange({3, 2});
  file.weights.push_back({"other", m + "/convbert/d/kernel:0", Tensor::empty({3, 2})});
  CHECK_THROWS_WITH(models::tf_to_pytorch(file, table, {{"convbert.d.weight", {2, 3}}}, false),
                    Catch::Contains("values that differ"));
}
