// The HDF5 reader and writer (tensor/io/hdf5.h) and the Keras weights layout (keras_weights.h):
//  - files written by h5py (the real libhdf5) in each of its formats, read and compared with what
//    h5py_files.py put in them; the ones we refuse give the expected error;
//  - our files read back by us and by h5py (h5py_check.py), including Keras' split name lists and
//    HF's way of reading them;
//  - safetensors -> our HDF5 -> safetensors bit-identical for the reference checkpoints;
//  - the reference tf_model.h5 files read as Keras weights in both string forms;
//  - lookup3 against Jenkins' published values.
// The hostile files are in tests/io/corpus/hdf5 (test_corpus.cpp); h5py-missing skips, unless CI.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tensor/io/checkpoint.h"
#include "tensor/io/hdf5.h"
#include "tensor/io/hdf5_format.h"
#include "tensor/io/keras_weights.h"
#include "tests/h5py_util.h"
#include "tests/io/naive_reader.h"

using namespace tz;
using io::hdf5::Attribute;
using io::hdf5::Node;
using nlohmann::json;

namespace {

// Bit patterns of the values, so that NaN and -0 compare as stored.
std::vector<uint32_t> float_bits(const Tensor& t) {
  std::vector<uint32_t> out;
  for (float v : t.to_vector<float>()) {
    uint32_t b;
    std::memcpy(&b, &v, 4);
    out.push_back(b);
  }
  return out;
}

void check_values(const Tensor& t, const json& values, const std::string& what) {
  INFO(what);
  REQUIRE(t.numel() == static_cast<int64_t>(values.size()));
  if (t.dtype() == DType::Float32) {
    const auto got = t.to_vector<float>();
    for (size_t i = 0; i < got.size(); ++i) {
      const float want = static_cast<float>(values[i].get<double>());  // the reader rounds F64 the same way
      INFO("element " << i);
      CHECK(std::memcmp(&got[i], &want, 4) == 0);
    }
  } else {
    const auto got = t.to_vector<int64_t>();
    for (size_t i = 0; i < got.size(); ++i) {
      INFO("element " << i);
      CHECK(got[i] == values[i].get<int64_t>());
    }
  }
}

Shape shape_of(const json& j) { return j.get<Shape>(); }

void check_against_manifest(const Node& root, const json& entry) {
  for (const auto& [path, members] : entry["groups"].items()) {
    INFO("group " << path);
    const Node* g = root.find(path);
    REQUIRE(g);
    REQUIRE(g->is_group());
    std::vector<std::string> names;
    for (const Node& c : g->children) names.push_back(c.name);
    CHECK(names == members.get<std::vector<std::string>>());
  }
  for (const auto& [path, d] : entry["datasets"].items()) {
    INFO("dataset " << path);
    const Node* n = root.find(path);
    REQUIRE(n);
    REQUIRE(!n->is_group());
    CHECK(n->stored_dtype == d["dtype"].get<std::string>());
    CHECK(n->data.shape() == shape_of(d["shape"]));
    check_values(n->data, d["values"], path);
  }
  for (const auto& [path, attrs] : entry["attributes"].items()) {
    const Node* n = root.find(path);
    REQUIRE(n);
    for (const auto& [name, a] : attrs.items()) {
      INFO("attribute " << path << "@" << name);
      const Attribute* got = n->attribute(name);
      REQUIRE(got);
      CHECK(got->shape == shape_of(a["shape"]));
      const std::string type = a["type"];
      if (type == "number") {
        CHECK(got->type == Attribute::Type::Number);
        CHECK(got->stored_dtype == a["dtype"].get<std::string>());
        check_values(got->numbers, a["values"], name);
      } else {
        CHECK(got->type == (type == "fixed" ? Attribute::Type::FixedString : Attribute::Type::VariableString));
        CHECK(got->strings == a["values"].get<std::vector<std::string>>());
      }
    }
  }
}

// A tree with every kind of member our writer supports; `expected` gets its description for
// h5py_check.py's "tree" mode.
Node sample_tree(json& expected) {
  Node root;
  Tensor w = Tensor::empty({3, 4});
  for (int i = 0; i < 12; ++i) w.data<float>()[i] = std::ldexp(static_cast<float>(i) - 5.5f, i % 7 - 3);
  w.data<float>()[5] = -0.0f;
  root.add_dataset("model/layer_._0/dense/kernel:0", w);
  Tensor t = Tensor::empty({4, 3});  // a transposed (non-contiguous) view is written in logical order
  for (int i = 0; i < 12; ++i) t.data<float>()[i] = static_cast<float>(i) * 0.25f;
  Tensor view = Tensor::view_of(t.storage(), DType::Float32, {3, 4}, {1, 3}, 0);
  root.add_dataset("model/transposed", view);
  Tensor ids = Tensor::empty({2}, DType::Int64);
  ids.data<int64_t>()[0] = -(int64_t{1} << 40);
  ids.data<int64_t>()[1] = 7;
  root.add_dataset("ids", ids);
  Tensor scalar = Tensor::empty({});
  scalar.data<float>()[0] = 3.5f;
  root.add_dataset("scalar", scalar);
  root.add_dataset("empty", Tensor::empty({0, 5}));
  root.group_at("model/no_weights");
  Node& many = root.group_at("many");  // more links than one symbol table node or B-tree node holds
  std::vector<std::string> many_names;
  for (int i = 0; i < 300; ++i) {
    Tensor x = Tensor::empty({1});
    x.data<float>()[0] = static_cast<float>(i);
    std::string name = "w";
    name += std::to_string(i);  // (not "w" + to_string(i): GCC 12 warns falsely about that at -O3)
    many.add_dataset(name, x);
    many_names.push_back(name);
    expected["datasets"]["/many/" + name] = {{"dtype", "<f4"}, {"shape", {1}}, {"values", {i}}};
  }
  root.attributes.push_back(Attribute::fixed_strings("layer_names", {"model", "", "a/b:0"}));
  root.attributes.push_back(Attribute::variable_string("backend", "tensorflow"));
  root.attributes.push_back(Attribute::variable_string("empty_string", ""));
  Node& model = *root.child("model");
  model.attributes.push_back(Attribute::number_array("weight_names", Tensor::empty({0}), "F64"));
  Tensor f = Tensor::empty({2});
  f.data<float>()[0] = 0.1f;
  f.data<float>()[1] = -2.0f;
  model.attributes.push_back(Attribute::number_array("f32", f));
  model.attributes.push_back(Attribute::number_array("f64", f, "F64"));
  model.attributes.push_back(Attribute::number_array("i64", ids));
  Node* kernel = root.group_at("model/layer_._0/dense").child("kernel:0");
  kernel->attributes.push_back(Attribute::variable_string("note", "on a dataset"));

  expected["groups"] = {{"/model", {"layer_._0", "no_weights", "transposed"}},
                        {"/model/layer_._0", {"dense"}},
                        {"/model/layer_._0/dense", {"kernel:0"}},
                        {"/model/no_weights", json::array()},
                        {"/many", many_names}};
  auto floats = [](const Tensor& x) {
    json v = json::array();
    for (float e : x.to_vector<float>()) v.push_back(static_cast<double>(e));
    return v;
  };
  expected["datasets"]["/model/layer_._0/dense/kernel:0"] = {{"dtype", "<f4"}, {"shape", {3, 4}}, {"values", floats(w)}};
  expected["datasets"]["/model/transposed"] = {{"dtype", "<f4"}, {"shape", {3, 4}}, {"values", floats(view)}};
  expected["datasets"]["/ids"] = {{"dtype", "<i8"}, {"shape", {2}}, {"values", {-(int64_t{1} << 40), 7}}};
  expected["datasets"]["/scalar"] = {{"dtype", "<f4"}, {"shape", json::array()}, {"values", {3.5}}};
  expected["datasets"]["/empty"] = {{"dtype", "<f4"}, {"shape", {0, 5}}, {"values", json::array()}};
  expected["attributes"]["/"] = {
      {"layer_names", {{"type", "fixed"}, {"shape", {3}}, {"values", {"model", "", "a/b:0"}}}},
      {"backend", {{"type", "variable"}, {"shape", json::array()}, {"values", {"tensorflow"}}}},
      {"empty_string", {{"type", "variable"}, {"shape", json::array()}, {"values", {""}}}}};
  expected["attributes"]["/model"] = {
      {"weight_names", {{"type", "number"}, {"shape", {0}}, {"values", json::array()}, {"dtype", "<f8"}}},
      {"f32", {{"type", "number"}, {"shape", {2}}, {"values", floats(f)}, {"dtype", "<f4"}}},
      {"f64", {{"type", "number"}, {"shape", {2}}, {"values", floats(f)}, {"dtype", "<f8"}}},
      {"i64", {{"type", "number"}, {"shape", {2}}, {"values", {-(int64_t{1} << 40), 7}}, {"dtype", "<i8"}}}};
  expected["attributes"]["/model/layer_._0/dense/kernel:0"] = {
      {"note", {{"type", "variable"}, {"shape", json::array()}, {"values", {"on a dataset"}}}}};
  for (const char* p : {"/many", "/model/layer_._0", "/model/layer_._0/dense", "/model/no_weights", "/ids", "/scalar",
                        "/empty", "/model/transposed"})
    if (!expected["attributes"].contains(p)) expected["attributes"][p] = json::object();
  for (const std::string& name : many_names) expected["attributes"]["/many/" + name] = json::object();
  return root;
}

// Two trees hold the same members, attributes and values (bit for bit).
void check_same_tree(const Node& a, const Node& b, const std::string& path) {
  INFO(path);
  REQUIRE(a.is_group() == b.is_group());
  REQUIRE(a.attributes.size() == b.attributes.size());
  for (const Attribute& x : a.attributes) {
    const Attribute* y = b.attribute(x.name);
    REQUIRE(y);
    CHECK(x.shape == y->shape);
    CHECK(x.strings == y->strings);
    CHECK(x.is_string() == y->is_string());
    if (!x.is_string()) CHECK((x.numbers.dtype() == DType::Int64 ? x.numbers.to_vector<int64_t>() ==
                                                                       y->numbers.to_vector<int64_t>()
                                                                 : float_bits(x.numbers) == float_bits(y->numbers)));
  }
  if (!a.is_group()) {
    CHECK(a.data.shape() == b.data.shape());
    CHECK(a.data.dtype() == b.data.dtype());
    if (a.data.dtype() == DType::Float32) CHECK(float_bits(a.data) == float_bits(b.data));
    else CHECK(a.data.to_vector<int64_t>() == b.data.to_vector<int64_t>());
    return;
  }
  REQUIRE(a.children.size() == b.children.size());
  for (const Node& c : a.children) {
    const Node* d = b.child(c.name);
    REQUIRE(d);
    check_same_tree(c, *d, path + "/" + c.name);
  }
}

}  // namespace

TEST_CASE("hdf5: lookup3 gives Jenkins' published values", "[io][hdf5]") {
  using io::hdf5::detail::lookup3;
  const char* text = "Four score and seven years ago";
  CHECK(lookup3(nullptr, 0) == 0xdeadbeefu);
  CHECK(lookup3(nullptr, 0, 0xdeadbeefu) == 0xbd5b7ddeu);
  CHECK(lookup3(reinterpret_cast<const uint8_t*>(text), 30) == 0x17770551u);
  CHECK(lookup3(reinterpret_cast<const uint8_t*>(text), 30, 1) == 0xcd628161u);
}

TEST_CASE("hdf5: files h5py writes in every format read as h5py wrote them", "[io][hdf5][h5py]") {
  if (!test::have_h5py()) return;
  test::TempDir dir("h5py_files");
  std::string out;
  REQUIRE(test::run_python("tests/io/h5py_files.py", {dir.path.string()}, out) == 0);
  std::ifstream f((dir.path / "manifest.json").string());
  const json manifest = json::parse(f);
  INFO("h5py " << manifest["h5py"] << ", HDF5 " << manifest["hdf5"]);
  for (const json& entry : manifest["files"]) {
    const std::string path = (dir.path / entry["file"].get<std::string>()).string();
    INFO("file " << entry["file"]);
    if (entry.contains("error")) {
      CHECK_THROWS_WITH(io::load_hdf5(path), Catch::Contains(entry["error"].get<std::string>()));
      continue;
    }
    const Node root = io::load_hdf5(path);
    check_against_manifest(root, entry);
    const auto bytes = test::read_bytes(path);
    check_against_manifest(io::load_hdf5_from_memory(bytes.data(), bytes.size()), entry);
  }
  CHECK(manifest["files"].size() >= 16);
}

TEST_CASE("hdf5: our files read back bit for bit, by us and by h5py", "[io][hdf5][h5py]") {
  json expected;
  const Node root = sample_tree(expected);
  test::TempDir dir("hdf5_write");
  const std::string path = (dir.path / "sample.h5").string();
  io::save_hdf5(path, root);
  const auto bytes = test::read_bytes(path);
  CHECK(bytes == io::hdf5_bytes(root));
  check_same_tree(root, io::load_hdf5(path), "");
  check_same_tree(root, io::load_hdf5_from_memory(bytes.data(), bytes.size()), "");
  // Contiguous float32 data is 8-byte aligned in our files, so reading by path views the mapping.
  const Node back = io::load_hdf5(path);
  CHECK_FALSE(back.find("model/layer_._0/dense/kernel:0")->data.storage()->writable());
  CHECK(back.find("ids")->stored_dtype == "I64");

  if (!test::have_h5py()) return;
  std::ofstream((dir.path / "expected.json").string()) << expected.dump();
  std::string out;
  const int status =
      test::run_python("tests/io/h5py_check.py", {"tree", path, (dir.path / "expected.json").string()}, out);
  INFO(out);
  CHECK(status == 0);
}

TEST_CASE("hdf5: load_checkpoint does not guess HDF5 (its names are not PyTorch's)", "[io][hdf5]") {
  Node root;
  root.add_dataset("w", Tensor::empty({1}));
  const auto bytes = io::hdf5_bytes(root);
  CHECK_THROWS_WITH(io::load_checkpoint_from_memory(bytes.data(), bytes.size()), Catch::Contains("load_keras_weights"));
  test::TempDir dir("hdf5_checkpoint");
  io::save_hdf5((dir.path / "tf_model.h5").string(), root);
  CHECK_THROWS_WITH(io::load_checkpoint((dir.path / "tf_model.h5").string()), Catch::Contains("this is an HDF5 file"));
  CHECK_THROWS_WITH(io::load_checkpoint((dir.path / "tf_model.h5").string()), Catch::Contains("tf_model.h5]"));
}

TEST_CASE("hdf5: the writer refuses what it cannot write", "[io][hdf5]") {
  auto refused = [](const Node& root, const std::string& piece) {
    CHECK_THROWS_WITH(io::hdf5_bytes(root), Catch::Contains(piece));
  };
  Node twice;
  twice.add_dataset("a", Tensor::empty({1}));
  const Node copy = twice.children[0];
  twice.children.push_back(copy);
  refused(twice, "two members named 'a'");
  Node slash;
  slash.children.push_back(Node{});
  slash.children[0].name = "a/b";
  refused(slash, "is not a plain name");
  Node big;
  big.attributes.push_back(Attribute::fixed_strings("names", std::vector<std::string>(9000, "0123456789")));
  refused(big, "an object header message holds at most 65528");
  Node attr_twice;
  attr_twice.attributes.push_back(Attribute::variable_string("x", "1"));
  attr_twice.attributes.push_back(Attribute::variable_string("x", "2"));
  refused(attr_twice, "two attributes named 'x'");
  CHECK_THROWS_WITH(Node().add_dataset("a/", Tensor::empty({1})), Catch::Contains("ends with '/'"));
  Node d;
  d.add_dataset("a", Tensor::empty({1}));
  CHECK_THROWS_WITH(d.add_dataset("a/b", Tensor::empty({1})), Catch::Contains("is a dataset, not a group"));
}

TEST_CASE("hdf5: safetensors -> our HDF5 -> safetensors is bit-identical", "[io][hdf5][reference]") {
  if (!test::have_reference("convbert")) return;
  size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(test::reference_dir() / "convbert")) {
    const auto st = e.path() / "model.safetensors";
    if (!std::filesystem::exists(st)) continue;
    INFO(st.string());
    const io::Checkpoint ck = io::load_safetensors(st.string());
    Node root;
    std::vector<std::pair<std::string, Tensor>> original;
    for (const auto& name : ck.names) {
      // F16/BF16 checkpoints load as float32; the comparison is of what was loaded.
      root.add_dataset(name, ck.at(name));
      original.emplace_back(name, ck.at(name));
    }
    const auto bytes = io::hdf5_bytes(root);
    const Node back = io::load_hdf5_from_memory(bytes.data(), bytes.size());
    std::vector<std::pair<std::string, Tensor>> again;
    for (const auto& name : ck.names) {
      const Node* d = back.find(name);
      REQUIRE(d);
      again.emplace_back(name, d->data);
    }
    CHECK(io::safetensors_bytes(again, ck.metadata) == io::safetensors_bytes(original, ck.metadata));
    ++files;
  }
  CHECK(files >= 5);
}

TEST_CASE("keras weights: split name lists as Keras splits them, read back by us and by h5py", "[io][keras][h5py]") {
  // 5000 names of 30 bytes (150000 bytes) need 3 pieces of 1667, 1667, 1666 names (numpy.array_split).
  std::vector<std::string> names;
  for (int i = 0; i < 5000; ++i) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "model/layer_._%04d/dense/kernel:0", i);
    names.push_back(std::string(buf).substr(0, 30));
  }
  const auto pieces = io::keras_name_attributes("weight_names", names);
  REQUIRE(pieces.size() == 3);
  CHECK(pieces[0].name == "weight_names0");
  CHECK(pieces[0].strings.size() == 1667);
  CHECK(pieces[1].strings.size() == 1667);
  CHECK(pieces[2].strings.size() == 1666);
  CHECK(pieces[2].string_size == 30);
  CHECK(io::keras_name_attributes("x", {"a", "bb"}).size() == 1);
  const auto empty = io::keras_name_attributes("x", {});
  REQUIRE(empty.size() == 1);
  CHECK(empty[0].stored_dtype == "F64");
  CHECK(empty[0].shape == Shape{0});
  CHECK_THROWS_WITH(io::keras_name_attributes("x", {std::string(70000, 'a')}), Catch::Contains("longer than"));

  io::KerasWeights w;
  w.layer_names = {"big", "empty_layer", "small"};
  w.top_level_model_weights = true;
  for (int i = 0; i < 5000; ++i) {
    Tensor t = Tensor::empty({1});
    t.data<float>()[0] = static_cast<float>(i);
    w.weights.push_back({"big", names[i], t});
  }
  Tensor k = Tensor::empty({2, 2});
  for (int i = 0; i < 4; ++i) k.data<float>()[i] = static_cast<float>(i);
  w.weights.push_back({"small", "model/small/kernel:0", k});
  test::TempDir dir("keras_split");
  const std::string path = (dir.path / "split.h5").string();
  io::save_keras_weights(path, w);
  const io::KerasWeights back = io::load_keras_weights(path);
  CHECK(back.layer_names == w.layer_names);
  CHECK(back.top_level_model_weights);
  CHECK(back.unlisted_groups == std::vector<std::string>{"top_level_model_weights"});
  CHECK(back.keras_version == "2.4.0");
  CHECK(back.backend == "tensorflow");
  REQUIRE(back.weights.size() == w.weights.size());
  for (size_t i = 0; i < w.weights.size(); ++i) {
    CHECK(back.weights[i].layer == w.weights[i].layer);
    CHECK(back.weights[i].name == w.weights[i].name);
    CHECK(float_bits(back.weights[i].value) == float_bits(w.weights[i].value));
  }

  if (!test::have_h5py()) return;
  json expected = {{"layer_names", w.layer_names},
                   {"weights", {{"big", names}, {"empty_layer", json::array()}, {"small", {"model/small/kernel:0"}}}}};
  std::ofstream((dir.path / "expected.json").string()) << expected.dump();
  std::string out;
  const int status =
      test::run_python("tests/io/h5py_check.py", {"keras", path, (dir.path / "expected.json").string()}, out);
  INFO(out);
  CHECK(status == 0);
}

TEST_CASE("keras weights: every reference tf_model.h5, in both string forms", "[io][keras][reference]") {
  if (!test::have_reference("convbert-tf")) return;
  size_t cases = 0;
  for (const auto& e : std::filesystem::directory_iterator(test::reference_dir() / "convbert-tf")) {
    if (!std::filesystem::exists(e.path() / "manifest.json")) continue;
    std::ifstream mf(e.path() / "manifest.json");
    const json manifest = json::parse(mf);
    SECTION(e.path().filename().string()) {
      const io::KerasWeights w = io::load_keras_weights((e.path() / "tf_model.h5").string());
      const json& keras = manifest["keras"];
      CHECK(w.layer_names == keras["layer_names"].get<std::vector<std::string>>());
      CHECK(w.keras_version == keras["keras_version"].get<std::string>());
      CHECK(w.backend == "tensorflow");
      CHECK(w.top_level_model_weights == keras["top_level_model_weights"].get<bool>());
      CHECK(w.weights.size() == keras["datasets"].get<size_t>());
      CHECK(w.weights.size() == manifest["weight_map"].size());
      for (const json& m : manifest["weight_map"]) {
        INFO(m["group"] << " " << m["h5"]);
        auto it = std::find_if(w.weights.begin(), w.weights.end(), [&](const io::KerasWeight& x) {
          return x.layer == m["group"].get<std::string>() && x.name == m["h5"].get<std::string>();
        });
        REQUIRE(it != w.weights.end());
        CHECK(it->value.shape() == m["tf_shape"].get<Shape>());
        CHECK(it->value.dtype() == DType::Float32);
      }
    }
    ++cases;
  }
  CHECK(cases >= 8);
}

TEST_CASE("keras weights: a file that is not Keras' is refused with a clear error", "[io][keras]") {
  Node root;
  root.add_dataset("w", Tensor::empty({1}));
  CHECK_THROWS_WITH(io::keras_weights_from_hdf5(root), Catch::Contains("no attribute 'layer_names'"));
  root.attributes.push_back(Attribute::fixed_strings("layer_names", {"dense"}));
  CHECK_THROWS_WITH(io::keras_weights_from_hdf5(root), Catch::Contains("has no group 'dense'"));
  root.group_at("dense").attributes.push_back(Attribute::fixed_strings("weight_names", {"m/dense/kernel:0"}));
  CHECK_THROWS_WITH(io::keras_weights_from_hdf5(root), Catch::Contains("has no dataset '/dense/m/dense/kernel:0'"));
  Tensor numbers = Tensor::empty({2});
  root.group_at("dense").attributes[0] = Attribute::number_array("weight_names", numbers);
  CHECK_THROWS_WITH(io::keras_weights_from_hdf5(root), Catch::Contains("holds 2 numbers, expected a list of names"));
}
