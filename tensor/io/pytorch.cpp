// PyTorch checkpoint reading (torch.save zip format, PyTorch >= 1.6) and the format dispatch;
// declared in checkpoint.h.
// A torch.save file is a zip of stored entries under one top folder (its name varies: "archive",
// or the file's stem): <folder>/data.pkl is the pickled state_dict, <folder>/data/<key> holds each
// storage's raw little-endian bytes, and newer versions add <folder>/byteorder.
// The pickle is interpreted by the restricted unpickler (pickle.cpp) into a description of tensors
// over storages; this file checks the storages against the zip and copies each tensor out
// contiguously. Not here: the zip directory (zip.cpp), safetensors (safetensors.cpp).
#include <algorithm>
#include <cstring>

#include "tensor/io/checked.h"
#include "tensor/io/checkpoint.h"
#include "tensor/io/mapped_file.h"
#include "tensor/io/pickle.h"
#include "tensor/io/stored_dtype.h"
#include "tensor/io/zip.h"

namespace tz::io {

namespace {

// Copies tensors out with their own layout: converting dtypes (F16 -> float32, bool -> int64) can
// grow the data up to 8x, and stride-0 views may legitimately be larger than their storage, but
// not without bound: the total output may not exceed 8x the file plus this much.
constexpr int64_t kOutputSlackBytes = 16 << 20;

const detail::ZipEntry& find_data_pkl(const detail::ZipReader& zip) {
  const detail::ZipEntry* found = nullptr;
  for (const auto& e : zip.entries()) {
    const auto slash = e.name.find('/');
    if (slash == std::string::npos || slash == 0 || e.name.substr(slash) != "/data.pkl") continue;
    TZ_CHECK(!found, "pytorch: the zip has two pickles, '", found ? found->name : "", "' and '", e.name, "'");
    found = &e;
  }
  if (!found) {
    std::string listing;
    for (size_t k = 0; k < zip.entries().size() && k < 5; ++k)
      listing += (k ? ", '" : "'") + zip.entries()[k].name + "'";
    if (zip.entries().size() > 5) listing += ", ...";
    TZ_CHECK(false, "pytorch: no '<folder>/data.pkl' entry in the zip (entries: ", listing.empty() ? "none" : listing,
             "); not a torch.save file");
  }
  return *found;
}

bool is_contiguous_layout(const Shape& shape, const Shape& strides) {
  int64_t expected = 1;
  for (size_t d = shape.size(); d-- > 0;) {
    if (shape[d] == 1) continue;
    if (strides[d] != expected) return false;
    expected *= shape[d];
  }
  return true;
}

// A contiguous copy of the view described by `t` over `storage_bytes`, converted to float32/int64.
Tensor materialize(const detail::PickledTensor& t, StoredDType dt, const uint8_t* storage_bytes,
                   const std::string& what) {
  Tensor out = Tensor::empty(t.shape, compute_dtype(dt));
  const int64_t numel = out.numel();
  if (numel == 0) return out;
  const size_t in_size = stored_dtype_size(dt);
  auto* dst = static_cast<uint8_t*>(out.storage()->data());
  if (is_contiguous_layout(t.shape, t.strides)) {
    decode_elements(dt, storage_bytes + static_cast<size_t>(t.offset) * in_size, numel, dst, what);
    return out;
  }
  // Odometer over the output in row-major order; `src` follows in the storage's element space.
  // (The unpickler checked that the furthest element reached lies inside the storage.)
  const size_t out_size = dtype_size(out.dtype());
  const size_t nd = t.shape.size();
  std::vector<int64_t> idx(nd, 0);
  int64_t src = t.offset;
  for (int64_t k = 0; k < numel; ++k) {
    decode_elements(dt, storage_bytes + static_cast<size_t>(src) * in_size, 1, dst + static_cast<size_t>(k) * out_size,
                    what);
    for (size_t d = nd; d-- > 0;) {
      src += t.strides[d];
      if (++idx[d] < t.shape[d]) break;
      src -= t.strides[d] * t.shape[d];
      idx[d] = 0;
    }
  }
  return out;
}

Checkpoint parse_pytorch(const uint8_t* data, size_t size) {
  detail::ZipReader zip(data, size);
  const detail::ZipEntry& pkl = find_data_pkl(zip);
  const std::string folder = pkl.name.substr(0, pkl.name.find('/'));

  if (const auto* bo = zip.find(folder + "/byteorder")) {
    std::string order(reinterpret_cast<const char*>(zip.bytes(*bo)), std::min<uint64_t>(bo->size, 16));
    while (!order.empty() && (order.back() == '\n' || order.back() == ' ')) order.pop_back();
    TZ_CHECK(order == "little", "pytorch: byteorder is '", order, "'; only little-endian checkpoints are supported");
  }

  const detail::PickledStateDict sd = detail::unpickle_state_dict(zip.bytes(pkl), pkl.size);

  std::vector<const uint8_t*> storage_bytes;
  for (const auto& s : sd.storages) {
    const std::string entry_name = folder + "/data/" + s.key;
    const detail::ZipEntry* e = zip.find(entry_name);
    TZ_CHECK(e, "pytorch: storage '", s.key, "' has no zip entry '", entry_name, "'");
    const uint64_t expected = static_cast<uint64_t>(s.numel) * stored_dtype_size(s.dtype);  // checked in the unpickler
    TZ_CHECK(e->size == expected, "pytorch: storage '", s.key, "' ('", entry_name, "') has ", e->size,
             " bytes, expected ", expected, " (", s.numel, " x ", stored_dtype_name(s.dtype), ")");
    storage_bytes.push_back(zip.bytes(*e));
  }

  // Only tensors that some name refers to are copied, each once (tied weights share the result).
  std::vector<bool> used(sd.tensors.size(), false);
  for (const auto& [name, index] : sd.entries) used[index] = true;
  const int64_t budget = detail::add_nonneg(*detail::mul_nonneg(static_cast<int64_t>(size), 8), kOutputSlackBytes)
                             .value_or(INT64_MAX);
  int64_t total = 0;
  for (size_t k = 0; k < sd.tensors.size(); ++k) {
    if (!used[k]) continue;
    const auto& t = sd.tensors[k];
    const int64_t bytes = *detail::checked_numel(t.shape) * 8;  // numel checked; 8 bytes is the widest output
    total = detail::add_nonneg(total, bytes).value_or(INT64_MAX);
    TZ_CHECK(total <= budget, "pytorch: tensors would take more than ", budget, " bytes in memory for a file of ",
             size, " bytes (tensor of size ", shape_str(t.shape), " over storage '", sd.storages[t.storage].key, "')");
  }

  std::vector<Tensor> tensors(sd.tensors.size());
  Checkpoint ck;
  for (const auto& [name, index] : sd.entries) {
    const auto& t = sd.tensors[index];
    const auto& s = sd.storages[t.storage];
    if (!tensors[index].defined())
      tensors[index] = materialize(t, s.dtype, storage_bytes[t.storage], "pytorch: tensor '" + name + "'");
    ck.names.push_back(name);
    ck.tensors.emplace(name, tensors[index]);
    ck.source_dtype.emplace(name, stored_dtype_name(s.dtype));
  }
  return ck;
}

bool looks_like_zip(const uint8_t* data, size_t size) {
  return size >= 4 && data[0] == 'P' && data[1] == 'K' && (data[2] == 3 || data[2] == 5) && (data[3] == 4 || data[3] == 6);
}

// torch.save before 1.6 wrote a bare pickle that starts with PROTO 2 and a LONG1 magic number.
bool looks_like_legacy_torch(const uint8_t* data, size_t size) {
  return size >= 3 && data[0] == 0x80 && data[1] == 0x02 && data[2] == 0x8a;
}

// HDF5 (a TensorFlow tf_model.h5) is not guessed: its names are Keras', not PyTorch's.
void refuse_hdf5(const uint8_t* data, size_t size) {
  static const uint8_t kHdf5[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  TZ_CHECK(!(size >= 8 && std::memcmp(data, kHdf5, 8) == 0),
           "checkpoint: this is an HDF5 file (a TensorFlow tf_model.h5?), whose variables have Keras names and "
           "layouts; read it with load_keras_weights (tensor/io/keras_weights.h) and convert it with the model "
           "family's TF table (models/tf_weights.h), as from_pretrained does");
}

template <class F>
Checkpoint with_path(const std::string& path, F&& f) {
  try {
    return f();
  } catch (const Error& e) {
    throw Error(std::string(e.what()) + " [" + path + "]");
  }
}

}  // namespace

const Tensor& Checkpoint::at(const std::string& name) const {
  auto it = tensors.find(name);
  TZ_CHECK(it != tensors.end(), "checkpoint: no tensor named '", name, "' (the checkpoint has ", tensors.size(),
           " tensors)");
  return it->second;
}

Checkpoint load_pytorch_from_memory(const uint8_t* data, size_t size) {
  TZ_CHECK(!looks_like_legacy_torch(data, size),
           "pytorch: this is the legacy torch.save format (PyTorch < 1.6), which is not supported; "
           "re-save it with a newer PyTorch or as safetensors");
  return parse_pytorch(data, size);
}

Checkpoint load_pytorch(const std::string& path) {
  auto file = detail::MappedFile::open(path, "pytorch");
  return with_path(path, [&] { return load_pytorch_from_memory(file->data(), file->size()); });
}

Checkpoint load_checkpoint_from_memory(const uint8_t* data, size_t size) {
  refuse_hdf5(data, size);
  if (looks_like_zip(data, size) || looks_like_legacy_torch(data, size)) return load_pytorch_from_memory(data, size);
  return load_safetensors_from_memory(data, size);
}

Checkpoint load_checkpoint(const std::string& path) {
  auto file = detail::MappedFile::open(path, "checkpoint");
  with_path(path, [&] {
    refuse_hdf5(file->data(), file->size());
    return Checkpoint();
  });
  if (looks_like_zip(file->data(), file->size()) || looks_like_legacy_torch(file->data(), file->size()))
    return with_path(path, [&] { return load_pytorch_from_memory(file->data(), file->size()); });
  return load_safetensors(path);
}

}  // namespace tz::io
