// Decoding the object header messages the HDF5 reader understands: dataspace, datatype, data layout,
// fill value, filter pipeline, attribute, link, link info, attribute info and symbol table; see
// hdf5_parse.h for what each yields. Each decoder reads through a Cursor bounded by its message, so
// a message that lies about its own length ends in a "truncated" error, never outside the file.
// Not here: the headers that hold them (hdf5_objects.cpp), what the values mean (hdf5_data.cpp).
#include <cstring>

#include "tensor/io/checked.h"
#include "tensor/io/hdf5_format.h"
#include "tensor/io/hdf5_parse.h"

namespace tz::io::hdf5::detail {

namespace {

constexpr unsigned kMaxRank = 32;  // HDF5's own limit on dataspace rank
constexpr int kMaxTypeDepth = 2;   // a variable-length string's base type is one level down

uint64_t pad8(uint64_t n) { return (n + 7) / 8 * 8; }

}  // namespace

Dataspace decode_dataspace(Cursor c) {
  const File& f = c.file();
  Dataspace s;
  const uint8_t version = c.u8();
  f.check(version == 1 || version == 2, "dataspace message version ", unsigned(version), " is not supported (1 and 2 are)");
  const uint8_t rank = c.u8();
  const uint8_t flags = c.u8();
  f.check(rank <= kMaxRank, "dataspace has rank ", unsigned(rank), " (at most ", kMaxRank, ")");
  if (version == 1) {
    c.skip(5);
  } else {
    const uint8_t type = c.u8();
    f.check(type <= 2, "dataspace type ", unsigned(type), " is unknown (0 scalar, 1 simple, 2 null)");
    s.null = type == 2;
    f.check(type == 1 || rank == 0, "a scalar or null dataspace has rank ", unsigned(rank));
  }
  for (unsigned d = 0; d < rank; ++d) {
    const uint64_t n = c.length();
    f.check(n <= static_cast<uint64_t>(INT64_MAX), "dataspace dimension ", d, " is ", n, ", too large");
    s.dims.push_back(static_cast<int64_t>(n));
  }
  if (flags & 1)
    for (unsigned d = 0; d < rank; ++d) s.max.push_back(c.length());
  if (version == 1 && (flags & 2))
    for (unsigned d = 0; d < rank; ++d) c.length();  // permutation indices (never used by HDF5)
  auto numel = io::detail::checked_numel(s.dims);
  f.check(numel.has_value(), "dataspace ", shape_str(s.dims), " has too many elements");
  s.numel = s.null ? 0 : *numel;
  return s;
}

std::string Datatype::describe() const {
  std::string s = type_class_name(cls);
  if (is_variable_string) return "variable-length string";
  if (cls == kClassVarLen) return "variable-length sequence";
  s += " (" + std::to_string(size) + " bytes";
  if ((cls == kClassFixedPoint || cls == kClassFloat) && big_endian) s += ", big-endian";
  return s + ")";
}

namespace {

// The IEEE 754 layouts h5py and numpy write: sizes 2, 4 and 8 with these fields.
struct IeeeLayout {
  uint32_t size;
  uint16_t precision;
  uint8_t exp_location, exp_size, mant_location, mant_size;
  uint32_t bias;
  StoredDType stored;
};
constexpr IeeeLayout kIeee[] = {
    {2, 16, 10, 5, 0, 10, 15, StoredDType::F16},
    {4, 32, 23, 8, 0, 23, 127, StoredDType::F32},
    {8, 64, 52, 11, 0, 52, 1023, StoredDType::F64},
};

}  // namespace

Datatype decode_datatype(Cursor& c, int depth) {
  const File& f = c.file();
  f.check(depth <= kMaxTypeDepth, "datatype nests deeper than ", kMaxTypeDepth, " levels");
  Datatype t;
  const uint8_t b0 = c.u8();
  t.cls = b0 & 0x0f;
  t.version = b0 >> 4;
  t.bits = c.u8();
  t.bits |= static_cast<uint32_t>(c.u8()) << 8;
  t.bits |= static_cast<uint32_t>(c.u8()) << 16;
  t.size = c.u32();
  f.check(t.version >= 1 && t.version <= 5, "datatype message version ", t.version, " is unknown");
  f.check(t.size > 0, "datatype of class ", type_class_name(t.cls), " has size 0");
  switch (t.cls) {
    case kClassFixedPoint: {
      const uint16_t offset = c.u16();
      const uint16_t precision = c.u16();
      t.big_endian = t.bits & 1;
      const bool is_signed = t.bits & 0x08;
      if (offset == 0 && precision == 8 * t.size) {
        t.is_number = true;
        switch (t.size) {
          case 1: t.stored = is_signed ? StoredDType::I8 : StoredDType::U8; break;
          case 2: t.stored = is_signed ? StoredDType::I16 : StoredDType::U16; break;
          case 4: t.stored = is_signed ? StoredDType::I32 : StoredDType::U32; break;
          case 8: t.stored = is_signed ? StoredDType::I64 : StoredDType::U64; break;
          default: t.is_number = false;
        }
      }
      break;
    }
    case kClassFloat: {
      const uint16_t offset = c.u16();
      const uint16_t precision = c.u16();
      const uint8_t exp_location = c.u8(), exp_size = c.u8(), mant_location = c.u8(), mant_size = c.u8();
      const uint32_t bias = c.u32();
      const unsigned order = (t.bits & 1) | ((t.bits >> 5) & 2);  // bit 0 and bit 6: 0 LE, 1 BE, 3 VAX
      const unsigned normalization = (t.bits >> 4) & 3;
      const unsigned sign = (t.bits >> 8) & 0xff;
      t.big_endian = order == 1;
      for (const IeeeLayout& l : kIeee) {
        if (l.size == t.size && offset == 0 && precision == l.precision && exp_location == l.exp_location &&
            exp_size == l.exp_size && mant_location == l.mant_location && mant_size == l.mant_size &&
            bias == l.bias && sign == l.precision - 1u && normalization == 2 && order <= 1) {
          t.is_number = true;
          t.stored = l.stored;
        }
      }
      break;
    }
    case kClassString:
      t.is_fixed_string = ((t.bits >> 4) & 0xf) <= 1;  // ASCII or UTF-8
      t.string_padding = t.bits & 0xf;
      break;
    case kClassVarLen: {
      Datatype base = decode_datatype(c, depth + 1);
      const unsigned kind = t.bits & 0xf;  // 0 sequence, 1 string
      t.string_padding = (t.bits >> 4) & 0xf;
      t.is_variable_string = kind == 1 && base.size == 1 &&
                             t.size == 4u + static_cast<uint32_t>(f.offset_size) + 4u;
      break;
    }
    default:
      break;  // decoded as far as its class; reading values of it is refused where values are read
  }
  return t;
}

Layout decode_layout(Cursor c) {
  const File& f = c.file();
  Layout l;
  l.version = c.u8();
  f.check(l.version >= 1 && l.version <= 5, "data layout message version ", l.version, " is not supported (1 to 5 are)");
  if (l.version <= 2) {
    const uint8_t rank = c.u8();
    l.cls = c.u8();
    c.skip(5);
    f.check(l.cls <= 2, "data layout class ", l.cls, " is unknown");
    f.check(rank <= kMaxRank + 1, "data layout has ", unsigned(rank), " dimensions");
    if (l.cls != Layout::Compact) l.address = c.address();
    for (unsigned d = 0; d < rank; ++d) c.u32();  // sizes follow from the dataspace and datatype
    if (l.cls == Layout::Compact) {
      l.size = c.u32();
      l.compact_address = c.position();
      l.compact = c.take(l.size);
    } else {
      l.size = UINT64_MAX;  // contiguous: the dataspace times the element size
    }
    return l;
  }
  l.cls = c.u8();
  switch (l.cls) {
    case Layout::Compact:
      l.size = c.u16();
      l.compact_address = c.position();
      l.compact = c.take(l.size);
      break;
    case Layout::Contiguous:
      l.address = c.address();
      l.size = c.length();
      break;
    case Layout::Chunked: {
      size_t rank;
      size_t dim_bytes = 4;
      if (l.version == 3) {
        rank = c.u8();
        l.address = c.address();
      } else {
        l.chunk_flags = c.u8();
        rank = c.u8();
        dim_bytes = c.u8();
        f.check(dim_bytes >= 1 && dim_bytes <= 8, "chunked layout encodes dimensions in ", dim_bytes, " bytes");
      }
      f.check(rank >= 2 && rank <= kMaxRank + 1, "chunked layout has ", rank,
              " dimensions (the dataset's rank plus one for the element size)");
      for (size_t d = 0; d + 1 < rank; ++d) l.chunk.push_back(c.uint(dim_bytes));
      const uint64_t element_size = c.uint(dim_bytes);
      f.check(element_size <= UINT32_MAX, "chunked layout element size ", element_size);
      l.chunk_element_size = static_cast<uint32_t>(element_size);
      if (l.version >= 4) {
        l.index_type = c.u8();
        switch (l.index_type) {
          case 1:  // single chunk; a filtered one also records its stored size and filter mask
            if (l.chunk_flags & 2) {
              c.length();
              c.u32();
            }
            break;
          case 2: break;                 // implicit
          case 3: c.skip(1); break;      // fixed array: page bits
          case 4: c.skip(5); break;      // extensible array parameters
          case 5: c.skip(6); break;      // version-2 B-tree parameters
          default: f.fail("chunk index type ", l.index_type, " is unknown");
        }
        l.address = c.address();
      }
      break;
    }
    case Layout::Virtual:
      f.check(l.version >= 4, "virtual layout in a version ", l.version, " layout message");
      break;
    default:
      f.fail("data layout class ", l.cls, " is unknown");
  }
  return l;
}

FillValue decode_fill_value(Cursor c, bool old_style) {
  const File& f = c.file();
  FillValue v;
  if (old_style) {
    v.size = c.u32();
    v.value = c.take(v.size);
  } else {
    const uint8_t version = c.u8();
    f.check(version >= 1 && version <= 3, "fill value message version ", unsigned(version), " is not supported");
    bool present;
    if (version <= 2) {
      c.skip(2);  // allocation time, write time
      present = c.u8() != 0 || version == 1;
    } else {
      const uint8_t flags = c.u8();
      present = flags & 0x20;
    }
    if (present) {
      v.size = c.u32();
      v.value = c.take(v.size);
    }
  }
  v.defined = v.size > 0;  // a defined fill value of size 0 means the library default (zeros)
  return v;
}

std::vector<unsigned> decode_filter_ids(Cursor c) {
  const File& f = c.file();
  const uint8_t version = c.u8();
  f.check(version == 1 || version == 2, "filter pipeline message version ", unsigned(version), " is not supported");
  const uint8_t n = c.u8();
  f.check(n <= 32, "filter pipeline lists ", unsigned(n), " filters (at most 32)");
  if (version == 1) c.skip(6);
  std::vector<unsigned> ids;
  for (unsigned k = 0; k < n; ++k) {
    const uint16_t id = c.u16();
    uint16_t name_length = 0;
    if (version == 1 || id >= 256) name_length = c.u16();
    c.u16();  // flags
    const uint16_t values = c.u16();
    c.skip(name_length);
    c.skip(4u * values);
    if (version == 1 && (values & 1)) c.skip(4);
    ids.push_back(id);
  }
  return ids;
}

AttributeMessage decode_attribute(Cursor c) {
  const File& f = c.file();
  AttributeMessage a;
  const uint8_t version = c.u8();
  f.check(version >= 1 && version <= 3, "attribute message version ", unsigned(version), " is not supported");
  const uint8_t flags = c.u8();  // reserved in version 1
  const uint16_t name_size = c.u16(), type_size = c.u16(), space_size = c.u16();
  if (version >= 2)
    f.check(!(flags & 3), "attribute has a shared datatype or dataspace, which is not supported");
  if (version == 3) c.u8();  // name character set
  f.check(name_size >= 1, "attribute name of size 0");
  const bool padded = version == 1;
  const uint8_t* name = c.take(padded ? pad8(name_size) : name_size);
  a.name.assign(reinterpret_cast<const char*>(name), strnlen(reinterpret_cast<const char*>(name), name_size));
  Cursor tc = c.sub(padded ? pad8(type_size) : type_size, "attribute datatype");
  a.type = decode_datatype(tc);
  a.space = decode_dataspace(c.sub(padded ? pad8(space_size) : space_size, "attribute dataspace"));
  a.data_address = c.position();
  a.data_size = c.remaining();
  a.data = c.take(a.data_size);
  return a;
}

void check_link_name(const File& f, const std::string& name) {
  f.check(!name.empty(), "a link has an empty name");
  f.check(name.find('/') == std::string::npos && name.find('\0') == std::string::npos && name != "." && name != "..",
          "link name '", name, "' is not a plain name (it contains '/' or NUL, or is '.' or '..')");
}

LinkMessage decode_link(Cursor c) {
  const File& f = c.file();
  LinkMessage l;
  const uint8_t version = c.u8();
  f.check(version == 1, "link message version ", unsigned(version), " is not supported (1 is)");
  const uint8_t flags = c.u8();
  if (flags & 0x08) l.link_type = c.u8();
  if (flags & 0x04) {
    l.has_order = true;
    l.order = c.u64();
  }
  if (flags & 0x10) c.u8();  // name character set
  const uint64_t length = c.uint(size_t{1} << (flags & 3));
  const uint8_t* name = c.take(length);
  l.name.assign(reinterpret_cast<const char*>(name), length);
  check_link_name(f, l.name);
  if (l.link_type == 0) {
    l.address = c.address();
  } else {
    c.skip(c.u16());  // soft, external or user-defined link value
  }
  return l;
}

DenseStorage decode_dense_storage(Cursor c, bool attributes) {
  const File& f = c.file();
  DenseStorage info;
  const uint8_t version = c.u8();
  f.check(version == 0, attributes ? "attribute" : "link", " info message version ", unsigned(version),
          " is not supported (0 is)");
  const uint8_t flags = c.u8();
  if (flags & 1) c.skip(attributes ? 2 : 8);  // maximum creation index
  info.heap = c.address();
  info.name_index = c.address();
  return info;
}

SymbolTable decode_symbol_table(Cursor c) {
  SymbolTable t;
  t.btree = c.address();
  t.heap = c.address();
  return t;
}

}  // namespace tz::io::hdf5::detail
