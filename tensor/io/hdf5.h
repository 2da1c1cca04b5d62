// HDF5 files in and out, through our own bounds-checked reader and writer (no libhdf5): the subset
// that Keras weight files (HuggingFace's tf_model.h5) and h5py's defaults use. A file becomes a small
// tree: groups with ordered children, attributes (strings or numbers), datasets as tensors.
// Not here: what Keras keeps in that tree (keras_weights.h); the on-disk constants and parsing
// internals (hdf5_format.h, hdf5_parse.h); reading (hdf5_reader.cpp, hdf5_objects.cpp,
// hdf5_data.cpp, hdf5_dense.cpp) and writing (hdf5_writer.cpp). docs/checkpoints.md lists what is
// supported and what is refused.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tensor/tensor.h"

namespace tz::io::hdf5 {

/// A named value attached to a group or a dataset.
struct Attribute {
  enum class Type {
    FixedString,     // fixed-length strings (numpy 'S'): what h5py 2 and split Keras attributes use
    VariableString,  // variable-length strings in the global heap: what h5py 3 writes for str
    Number,          // integers or floats
  };
  std::string name;
  Type type = Type::Number;
  /// [] for a scalar, [n] for a 1-D array, ...
  Shape shape;
  /// The strings in row-major order (string types), trailing padding removed.
  std::vector<std::string> strings;
  /// float32 for float types, int64 for integer types (Number), with `shape`.
  Tensor numbers;
  /// The stored element type, safetensors spelling ("F64", "F32", "I64", ...); "" for strings.
  std::string stored_dtype;
  /// FixedString: bytes per string (as read; when writing, 0 means the longest string, at least 1).
  uint32_t string_size = 0;

  bool is_string() const { return type != Type::Number; }

  /// A 1-D array of fixed-length strings of `size` bytes each (0: the longest, at least 1 byte).
  static Attribute fixed_strings(std::string name, std::vector<std::string> values, uint32_t size = 0);
  /// A scalar variable-length string.
  static Attribute variable_string(std::string name, std::string value);
  /// Numbers with the tensor's shape: float32 written as "F32" (or "F64" when asked), int64 as "I64".
  static Attribute number_array(std::string name, Tensor values, std::string stored_dtype = "");
};

/// A group or a dataset.
struct Node {
  enum class Kind { Group, Dataset };
  Kind kind = Kind::Group;
  /// The link name in the parent group; "" for the root.
  std::string name;
  std::vector<Attribute> attributes;
  /// Groups: the members. Read from a file: in name order (creation order when the group tracks it).
  std::vector<Node> children;
  /// Datasets: the values with the dataspace's shape; float32 for float types, int64 for integers.
  /// Contiguous little-endian float32 data of a file read by path may view the file's read-only
  /// mapping (storage()->writable() is false), as load_safetensors does.
  Tensor data;
  /// Datasets read from a file: the stored element type ("F32", "F16", "F64", "I32", ...).
  std::string stored_dtype;

  bool is_group() const { return kind == Kind::Group; }
  /// The member called `name`, or null.
  const Node* child(std::string_view name) const;
  Node* child(std::string_view name);
  /// The node at a '/'-separated path below this one ("a/b/c"), or null.
  const Node* find(std::string_view path) const;
  /// The attribute called `name`, or null.
  const Attribute* attribute(std::string_view name) const;

  /// The group at a '/'-separated path below this one, creating missing groups on the way
  /// (as h5py does for create_group/create_dataset with a path). Throws if a dataset is in the way.
  Node& group_at(std::string_view path);
  /// Adds a dataset at a '/'-separated path (intermediate groups created); throws if the name is taken.
  Node& add_dataset(std::string_view path, Tensor data);
};

}  // namespace tz::io::hdf5

namespace tz::io {

/// Reads an HDF5 file (superblock versions 0-3) through a read-only memory map. Groups may use
/// symbol tables or link messages (compact or dense); datasets may be contiguous, compact or
/// chunked without filters; see docs/checkpoints.md for the exact subset. Everything read from the
/// file is checked before use; a malformed or unsupported file throws tz::Error
/// "hdf5: <what is wrong> (object '<path>')" ending with " [<file>]".
hdf5::Node load_hdf5(const std::string& path);
/// The same from bytes in memory (always copies; the caller keeps ownership of `data`).
hdf5::Node load_hdf5_from_memory(const uint8_t* data, size_t size);

/// Writes `root` the way h5py writes with its default settings: superblock version 0, groups as
/// symbol tables, float32 and int64 datasets contiguous and little-endian, attributes as fixed-length
/// strings, variable-length strings or numbers (F32, F64, I64). h5py reads the result. The file
/// appears atomically (a temporary file in the same folder, renamed when complete).
void save_hdf5(const std::string& path, const hdf5::Node& root);
/// The bytes save_hdf5 writes.
std::vector<uint8_t> hdf5_bytes(const hdf5::Node& root);

}  // namespace tz::io
