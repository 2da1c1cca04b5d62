// safetensors write -> read round trips, the zero-copy views and their lifetime, atomic saving,
// and writer errors. Reading of every stored dtype and of hostile files: test_corpus.cpp;
// the reference checkpoints: test_reference.cpp.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tensor/io/checkpoint.h"
#include "tensor/ops.h"
#include "tests/io/naive_reader.h"
#include "tests/test_util.h"

using namespace tz;
namespace fs = std::filesystem;

namespace {

using tz::test::TempDir;

Tensor floats(std::vector<float> v, Shape shape) { return raw::from_vector(v, shape); }
Tensor longs(std::vector<int64_t> v, Shape shape) { return raw::from_vector(v, shape); }

}  // namespace

TEST_CASE("safetensors round trip keeps order, shapes, values, dtypes and metadata", "[io][safetensors]") {
  TempDir dir;
  // A transposed view: written in logical order, so it reads back as [[1,3],[2,4]].
  Tensor base = floats({1, 2, 3, 4}, {2, 2});
  Tensor transposed = Tensor::view_of(base.storage(), DType::Float32, {2, 2}, {1, 2}, 0);
  std::vector<std::pair<std::string, Tensor>> in = {
      {"z.weight", floats({0.5f, -1.25f, 3e-39f, 1e30f, -0.0f, 7}, {2, 3})},
      {"a.ids", longs({INT64_MIN, -1, 0, INT64_MAX}, {4})},
      {"scalar", floats({42}, {})},
      {"empty", Tensor::empty({0, 5})},
      {"transposed", transposed},
      {"empty_ids", Tensor::empty({3, 0}, DType::Int64)},
  };
  std::map<std::string, std::string> meta = {{"format", "pt"}, {"note", "ünïcödé"}};
  const std::string path = dir / "m.safetensors";
  io::save_safetensors(path, in, meta);

  auto ck = io::load_safetensors(path);
  REQUIRE(ck.names == std::vector<std::string>{"z.weight", "a.ids", "scalar", "empty", "transposed", "empty_ids"});
  CHECK(ck.metadata == meta);
  CHECK(ck.source_dtype.at("z.weight") == "F32");
  CHECK(ck.source_dtype.at("a.ids") == "I64");
  CHECK(ck.at("z.weight").shape() == Shape{2, 3});
  CHECK(ck.at("z.weight").to_vector<float>() == in[0].second.to_vector<float>());
  CHECK(ck.at("a.ids").to_vector<int64_t>() == std::vector<int64_t>{INT64_MIN, -1, 0, INT64_MAX});
  CHECK(ck.at("scalar").shape().empty());
  CHECK(ck.at("scalar").item() == 42.0);
  CHECK(ck.at("empty").shape() == Shape{0, 5});
  CHECK(ck.at("transposed").to_vector<float>() == std::vector<float>{1, 3, 2, 4});
  CHECK(ck.at("empty_ids").dtype() == DType::Int64);
  CHECK_THROWS_WITH(ck.at("nope"), Catch::Contains("checkpoint: no tensor named 'nope'"));

  // The bytes in memory are the bytes on disk, and the format's alignment rules hold.
  auto bytes = tz::test::read_bytes(path);
  CHECK(bytes == io::safetensors_bytes(in, meta));
  uint64_t header_len;
  std::memcpy(&header_len, bytes.data(), 8);
  CHECK(header_len % 8 == 0);
  CHECK(bytes[8 + header_len - 1] != 0);  // padded with spaces, not NULs

  // The independent reader sees the same thing.
  auto naive = tz::test::naive_safetensors(path);
  CHECK(naive.at("z.weight").values[3] == 1e30f);
  CHECK(naive.at("transposed").values == std::vector<double>{1, 3, 2, 4});

  // From memory: same result, never views.
  auto mem = io::load_safetensors_from_memory(bytes.data(), bytes.size());
  CHECK(mem.names == ck.names);
  CHECK(mem.at("z.weight").to_vector<float>() == ck.at("z.weight").to_vector<float>());
  CHECK(mem.at("z.weight").storage()->writable());

  // Dispatch by content.
  auto any = io::load_checkpoint(path);
  CHECK(any.names == ck.names);
}

TEST_CASE("safetensors F32/I64 tensors view the mapping and outlive the Checkpoint", "[io][safetensors]") {
  TempDir dir;
  const std::string path = dir / "v.safetensors";
  std::vector<float> values(1000);
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i) * 0.5f;
  io::save_safetensors(path, {{"w", floats(values, {10, 100})}, {"ids", longs({1, 2, 3}, {3})}});
  Tensor w, ids;
  {
    auto ck = io::load_safetensors(path);
    w = ck.at("w");
    ids = ck.at("ids");
  }
  fs::remove(path);  // the mapping keeps the data alive on POSIX
  CHECK_FALSE(w.storage()->writable());
  CHECK_FALSE(ids.storage()->writable());
  CHECK(w.to_vector<float>() == values);
  CHECK(ids.to_vector<int64_t>() == std::vector<int64_t>{1, 2, 3});
  // A clone is ordinary writable memory.
  Tensor c = raw::clone(w);
  CHECK(c.storage()->writable());
  CHECK(c.to_vector<float>() == values);
}

TEST_CASE("safetensors data at an odd offset is copied, not viewed", "[io][safetensors]") {
  const std::string path = std::string(TZ_SOURCE_DIR) + "/tests/io/corpus/safetensors/valid_misaligned.safetensors";
  auto ck = io::load_safetensors(path);
  const Tensor& w = ck.at("w");
  CHECK(w.storage()->writable());
  CHECK(reinterpret_cast<uintptr_t>(w.data<float>()) % alignof(float) == 0);
  CHECK(w.to_vector<float>() == std::vector<float>{1, 2});
}

TEST_CASE("save_safetensors replaces files atomically and cleans up on failure", "[io][safetensors]") {
  TempDir dir;
  const std::string path = dir / "m.safetensors";
  io::save_safetensors(path, {{"a", floats({1}, {1})}});
  io::save_safetensors(path, {{"b", floats({2, 3}, {2})}});
  CHECK(dir.file_count() == 1);  // no temporary left behind
  auto ck = io::load_safetensors(path);
  CHECK(ck.names == std::vector<std::string>{"b"});

  // A failing save leaves the previous file untouched and no temporary.
  CHECK_THROWS_WITH(io::save_safetensors(path, {{"x", floats({1}, {1})}, {"x", floats({2}, {1})}}),
                    Catch::Contains("tensor name 'x' appears more than once"));
  CHECK_THROWS_WITH(io::save_safetensors(path, {{"u", Tensor()}}), Catch::Contains("tensor 'u' is undefined"));
  CHECK_THROWS_WITH(io::save_safetensors(path, {{"__metadata__", floats({1}, {1})}}),
                    Catch::Contains("'__metadata__' is reserved"));
  CHECK_THROWS_WITH(io::save_safetensors(path, {{std::string("bad\xff"), floats({1}, {1})}}),
                    Catch::Contains("not valid UTF-8"));
  CHECK(dir.file_count() == 1);
  CHECK(io::load_safetensors(path).names == std::vector<std::string>{"b"});

  CHECK_THROWS_WITH(io::save_safetensors(dir / "no/such/dir/m.safetensors", {{"a", floats({1}, {1})}}),
                    Catch::Contains("save_safetensors: cannot create"));
  CHECK_THROWS_WITH(io::load_safetensors(dir / "missing.safetensors"),
                    Catch::Contains("safetensors: cannot open") && Catch::Contains("No such file"));
}
