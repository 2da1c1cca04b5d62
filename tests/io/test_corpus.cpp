// The hand-made corpus in tests/io/corpus (written by make_corpus.py): every hostile file must give
// its expected error message, through both the format's loader and load_checkpoint (HDF5 files,
// which load_checkpoint does not read, through load_hdf5 and load_hdf5_from_memory), and every
// valid one must load with the values make_corpus.py put in it.
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <sstream>

#include "tensor/io/checkpoint.h"
#include "tensor/io/hdf5.h"
#include "tests/io/naive_reader.h"

using namespace tz;

namespace {

const std::string kCorpus = std::string(TZ_SOURCE_DIR) + "/tests/io/corpus/";

struct Case {
  std::string file, expected;
};

std::vector<Case> corpus_cases() {
  std::ifstream f(kCorpus + "expected.tsv");
  std::vector<Case> cases;
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') continue;
    auto tab = line.find('\t');
    cases.push_back({line.substr(0, tab), line.substr(tab + 1)});
  }
  return cases;
}

bool is_hdf5(const std::string& file) { return file.rfind("hdf5/", 0) == 0; }

io::Checkpoint load_by_folder(const std::string& file) {
  const std::string path = kCorpus + file;
  return file.rfind("safetensors/", 0) == 0 ? io::load_safetensors(path) : io::load_pytorch(path);
}

}  // namespace

TEST_CASE("corpus: every file loads or fails with its expected message", "[io][corpus]") {
  const auto cases = corpus_cases();
  size_t hostile = 0;
  for (const auto& c : cases) {
    INFO("corpus file " << c.file);
    const auto bytes = tz::test::read_bytes(kCorpus + c.file);
    if (is_hdf5(c.file)) {
      if (c.expected == "OK") {
        CHECK_NOTHROW(io::load_hdf5(kCorpus + c.file));
        CHECK_NOTHROW(io::load_hdf5_from_memory(bytes.data(), bytes.size()));
        continue;
      }
      ++hostile;
      CHECK_THROWS_AS(io::load_hdf5_from_memory(bytes.data(), bytes.size()), Error);
      CHECK_THROWS_WITH(io::load_hdf5_from_memory(bytes.data(), bytes.size()), Catch::Contains(c.expected));
      CHECK_THROWS_WITH(io::load_hdf5(kCorpus + c.file), Catch::Contains(c.expected));
      CHECK_THROWS_WITH(io::load_hdf5(kCorpus + c.file), Catch::Contains(c.file));
      continue;
    }
    if (c.expected == "OK") {
      CHECK_NOTHROW(load_by_folder(c.file));
      CHECK_NOTHROW(io::load_checkpoint(kCorpus + c.file));
      CHECK_NOTHROW(io::load_checkpoint_from_memory(bytes.data(), bytes.size()));
      continue;
    }
    ++hostile;
    CHECK_THROWS_WITH(load_by_folder(c.file), Catch::Contains(c.expected));
    CHECK_THROWS_WITH(io::load_checkpoint(kCorpus + c.file), Catch::Contains(c.expected));
    CHECK_THROWS_WITH(io::load_checkpoint_from_memory(bytes.data(), bytes.size()), Catch::Contains(c.expected));
    // Errors from files name the file.
    CHECK_THROWS_WITH(io::load_checkpoint(kCorpus + c.file), Catch::Contains(c.file));
  }
  CHECK(hostile >= 100);
}

TEST_CASE("corpus: the valid HDF5 files hold what make_corpus.py wrote", "[io][corpus][hdf5]") {
  const io::hdf5::Node keras = io::load_hdf5(kCorpus + "hdf5/valid_keras_like.h5");
  REQUIRE(keras.attribute("layer_names"));
  CHECK(keras.attribute("layer_names")->strings == std::vector<std::string>{"g", "x"});
  CHECK(keras.attribute("backend")->strings == std::vector<std::string>{"tensorflow"});
  CHECK(keras.find("g/d")->data.to_vector<float>() == std::vector<float>{0, 0.5, 1, 1.5, 2, 2.5});
  CHECK(keras.find("g/d")->data.shape() == Shape{2, 3});
  CHECK(keras.find("g/c")->data.to_vector<float>() == std::vector<float>{1, 2, 3, 4});
  for (const char* file : {"hdf5/valid_latest.h5", "hdf5/valid_superblock3.h5"}) {
    INFO(file);
    const io::hdf5::Node latest = io::load_hdf5(kCorpus + file);
    CHECK(latest.find("w")->data.to_vector<float>() == std::vector<float>{-1, 0, 1});
    REQUIRE(latest.find("sub"));
    CHECK(latest.find("sub")->is_group());
    CHECK(latest.find("sub")->children.empty());
  }
  const io::hdf5::Node* n = nullptr;
  const io::hdf5::Node nested = io::load_hdf5(kCorpus + "hdf5/valid_nested_100.h5");
  int depth = 0;
  for (n = &nested; !n->children.empty(); n = &n->children[0]) ++depth;
  CHECK(depth == 100);
}

TEST_CASE("corpus: every stored dtype converts exactly", "[io][corpus]") {
  auto ck = io::load_safetensors(kCorpus + "safetensors/valid_all_dtypes.safetensors");
  CHECK(ck.metadata.at("note") == "corpus");
  CHECK(ck.names.front() == "f32");
  CHECK(ck.names.size() == 15);
  CHECK(ck.at("f32").to_vector<float>() == std::vector<float>{1.5f, -2.0f, 0.0f, 3.25f});
  auto f16 = ck.at("f16").to_vector<float>();
  CHECK(f16[0] == 1.0f);
  CHECK(f16[1] == std::ldexp(1.0f, -24));
  CHECK(std::isinf(f16[2]));
  CHECK(f16[3] == -2.0f);
  CHECK(ck.source_dtype.at("f16") == "F16");
  auto bf = ck.at("bf16").to_vector<float>();
  CHECK(bf[0] == 1.0f);
  CHECK(bf[1] == -5.0f);
  CHECK(bf[2] == std::ldexp(1.0f, -133));
  auto f64 = ck.at("f64").to_vector<float>();
  CHECK(f64[0] == 0.1f);
  CHECK((std::isinf(f64[1]) && f64[1] < 0));
  CHECK(ck.at("i64").to_vector<int64_t>() == std::vector<int64_t>{-(int64_t(1) << 40), 7});
  CHECK(ck.at("i32").to_vector<int64_t>() == std::vector<int64_t>{-5, 2147483647});
  CHECK(ck.at("i16").to_vector<int64_t>() == std::vector<int64_t>{-300, 300});
  CHECK(ck.at("i8").to_vector<int64_t>() == std::vector<int64_t>{-128, 127});
  CHECK(ck.at("u8").to_vector<int64_t>() == std::vector<int64_t>{0, 255});
  CHECK(ck.at("bool").to_vector<int64_t>() == std::vector<int64_t>{0, 1, 1});
  CHECK(ck.at("u16").to_vector<int64_t>() == std::vector<int64_t>{65535});
  CHECK(ck.at("u32").to_vector<int64_t>() == std::vector<int64_t>{4294967295});
  CHECK(ck.at("u64").to_vector<int64_t>() == std::vector<int64_t>{INT64_MAX});
  CHECK(ck.at("empty").shape() == Shape{0, 3});
  CHECK(ck.at("scalar").item() == 42.0);
  for (const auto& name : ck.names) {
    const bool is_float = name == "f32" || name == "f16" || name == "bf16" || name == "f64" || name == "empty" ||
                          name == "scalar";
    CHECK(ck.at(name).dtype() == (is_float ? DType::Float32 : DType::Int64));
  }
}

TEST_CASE("corpus: the torch-style state_dict honours offsets, strides, shared storages and ties", "[io][corpus]") {
  for (const char* file : {"pytorch/valid_state_dict.pt", "pytorch/valid_no_zip64.pt"}) {
    INFO(file);
    auto ck = io::load_pytorch(kCorpus + file);
    CHECK(ck.names ==
          std::vector<std::string>{"w", "w_t", "w_tail", "tied", "half", "ids", "mask", "bf", "expanded"});
    CHECK(ck.metadata.empty());
    CHECK(ck.at("w").shape() == Shape{2, 3});
    CHECK(ck.at("w").to_vector<float>() == std::vector<float>{0, 1, 2, 3, 4, 5});
    CHECK(ck.at("w_t").to_vector<float>() == std::vector<float>{0, 3, 1, 4, 2, 5});
    CHECK(ck.at("w_tail").to_vector<float>() == std::vector<float>{4, 5});
    CHECK(ck.at("tied").is_same(ck.at("w")));
    CHECK(ck.at("half").to_vector<float>() == std::vector<float>{1, -2});
    CHECK(ck.source_dtype.at("half") == "F16");
    CHECK(ck.at("ids").to_vector<int64_t>() == std::vector<int64_t>{0, 1, int64_t(1) << 40});
    CHECK(ck.at("mask").to_vector<int64_t>() == std::vector<int64_t>{1, 0});
    CHECK(ck.source_dtype.at("mask") == "BOOL");
    CHECK(ck.at("bf").shape().empty());
    CHECK(ck.at("bf").item() == 3.0);
    CHECK(ck.at("expanded").to_vector<float>() == std::vector<float>{3, 3, 3, 3});
    for (const auto& name : ck.names) CHECK(ck.at(name).is_contiguous());
  }
}
