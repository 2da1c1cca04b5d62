// Writing an HDF5 tree (save_hdf5 in hdf5.h) the way h5py does with its default settings, which is
// what Keras' save_weights produces: superblock version 0, version-1 object headers, groups as
// symbol tables (a version-1 B-tree of symbol table nodes, names in a local heap), contiguous
// little-endian datasets, version-1 attribute messages, variable-length strings in a global heap.
// The file is laid out as [superblock][metadata of every object][dataset data, 8-byte aligned]:
// objects are written children first so that parents know their addresses, and dataset addresses
// are patched in once the size of the metadata is known, so tensor bytes are streamed out without
// a second copy. Not here: reading (hdf5_reader.cpp).
#include <algorithm>
#include <cstring>
#include <set>

#include "core/error.h"
#include "tensor/io/atomic_write.h"
#include "tensor/io/hdf5.h"
#include "tensor/io/hdf5_format.h"

namespace tz::io {

namespace {

using hdf5::Attribute;
using hdf5::Node;
using namespace hdf5::detail;

// h5py's defaults (libhdf5's): 8-byte addresses and lengths; symbol table nodes hold up to
// 2 * kLeafK links, group B-tree nodes up to 2 * kInternalK children.
constexpr uint64_t kLeafK = 4;
constexpr uint64_t kInternalK = 16;
constexpr uint64_t kUndefined = UINT64_MAX;
constexpr uint64_t kSymbolEntrySize = 40;  // name offset, header address, cache type, reserved, scratch pad
constexpr uint64_t kSymbolNodeSize = 8 + 2 * kLeafK * kSymbolEntrySize;
constexpr uint64_t kGroupNodeSize = 24 + 2 * kInternalK * 8 + (2 * kInternalK + 1) * 8;
constexpr uint64_t kMinGlobalHeap = 4096;  // libhdf5's smallest collection
constexpr int kMaxDepth = 1000;            // guards the recursion against absurd trees
// A message's size field has 16 bits and version-1 messages are padded to 8 bytes.
constexpr uint64_t kMaxMessage = 65528;

uint64_t pad8(uint64_t n) { return (n + 7) / 8 * 8; }

// A growing little-endian byte image of the file's metadata, addressed from 0.
class Image {
 public:
  uint64_t size() const { return bytes_.size(); }
  void u8(uint64_t v) { bytes_.push_back(static_cast<uint8_t>(v)); }
  void u16(uint64_t v) { le(v, 2); }
  void u32(uint64_t v) { le(v, 4); }
  void u64(uint64_t v) { le(v, 8); }
  void raw(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    bytes_.insert(bytes_.end(), b, b + n);
  }
  void zeros(uint64_t n) { bytes_.insert(bytes_.end(), n, 0); }
  void align8() { zeros(pad8(size()) - size()); }
  void patch_u64(uint64_t at, uint64_t v) {
    for (int i = 0; i < 8; ++i) bytes_[at + i] = static_cast<uint8_t>(v >> (8 * i));
  }
  const std::vector<uint8_t>& bytes() const { return bytes_; }

 private:
  void le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) bytes_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  std::vector<uint8_t> bytes_;
};

// ---- encodings of the messages h5py writes ------------------------------------------------------

void put_float_type(Image& m, uint32_t size) {
  // IEEE little-endian: implied mantissa MSB (bits 4-5 = 2), sign at the top bit.
  const uint16_t precision = static_cast<uint16_t>(8 * size);
  m.u8(0x10 | kClassFloat);
  m.u8(0x20);
  m.u8(precision - 1);
  m.u8(0);
  m.u32(size);
  m.u16(0);
  m.u16(precision);
  m.u8(size == 4 ? 23 : 52);    // exponent location
  m.u8(size == 4 ? 8 : 11);     // exponent size
  m.u8(0);                      // mantissa location
  m.u8(size == 4 ? 23 : 52);    // mantissa size
  m.u32(size == 4 ? 127 : 1023);
}

void put_int64_type(Image& m) {
  m.u8(0x10 | kClassFixedPoint);
  m.u8(0x08);  // signed, little-endian
  m.u8(0);
  m.u8(0);
  m.u32(8);
  m.u16(0);
  m.u16(64);
}

void put_fixed_string_type(Image& m, uint32_t size) {
  m.u8(0x10 | kClassString);
  m.u8(0x01);  // null-padded ASCII, as numpy 'S' arrays are stored
  m.u8(0);
  m.u8(0);
  m.u32(size);
}

void put_variable_string_type(Image& m) {
  m.u8(0x10 | kClassVarLen);
  m.u8(0x01);  // a string, null-terminated, ASCII
  m.u8(0);
  m.u8(0);
  m.u32(16);  // length, collection address, object index
  m.u8(0x10 | kClassFixedPoint);  // base type: one unsigned byte
  m.u8(0);
  m.u8(0);
  m.u8(0);
  m.u32(1);
  m.u16(0);
  m.u16(8);
}

// A version-1 dataspace: scalar for rank 0, else simple with the maximum dims equal to the dims.
void put_dataspace(Image& m, const Shape& shape) {
  m.u8(1);
  m.u8(shape.size());
  m.u8(shape.empty() ? 0 : 1);
  m.zeros(5);
  for (int pass = 0; pass < (shape.empty() ? 0 : 2); ++pass)
    for (int64_t d : shape) m.u64(static_cast<uint64_t>(d));
}

struct Message {
  uint16_t type;
  uint8_t flags;
  Image body;
};

uint64_t element_count(const Shape& s) {
  uint64_t n = 1;
  for (int64_t d : s) n *= static_cast<uint64_t>(d);
  return n;
}

void check_name(const std::string& name, const char* what) {
  TZ_CHECK(!name.empty() && name.find('/') == std::string::npos && name.find('\0') == std::string::npos &&
               name != "." && name != "..",
           "save_hdf5: ", what, " name '", name, "' is not a plain name (empty, '.', '..', or containing '/' or NUL)");
}

// Everything written so far: the metadata image, where dataset addresses must go, the data order.
class Writer {
 public:
  Image image;
  struct Data {
    uint64_t patch_at;  // of the layout message's address field
    const Tensor* tensor;
    uint64_t nbytes;
  };
  std::vector<Data> data;

  // Writes `n` (a group) and everything below it; returns its object header address and, through
  // `btree` / `heap`, its symbol table's, which a parent caches in its symbol table entry.
  uint64_t write_group(const Node& n, int depth, uint64_t& btree, uint64_t& heap) {
    TZ_CHECK(depth <= kMaxDepth, "save_hdf5: groups nest deeper than ", kMaxDepth, " levels");
    struct Entry {
      const Node* node;
      uint64_t header, btree, heap;
    };
    std::vector<Entry> entries;
    std::set<std::string> names;
    for (const Node& c : n.children) {
      check_name(c.name, "member");
      TZ_CHECK(names.insert(c.name).second, "save_hdf5: group '", n.name, "' has two members named '", c.name, "'");
      Entry e{&c, 0, kUndefined, kUndefined};
      e.header = c.is_group() ? write_group(c, depth + 1, e.btree, e.heap) : write_dataset(c);
      entries.push_back(e);
    }
    // libhdf5 finds names by binary search: symbol tables are sorted by strcmp order.
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.node->name < b.node->name; });

    // Local heap: "" at offset 0, then each name NUL-terminated and padded to 8 bytes.
    std::vector<uint64_t> name_offset;
    uint64_t heap_size = 8;
    for (const Entry& e : entries) {
      name_offset.push_back(heap_size);
      heap_size += pad8(e.node->name.size() + 1);
    }
    image.align8();
    heap = image.size();
    image.raw("HEAP", 4);
    image.u8(0);
    image.zeros(3);
    image.u64(heap_size);
    image.u64(1);  // no free block (libhdf5's "null" free list offset)
    image.u64(heap + 32);
    image.zeros(8);
    for (const Entry& e : entries) {
      image.raw(e.node->name.data(), e.node->name.size());
      image.zeros(pad8(e.node->name.size() + 1) - e.node->name.size());
    }

    // Symbol table nodes, 2K entries each, then the B-tree over them, level by level.
    struct Child {
      uint64_t address;
      uint64_t last_name;  // heap offset of the greatest name below it (the key after it)
    };
    std::vector<Child> level;
    for (size_t first = 0; first < entries.size(); first += 2 * kLeafK) {
      const size_t count = std::min<size_t>(2 * kLeafK, entries.size() - first);
      const uint64_t at = image.size();
      image.raw("SNOD", 4);
      image.u8(1);
      image.u8(0);
      image.u16(count);
      for (size_t k = first; k < first + count; ++k) {
        const Entry& e = entries[k];
        image.u64(name_offset[k]);
        image.u64(e.header);
        image.u32(e.node->is_group() ? 1 : 0);  // groups cache their symbol table's addresses
        image.u32(0);
        image.u64(e.node->is_group() ? e.btree : 0);
        image.u64(e.node->is_group() ? e.heap : 0);
      }
      image.zeros(kSymbolNodeSize - 8 - count * kSymbolEntrySize);
      level.push_back({at, name_offset[first + count - 1]});
    }
    unsigned height = 0;
    do {
      std::vector<Child> parents;
      const size_t nodes = std::max<size_t>(1, (level.size() + 2 * kInternalK - 1) / (2 * kInternalK));
      std::vector<uint64_t> addresses(nodes);
      for (size_t k = 0; k < nodes; ++k) addresses[k] = image.size() + k * kGroupNodeSize;
      for (size_t k = 0; k < nodes; ++k) {
        const size_t first = k * 2 * kInternalK;
        const size_t count = std::min<size_t>(2 * kInternalK, level.size() - std::min(level.size(), first));
        image.raw("TREE", 4);
        image.u8(0);
        image.u8(height);
        image.u16(count);
        image.u64(k > 0 ? addresses[k - 1] : kUndefined);
        image.u64(k + 1 < nodes ? addresses[k + 1] : kUndefined);
        // key[0], then child[i] and key[i + 1] = the greatest name in child[i]; key[0] is the
        // empty string at heap offset 0, except that a right sibling starts at its left's last key.
        image.u64(k > 0 ? level[first - 1].last_name : 0);
        for (size_t i = first; i < first + count; ++i) {
          image.u64(level[i].address);
          image.u64(level[i].last_name);
        }
        image.zeros(kGroupNodeSize - 24 - (2 * count + 1) * 8);
        parents.push_back({addresses[k], count ? level[first + count - 1].last_name : 0});
      }
      level = std::move(parents);
      ++height;
    } while (level.size() > 1);
    btree = level[0].address;

    std::vector<Message> messages;
    Message table{kMsgSymbolTable, 0, {}};
    table.body.u64(btree);
    table.body.u64(heap);
    messages.push_back(std::move(table));
    return write_header(n, messages);
  }

  uint64_t write_dataset(const Node& n) {
    const Tensor& t = n.data;
    TZ_CHECK(t.defined(), "save_hdf5: dataset '", n.name, "' has no data");
    TZ_CHECK(t.dtype() == DType::Float32 || t.dtype() == DType::Int64, "save_hdf5: dataset '", n.name,
             "' must be float32 or int64");
    std::vector<Message> messages;
    Message space{kMsgDataspace, 0, {}};
    put_dataspace(space.body, t.shape());
    messages.push_back(std::move(space));
    Message type{kMsgDatatype, kMsgFlagConstant, {}};
    if (t.dtype() == DType::Float32) put_float_type(type.body, 4);
    else put_int64_type(type.body);
    messages.push_back(std::move(type));
    Message fill{kMsgFillValue, kMsgFlagConstant, {}};
    fill.body.u8(2);   // version 2
    fill.body.u8(2);   // allocate late
    fill.body.u8(2);   // write the fill value only if the user set one
    fill.body.u8(1);   // "defined" with size 0: the library default (zeros)
    fill.body.u32(0);
    messages.push_back(std::move(fill));
    const uint64_t nbytes = static_cast<uint64_t>(t.numel()) * dtype_size(t.dtype());
    Message layout{kMsgLayout, 0, {}};
    layout.body.u8(3);
    layout.body.u8(1);  // contiguous
    layout.body.u64(kUndefined);  // patched with the data's address once the metadata is complete
    layout.body.u64(nbytes);
    messages.push_back(std::move(layout));
    const uint64_t header = write_header(n, messages);
    if (nbytes > 0) {
      // The layout message is the last before the attributes: find its address field.
      data.push_back({layout_address_, &t, nbytes});
    }
    return header;
  }

 private:
  // Writes an object header with `messages` followed by the node's attributes.
  uint64_t write_header(const Node& n, std::vector<Message>& messages) {
    std::set<std::string> names;
    std::vector<const Attribute*> variable;
    for (const Attribute& a : n.attributes) {
      TZ_CHECK(!a.name.empty() && a.name.find('\0') == std::string::npos, "save_hdf5: attribute name '", a.name,
               "' of '", n.name, "' is empty or contains NUL");
      TZ_CHECK(names.insert(a.name).second, "save_hdf5: '", n.name, "' has two attributes named '", a.name, "'");
      if (a.type == Attribute::Type::VariableString) variable.push_back(&a);
    }
    // Variable-length strings live in a global heap collection written just before the header.
    std::vector<uint64_t> heap_object;  // per string of `variable`, in order: object index
    uint64_t collection = kUndefined;
    if (!variable.empty()) collection = write_global_heap(variable);
    uint32_t next_object = 1;
    for (const Attribute& a : n.attributes) messages.push_back(attribute_message(n, a, collection, next_object));

    image.align8();
    const uint64_t at = image.size();
    uint64_t body = 0;
    for (const Message& m : messages) body += 8 + pad8(m.body.size());
    TZ_CHECK(body <= UINT32_MAX, "save_hdf5: the header of '", n.name, "' would exceed 4 GiB");
    image.u8(1);  // version
    image.u8(0);
    image.u16(messages.size());
    image.u32(1);  // reference count
    image.u32(body);
    image.zeros(4);
    for (const Message& m : messages) {
      image.u16(m.type);
      image.u16(pad8(m.body.size()));
      image.u8(m.flags);
      image.zeros(3);
      if (m.type == kMsgLayout) layout_address_ = image.size() + 2;
      image.raw(m.body.bytes().data(), m.body.size());
      image.zeros(pad8(m.body.size()) - m.body.size());
    }
    return at;
  }

  uint64_t write_global_heap(const std::vector<const Attribute*>& variable) {
    uint64_t objects = 0;
    for (const Attribute* a : variable)
      for (const std::string& s : a->strings)
        if (!s.empty()) objects += 16 + pad8(s.size());
    const uint64_t size = std::max(kMinGlobalHeap, 16 + objects + 16);
    image.align8();
    const uint64_t at = image.size();
    image.raw("GCOL", 4);
    image.u8(1);
    image.zeros(3);
    image.u64(size);
    uint16_t index = 1;
    for (const Attribute* a : variable) {
      for (const std::string& s : a->strings) {
        if (s.empty()) continue;  // stored as length 0 without a heap object
        TZ_CHECK(index < 0xffff, "save_hdf5: more than 65534 variable-length strings on one object");
        image.u16(index++);
        image.u16(1);  // reference count
        image.zeros(4);
        image.u64(s.size());
        image.raw(s.data(), s.size());
        image.zeros(pad8(s.size()) - s.size());
      }
    }
    const uint64_t free = size - (image.size() - at);
    image.u16(0);  // object 0: the free space, its header included
    image.zeros(6);
    image.u64(free);
    image.zeros(free - 16);
    return at;
  }

  Message attribute_message(const Node& n, const Attribute& a, uint64_t collection, uint32_t& next_object) {
    Image type, space, value;
    Shape shape = a.shape;
    switch (a.type) {
      case Attribute::Type::FixedString: {
        TZ_CHECK(element_count(shape) == a.strings.size(), "save_hdf5: attribute '", a.name, "' has shape ",
                 shape_str(shape), " but ", a.strings.size(), " strings");
        size_t longest = 1;  // numpy gives an array of empty strings the type 'S1'
        for (const std::string& s : a.strings) longest = std::max(longest, s.size());
        TZ_CHECK(a.string_size == 0 || a.string_size >= longest, "save_hdf5: attribute '", a.name, "' has strings of ",
                 longest, " bytes, longer than its string size ", a.string_size);
        if (a.string_size) longest = a.string_size;
        put_fixed_string_type(type, static_cast<uint32_t>(longest));
        for (const std::string& s : a.strings) {
          value.raw(s.data(), s.size());
          value.zeros(longest - s.size());
        }
        break;
      }
      case Attribute::Type::VariableString:
        TZ_CHECK(element_count(shape) == a.strings.size(), "save_hdf5: attribute '", a.name, "' has shape ",
                 shape_str(shape), " but ", a.strings.size(), " strings");
        put_variable_string_type(type);
        for (const std::string& s : a.strings) {
          value.u32(s.size());
          value.u64(s.empty() ? 0 : collection);
          value.u32(s.empty() ? 0 : next_object++);
        }
        break;
      case Attribute::Type::Number: {
        const Tensor& t = a.numbers;
        TZ_CHECK(t.defined(), "save_hdf5: attribute '", a.name, "' has no values");
        shape = t.shape();
        const std::string& st = a.stored_dtype;
        if (t.dtype() == DType::Float32 && (st.empty() || st == "F32" || st == "F64")) {
          const bool wide = st == "F64";
          put_float_type(type, wide ? 8 : 4);
          for (float v : t.to_vector<float>()) {
            if (wide) {
              const double d = v;
              value.raw(&d, 8);
            } else {
              value.raw(&v, 4);
            }
          }
        } else if (t.dtype() == DType::Int64 && (st.empty() || st == "I64")) {
          put_int64_type(type);
          for (int64_t v : t.to_vector<int64_t>()) value.raw(&v, 8);
        } else {
          TZ_CHECK(false, "save_hdf5: attribute '", a.name, "' cannot be written as '", st,
                   "' (float32 as F32 or F64, int64 as I64)");
        }
        break;
      }
    }
    put_dataspace(space, shape);
    Message m{kMsgAttribute, 0, {}};
    m.body.u8(1);
    m.body.u8(0);
    m.body.u16(a.name.size() + 1);
    m.body.u16(type.size());
    m.body.u16(space.size());
    m.body.raw(a.name.data(), a.name.size());
    m.body.zeros(pad8(a.name.size() + 1) - a.name.size());
    m.body.raw(type.bytes().data(), type.size());
    m.body.zeros(pad8(type.size()) - type.size());
    m.body.raw(space.bytes().data(), space.size());
    m.body.zeros(pad8(space.size()) - space.size());
    m.body.raw(value.bytes().data(), value.size());
    TZ_CHECK(m.body.size() <= kMaxMessage, "save_hdf5: attribute '", a.name, "' of '", n.name, "' needs ",
             m.body.size(), " bytes, but an object header message holds at most ", kMaxMessage,
             " (split it into several attributes, as Keras does)");
    return m;
  }

  uint64_t layout_address_ = 0;
};

void write_hdf5(const detail::ByteSink& sink, const Node& root) {
  TZ_CHECK(root.is_group(), "save_hdf5: the root must be a group");
  Writer w;
  // Superblock version 0; the end-of-file address and the root's addresses are patched below.
  Image& m = w.image;
  m.raw(kSignature, 8);
  m.u8(0);  // superblock version
  m.u8(0);  // free-space version
  m.u8(0);  // root symbol table entry version
  m.u8(0);
  m.u8(0);  // shared header message version
  m.u8(8);  // size of addresses
  m.u8(8);  // size of lengths
  m.u8(0);
  m.u16(kLeafK);
  m.u16(kInternalK);
  m.u32(0);           // file consistency flags
  m.u64(0);           // base address
  m.u64(kUndefined);  // free-space info
  const uint64_t eof_at = m.size();
  m.u64(0);           // end of file
  m.u64(kUndefined);  // driver information block
  m.u64(0);           // root symbol table entry: link name offset
  const uint64_t root_at = m.size();
  m.u64(0);           // object header address
  m.u32(1);           // cache type 1: the scratch pad holds the root's B-tree and heap
  m.u32(0);
  m.u64(0);
  m.u64(0);

  uint64_t btree = 0, heap = 0;
  const uint64_t root_header = w.write_group(root, 0, btree, heap);
  m.patch_u64(root_at, root_header);
  m.patch_u64(root_at + 16, btree);
  m.patch_u64(root_at + 24, heap);
  m.align8();
  uint64_t end = m.size();
  for (const auto& d : w.data) {
    m.patch_u64(d.patch_at, end);
    end += pad8(d.nbytes);
  }
  m.patch_u64(eof_at, end);

  sink(m.bytes().data(), m.size());
  static const uint8_t zeros[8] = {};
  for (const auto& d : w.data) {
    const Tensor& t = *d.tensor;
    if (t.is_contiguous()) {
      sink(t.dtype() == DType::Float32 ? static_cast<const void*>(t.data<float>()) : t.data<int64_t>(), d.nbytes);
    } else if (t.dtype() == DType::Float32) {
      auto v = t.to_vector<float>();
      sink(v.data(), d.nbytes);
    } else {
      auto v = t.to_vector<int64_t>();
      sink(v.data(), d.nbytes);
    }
    sink(zeros, pad8(d.nbytes) - d.nbytes);
  }
}

}  // namespace

std::vector<uint8_t> hdf5_bytes(const Node& root) {
  std::vector<uint8_t> out;
  write_hdf5([&](const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    out.insert(out.end(), b, b + n);
  }, root);
  return out;
}

void save_hdf5(const std::string& path, const Node& root) {
  detail::write_atomically(path, "save_hdf5", [&](const detail::ByteSink& sink) { write_hdf5(sink, root); });
}

}  // namespace tz::io
