// Sharded checkpoints: huggingface_hub's split rule and naming, the index HF writes, round trips
// (the reference tiny-masked-lm re-saved in shards loads to the same tensors, and a PyTorch
// reference file read through a pytorch_model.bin.index.json), and hostile or inconsistent indexes.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tensor/io/sharded_checkpoint.h"
#include "tensor/ops.h"
#include "tests/test_util.h"

using namespace tz;
namespace fs = std::filesystem;

namespace {

using tz::test::TempDir;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void spit(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }

std::vector<std::string> files_in(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

// Float tensors of the given element counts, named t0, t1, ...; values tell them apart.
std::vector<std::pair<std::string, Tensor>> tensors_of(const std::vector<int64_t>& numels) {
  std::vector<std::pair<std::string, Tensor>> out;
  for (size_t i = 0; i < numels.size(); ++i) {
    std::vector<float> v(static_cast<size_t>(numels[i]));
    for (size_t j = 0; j < v.size(); ++j) v[j] = static_cast<float>(i * 1000 + j);
    std::string name = "t";
    name += std::to_string(i);
    out.emplace_back(name, raw::from_vector(v, {numels[i]}));
  }
  return out;
}

void check_same(const io::Checkpoint& a, const io::Checkpoint& b) {
  REQUIRE(a.tensors.size() == b.tensors.size());
  for (const auto& [name, t] : b.tensors) {
    INFO(name);
    REQUIRE(a.contains(name));
    CHECK(a.at(name).shape() == t.shape());
    if (t.dtype() == DType::Float32) CHECK(a.at(name).to_vector<float>() == t.to_vector<float>());
    else CHECK(a.at(name).to_vector<int64_t>() == t.to_vector<int64_t>());
  }
}

}  // namespace

TEST_CASE("shards fill in order as huggingface_hub splits them, with HF's names and index", "[io][sharded]") {
  TempDir dir;
  // 6, 6, 2, 6, 2, 2 units of 10 bytes... as floats: 4 bytes each, limit 40 bytes = 10 floats.
  auto tensors = tensors_of({6, 6, 2, 6, 2, 2});
  const io::ShardedSave s = io::save_safetensors_sharded(dir.path.string(), tensors, 40);
  CHECK(s.files == std::vector<std::string>{"model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
                                            "model-00003-of-00003.safetensors"});
  CHECK(s.index_file == "model.safetensors.index.json");
  CHECK(s.total_size == 24 * 4);
  // [6] [6, 2] [6, 2, 2]: no packing, order kept (the rule huggingface_hub documents).
  CHECK(io::load_safetensors((dir.path / s.files[0]).string()).names == std::vector<std::string>{"t0"});
  CHECK(io::load_safetensors((dir.path / s.files[1]).string()).names == std::vector<std::string>{"t1", "t2"});
  CHECK(io::load_safetensors((dir.path / s.files[2]).string()).names == std::vector<std::string>{"t3", "t4", "t5"});
  CHECK(io::load_safetensors((dir.path / s.files[0]).string()).metadata.at("format") == "pt");

  const auto index = nlohmann::json::parse(slurp(dir.path / s.index_file));
  CHECK(index["metadata"]["total_size"] == 96);
  CHECK(index["weight_map"]["t2"] == "model-00002-of-00003.safetensors");
  CHECK(index["weight_map"].size() == 6);
  // json.dumps(index, indent=2, sort_keys=True) + "\n", as save_pretrained writes it.
  CHECK_THAT(slurp(dir.path / s.index_file), Catch::StartsWith("{\n  \"metadata\": {\n    \"total_size\": 96\n  },\n"
                                                               "  \"weight_map\": {\n    \"t0\": "));
  CHECK(slurp(dir.path / s.index_file).back() == '\n');

  io::Checkpoint back = io::load_sharded((dir.path / s.index_file).string());
  CHECK(back.names == std::vector<std::string>{"t0", "t1", "t2", "t3", "t4", "t5"});
  io::Checkpoint expected;
  for (auto& [name, t] : tensors) expected.tensors.emplace(name, t);
  check_same(back, expected);
  std::string chosen;
  check_same(io::load_checkpoint_dir_weights(dir.path.string(), &chosen), expected);
  CHECK(chosen == "model.safetensors.index.json");
}

TEST_CASE("a tensor above the limit gets its own shard; one shard is model.safetensors", "[io][sharded]") {
  TempDir dir;
  // As huggingface_hub splits: the oversized tensor's shard is closed at once, ahead of the shard
  // still filling.
  const io::ShardedSave s = io::save_safetensors_sharded(dir.path.string(), tensors_of({2, 50, 2}), 40);
  REQUIRE(s.files.size() == 2);
  CHECK(io::load_safetensors((dir.path / s.files[0]).string()).names == std::vector<std::string>{"t1"});
  CHECK(io::load_safetensors((dir.path / s.files[1]).string()).names == std::vector<std::string>{"t0", "t2"});

  // Saving again unsharded replaces the shards and the index: no stale weights remain.
  spit(dir.path / "config.json", "{}");
  const io::ShardedSave one = io::save_safetensors_sharded(dir.path.string(), tensors_of({2, 50, 2}), 1000000);
  CHECK(one.files == std::vector<std::string>{"model.safetensors"});
  CHECK(one.index_file.empty());
  CHECK(files_in(dir.path) == std::vector<std::string>{"config.json", "model.safetensors"});
  // And sharded again: the old model.safetensors would shadow the index, so it goes.
  io::save_safetensors_sharded(dir.path.string(), tensors_of({2, 50, 2}), 40);
  CHECK(files_in(dir.path) ==
        std::vector<std::string>{"config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
                                 "model.safetensors.index.json"});
  CHECK(io::find_weights_file(dir.path.string()) == "model.safetensors.index.json");
  CHECK_THROWS_WITH(io::save_safetensors_sharded(dir.path.string(), tensors_of({2}), 0),
                    Catch::Contains("max_shard_bytes must be positive"));
}

TEST_CASE("the reference tiny-masked-lm re-saved in shards loads to the same tensors", "[io][sharded][reference]") {
  if (!tz::test::have_reference("convbert/tiny-masked-lm")) return;
  const auto original =
      io::load_checkpoint((tz::test::reference_dir() / "convbert" / "tiny-masked-lm" / "model.safetensors").string());
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const auto& name : original.names) tensors.emplace_back(name, original.at(name));
  TempDir dir;
  const io::ShardedSave s = io::save_safetensors_sharded(dir.path.string(), tensors, io::parse_shard_size("100KB"));
  CHECK(s.files.size() >= 3);
  const io::Checkpoint back = io::load_sharded((dir.path / s.index_file).string());
  check_same(back, original);
  CHECK(back.names.size() == original.names.size());
}

TEST_CASE("a pytorch_model.bin.index.json reads PyTorch shards", "[io][sharded][reference]") {
  if (!tz::test::have_reference("convbert/small-2layer")) return;
  const fs::path bin = tz::test::reference_dir() / "convbert" / "small-2layer" / "pytorch_model.bin";
  const io::Checkpoint original = io::load_pytorch(bin.string());
  TempDir dir;
  fs::copy_file(bin, dir.path / "pytorch_model-00001-of-00001.bin");
  nlohmann::json map = nlohmann::json::object();
  for (const auto& name : original.names) map[name] = "pytorch_model-00001-of-00001.bin";
  spit(dir.path / "pytorch_model.bin.index.json", nlohmann::json({{"metadata", {{"total_size", 1}}}, {"weight_map", map}}).dump());
  std::string chosen;
  check_same(io::load_checkpoint_dir_weights(dir.path.string(), &chosen), original);
  CHECK(chosen == "pytorch_model.bin.index.json");
}

TEST_CASE("inconsistent or hostile indexes are refused, naming the culprit", "[io][sharded]") {
  TempDir dir;
  io::save_safetensors((dir.path / "a.safetensors").string(), tensors_of({2, 3}));  // t0, t1
  io::save_safetensors((dir.path / "b.safetensors").string(), {{"t1", raw::from_vector(std::vector<float>{1}, {1})},
                                                               {"t9", raw::from_vector(std::vector<float>{2}, {1})}});
  const fs::path index = dir.path / "model.safetensors.index.json";
  auto refused = [&](const std::string& text, const std::string& message) {
    INFO(text);
    spit(index, text);
    CHECK_THROWS_WITH(io::load_sharded(index.string()), Catch::Contains(message));
  };
  refused("not json", "is not valid JSON");
  refused("{}", "has no \"weight_map\" object");
  refused(R"({"weight_map": {}})", "lists no tensors");
  refused(R"({"weight_map": {"t0": 3}})", "maps 't0' to number");
  for (const char* bad : {"../a.safetensors", "/etc/passwd", "sub/../a.safetensors", "a\\\\b", "./a.safetensors", ""})
    refused(std::string(R"({"weight_map": {"t0": ")") + bad + "\"}}", "which is not a file name inside its folder");
  refused(R"({"weight_map": {"t0": "c.safetensors"}})", "lists the shard 'c.safetensors' (for 't0')");
  refused(R"({"weight_map": {"t0": "a.safetensors", "t5": "a.safetensors"}})",
          "places 't5' in 'a.safetensors', which does not hold it");
  refused(R"({"weight_map": {"t0": "a.safetensors", "t9": "b.safetensors"}})",
          "tensor 't1' is in two shards, 'a.safetensors' and 'b.safetensors'");
  refused(std::string(R"({"metadata": )") + std::string(100, '[') + std::string(100, ']') + R"(, "weight_map": {}})",
          "nests deeper than 16 levels");

  // Tensors a shard holds beyond the index's list are kept, as transformers keeps them.
  spit(index, R"({"weight_map": {"t9": "b.safetensors"}})");
  const io::Checkpoint ck = io::load_sharded(index.string());
  CHECK(ck.names == std::vector<std::string>{"t1", "t9"});
}

TEST_CASE("weights of a model directory in HF's order of preference", "[io][sharded]") {
  TempDir dir;
  CHECK(io::find_weights_file(dir.path.string()).empty());
  CHECK_THROWS_WITH(io::load_checkpoint_dir_weights(dir.path.string()),
                    Catch::Contains("no weights in") && Catch::Contains("model.safetensors.index.json") &&
                        Catch::Contains("pytorch_model.bin"));
  spit(dir.path / "pytorch_model.bin.index.json", "{}");
  CHECK(io::find_weights_file(dir.path.string()) == "pytorch_model.bin.index.json");
  spit(dir.path / "pytorch_model.bin", "");
  CHECK(io::find_weights_file(dir.path.string()) == "pytorch_model.bin");
  spit(dir.path / "model.safetensors.index.json", "{}");
  CHECK(io::find_weights_file(dir.path.string()) == "model.safetensors.index.json");
  io::save_safetensors((dir.path / "model.safetensors").string(), tensors_of({1}));
  CHECK(io::find_weights_file(dir.path.string()) == "model.safetensors");
  CHECK(io::load_checkpoint_dir_weights(dir.path.string()).names == std::vector<std::string>{"t0"});
}

TEST_CASE("max_shard_size strings parse as HF's do", "[io][sharded]") {
  CHECK(io::parse_shard_size("5GB") == 5000000000);
  CHECK(io::parse_shard_size("200MB") == 200000000);
  CHECK(io::parse_shard_size("10kb") == 10000);
  CHECK(io::parse_shard_size("1.5GB") == 1500000000);
  CHECK(io::parse_shard_size("2GiB") == 2147483648);
  CHECK(io::parse_shard_size("1TB") == 1000000000000);
  CHECK(io::parse_shard_size("4096") == 4096);
  for (const char* bad : {"", "abc", "5XB", "GB", "-5MB", "0", "0.1"}) {
    INFO(bad);
    CHECK_THROWS_AS(io::parse_shard_size(bad), Error);
  }
}
