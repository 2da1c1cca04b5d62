// The HDF5 reader's internals (internal to tensor/io): a bounds-checked view of the file that also
// carries the error context and the reading limits, a cursor over a checked byte range, and the
// decoded forms of the object header messages the reader understands.
// Where each piece lives: object headers, heaps and version-1 B-trees in hdf5_objects.cpp; the
// messages in hdf5_messages.cpp; dense storage (fractal heaps, version-2 B-trees) in hdf5_dense.cpp; element
// decoding and dataset storage in hdf5_data.cpp; the superblock and the walk over groups in
// hdf5_reader.cpp.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "tensor/io/hdf5.h"
#include "tensor/io/stored_dtype.h"

namespace tz::io::hdf5::detail {

class Cursor;

/// The file's bytes from the superblock on (HDF5 addresses are relative to it), the sizes the
/// superblock declares, and the state of one read: where in the object tree we are (for errors),
/// how much memory the result may take, and caches of parsed heaps.
class File {
 public:
  File(const uint8_t* data, uint64_t size) : data_(data), size_(size) {}

  uint64_t size() const { return size_; }
  int offset_size = 8;  // bytes of an address
  int length_size = 8;  // bytes of a length
  /// The undefined address (all bits set at offset_size bytes).
  uint64_t undefined_address() const;
  bool is_undefined(uint64_t address) const { return address == undefined_address(); }

  /// The bytes [address, address + n); throws naming `what` when they are not all inside the file.
  const uint8_t* bytes(uint64_t address, uint64_t n, std::string_view what) const;
  /// A cursor over [address, address + n) (checked as bytes() does).
  Cursor cursor(uint64_t address, uint64_t n, std::string_view what) const;
  /// True when [address, address + n) lies inside the file.
  bool contains(uint64_t address, uint64_t n) const { return address <= size_ && n <= size_ - address; }

  /// Verifies the lookup3 checksum stored in the 4 bytes after [address, address + n).
  void check_checksum(uint64_t address, uint64_t n, std::string_view what) const;

  /// Throws tz::Error "hdf5: <pieces> (object '<current path>')".
  template <class... Args>
  [[noreturn]] void fail(const Args&... args) const {
    throw Error(::tz::detail::concat("hdf5: ", args..., context()));
  }
  template <class... Args>
  void check(bool ok, const Args&... args) const {
    if (!ok) fail(args...);
  }

  /// The object being read, for error messages ("/a/b"); set by the walk.
  std::string path;

  /// Counts `bytes` of memory the result will hold against the limit (8x the file size + 16 MiB):
  /// hostile files could otherwise ask for far more memory than they are large (huge dataspaces
  /// with a fill value, many links to one large dataset, repeated heap objects).
  void charge(uint64_t bytes, std::string_view what);

  /// Global heap collections parsed so far: address -> (object index -> bytes).
  std::map<uint64_t, std::map<uint32_t, std::pair<const uint8_t*, uint64_t>>> global_heaps;

 private:
  std::string context() const;
  const uint8_t* data_;
  uint64_t size_;
  uint64_t charged_ = 0;
};

/// Sequential little-endian reads from a checked byte range; running past its end throws
/// "hdf5: <what> at address A is truncated ...".
class Cursor {
 public:
  Cursor(const File& file, const uint8_t* p, uint64_t n, uint64_t address, std::string_view what)
      : file_(&file), p_(p), end_(p + n), address_(address), what_(what) {}

  uint8_t u8() { return static_cast<uint8_t>(uint(1)); }
  uint16_t u16() { return static_cast<uint16_t>(uint(2)); }
  uint32_t u32() { return static_cast<uint32_t>(uint(4)); }
  uint64_t u64() { return uint(8); }
  /// An unsigned little-endian integer of `nbytes` (0..8) bytes.
  uint64_t uint(size_t nbytes);
  uint64_t address() { return uint(static_cast<size_t>(file_->offset_size)); }
  uint64_t length() { return uint(static_cast<size_t>(file_->length_size)); }
  /// The next `n` bytes (and moves past them).
  const uint8_t* take(uint64_t n);
  void skip(uint64_t n) { take(n); }
  /// A cursor over the next `n` bytes (and moves past them).
  Cursor sub(uint64_t n, std::string_view what);

  uint64_t remaining() const { return static_cast<uint64_t>(end_ - p_); }
  /// The file address of the next byte.
  uint64_t position() const { return address_; }
  const uint8_t* ptr() const { return p_; }
  const File& file() const { return *file_; }
  const std::string& what() const { return what_; }

 private:
  void need(uint64_t n);
  const File* file_;
  const uint8_t* p_;
  const uint8_t* end_;
  uint64_t address_;
  std::string what_;
};

// ---- object headers ------------------------------------------------------------------------------

struct Message {
  uint16_t type = 0;
  uint8_t flags = 0;
  uint64_t address = 0;  // of the message data
  const uint8_t* data = nullptr;
  uint64_t size = 0;
  Cursor cursor(const File& f, std::string_view what) const { return Cursor(f, data, size, address, what); }
};

struct ObjectHeader {
  uint64_t address = 0;
  int version = 0;
  std::vector<Message> messages;
  /// The first message of `type`, or null.
  const Message* find(uint16_t type) const;
};

/// Reads the object header at `address` (version 1 or 2) with all its continuation blocks. Checks
/// signatures, checksums, that every chunk lies in the file, that chunks do not overlap (which also
/// stops cyclic continuation chains), and refuses shared messages and unknown ones flagged
/// "fail if unknown".
ObjectHeader read_object_header(const File& f, uint64_t address);

// ---- messages --------------------------------------------------------------------------------

struct Dataspace {
  Shape dims;                 // [] for scalar and null spaces
  std::vector<uint64_t> max;  // maximum dims when stored (all-ones = unlimited), else empty
  bool null = false;          // no elements at all (version 2 "null" space)
  int64_t numel = 0;
};
Dataspace decode_dataspace(Cursor c);

struct Datatype {
  unsigned cls = 0;      // TypeClass
  unsigned version = 0;
  uint32_t bits = 0;     // the 24-bit class bit field
  uint32_t size = 0;     // bytes per element
  // Numbers (fixed-point and IEEE floating-point): the element type, and its byte order.
  bool is_number = false;
  StoredDType stored = StoredDType::F32;
  bool big_endian = false;
  // Strings: fixed-length (class 3) or variable-length (class 9, string flavour).
  bool is_fixed_string = false;
  bool is_variable_string = false;
  unsigned string_padding = 0;  // 0 null-terminated, 1 null-padded, 2 space-padded

  /// "floating-point (4 bytes)", "compound", ... for error messages.
  std::string describe() const;
};
/// Decodes a datatype message (recursing into a variable-length type's base type at most once).
/// Any class may be decoded; which ones can be read as values is decided where values are read.
Datatype decode_datatype(Cursor& c, int depth = 0);

struct Layout {
  enum Class { Compact = 0, Contiguous = 1, Chunked = 2, Virtual = 3 };
  int version = 0;
  int cls = 0;
  uint64_t address = 0;              // contiguous data, chunk index, or the single / first chunk
  uint64_t size = 0;                 // contiguous: bytes; compact: bytes of `compact`
  const uint8_t* compact = nullptr;  // compact data (inside the message)
  uint64_t compact_address = 0;
  std::vector<uint64_t> chunk;       // chunk dims in elements (rank entries)
  uint32_t chunk_element_size = 0;   // the trailing "dimension" of chunked layouts
  int index_type = 0;                // version 4 chunk index: 1 single, 2 implicit, 3 fixed array, ...
  uint8_t chunk_flags = 0;           // version 4 chunked flags
};
Layout decode_layout(Cursor c);

struct FillValue {
  bool defined = false;
  const uint8_t* value = nullptr;  // `size` bytes when defined (inside the message)
  uint64_t size = 0;
};
FillValue decode_fill_value(Cursor c, bool old_style);

/// The filter ids of a filter pipeline message, in pipeline order.
std::vector<unsigned> decode_filter_ids(Cursor c);

struct AttributeMessage {
  std::string name;
  Datatype type;
  Dataspace space;
  const uint8_t* data = nullptr;
  uint64_t data_size = 0;
  uint64_t data_address = 0;
};
AttributeMessage decode_attribute(Cursor c);

struct LinkMessage {
  std::string name;
  unsigned link_type = 0;  // 0 hard, 1 soft, 64 external, 65+ user-defined
  uint64_t address = 0;    // hard links: the object header
  bool has_order = false;
  uint64_t order = 0;      // creation order, when stored
};
LinkMessage decode_link(Cursor c);
/// Throws unless `name` can name a link: not empty, no '/' or NUL, not "." or "..".
void check_link_name(const File& f, const std::string& name);

/// Where a group's links or an object's attributes are when there are many (the link info and
/// attribute info messages): a fractal heap of their messages and a version-2 B-tree on names.
struct DenseStorage {
  uint64_t heap = 0;        // undefined when the links / attributes are in the object header
  uint64_t name_index = 0;
};
/// Decodes a link info message, or with `attributes` an attribute info message (the two differ only
/// in the width of the creation index they may carry).
DenseStorage decode_dense_storage(Cursor c, bool attributes);

struct SymbolTable {
  uint64_t btree = 0;
  uint64_t heap = 0;
};
SymbolTable decode_symbol_table(Cursor c);

// ---- heaps and version-1 B-trees ---------------------------------------------------------------

/// A group's local heap (the names of its links): the data segment, checked inside the file.
struct LocalHeap {
  const uint8_t* data = nullptr;
  uint64_t size = 0;
  uint64_t address = 0;
  /// The NUL-terminated string at `offset`; throws when it is outside or unterminated.
  std::string string_at(const File& f, uint64_t offset, std::string_view what) const;
};
LocalHeap read_local_heap(const File& f, uint64_t address);

/// The bytes of object `index` in the global heap collection at `address` (parsed once, cached).
std::pair<const uint8_t*, uint64_t> global_heap_object(File& f, uint64_t address, uint32_t index);

/// One link of a symbol-table group: its name and object header address (soft links skipped).
struct SymbolEntry {
  std::string name;
  uint64_t address = 0;
};
/// Every link of an "old style" group, in the B-tree's (name) order. The B-tree's levels must
/// decrease by one from parent to child and no node may be reached twice, so the walk ends.
std::vector<SymbolEntry> read_symbol_table(const File& f, const SymbolTable& table);

/// One chunk of a chunked dataset, as an index lists it.
struct ChunkRecord {
  std::vector<uint64_t> offset;  // element offsets, one per dataset dimension
  uint64_t address = 0;
  uint64_t size = 0;             // bytes stored
  uint32_t filter_mask = 0;
};
/// Every chunk of a version-1 B-tree chunk index (layout versions 1-3), in key order.
std::vector<ChunkRecord> read_chunk_btree(const File& f, uint64_t address, size_t rank);

// ---- dense storage (hdf5_dense.cpp) ------------------------------------------------------------

/// The link messages of a group whose links live in a fractal heap ("dense" storage), found through
/// the version-2 B-tree name index.
std::vector<LinkMessage> read_dense_links(File& f, const DenseStorage& info);
/// The attribute messages stored densely (a fractal heap indexed by a version-2 B-tree on names).
/// The returned messages point into the file's bytes.
std::vector<AttributeMessage> read_dense_attributes(File& f, const DenseStorage& info);

// ---- values (hdf5_data.cpp) --------------------------------------------------------------------

/// An attribute's value from its message (strings through the global heap when variable-length).
Attribute read_attribute(File& f, const AttributeMessage& m);

/// What a dataset's object header says about it.
struct DatasetInfo {
  Dataspace space;
  Datatype type;
  Layout layout;
  FillValue fill;
  std::vector<unsigned> filters;
  bool external = false;
};
/// The dataset's values as a float32 or int64 tensor. `keepalive`, when set, owns the file bytes:
/// aligned contiguous little-endian float32 data then becomes a view of them instead of a copy.
Tensor read_dataset(File& f, const DatasetInfo& info, const std::shared_ptr<const void>& keepalive);

}  // namespace tz::io::hdf5::detail
