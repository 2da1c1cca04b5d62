// `tensorzoo convert`: every reference/convbert-tf case (found by listing) goes tf -> bin ->
// safetensors -> tf and a BERT case safetensors -> tf -> bin; each step keeps every weight bit for
// bit, the final tf_model.h5 holds exactly the reference file's variables (for h5py too), and the
// outputs stay HF's. Errors are clear and leave no OUT_DIR behind.
#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>

#include "autograd/grad_mode.h"
#include "models/registry.h"
#include "tests/cli/run_cli.h"
#include "tests/h5py_util.h"
#include "tests/same_bits.h"
#include "tests/models/reference_case.h"

using namespace tz;
using test::same_bits;
namespace fs = std::filesystem;

namespace {

struct Result {
  int code;
  std::string out;
};

// `tensorzoo convert` with each argument single-quoted for the shell.
Result convert(const std::vector<std::string>& args) {
  std::string command = TZ_CLI_PATH;
  command += " convert";
  for (const std::string& a : args) {
    command += " '";
    command += a;
    command += "'";
  }
  command += " 2>&1";
  int code = 0;
  std::string out = test::capture_command(command, &code);
  return {code, out};
}


std::shared_ptr<models::PreTrainedModel> load(const fs::path& dir, std::string* weights_file = nullptr) {
  models::LoadOptions opt;
  opt.verbose = false;
  models::LoadReport report;
  auto m = models::from_pretrained(dir.string(), opt, &report);
  if (weights_file) *weights_file = report.weights_file;
  m->eval();
  return m;
}

void check_same_weights(const models::PreTrainedModel& a, const models::PreTrainedModel& b) {
  CHECK(a.architecture() == b.architecture());
  const auto x = a.state_dict(), y = b.state_dict();
  REQUIRE(x.size() == y.size());
  for (size_t i = 0; i < x.size(); ++i) {
    INFO(x[i].first);
    CHECK(x[i].first == y[i].first);
    CHECK(same_bits(x[i].second, y[i].second));
  }
}

bool has_leftovers(const fs::path& dir) {
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().find(".convert-") != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("tensorzoo convert: every convbert-tf case through bin, safetensors and back to tf", "[cli][tf]") {
  if (!test::have_reference("convbert-tf")) return;
  const auto dirs = test::case_dirs("convbert-tf");
  REQUIRE(dirs.size() >= 8);
  for (const fs::path& dir : dirs) {
    test::CaseData c = test::load_case(dir);
    if (c.manifest.contains("load_as")) continue;  // the head's file loaded as another head: not a conversion
    INFO(c.name);
    test::TempDir tmp("convert");
    const fs::path bin = tmp.path / "bin", st = tmp.path / "st", tf = tmp.path / "tf";
    Result r = convert({dir.string(), bin.string(), "--to", "bin"});
    INFO(r.out);
    REQUIRE(r.code == 0);
    r = convert({bin.string(), st.string(), "--to", "safetensors"});
    REQUIRE(r.code == 0);
    r = convert({"--to", "tf", st.string(), tf.string()});
    REQUIRE(r.code == 0);
    CHECK_FALSE(has_leftovers(tmp.path));
    CHECK(fs::exists(tf / "vocab.txt"));

    std::string file;
    auto original = load(dir, &file);
    CHECK(file == "tf_model.h5");
    for (const auto& [d, expected_file] : {std::pair{bin, "pytorch_model.bin"}, std::pair{st, "model.safetensors"},
                                           std::pair{tf, "tf_model.h5"}}) {
      auto converted = load(d, &file);
      CHECK(file == expected_file);
      check_same_weights(*original, *converted);
    }
    auto final_model = load(tf);
    models::Inputs in = test::inputs_from(c);
    NoGradGuard ng;
    const auto tol = test::tolerance_of(c.manifest.at("tolerance"));
    const models::Output out = final_model->forward(in);
    for (const auto& name : c.manifest.at("outputs")) {
      const std::string n = name.get<std::string>();
      if (!out.get(n).defined()) continue;  // hidden states and attentions were not asked for
      INFO("output " << n);
      CHECK(test::compare(out.get(n), c.get(n), tol).bad == 0);
    }
    if (test::have_h5py()) {
      std::string check;
      const int status = test::run_python("tests/io/h5py_check.py",
                                          {"same-keras", (tf / "tf_model.h5").string(), (dir / "tf_model.h5").string()},
                                          check);
      INFO(check);
      CHECK(status == 0);
    }
  }
}

TEST_CASE("tensorzoo convert: a BERT checkpoint to tf and bin", "[cli][tf]") {
  if (!test::have_reference("bert")) return;
  const fs::path source = test::reference_dir() / "bert" / "tiny-pretraining";
  test::TempDir tmp("convert_bert");
  Result r = convert({source.string(), (tmp.path / "tf").string(), "--to", "tf"});
  INFO(r.out);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("BertForPreTraining") && Catch::Contains("tf_model.h5"));
  r = convert({(tmp.path / "tf").string(), (tmp.path / "bin").string(), "--to", "bin"});
  REQUIRE(r.code == 0);
  auto a = load(source), b = load(tmp.path / "bin");
  check_same_weights(*a, *b);
}

TEST_CASE("tensorzoo convert --max-shard-size: safetensors shards with HF's index, the same weights", "[cli][io]") {
  if (!test::have_reference("bert")) return;
  const fs::path source = test::reference_dir() / "bert" / "tiny-pretraining";
  test::TempDir tmp("convert_shards");
  const fs::path out = tmp.path / "sharded";
  Result r = convert({source.string(), out.string(), "--to", "safetensors", "--max-shard-size", "20KB"});
  INFO(r.out);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("model.safetensors.index.json"));
  CHECK_FALSE(fs::exists(out / "model.safetensors"));
  int shards = 0;
  for (const auto& e : fs::directory_iterator(out))
    if (e.path().filename().string().rfind("model-0", 0) == 0) ++shards;
  CHECK(shards >= 2);
  std::string file;
  auto a = load(source), b = load(out, &file);
  CHECK(file == "model.safetensors.index.json");
  check_same_weights(*a, *b);

  r = convert({source.string(), (tmp.path / "bin").string(), "--to", "bin", "--max-shard-size", "20KB"});
  CHECK(r.code == 1);
  CHECK_THAT(r.out, Catch::Contains("--max-shard-size needs --to safetensors"));
  r = convert({source.string(), (tmp.path / "bad").string(), "--to", "safetensors", "--max-shard-size", "lots"});
  CHECK(r.code == 1);
  CHECK_THAT(r.out, Catch::Contains("lots"));
}

TEST_CASE("tensorzoo convert: --help and clear errors that leave nothing behind", "[cli]") {
  Result r = convert({"--help"});
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("usage: tensorzoo convert") && Catch::Contains("--to FORMAT"));
  if (!test::have_reference("convbert-tf")) return;
  const std::string in = (test::reference_dir() / "convbert-tf" / "tiny-qa").string();
  test::TempDir tmp("convert_errors");
  const std::string out = (tmp.path / "out").string();

  r = convert({in, out});
  CHECK(r.code != 0);
  CHECK_THAT(r.out, Catch::Contains("--to"));
  r = convert({in, out, "--to", "onnx"});
  CHECK(r.code == 1);
  CHECK_THAT(r.out, Catch::Contains("--to 'onnx' is not a format (expected safetensors, bin or tf)"));
  r = convert({in, "--to", "bin"});
  CHECK(r.code == 1);
  CHECK_THAT(r.out, Catch::Contains("give IN_DIR and OUT_DIR"));
  CHECK_FALSE(fs::exists(out));

  fs::create_directories(tmp.path / "busy");
  std::ofstream(tmp.path / "busy" / "keep.txt") << "x";
  r = convert({in, (tmp.path / "busy").string(), "--to", "bin"});
  CHECK(r.code == 1);
  CHECK_THAT(r.out, Catch::Contains("already exists and is not an empty directory"));

  // A broken weights file: the error names it, and OUT_DIR does not appear.
  const fs::path broken = tmp.path / "broken";
  fs::create_directories(broken);
  fs::copy_file(fs::path(in) / "config.json", broken / "config.json");
  std::ofstream(broken / "tf_model.h5") << "\x89HDF\r\n\x1a\n not really";
  r = convert({broken.string(), out, "--to", "safetensors"});
  CHECK(r.code == 1);
  CHECK_THAT(r.out, Catch::Contains("hdf5"));
  CHECK_FALSE(fs::exists(out));
  CHECK_FALSE(has_leftovers(tmp.path));

  // An empty OUT_DIR is fine.
  fs::create_directories(out);
  r = convert({in, out, "--to", "bin"});
  INFO(r.out);
  CHECK(r.code == 0);
  CHECK(fs::exists(fs::path(out) / "pytorch_model.bin"));
}
