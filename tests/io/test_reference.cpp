// The checkpoints HuggingFace saved in shared/reference/convbert load with every key, shape and value:
//  - every model.safetensors (F32, F16, BF16) and expected.safetensors against the naive reader
//    (naive_reader.h), element by element;
//  - HF's own numbers: hidden_states.0 in expected.safetensors is the embeddings block's output, which
//    the test recomputes naively from the loaded weights (word + position + token type embeddings,
//    LayerNorm, then embeddings_project when present), for every case;
//  - small-2layer/pytorch_model.bin (torch.save zip): keys and storages against the zip's data/
//    entries found by a naive scan of local headers, position_ids = 0..511, LayerNorm at HF's init,
//    and the same embeddings check.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <set>

#include "tensor/io/checkpoint.h"
#include "tensor/io/pickle.h"
#include "tensor/io/zip.h"
#include "tests/io/naive_reader.h"
#include "tests/test_util.h"

using namespace tz;
namespace fs = std::filesystem;

namespace {

std::vector<fs::path> case_dirs() {
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(tz::test::reference_dir() / "convbert"))
    if (e.is_directory()) dirs.push_back(e.path());
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

std::vector<double> as_doubles(const Tensor& t) {
  std::vector<double> out;
  if (t.dtype() == DType::Float32)
    for (float v : t.to_vector<float>()) out.push_back(v);
  else
    for (int64_t v : t.to_vector<int64_t>()) out.push_back(static_cast<double>(v));
  return out;
}

// Every tensor of `path` read by the real reader equals the naive reader's, bit for bit.
void check_against_naive(const fs::path& path) {
  INFO(path.string());
  auto ck = io::load_safetensors(path.string());
  auto naive = tz::test::naive_safetensors(path.string());
  REQUIRE(ck.tensors.size() == naive.size());
  for (const auto& [name, nt] : naive) {
    INFO("tensor " << name);
    REQUIRE(ck.contains(name));
    const Tensor& t = ck.at(name);
    CHECK(t.shape() == nt.shape);
    CHECK(ck.source_dtype.at(name) == nt.dtype);
    const auto got = as_doubles(t);
    REQUIRE(got.size() == nt.values.size());
    size_t bad = 0;
    double sum_got = 0, sum_want = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      bad += !(got[i] == nt.values[i] || (std::isnan(got[i]) && std::isnan(nt.values[i])));
      sum_got += got[i];
      sum_want += nt.values[i];
    }
    CHECK(bad == 0);
    CHECK(sum_got == sum_want);
  }
}

// hidden_states.0 recomputed from the weights: LayerNorm(word[id] + pos[t] + type[tt]) (then the
// projection when embedding_size != hidden_size), in double, compared with HF's float32 output.
// Returns false (nothing compared) for a case that did not record hidden_states.0.
bool check_embeddings(const io::Checkpoint& ck, const fs::path& dir) {
  const auto expected_path = dir / "expected.safetensors";
  auto expected = tz::test::naive_safetensors(expected_path.string());
  if (!expected.count("hidden_states.0")) return false;
  const auto config = nlohmann::json::parse(tz::test::read_bytes((dir / "config.json").string()));
  const auto manifest = nlohmann::json::parse(tz::test::read_bytes((dir / "manifest.json").string()));
  const double eps = config.value("layer_norm_eps", 1e-12);
  const double atol = manifest["tolerance"]["atol"], rtol = manifest["tolerance"]["rtol"];
  const std::string p = ck.contains("convbert.embeddings.word_embeddings.weight") ? "convbert." : "";
  const Tensor& word = ck.at(p + "embeddings.word_embeddings.weight");
  const Tensor& pos = ck.at(p + "embeddings.position_embeddings.weight");
  const Tensor& type = ck.at(p + "embeddings.token_type_embeddings.weight");
  const auto gamma = ck.at(p + "embeddings.LayerNorm.weight").to_vector<float>();
  const auto beta = ck.at(p + "embeddings.LayerNorm.bias").to_vector<float>();
  const bool project = ck.contains(p + "embeddings_project.weight");
  const int64_t E = word.size(1);
  const auto W = word.to_vector<float>(), P = pos.to_vector<float>(), TT = type.to_vector<float>();

  const auto& ids = expected.at("input_ids");
  const int64_t T = ids.shape.back();
  const int64_t rows = static_cast<int64_t>(ids.values.size()) / T;
  const auto& hs = expected.at("hidden_states.0");
  const int64_t H = hs.shape.back();
  REQUIRE(static_cast<int64_t>(hs.values.size()) == rows * T * H);
  std::vector<float> PW, PB;
  if (project) {
    PW = ck.at(p + "embeddings_project.weight").to_vector<float>();  // [H, E]
    PB = ck.at(p + "embeddings_project.bias").to_vector<float>();
  } else {
    REQUIRE(H == E);
  }
  double max_err = 0;
  size_t bad = 0;
  std::vector<double> x(static_cast<size_t>(E));
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t t = 0; t < T; ++t) {
      const auto id = static_cast<int64_t>(ids.values[r * T + t]);
      const auto tt = expected.count("token_type_ids") ? static_cast<int64_t>(expected.at("token_type_ids").values[r * T + t]) : 0;
      double mean = 0, var = 0;
      for (int64_t e = 0; e < E; ++e) {
        x[e] = double(W[id * E + e]) + P[t * E + e] + TT[tt * E + e];
        mean += x[e];
      }
      mean /= double(E);
      for (int64_t e = 0; e < E; ++e) var += (x[e] - mean) * (x[e] - mean);
      var /= double(E);
      for (int64_t e = 0; e < E; ++e) x[e] = (x[e] - mean) / std::sqrt(var + eps) * gamma[e] + beta[e];
      for (int64_t h = 0; h < H; ++h) {
        double y = x[h % E];
        if (project) {
          y = PB[h];
          for (int64_t e = 0; e < E; ++e) y += double(PW[h * E + e]) * x[e];
        }
        const double want = hs.values[(r * T + t) * H + h];
        max_err = std::max(max_err, std::abs(y - want));
        bad += !(std::abs(y - want) <= atol + rtol * std::abs(want));
      }
    }
  }
  INFO(dir.filename().string() << ": hidden_states.0 max |diff| = " << max_err);
  CHECK(bad == 0);
  return true;
}

// Local headers found by scanning the raw bytes for "PK\3\4" (no central directory involved):
// entry name -> bytes, for the entries whose sizes we know from `sizes`.
std::map<std::string, std::vector<uint8_t>> scan_local_entries(const std::vector<uint8_t>& f,
                                                               const std::map<std::string, uint64_t>& sizes) {
  std::map<std::string, std::vector<uint8_t>> out;
  for (size_t i = 0; i + 30 <= f.size(); ++i) {
    if (!(f[i] == 'P' && f[i + 1] == 'K' && f[i + 2] == 3 && f[i + 3] == 4)) continue;
    const size_t n = f[i + 26] | f[i + 27] << 8, m = f[i + 28] | f[i + 29] << 8;
    if (i + 30 + n > f.size()) continue;
    const std::string name(reinterpret_cast<const char*>(&f[i + 30]), n);
    auto it = sizes.find(name);
    if (it == sizes.end() || i + 30 + n + m + it->second > f.size()) continue;
    out[name].assign(f.begin() + static_cast<long>(i + 30 + n + m),
                     f.begin() + static_cast<long>(i + 30 + n + m + it->second));
  }
  return out;
}

}  // namespace

TEST_CASE("reference: every safetensors file matches the naive reader", "[io][reference]") {
  if (!tz::test::have_reference("convbert")) return;
  size_t files = 0;
  std::set<std::string> dtypes;
  for (const auto& dir : case_dirs()) {
    for (const char* name : {"model.safetensors", "expected.safetensors"}) {
      if (!fs::exists(dir / name)) continue;
      check_against_naive(dir / name);
      ++files;
    }
    if (fs::exists(dir / "model.safetensors")) {
      auto ck = io::load_safetensors((dir / "model.safetensors").string());
      for (const auto& [n, d] : ck.source_dtype) dtypes.insert(d);
      // The manifest's key count.
      const auto manifest = nlohmann::json::parse(tz::test::read_bytes((dir / "manifest.json").string()));
      if (manifest.contains("saved_keys")) CHECK(ck.names.size() == manifest["saved_keys"].get<size_t>());
    }
  }
  CHECK(files >= 2);
  CHECK(dtypes.count("F32"));
  CHECK(dtypes.count("F16"));
  CHECK(dtypes.count("BF16"));
  CHECK(dtypes.count("I64"));
}

TEST_CASE("reference: loaded weights reproduce HF's embeddings output", "[io][reference]") {
  if (!tz::test::have_reference("convbert")) return;
  size_t checked = 0;
  for (const auto& dir : case_dirs()) {
    fs::path weights = dir / "model.safetensors";
    if (!fs::exists(weights)) weights = dir / "pytorch_model.bin";
    if (!fs::exists(weights)) continue;
    auto ck = io::load_checkpoint(weights.string());
    checked += check_embeddings(ck, dir);
  }
  CHECK(checked >= 2);
}

TEST_CASE("reference: small-2layer/pytorch_model.bin (torch.save zip)", "[io][reference]") {
  if (!tz::test::have_reference("convbert")) return;
  const auto dir = tz::test::reference_dir() / "convbert" / "small-2layer";
  const auto path = (dir / "pytorch_model.bin").string();
  if (!tz::test::require_or_skip(fs::exists(path), "reference file missing: " + path)) return;
  auto ck = io::load_pytorch(path);
  const auto manifest = nlohmann::json::parse(tz::test::read_bytes((dir / "manifest.json").string()));
  CHECK(ck.names.size() == manifest["saved_keys"].get<size_t>());
  CHECK(ck.names.front() == "embeddings.position_ids");
  CHECK(std::set<std::string>(ck.names.begin(), ck.names.end()).size() == ck.names.size());

  // position_ids is the int64 buffer arange(512) of shape [1, 512].
  const Tensor& pos = ck.at("embeddings.position_ids");
  CHECK(pos.dtype() == DType::Int64);
  CHECK(pos.shape() == Shape{1, 512});
  CHECK(ck.source_dtype.at("embeddings.position_ids") == "I64");
  const auto pv = pos.to_vector<int64_t>();
  for (int64_t i = 0; i < 512; ++i) CHECK(pv[i] == i);

  // Shapes from the config (embedding_size 128, hidden_size 256, intermediate 1024). The values of
  // the embeddings and their LayerNorm are checked against HF's output in the test above.
  CHECK(ck.at("embeddings.word_embeddings.weight").shape() == Shape{30522, 128});
  CHECK(ck.at("embeddings.LayerNorm.weight").shape() == Shape{128});
  CHECK(ck.at("embeddings_project.weight").shape() == Shape{256, 128});
  size_t layer_norms = 0;
  for (const auto& name : ck.names) {
    if (name.find("encoder.") == 0 && name.find("LayerNorm.") != std::string::npos) {
      ++layer_norms;
      CHECK(ck.at(name).shape() == Shape{256});
    }
    if (name.find("intermediate.dense.weight") != std::string::npos) CHECK(ck.at(name).shape() == Shape{1024, 256});
  }
  CHECK(layer_norms == 8);  // 2 layers x (attention.output, output) x (weight, bias)

  // The storages the pickle names are exactly the zip's data/ entries, and every contiguous tensor's
  // values equal its entry's bytes found by a naive local-header scan.
  const auto bytes = tz::test::read_bytes(path);
  {
    io::detail::ZipReader zip(bytes.data(), bytes.size());
    const io::detail::ZipEntry* pkl = nullptr;
    std::set<std::string> data_entries;
    std::map<std::string, uint64_t> sizes;
    for (const auto& e : zip.entries()) {
      if (e.name.size() > 9 && e.name.substr(e.name.size() - 9) == "/data.pkl") pkl = &e;
      if (e.name.find("/data/") != std::string::npos) data_entries.insert(e.name), sizes[e.name] = e.size;
    }
    REQUIRE(pkl);
    const std::string folder = pkl->name.substr(0, pkl->name.find('/'));
    auto sd = io::detail::unpickle_state_dict(zip.bytes(*pkl), pkl->size);
    std::set<std::string> referenced;
    for (const auto& s : sd.storages) referenced.insert(folder + "/data/" + s.key);
    CHECK(referenced == data_entries);
    const auto raw = scan_local_entries(bytes, sizes);
    CHECK(raw.size() == data_entries.size());
    size_t compared = 0;
    for (const auto& [name, index] : sd.entries) {
      const auto& t = sd.tensors[index];
      const auto& s = sd.storages[t.storage];
      const auto& blob = raw.at(folder + "/data/" + s.key);
      const Tensor& got = ck.at(name);
      if (s.dtype == io::StoredDType::F32 && t.offset == 0 && got.numel() * 4 == static_cast<int64_t>(blob.size())) {
        CHECK(std::memcmp(got.data<float>(), blob.data(), blob.size()) == 0);
        ++compared;
      }
    }
    CHECK(compared >= ck.names.size() - 1);
  }
}
