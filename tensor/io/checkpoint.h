// Checkpoint files in and out: safetensors and PyTorch's torch.save zip format (read and write).
// Every byte of a file is untrusted: lengths, offsets, dtypes, shapes, zip records and pickle opcodes
// are checked before use, and a bad file throws tz::Error saying what is wrong.
// Not here: matching names to a model's parameters (nn's load_state_dict does that). The pieces
// live in safetensors.cpp, pytorch.cpp (+ zip.cpp, pickle.cpp), pytorch_writer.cpp and
// stored_dtype.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "tensor/io/stored_dtype.h"
#include "tensor/tensor.h"

namespace tz::io {

/// The tensors of one checkpoint file, by name.
struct Checkpoint {
  /// Tensor names in file order (safetensors header order; pickle order for PyTorch files).
  std::vector<std::string> names;
  /// float32 for the float dtypes (F64/F32/F16/BF16), int64 for integer and bool dtypes.
  /// F32 (and I64) safetensors tensors may be read-only views of the mapped file
  /// (storage()->writable() is false); clone them before writing into them.
  std::map<std::string, Tensor> tensors;
  /// The element type as stored in the file, safetensors spelling: "F32", "F16", "BF16", "I64", ...
  std::map<std::string, std::string> source_dtype;
  /// safetensors `__metadata__` (string to string); empty for PyTorch files.
  std::map<std::string, std::string> metadata;

  /// The tensor called `name`; throws naming it when the checkpoint has no such tensor.
  const Tensor& at(const std::string& name) const;
  bool contains(const std::string& name) const { return tensors.count(name) != 0; }
};

// ---- safetensors -------------------------------------------------------------------------------
/// Reads a .safetensors file through a read-only memory map. Converts F16/BF16/F64 to float32 and
/// integer/bool types to int64; F32 and I64 tensors whose bytes are suitably aligned become views
/// of the mapping (no copy), which stays mapped until the last such tensor is gone.
Checkpoint load_safetensors(const std::string& path);
/// The same from bytes in memory (always copies; the caller keeps ownership of `data`).
Checkpoint load_safetensors_from_memory(const uint8_t* data, size_t size);

/// Narrower element types for some tensors, by name: BF16 for a float32 tensor (rounded to
/// nearest even), I8 for an int64 one (every value must fit, else tz::Error).
using StoreAs = std::map<std::string, StoredDType>;

/// Writes float32 tensors as F32 and int64 tensors as I64 (or as `store_as` names), in the given
/// order, with `metadata` as `__metadata__`. Non-contiguous tensors are written in logical
/// (row-major) order. The file appears atomically: the bytes go to a temporary file in the same
/// folder, which is renamed over `path` only once complete.
void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {}, const StoreAs& store_as = {});
/// The bytes save_safetensors writes.
std::vector<uint8_t> safetensors_bytes(const std::vector<std::pair<std::string, Tensor>>& tensors,
                                       const std::map<std::string, std::string>& metadata = {},
                                       const StoreAs& store_as = {});

// ---- PyTorch -----------------------------------------------------------------------------------
/// Reads a torch.save(state_dict) file in the zip format of PyTorch >= 1.6. Understands only what
/// a state_dict needs (see docs/checkpoints.md) and rejects every other pickle global or opcode;
/// nothing in the file is ever executed. Tensors are contiguous copies (offsets, strides and
/// shared storages honoured).
Checkpoint load_pytorch(const std::string& path);
Checkpoint load_pytorch_from_memory(const uint8_t* data, size_t size);
/// Writes float32 and int64 tensors as torch.save(state_dict) does (zip format, one storage per
/// tensor, data 64-byte aligned; pytorch_writer.cpp), readable by torch.load and load_pytorch.
/// The file appears atomically. Throws tz::Error for duplicate names and for archives that would
/// need ZIP64 (over 4 GiB or 65535 entries).
void save_pytorch(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors);
/// The bytes save_pytorch writes.
std::vector<uint8_t> pytorch_bytes(const std::vector<std::pair<std::string, Tensor>>& tensors);

// ---- either ------------------------------------------------------------------------------------
/// Looks at the first bytes: a zip ("PK\3\4") is read as a PyTorch file, anything else as safetensors.
/// An HDF5 file (TensorFlow's tf_model.h5) is refused with a message pointing to keras_weights.h.
Checkpoint load_checkpoint(const std::string& path);
Checkpoint load_checkpoint_from_memory(const uint8_t* data, size_t size);

}  // namespace tz::io
