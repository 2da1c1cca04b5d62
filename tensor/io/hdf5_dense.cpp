// Dense link and attribute storage ("new style" groups and objects with many links or attributes,
// or with attributes too large for an object header): the link or attribute messages live in a
// fractal heap, and a version-2 B-tree on their names lists the heap IDs; see hdf5_parse.h.
// Fractal heap: a doubling table of direct blocks (which hold the objects) and indirect blocks
// (which point to blocks); an object's managed heap ID gives its offset in the heap's linear address
// space, which is resolved from the root block down. Tiny objects sit in the ID itself; huge ones in
// their own file blocks, found through the ID or a version-2 B-tree of huge objects.
// The walks are bounded: every block lies in the file and passes its checksum, B-tree nodes are
// visited once at decreasing depths, indirect blocks recurse only into smaller blocks.
// Not here: messages (hdf5_objects.cpp), the group walk (hdf5_reader.cpp).
#include <algorithm>
#include <cstring>

#include "tensor/io/hdf5_format.h"
#include "tensor/io/hdf5_parse.h"

namespace tz::io::hdf5::detail {

namespace {

constexpr unsigned kMaxBtreeDepth = 16;

bool is_power_of_two(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

unsigned log2_floor(uint64_t v) {
  unsigned n = 0;
  while (v >>= 1) ++n;
  return n;
}

// Bytes libhdf5 uses to encode numbers up to `v` (H5VM_limit_enc_size).
unsigned limit_bytes(uint64_t v) { return log2_floor(v) / 8 + 1; }

// ---- version-2 B-trees: every record, in key order ------------------------------------------

class V2Btree {
 public:
  V2Btree(const File& f, uint64_t address, unsigned expected_type) : f_(f) {
    const uint64_t head = 4 + 1 + 1 + 4 + 2 + 2 + 1 + 1 + static_cast<uint64_t>(f.offset_size) + 2 + f.length_size;
    Cursor c = f.cursor(address, head, "version-2 B-tree header");
    f.check(std::memcmp(c.take(4), "BTHD", 4) == 0, "no version-2 B-tree header at address ", address,
            " (signature 'BTHD' missing)");
    const uint8_t version = c.u8();
    type_ = c.u8();
    f.check(version == 0, "version-2 B-tree at address ", address, " has version ", unsigned(version));
    f.check(type_ == expected_type, "version-2 B-tree at address ", address, " has type ", type_, ", expected ",
            expected_type);
    node_size_ = c.u32();
    record_size_ = c.u16();
    depth_ = c.u16();
    c.skip(2);  // split and merge percentages
    root_ = c.address();
    root_records_ = c.u16();
    c.length();  // total records
    f.check_checksum(address, head, "version-2 B-tree header");
    f.check(record_size_ > 0 && node_size_ > 10u + record_size_, "version-2 B-tree at address ", address,
            " has nodes of ", node_size_, " bytes for records of ", record_size_);
    f.check(depth_ <= kMaxBtreeDepth, "version-2 B-tree at address ", address, " has depth ", depth_);
    // The largest record counts at each depth decide how wide the child pointers' count fields are.
    max_records_.push_back((node_size_ - 10) / record_size_);
    cumulative_.push_back(max_records_[0]);
    cumulative_bytes_.push_back(0);
    count_bytes_ = limit_bytes(max_records_[0]);
    for (unsigned d = 1; d <= depth_; ++d) {
      const uint64_t pointer = f.offset_size + count_bytes_ + cumulative_bytes_[d - 1];
      f.check(node_size_ > 10 + pointer, "version-2 B-tree at address ", address, " has nodes too small for depth ", d);
      const uint64_t n = (node_size_ - 10 - pointer) / (record_size_ + pointer);
      max_records_.push_back(n);
      const uint64_t cumulative = (n + 1) * cumulative_[d - 1] + n;
      f.check(cumulative >= cumulative_[d - 1], "version-2 B-tree at address ", address, " is too deep");
      cumulative_.push_back(cumulative);
      cumulative_bytes_.push_back(limit_bytes(cumulative));
    }
  }

  uint16_t record_size() const { return record_size_; }

  std::vector<const uint8_t*> records() {
    std::vector<const uint8_t*> out;
    if (!f_.is_undefined(root_) && root_records_ > 0) walk(root_, root_records_, depth_, out);
    return out;
  }

 private:
  void walk(uint64_t address, uint64_t n, unsigned depth, std::vector<const uint8_t*>& out) {
    f_.check(visited_.insert(address).second, "version-2 B-tree node at address ", address,
             " is reached twice (a cyclic B-tree)");
    f_.check(n <= max_records_[depth], "version-2 B-tree node at address ", address, " holds ", n,
             " records, at most ", max_records_[depth], " fit");
    const uint64_t pointer = depth == 0 ? 0 : f_.offset_size + count_bytes_ + (depth > 1 ? cumulative_bytes_[depth - 1] : 0);
    const uint64_t used = 6 + n * record_size_ + (depth == 0 ? 0 : (n + 1) * pointer);
    Cursor c = f_.cursor(address, used, "version-2 B-tree node");
    const auto sig = std::string_view(reinterpret_cast<const char*>(c.take(4)), 4);
    f_.check(sig == (depth == 0 ? "BTLF" : "BTIN"), "version-2 B-tree node at address ", address, " has signature '",
             sig, "', expected '", depth == 0 ? "BTLF" : "BTIN", "'");
    f_.check(c.u8() == 0 && c.u8() == type_, "version-2 B-tree node at address ", address, " has the wrong version or type");
    f_.check_checksum(address, used, "version-2 B-tree node");
    std::vector<const uint8_t*> records;
    for (uint64_t k = 0; k < n; ++k) records.push_back(c.take(record_size_));
    if (depth == 0) {
      out.insert(out.end(), records.begin(), records.end());
      return;
    }
    for (uint64_t k = 0; k <= n; ++k) {
      const uint64_t child = c.address();
      const uint64_t child_records = c.uint(count_bytes_);
      if (depth > 1) c.uint(cumulative_bytes_[depth - 1]);
      walk(child, child_records, depth - 1, out);
      if (k < n) out.push_back(records[k]);
    }
  }

  const File& f_;
  unsigned type_ = 0;
  uint32_t node_size_ = 0;
  uint16_t record_size_ = 0;
  unsigned depth_ = 0;
  uint64_t root_ = 0;
  uint64_t root_records_ = 0;
  unsigned count_bytes_ = 0;
  std::vector<uint64_t> max_records_, cumulative_;
  std::vector<unsigned> cumulative_bytes_;
  std::set<uint64_t> visited_;
};

// ---- fractal heaps ---------------------------------------------------------------------------------

class FractalHeap {
 public:
  FractalHeap(const File& f, uint64_t address) : f_(f), address_(address) {
    const uint64_t L = f.length_size, O = f.offset_size;
    const uint64_t head = 4 + 1 + 2 + 2 + 1 + 4 + L + O + L + O + 8 * L + 2 + L + L + 2 + 2 + O + 2;
    Cursor c = f.cursor(address, head, "fractal heap header");
    f.check(std::memcmp(c.take(4), "FRHP", 4) == 0, "no fractal heap at address ", address,
            " (signature 'FRHP' missing)");
    f.check(c.u8() == 0, "fractal heap at address ", address, " has an unknown version");
    id_length_ = c.u16();
    const uint16_t filters = c.u16();
    flags_ = c.u8();
    max_managed_ = c.u32();
    c.length();  // next huge object id
    huge_btree_ = c.address();
    c.length();  // free space in managed blocks
    c.address();  // free-space manager
    c.length();  // managed space
    c.length();  // allocated managed space
    c.length();  // direct block allocation iterator
    for (int k = 0; k < 5; ++k) c.length();  // object counts and sizes
    width_ = c.u16();
    start_block_ = c.length();
    max_direct_ = c.length();
    max_heap_bits_ = c.u16();
    c.u16();  // starting rows of the root indirect block
    root_ = c.address();
    root_rows_ = c.u16();
    f.check(filters == 0, "fractal heap at address ", address, " is filtered (compressed), which is not supported");
    f.check_checksum(address, head, "fractal heap header");
    f.check(is_power_of_two(width_) && is_power_of_two(start_block_) && is_power_of_two(max_direct_) &&
                max_direct_ >= start_block_ && max_heap_bits_ >= 1 && max_heap_bits_ <= 64 && id_length_ >= 1,
            "fractal heap at address ", address, " has an invalid doubling table (width ", width_, ", blocks ",
            start_block_, " to ", max_direct_, ", ", max_heap_bits_, " address bits)");
    offset_bytes_ = (max_heap_bits_ + 7u) / 8;
    length_bytes_ = std::min((log2_floor(max_direct_) + 7u) / 8, limit_bytes(max_managed_));
    max_direct_rows_ = log2_floor(max_direct_) - log2_floor(start_block_) + 2;
  }

  /// The bytes of the object with heap ID `id` (`n` bytes).
  std::pair<const uint8_t*, uint64_t> object(const uint8_t* id, uint64_t n) {
    Cursor c(f_, id, n, 0, "fractal heap ID");
    const uint8_t first = c.u8();
    f_.check((first >> 6) == 0, "fractal heap ID version ", unsigned(first >> 6), " is unknown");
    switch ((first >> 4) & 3) {
      case 0: {  // managed: offset and length in the heap's address space
        const uint64_t offset = c.uint(offset_bytes_);
        const uint64_t length = c.uint(length_bytes_);
        f_.check(length > 0, "fractal heap ID names an empty object");
        return managed(offset, length);
      }
      case 1: {  // huge: its own block, directly addressed or found in the huge-object B-tree
        const uint64_t direct = 1 + static_cast<uint64_t>(f_.offset_size) + f_.length_size;
        if (id_length_ >= direct) {
          const uint64_t at = c.address();
          const uint64_t length = c.length();
          return {f_.bytes(at, length, "huge heap object"), length};
        }
        const uint64_t key = c.uint(std::min<size_t>(f_.length_size, n - 1));
        if (!huge_read_) {  // the huge-object B-tree, read once: id -> (address, length)
          huge_read_ = true;
          V2Btree tree(f_, huge_btree_, 1);
          for (const uint8_t* r : tree.records()) {
            Cursor rc(f_, r, tree.record_size(), 0, "huge object record");
            const uint64_t at = rc.address(), length = rc.length(), record_id = rc.length();
            huge_.emplace(record_id, std::make_pair(at, length));
          }
        }
        auto it = huge_.find(key);
        f_.check(it != huge_.end(), "fractal heap at address ", address_, " has no huge object ", key);
        return {f_.bytes(it->second.first, it->second.second, "huge heap object"), it->second.second};
      }
      case 2: {  // tiny: the object is in the ID
        uint64_t length = (first & 0x0f) + 1u;
        if (id_length_ > 18) length = ((uint64_t{first} & 0x0f) << 8 | c.u8()) + 1;
        return {c.take(length), length};
      }
      default:
        f_.fail("fractal heap ID type 3 is unknown");
    }
  }

 private:
  uint64_t row_size(unsigned row) const { return row < 2 ? start_block_ : start_block_ << (row - 1); }

  std::pair<const uint8_t*, uint64_t> managed(uint64_t offset, uint64_t length) {
    f_.check(max_heap_bits_ == 64 || offset < (uint64_t{1} << max_heap_bits_), "fractal heap object offset ", offset,
             " lies beyond the heap's address space");
    if (root_rows_ == 0) return in_direct(root_, 0, start_block_, offset, length);
    return in_indirect(root_, 0, root_rows_, offset, length, 0);
  }

  std::pair<const uint8_t*, uint64_t> in_indirect(uint64_t address, uint64_t block_offset, unsigned rows,
                                                  uint64_t offset, uint64_t length, int depth) {
    f_.check(depth < 64 && rows <= 64u, "fractal heap indirect block at address ", address, " has ", rows, " rows");
    const uint64_t O = f_.offset_size;
    const uint64_t direct = std::min<uint64_t>(rows, max_direct_rows_) * width_;
    const uint64_t indirect = rows > max_direct_rows_ ? (rows - max_direct_rows_) * width_ : 0;
    const uint64_t head = 5 + O + offset_bytes_;
    const uint64_t size = head + (direct + indirect) * O;
    Cursor c = f_.cursor(address, size, "fractal heap indirect block");
    f_.check(std::memcmp(c.take(4), "FHIB", 4) == 0, "no fractal heap indirect block at address ", address);
    c.skip(1);
    f_.check(c.address() == address_, "fractal heap indirect block at address ", address, " belongs to another heap");
    f_.check(c.uint(offset_bytes_) == block_offset, "fractal heap indirect block at address ", address,
             " has the wrong block offset");
    if (verified_.insert(address).second) f_.check_checksum(address, size, "fractal heap indirect block");
    uint64_t row_start = block_offset;
    for (unsigned row = 0; row < rows; ++row) {
      const uint64_t block = row_size(row);
      f_.check(block != 0 && block <= UINT64_MAX / width_ && row_start <= UINT64_MAX - block * width_,
               "fractal heap at address ", address_, ": its doubling table overflows at row ", row);
      const uint64_t span = block * width_;
      if (offset >= row_start + span) {
        row_start += span;
        continue;
      }
      const uint64_t column = (offset - row_start) / block;
      const uint64_t child_offset = row_start + column * block;
      if (row < max_direct_rows_) {
        Cursor e = f_.cursor(address + head + (row * width_ + column) * O, O, "fractal heap block entry");
        return in_direct(e.address(), child_offset, block, offset, length);
      }
      Cursor e = f_.cursor(address + head + (direct + (row - max_direct_rows_) * width_ + column) * O, O,
                           "fractal heap block entry");
      const unsigned child_rows = log2_floor(block) - log2_floor(start_block_) + 1;
      f_.check(child_rows < rows, "fractal heap indirect block at address ", address, " nests a larger block");
      return in_indirect(e.address(), child_offset, child_rows, offset, length, depth + 1);
    }
    f_.fail("fractal heap object offset ", offset, " lies beyond indirect block at address ", address);
  }

  std::pair<const uint8_t*, uint64_t> in_direct(uint64_t address, uint64_t block_offset, uint64_t size,
                                                uint64_t offset, uint64_t length) {
    const uint8_t* block = f_.bytes(address, size, "fractal heap direct block");
    Cursor c(f_, block, size, address, "fractal heap direct block");
    f_.check(std::memcmp(c.take(4), "FHDB", 4) == 0, "no fractal heap direct block at address ", address);
    c.skip(1);
    f_.check(c.address() == address_, "fractal heap direct block at address ", address, " belongs to another heap");
    f_.check(c.uint(offset_bytes_) == block_offset, "fractal heap direct block at address ", address,
             " has the wrong block offset");
    if (flags_ & 2) {
      // The checksum covers the whole block with the checksum field itself zeroed (checked once per block).
      const uint64_t at = c.position() - address;
      const uint32_t stored = c.u32();
      if (verified_.insert(address).second) {
        std::vector<uint8_t> copy(block, block + size);
        std::memset(copy.data() + at, 0, 4);
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
        f_.check(lookup3(copy.data(), copy.size()) == stored, "fractal heap direct block at address ", address,
                 " fails its checksum: the file is corrupt");
#else
        (void)stored;
#endif
      }
    }
    const uint64_t objects_start = c.position() - address;
    const uint64_t position = offset - block_offset;
    f_.check(position >= objects_start && position <= size && length <= size - position, "fractal heap object at offset ",
             offset, " (", length, " bytes) does not fit in its direct block at address ", address);
    return {block + position, length};
  }

  const File& f_;
  uint64_t address_;
  uint16_t id_length_ = 0;
  uint8_t flags_ = 0;
  uint32_t max_managed_ = 0;
  uint64_t huge_btree_ = 0;
  uint64_t width_ = 0, start_block_ = 0, max_direct_ = 0;
  unsigned max_heap_bits_ = 0;
  uint64_t root_ = 0;
  unsigned root_rows_ = 0;
  unsigned offset_bytes_ = 0, length_bytes_ = 0, max_direct_rows_ = 0;
  std::set<uint64_t> verified_;  // blocks whose checksum passed
  bool huge_read_ = false;
  std::map<uint64_t, std::pair<uint64_t, uint64_t>> huge_;
};

}  // namespace

std::vector<LinkMessage> read_dense_links(File& f, const DenseStorage& info) {
  FractalHeap heap(f, info.heap);
  V2Btree names(f, info.name_index, 5);
  f.check(names.record_size() >= 4 + 7, "link name index records of ", names.record_size(), " bytes");
  std::vector<LinkMessage> out;
  for (const uint8_t* r : names.records()) {
    const auto [bytes, n] = heap.object(r + 4, names.record_size() - 4);  // after the name's hash
    f.charge(n, "dense links");
    out.push_back(decode_link(Cursor(f, bytes, n, 0, "densely stored link message")));
  }
  return out;
}

std::vector<AttributeMessage> read_dense_attributes(File& f, const DenseStorage& info) {
  FractalHeap heap(f, info.heap);
  V2Btree names(f, info.name_index, 8);
  f.check(names.record_size() >= 8 + 1 + 4 + 4, "attribute name index records of ", names.record_size(), " bytes");
  std::vector<AttributeMessage> out;
  for (const uint8_t* r : names.records()) {
    const uint8_t flags = r[8];
    f.check(!(flags & kMsgFlagShared), "a densely stored attribute is a shared message, which is not supported");
    const auto [bytes, n] = heap.object(r, 8);
    out.push_back(decode_attribute(Cursor(f, bytes, n, 0, "densely stored attribute message")));
  }
  return out;
}

}  // namespace tz::io::hdf5::detail
