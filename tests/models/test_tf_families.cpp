// tf_model.h5 for every family with a TF layout (the registry's tf_weights tables: BERT, ConvBERT,
// DistilBERT, ELECTRA), over every PyTorch reference case of the family (found by listing
// reference/<family>):
//  - save_pretrained writes tf_model.h5 with the head's Keras layer names and model name;
//  - a folder holding only config.json and that tf_model.h5 loads (strict) into the same weights,
//    bit for bit, and gives the same outputs, which match HF's expected.safetensors;
//  - h5py (the real libhdf5) reads the file the way HF's load_tf_weights does, and HF's name and
//    transposition rules, applied independently in Python, land every variable on its PyTorch
//    tensor bit for bit (tests/io/h5py_check.py as-pytorch).
// The TF reference files of ConvBERT are checked in test_tf_checkpoints.cpp.
#include <catch2/catch.hpp>

#include <cstring>
#include <iostream>

#include "autograd/grad_mode.h"
#include "models/registry.h"
#include "models/tf_weights.h"
#include "tensor/io/keras_weights.h"
#include "tests/h5py_util.h"
#include "tests/same_bits.h"
#include "tests/models/reference_case.h"

using namespace tz;
using test::same_bits;
namespace fs = std::filesystem;

namespace {


bool has_head(const models::TfWeightsTable& table, const std::string& architecture) {
  for (const auto& h : table.heads)
    if (h.architecture == architecture) return true;
  return false;
}

std::shared_ptr<models::PreTrainedModel> load(const fs::path& dir, models::LoadReport* report = nullptr) {
  models::LoadOptions opt;
  opt.strict = true;
  opt.verbose = false;
  auto m = models::from_pretrained(dir.string(), opt, report);
  m->eval();
  return m;
}

}  // namespace

TEST_CASE("tf weights: every family's reference cases round-trip through tf_model.h5", "[models][tf][reference][h5py]") {
  size_t cases = 0, families = 0;
  for (const models::Family& family : models::families()) {
    if (!family.tf_weights) continue;
    ++families;
    if (!test::have_reference(family.model_type)) continue;
    const models::TfWeightsTable& table = *family.tf_weights;
    for (const fs::path& dir : test::case_dirs(family.model_type)) {
      test::CaseData c = test::load_case(dir);
      const std::string arch = c.manifest.at("head").get<std::string>();
      if (!has_head(table, arch)) {
        std::cout << "tf round trip: " << test::case_label(dir) << " skipped (" << arch << " has no TF class in HF)\n";
        continue;
      }
      {
        INFO(test::case_label(dir) << " as TF" << arch);
        auto model = load(dir);
        test::TempDir tmp("tf_family");
        const fs::path saved = tmp.path / "saved", tf_only = tmp.path / "tf_only";
        models::save_pretrained(*model, saved.string(), "", {.tf_weights = true});
        fs::create_directories(tf_only);
        fs::copy_file(saved / "config.json", tf_only / "config.json");
        fs::copy_file(saved / "tf_model.h5", tf_only / "tf_model.h5");

        // The Keras layout: the head's layers, every variable under the TF class's model name.
        const io::KerasWeights file = io::load_keras_weights((saved / "tf_model.h5").string());
        const auto& head = table.head(arch);
        std::vector<std::string> layers;
        for (const auto& l : head.layer_names)
          layers.push_back(l == "{dropout}" ? table.dropout_name(model->config().num_hidden_layers) : l);
        CHECK(file.layer_names == layers);
        REQUIRE_FALSE(file.weights.empty());
        for (const io::KerasWeight& w : file.weights) {
          INFO(w.name);
          CHECK(w.name.rfind(head.keras_model_name + "/", 0) == 0);
        }

        models::LoadReport report;
        auto again = load(tf_only, &report);
        CHECK(report.weights_file == "tf_model.h5");
        CHECK(again->architecture() == arch);
        const auto a = model->state_dict(), b = again->state_dict();
        REQUIRE(a.size() == b.size());
        for (size_t i = 0; i < a.size(); ++i) {
          INFO(a[i].first);
          CHECK(a[i].first == b[i].first);
          CHECK(same_bits(a[i].second, b[i].second));
        }

        models::Inputs in = test::inputs_from(c);
        in.output_hidden_states = in.output_attentions = true;
        NoGradGuard ng;
        const models::Output ours = model->forward(in), theirs = again->forward(in);
        const auto tol = test::tolerance_of(c.manifest.at("tolerance"));
        for (const auto& name : c.manifest.at("outputs")) {
          const std::string n = name.get<std::string>();
          INFO("output " << n);
          REQUIRE(theirs.get(n).defined());
          CHECK(same_bits(ours.get(n), theirs.get(n)));
          const test::Diff d = test::compare(theirs.get(n), c.get(n), tol);
          INFO(d.first_bad);
          CHECK(d.bad == 0);
        }

        if (test::have_h5py()) {
          std::vector<std::string> args{"as-pytorch", (saved / "tf_model.h5").string(),
                                        (saved / "model.safetensors").string()};
          args.insert(args.end(), table.pytorch_only.begin(), table.pytorch_only.end());
          std::string out;
          const int status = test::run_python("tests/io/h5py_check.py", args, out);
          INFO(out);
          CHECK(status == 0);
        }
        std::cout << "tf round trip: " << test::case_label(dir) << " as TF" << arch << ", " << file.weights.size()
                  << " variables, weights and outputs identical\n";
      }
      ++cases;
    }
  }
  CHECK(families >= 4);
  if (test::have_reference("bert")) CHECK(cases > 20);
}

TEST_CASE("tf weights: BERT's pretraining heads live in mlm___cls and nsp___cls", "[models][tf]") {
  const models::TfWeightsTable& table = *models::family("bert").tf_weights;
  const std::string m = "tf_bert_for_pre_training";
  Tensor bias = Tensor::empty({5});
  Tensor dense = Tensor::empty({2, 4});
  for (int64_t i = 0; i < 5; ++i) bias.data<float>()[i] = static_cast<float>(i);
  for (int64_t i = 0; i < 8; ++i) dense.data<float>()[i] = static_cast<float>(i);
  const io::KerasWeights file =
      models::pytorch_to_tf({{"bert.embeddings.word_embeddings.weight", Tensor::empty({5, 4})},
                             {"cls.predictions.bias", bias},
                             {"cls.predictions.decoder.weight", Tensor::empty({5, 4})},
                             {"cls.predictions.decoder.bias", bias},
                             {"cls.seq_relationship.weight", dense}},
                            table, "BertForPreTraining", 2);
  CHECK(file.layer_names == std::vector<std::string>{"bert", "nsp___cls", "mlm___cls"});
  std::vector<std::string> names;
  for (const auto& w : file.weights) names.push_back(w.layer + ": " + w.name);
  CHECK(names == std::vector<std::string>{"bert: " + m + "/bert/embeddings/word_embeddings/weight:0",
                                          "nsp___cls: " + m + "/nsp___cls/seq_relationship/kernel:0",
                                          "mlm___cls: " + m + "/mlm___cls/predictions/bias:0",
                                          "mlm___cls: " + m + "/bert/embeddings/word_embeddings/weight:0"});
  CHECK(file.weights[1].value.shape() == Shape{4, 2});
  // And back: "mlm___cls" reads as "cls"; the relisted embeddings count once.
  const auto back = models::tf_to_pytorch(file, table,
                                          {{"bert.embeddings.word_embeddings.weight", {5, 4}},
                                           {"cls.predictions.bias", {5}},
                                           {"cls.seq_relationship.weight", {2, 4}}},
                                          false);
  CHECK(back.names == std::vector<std::string>{"bert.embeddings.word_embeddings.weight",
                                               "cls.seq_relationship.weight", "cls.predictions.bias"});
  CHECK(same_bits(back.tensors.at("cls.seq_relationship.weight"), dense));
  CHECK(back.unexpected.empty());

  // DistilBERT's layer norms are gamma/beta under their own names; ELECTRA's table knows its heads.
  const auto& distil = *models::family("distilbert").tf_weights;
  CHECK(models::tf_name_of_pytorch("distilbert.transformer.layer.1.sa_layer_norm.weight", "tf_distil_bert_model",
                                   distil) == "tf_distil_bert_model/distilbert/transformer/layer_._1/sa_layer_norm/gamma:0");
  CHECK(distil.dropout_name(6) == "dropout_19");
  CHECK_THROWS_WITH(models::family("electra").tf_weights->head("ElectraForCausalLM"),
                    Catch::Contains("known: ElectraModel, ElectraForPreTraining"));
}
