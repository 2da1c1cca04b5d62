// Values in HDF5 files: attribute values (fixed- and variable-length strings, numbers) and dataset
// storage (contiguous, compact, and chunked through a version-1 B-tree or the version-4 single-chunk,
// implicit and fixed-array indexes), decoded to float32 / int64 tensors; see hdf5_parse.h.
// Numbers may be big-endian (swapped here). Refused with a clear error: compressed or otherwise
// filtered data, external storage, virtual datasets, chunk indexes for unlimited dimensions, and
// element types other than strings, integers and IEEE floats.
// Not here: the structures that locate the data (hdf5_objects.cpp).
#include <algorithm>
#include <cstring>

#include "tensor/io/checked.h"
#include "tensor/io/hdf5_format.h"
#include "tensor/io/hdf5_parse.h"

namespace tz::io::hdf5::detail {

namespace {

// `n` elements of `t` at `src` (already checked to hold n * t.size bytes) as a tensor of `shape`.
Tensor decode_numbers(const Datatype& t, const Shape& shape, int64_t n, const uint8_t* src, const std::string& what) {
  Tensor out = Tensor::empty(shape, compute_dtype(t.stored));
  if (n == 0) return out;
  if (!t.big_endian) {
    decode_elements(t.stored, src, n, out.storage()->data(), what);
    return out;
  }
  std::vector<uint8_t> swapped(src, src + static_cast<size_t>(n) * t.size);
  for (size_t i = 0; i < swapped.size(); i += t.size) std::reverse(swapped.begin() + i, swapped.begin() + i + t.size);
  decode_elements(t.stored, swapped.data(), n, out.storage()->data(), what);
  return out;
}

std::string fixed_string(const uint8_t* p, uint32_t size, unsigned padding) {
  const char* s = reinterpret_cast<const char*>(p);
  size_t n = size;
  if (padding == 0) {
    n = strnlen(s, size);  // null-terminated: the first NUL ends it
  } else {
    const char pad = padding == 2 ? ' ' : '\0';  // null- or space-padded: strip the padding
    while (n > 0 && s[n - 1] == pad) --n;
  }
  return std::string(s, n);
}

// Bytes of `n` elements of `size` bytes, or a clear error when that overflows.
uint64_t byte_count(const File& f, int64_t n, uint32_t size, std::string_view what) {
  auto bytes = io::detail::mul_nonneg(n, size);
  f.check(bytes.has_value(), what, " would need more than 2^63 bytes");
  return static_cast<uint64_t>(*bytes);
}

}  // namespace

Attribute read_attribute(File& f, const AttributeMessage& m) {
  Attribute a;
  a.name = m.name;
  a.shape = m.space.null ? Shape{0} : m.space.dims;
  const int64_t n = m.space.numel;
  const std::string what = "attribute '" + m.name + "'";
  const uint64_t need = byte_count(f, n, m.type.size, what);
  f.check(need <= m.data_size, what, " is ", shape_str(a.shape), " x ", m.type.describe(), " (", need,
          " bytes) but its message holds ", m.data_size, " bytes of data");
  if (m.type.is_fixed_string) {
    a.type = Attribute::Type::FixedString;
    a.string_size = m.type.size;
    f.charge(need + static_cast<uint64_t>(n) * sizeof(std::string), what);
    for (int64_t i = 0; i < n; ++i)
      a.strings.push_back(fixed_string(m.data + i * m.type.size, m.type.size, m.type.string_padding));
  } else if (m.type.is_variable_string) {
    a.type = Attribute::Type::VariableString;
    f.charge(static_cast<uint64_t>(n) * sizeof(std::string), what);
    Cursor c(f, m.data, need, m.data_address, what);
    for (int64_t i = 0; i < n; ++i) {
      const uint32_t length = c.u32();
      const uint64_t collection = c.address();
      const uint32_t index = c.u32();
      if (length == 0) {
        a.strings.emplace_back();
        continue;
      }
      const auto [bytes, size] = global_heap_object(f, collection, index);
      f.check(length <= size, what, " element ", i, " claims ", length, " bytes but its global heap object (collection ",
              collection, ", object ", index, ") holds ", size);
      f.charge(length, what);
      a.strings.emplace_back(reinterpret_cast<const char*>(bytes), length);
    }
  } else if (m.type.is_number) {
    a.type = Attribute::Type::Number;
    a.stored_dtype = stored_dtype_name(m.type.stored);
    f.charge(static_cast<uint64_t>(n) * 8, what);
    a.numbers = decode_numbers(m.type, a.shape, n, m.data, "hdf5: " + what);
  } else {
    f.fail(what, " has datatype ", m.type.describe(),
           ", which is not supported (fixed- and variable-length strings, integers and IEEE floats are)");
  }
  return a;
}

// ---- dataset storage ------------------------------------------------------------------------------

namespace {

// Copies one chunk (`chunk` dims, C order) into the dataset buffer (`dims`) at element `offset`,
// clipping the parts of edge chunks that lie beyond the dataset.
void copy_chunk(const uint8_t* src, const std::vector<uint64_t>& chunk, const Shape& dims,
                const std::vector<uint64_t>& offset, size_t element, uint8_t* dst) {
  const size_t rank = dims.size();
  std::vector<uint64_t> extent(rank), chunk_stride(rank), dst_stride(rank);
  uint64_t cs = 1, ds = 1;
  for (size_t d = rank; d-- > 0;) {
    extent[d] = std::min<uint64_t>(chunk[d], static_cast<uint64_t>(dims[d]) - offset[d]);
    chunk_stride[d] = cs;
    dst_stride[d] = ds;
    cs *= chunk[d];
    ds *= static_cast<uint64_t>(dims[d]);
  }
  for (size_t d = 0; d < rank; ++d)
    if (extent[d] == 0) return;
  const size_t row_bytes = extent[rank - 1] * element;
  std::vector<uint64_t> idx(rank, 0);  // odometer over every dimension but the last
  while (true) {
    uint64_t s = 0, t = 0;
    for (size_t d = 0; d < rank; ++d) {
      s += idx[d] * chunk_stride[d];
      t += (offset[d] + idx[d]) * dst_stride[d];
    }
    std::memcpy(dst + t * element, src + s * element, row_bytes);
    size_t d = rank - 1;
    while (d-- > 0) {
      if (++idx[d] < extent[d]) break;
      idx[d] = 0;
    }
    if (d == SIZE_MAX) return;
  }
}

// The chunk grid of a dataset: how many chunks along each dimension (over the maximum dims when the
// index was sized by them), for the implicit and fixed-array indexes, which store chunks by linear index.
std::vector<uint64_t> chunk_grid(const Dataspace& space, const std::vector<uint64_t>& chunk) {
  std::vector<uint64_t> grid(chunk.size());
  for (size_t d = 0; d < chunk.size(); ++d) {
    uint64_t extent = static_cast<uint64_t>(space.dims[d]);
    if (d < space.max.size() && space.max[d] != UINT64_MAX && space.max[d] > extent) extent = space.max[d];
    grid[d] = extent / chunk[d] + (extent % chunk[d] != 0);
  }
  return grid;
}

// Element offset of the chunk with linear index `k` in `grid` (C order).
std::vector<uint64_t> chunk_offset(uint64_t k, const std::vector<uint64_t>& grid, const std::vector<uint64_t>& chunk) {
  std::vector<uint64_t> offset(grid.size());
  for (size_t d = grid.size(); d-- > 0;) {
    offset[d] = (k % grid[d]) * chunk[d];
    k /= grid[d];
  }
  return offset;
}

// The chunk addresses of a version-4 fixed-array index (unpaged; entries in linear chunk order).
std::vector<uint64_t> read_fixed_array(const File& f, uint64_t address, uint64_t chunks) {
  const uint64_t head = 4 + 4 + static_cast<uint64_t>(f.length_size) + f.offset_size;
  Cursor c = f.cursor(address, head, "fixed array header");
  f.check(std::memcmp(c.take(4), "FAHD", 4) == 0, "no fixed array header at address ", address,
          " (signature 'FAHD' missing)");
  const uint8_t version = c.u8(), client = c.u8(), entry_size = c.u8(), page_bits = c.u8();
  f.check(version == 0, "fixed array header at address ", address, " has version ", unsigned(version));
  f.check(client == 0, "fixed array at address ", address, " indexes filtered chunks, which are not supported");
  f.check(entry_size == f.offset_size, "fixed array at address ", address, " has entries of ", unsigned(entry_size),
          " bytes, expected ", f.offset_size);
  const uint64_t entries = c.length();
  const uint64_t block = c.address();
  f.check_checksum(address, head, "fixed array header");
  f.check(entries == chunks, "fixed array at address ", address, " has ", entries, " entries for ", chunks, " chunks");
  f.check(page_bits < 64 && entries <= (uint64_t{1} << page_bits), "fixed array at address ", address,
          " is paged (", entries, " entries, pages of 2^", unsigned(page_bits), "), which is not supported");
  if (f.is_undefined(block)) return std::vector<uint64_t>(entries, f.undefined_address());
  f.check(entries <= f.size() / entry_size, "fixed array at address ", address, " has ", entries,
          " entries, more than the file could hold");
  const uint64_t block_head = 6 + static_cast<uint64_t>(f.offset_size);
  const uint64_t body = block_head + entries * entry_size;
  Cursor b = f.cursor(block, body, "fixed array data block");
  f.check(std::memcmp(b.take(4), "FADB", 4) == 0, "no fixed array data block at address ", block,
          " (signature 'FADB' missing)");
  b.skip(2);  // version, client
  f.check(b.address() == address, "fixed array data block at address ", block, " belongs to another header");
  f.check_checksum(block, body, "fixed array data block");
  std::vector<uint64_t> out;
  for (uint64_t k = 0; k < entries; ++k) out.push_back(b.address());
  return out;
}

// Every stored chunk of a chunked dataset, whatever its index.
std::vector<ChunkRecord> chunk_records(const File& f, const DatasetInfo& info, uint64_t chunk_bytes) {
  const Layout& l = info.layout;
  const size_t rank = l.chunk.size();
  if (f.is_undefined(l.address)) return {};  // no chunk written yet
  if (l.version <= 3) return read_chunk_btree(f, l.address, rank);
  std::vector<ChunkRecord> out;
  const auto grid = chunk_grid(info.space, l.chunk);
  uint64_t count = 1;
  for (uint64_t g : grid) {
    auto m = io::detail::mul_nonneg(static_cast<int64_t>(count), static_cast<int64_t>(g));
    f.check(m.has_value() && static_cast<uint64_t>(*m) <= f.size(), "the dataset has more chunks than the file could hold");
    count = static_cast<uint64_t>(*m);
  }
  switch (l.index_type) {
    case 1:  // single chunk: the whole dataset
      out.push_back({std::vector<uint64_t>(rank, 0), l.address, chunk_bytes, 0});
      break;
    case 2:  // implicit: every chunk, back to back, in linear order
      f.check(count <= f.size() / std::max<uint64_t>(chunk_bytes, 1), "implicit chunk index at address ", l.address,
              " needs ", count, " chunks of ", chunk_bytes, " bytes, more than the file holds");
      for (uint64_t k = 0; k < count; ++k)
        out.push_back({chunk_offset(k, grid, l.chunk), l.address + k * chunk_bytes, chunk_bytes, 0});
      break;
    case 3: {
      const auto addresses = read_fixed_array(f, l.address, count);
      for (uint64_t k = 0; k < count; ++k)
        if (!f.is_undefined(addresses[k])) out.push_back({chunk_offset(k, grid, l.chunk), addresses[k], chunk_bytes, 0});
      break;
    }
    default:
      f.fail("chunk index type ", l.index_type, l.index_type == 4 ? " (extensible array" : " (version-2 B-tree",
             ", used for unlimited dimensions) is not supported");
  }
  return out;
}

// Fills `raw` (n elements) with the fill value, or zeros when none is defined.
void fill(std::vector<uint8_t>& raw, const FillValue& fill, uint32_t element) {
  if (!fill.defined || fill.size != element) return;  // vector starts zeroed
  for (size_t i = 0; i < raw.size(); i += element) std::memcpy(raw.data() + i, fill.value, element);
}

}  // namespace

Tensor read_dataset(File& f, const DatasetInfo& info, const std::shared_ptr<const void>& keepalive) {
  const Datatype& t = info.type;
  const Layout& l = info.layout;
  f.check(!info.external, "the dataset stores its data in external files, which is not supported");
  if (!info.filters.empty()) {
    std::string names;
    for (unsigned id : info.filters)
      names += (names.empty() ? "" : ", ") + std::string(filter_name(id)) + " (" + std::to_string(id) + ")";
    f.fail("the dataset is compressed or filtered (filters: ", names,
           "); only unfiltered data is supported: re-save it without compression");
  }
  f.check(t.is_number, "the dataset's datatype is ", t.describe(),
          ", which is not supported for datasets (integers and IEEE floats are)");
  f.check(l.cls != Layout::Virtual, "virtual datasets are not supported");
  const Shape shape = info.space.null ? Shape{0} : info.space.dims;
  const int64_t n = info.space.numel;
  const uint64_t nbytes = byte_count(f, n, t.size, "the dataset");
  const std::string what = "hdf5: dataset '" + f.path + "'";

  if (l.cls == Layout::Contiguous) {
    if (f.is_undefined(l.address) || n == 0) {
      f.charge(static_cast<uint64_t>(n) * 8, "a dataset without storage");
      std::vector<uint8_t> raw(nbytes);
      fill(raw, info.fill, t.size);
      return decode_numbers(t, shape, n, raw.data(), what);
    }
    f.check(l.size == UINT64_MAX || l.size == nbytes, "contiguous storage holds ", l.size, " bytes but ",
            shape_str(shape), " x ", t.describe(), " needs ", nbytes);
    const uint8_t* src = f.bytes(l.address, nbytes, "dataset data");
    if (keepalive && t.stored == StoredDType::F32 && !t.big_endian && reinterpret_cast<uintptr_t>(src) % 4 == 0) {
      auto storage = std::make_shared<Storage>(const_cast<uint8_t*>(src), nbytes, [keepalive] {});
      storage->set_writable(false);
      return Tensor::view_of(std::move(storage), DType::Float32, shape, contiguous_strides(shape), 0);
    }
    f.charge(static_cast<uint64_t>(n) * 8, "dataset data");
    return decode_numbers(t, shape, n, src, what);
  }
  if (l.cls == Layout::Compact) {
    f.check(l.size == nbytes, "compact storage holds ", l.size, " bytes but ", shape_str(shape), " x ", t.describe(),
            " needs ", nbytes);
    f.charge(static_cast<uint64_t>(n) * 8, "dataset data");
    return decode_numbers(t, shape, n, l.compact, what);
  }

  // Chunked.
  f.check(l.version >= 3, "chunked storage in a version ", l.version, " layout message is not supported");
  const size_t rank = shape.size();
  f.check(!info.space.null && rank >= 1 && l.chunk.size() == rank, "chunked layout has ", l.chunk.size(),
          "-dimensional chunks for a dataset of shape ", shape_str(shape));
  f.check(l.chunk_element_size == t.size, "chunked layout says elements of ", l.chunk_element_size,
          " bytes, the datatype ", t.size);
  int64_t chunk_numel = 1;
  for (uint64_t c : l.chunk) {
    auto m = io::detail::mul_nonneg(chunk_numel, static_cast<int64_t>(std::min<uint64_t>(c, INT64_MAX)));
    f.check(c > 0 && m.has_value(), "chunk dims ", shape_str(Shape(l.chunk.begin(), l.chunk.end())), " are invalid");
    chunk_numel = *m;
  }
  const uint64_t chunk_bytes = byte_count(f, chunk_numel, t.size, "a chunk");
  f.charge(nbytes + static_cast<uint64_t>(n) * 8, "chunked dataset data");
  std::vector<uint8_t> raw(nbytes);
  fill(raw, info.fill, t.size);
  std::set<std::vector<uint64_t>> seen;
  for (const ChunkRecord& r : chunk_records(f, info, chunk_bytes)) {
    bool inside = true;
    for (size_t d = 0; d < rank; ++d) {
      f.check(r.offset[d] % l.chunk[d] == 0, "chunk at element offset ", r.offset[d], " in dimension ", d,
              " is not aligned to the chunk size ", l.chunk[d]);
      inside = inside && r.offset[d] < static_cast<uint64_t>(shape[d]);
    }
    f.check(seen.insert(r.offset).second, "two chunks are stored for the same position (offset ", r.offset[0],
            " in dimension 0, ...)");
    f.check(r.size == chunk_bytes, "a chunk holds ", r.size, " bytes, expected ", chunk_bytes, " (unfiltered)");
    if (!inside) continue;  // beyond the current extent (the dataset shrank): not part of the data
    copy_chunk(f.bytes(r.address, chunk_bytes, "chunk"), l.chunk, shape, r.offset, t.size, raw.data());
  }
  return decode_numbers(t, shape, n, raw.data(), what);
}

}  // namespace tz::io::hdf5::detail
