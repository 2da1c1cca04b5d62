// save_pytorch (tensor/io/pytorch_writer.cpp) against our reader and against Python's zipfile and
// pickle reading the file the way torch.load does (tests/io/pytorch_zip_check.py, run with Debian's
// python3; required under CI like the h5py checks).
#include <catch2/catch.hpp>

#include <cstring>

#include "tensor/io/checkpoint.h"
#include "tensor/ops.h"
#include "tests/h5py_util.h"
#include "tests/same_bits.h"
#include "tests/test_util.h"

using namespace tz;
using test::same_bits;

namespace {


Tensor counting(const Shape& shape, float scale) {
  Tensor t = Tensor::empty(shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = scale * static_cast<float>(i) - 3.25f;
  return t;
}

}  // namespace

TEST_CASE("save_pytorch: what it writes, load_pytorch and Python's zipfile/pickle read back bit for bit", "[io][pytorch]") {
  Tensor ids = Tensor::empty({2, 3}, DType::Int64);
  for (int64_t i = 0; i < 6; ++i) ids.data<int64_t>()[i] = (int64_t{1} << 40) - i * 70000;
  Tensor scalar = Tensor::empty({});
  scalar.data<float>()[0] = -0.0f;
  const Tensor big = counting({300, 7}, 1e-3f);
  const std::vector<std::pair<std::string, Tensor>> tensors = {
      {"encoder.layer.0.dense.weight", counting({4, 5}, 0.5f)},
      {"transposed", raw::permute(counting({3, 2}, 1.0f), {1, 0})},  // written in logical order
      {"embeddings.position_ids", ids},
      {"scalar", scalar},
      {"empty", Tensor::empty({0, 4})},
      {"big", big},
  };
  const std::vector<uint8_t> bytes = io::pytorch_bytes(tensors);
  const io::Checkpoint back = io::load_pytorch_from_memory(bytes.data(), bytes.size());
  REQUIRE(back.names.size() == tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    INFO(tensors[i].first);
    CHECK(back.names[i] == tensors[i].first);
    CHECK(same_bits(back.at(tensors[i].first), raw::contiguous(tensors[i].second)));
  }
  CHECK(back.source_dtype.at("embeddings.position_ids") == "I64");

  test::TempDir dir("pytorch_writer");
  const std::string bin = (dir.path / "pytorch_model.bin").string();
  io::save_pytorch(bin, tensors);
  CHECK(io::load_checkpoint(bin).names == back.names);
  CHECK_THROWS_WITH(io::save_pytorch(bin, {{"a", scalar}, {"a", scalar}}), Catch::Contains("'a' appears more than once"));
  CHECK(io::load_checkpoint(bin).names.size() == tensors.size());  // a failed save leaves the old file

  if (!test::have_h5py()) return;  // the same Debian python3 (numpy comes with python3-h5py)
  std::vector<std::pair<std::string, Tensor>> contiguous;
  for (const auto& [name, t] : tensors) contiguous.emplace_back(name, raw::contiguous(t));
  const std::string source = (dir.path / "source.safetensors").string();
  io::save_safetensors(source, contiguous);
  std::string out;
  int status = test::run_python("tests/io/pytorch_zip_check.py", {bin, source}, out);
  INFO(out);
  CHECK(status == 0);
  // The check can fail: one changed value is found.
  contiguous[0].second.data<float>()[3] += 1.0f;
  io::save_safetensors(source, contiguous);
  status = test::run_python("tests/io/pytorch_zip_check.py", {bin, source}, out);
  CHECK(status == 1);
  CHECK_THAT(out, Catch::Contains("encoder.layer.0.dense.weight differs"));
}
