// HDF5 file infrastructure for the reader: the checked file view and cursor, object headers with
// their continuation blocks, local and global heaps, and the version-1 B-trees of symbol-table
// groups and of chunked datasets; see hdf5_parse.h.
// Every structure is located by an address read from the file, so each is checked to lie inside
// it; walks over linked structures (continuation chains, B-trees) refuse to visit anything twice.
// Not here: the messages' contents (hdf5_messages.cpp), dense storage (hdf5_dense.cpp), values
// (hdf5_data.cpp), the group walk (hdf5_reader.cpp).
#include <algorithm>
#include <cstring>

#include "tensor/io/checked.h"
#include "tensor/io/hdf5_format.h"
#include "tensor/io/hdf5_parse.h"

namespace tz::io::hdf5::detail {

namespace {

// Limits that only stop abuse: real files stay far below them.
constexpr size_t kMaxHeaderBlocks = 4096;  // object header chunks (prefix + continuations)
constexpr unsigned kMaxBtreeLevel = 64;    // B-tree height (a level-64 tree would index > 2^64 items)

uint64_t pad8(uint64_t n) { return (n + 7) / 8 * 8; }

bool is_understood(uint16_t type) {
  switch (type) {
    case kMsgDataspace: case kMsgLinkInfo: case kMsgDatatype: case kMsgFillValueOld: case kMsgFillValue:
    case kMsgLink: case kMsgExternalFiles: case kMsgLayout: case kMsgGroupInfo: case kMsgFilterPipeline:
    case kMsgAttribute: case kMsgContinuation: case kMsgSymbolTable: case kMsgAttributeInfo:
      return true;
    default:
      return false;
  }
}

}  // namespace

// ---- File and Cursor ------------------------------------------------------------------------------

uint64_t File::undefined_address() const {
  return offset_size >= 8 ? UINT64_MAX : (uint64_t{1} << (8 * offset_size)) - 1;
}

const uint8_t* File::bytes(uint64_t address, uint64_t n, std::string_view what) const {
  if (!contains(address, n)) {
    if (is_undefined(address)) fail(what, " has the undefined address");
    fail(what, " at address ", address, " (", n, " bytes) lies outside the file of ", size_, " bytes");
  }
  return data_ + address;
}

Cursor File::cursor(uint64_t address, uint64_t n, std::string_view what) const {
  return Cursor(*this, bytes(address, n, what), n, address, what);
}

void File::check_checksum(uint64_t address, uint64_t n, std::string_view what) const {
  check(n <= UINT64_MAX - 4, what, " at address ", address, " declares ", n, " bytes");
  const uint8_t* p = bytes(address, n + 4, what);
  const uint32_t stored = io::detail::read_le<uint32_t>(p + n);
  const uint32_t computed = lookup3(p, n);
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
  // (Fuzzing builds skip the comparison so that mutated inputs reach the parsers behind it.)
  check(stored == computed, what, " at address ", address, " fails its checksum (stored 0x", std::hex, stored,
        ", computed 0x", computed, std::dec, "): the file is corrupt");
#else
  (void)stored;
  (void)computed;
#endif
}

void File::charge(uint64_t bytes, std::string_view what) {
  const uint64_t limit = size_ > (UINT64_MAX - (16u << 20)) / 8 ? UINT64_MAX : 8 * size_ + (16u << 20);
  charged_ = bytes > limit || charged_ > limit - bytes ? limit + 1 : charged_ + bytes;
  check(charged_ <= limit, "reading would take more than ", limit, " bytes of memory for a file of ", size_,
        " bytes (at ", what, ")");
}

std::string File::context() const { return path.empty() ? "" : " (object '" + path + "')"; }

void Cursor::need(uint64_t n) {
  if (n > remaining())
    file_->fail(what_, " is truncated at address ", address_, ": ", n, " more bytes needed, ", remaining(), " left");
}

uint64_t Cursor::uint(size_t nbytes) {
  need(nbytes);
  uint64_t v = 0;
  for (size_t i = 0; i < nbytes; ++i) v |= static_cast<uint64_t>(p_[i]) << (8 * i);
  p_ += nbytes;
  address_ += nbytes;
  return v;
}

const uint8_t* Cursor::take(uint64_t n) {
  need(n);
  const uint8_t* p = p_;
  p_ += n;
  address_ += n;
  return p;
}

Cursor Cursor::sub(uint64_t n, std::string_view what) {
  const uint64_t at = address_;
  const uint8_t* p = take(n);
  return Cursor(*file_, p, n, at, what);
}

// ---- object headers -------------------------------------------------------------------------------

const Message* ObjectHeader::find(uint16_t type) const {
  for (const auto& m : messages)
    if (m.type == type) return &m;
  return nullptr;
}

namespace {

struct Block {
  uint64_t begin, end;  // file range of one header chunk, prefix or signature and checksum included
};

// Records a header chunk, refusing one that overlaps a chunk already read: a continuation message
// pointing back into the header (or at a block already read) would otherwise loop forever.
void add_block(const File& f, std::vector<Block>& blocks, uint64_t begin, uint64_t end) {
  f.check(blocks.size() < kMaxHeaderBlocks, "object header has more than ", kMaxHeaderBlocks, " continuation blocks");
  for (const Block& b : blocks)
    f.check(end <= b.begin || begin >= b.end, "object header block [", begin, ", ", end, ") overlaps block [",
            b.begin, ", ", b.end, ") of the same header (a cyclic or corrupt continuation chain)");
  blocks.push_back({begin, end});
}

// Parses the messages of one chunk; continuation messages are queued, NIL messages dropped.
void parse_messages(const File& f, Cursor c, int version, bool with_order, ObjectHeader& h,
                    std::vector<std::pair<uint64_t, uint64_t>>& continuations) {
  const uint64_t prefix = version == 1 ? 8 : (with_order ? 6 : 4);
  while (c.remaining() >= prefix) {
    Message m;
    if (version == 1) {
      m.type = c.u16();
      const uint16_t size = c.u16();
      m.flags = c.u8();
      c.skip(3);
      m.address = c.position();
      m.size = size;
    } else {
      m.type = c.u8();
      m.size = c.u16();
      m.flags = c.u8();
      if (with_order) c.skip(2);
      m.address = c.position();
    }
    m.data = c.take(m.size);
    if (m.type == kMsgNil) continue;
    if (m.type == kMsgContinuation) {
      Cursor mc = m.cursor(f, "object header continuation message");
      const uint64_t address = mc.address();
      const uint64_t length = mc.length();
      continuations.emplace_back(address, length);
      continue;
    }
    if (m.flags & kMsgFlagShared) {
      f.check(!is_understood(m.type), "object header message type ", m.type,
              " is stored as a shared message (committed datatypes and shared message tables are not supported)");
      continue;
    }
    // Types 0x00-0x17 are defined by the format (those we do not read carry nothing we need);
    // anything else is unknown, and its writer may have asked readers to give up.
    f.check(m.type <= 0x17 || !(m.flags & kMsgFlagFailIfUnknown), "object header message type ", m.type,
            " is unknown and marked 'fail if unknown'");
    h.messages.push_back(m);
  }
  // Version 1 pads messages to 8 bytes and version 2 leaves a gap smaller than a message prefix:
  // whatever is left here carries no message.
}

}  // namespace

ObjectHeader read_object_header(const File& f, uint64_t address) {
  ObjectHeader h;
  h.address = address;
  const uint8_t* p = f.bytes(address, 4, "object header");
  std::vector<Block> blocks;
  std::vector<std::pair<uint64_t, uint64_t>> continuations;
  bool with_order = false;

  if (std::memcmp(p, "OHDR", 4) == 0) {
    h.version = 2;
    Cursor c = f.cursor(address, std::min<uint64_t>(f.size() - address, 4 + 2 + 16 + 4 + 8), "object header prefix");
    c.skip(4);
    const uint8_t version = c.u8();
    f.check(version == 2, "object header at address ", address, " has version ", unsigned(version), " (expected 2)");
    const uint8_t flags = c.u8();
    with_order = flags & 0x04;
    if (flags & 0x20) c.skip(16);  // access, modification, change and birth times
    if (flags & 0x10) c.skip(4);   // attribute storage phase change values
    const uint64_t chunk0 = c.uint(size_t{1} << (flags & 3));
    const uint64_t data_at = c.position();
    f.check(f.contains(data_at, chunk0) && f.contains(data_at + chunk0, 4), "object header at address ", address,
            " declares a first chunk of ", chunk0, " bytes, which runs past the end of the file (", f.size(), " bytes)");
    f.check_checksum(address, data_at + chunk0 - address, "object header");
    add_block(f, blocks, address, data_at + chunk0 + 4);
    parse_messages(f, f.cursor(data_at, chunk0, "object header messages"), 2, with_order, h, continuations);
  } else {
    h.version = 1;
    Cursor c = f.cursor(address, 16, "object header");
    const uint8_t version = c.u8();
    f.check(version == 1, "no object header at address ", address, " (version byte ", unsigned(version),
            ", expected 1 or the signature 'OHDR')");
    c.skip(1 + 2 + 4);  // reserved, message count (recounted below), reference count
    const uint32_t size = c.u32();
    f.check(f.contains(address + 16, size), "object header at address ", address, " declares ", size,
            " bytes of messages, which run past the end of the file (", f.size(), " bytes)");
    add_block(f, blocks, address, address + 16 + size);
    parse_messages(f, f.cursor(address + 16, size, "object header messages"), 1, false, h, continuations);
  }

  for (size_t k = 0; k < continuations.size(); ++k) {
    const auto [at, length] = continuations[k];
    f.check(f.contains(at, length), "object header continuation block at address ", at, " (", length,
            " bytes) lies outside the file of ", f.size(), " bytes");
    add_block(f, blocks, at, at + length);
    if (h.version == 1) {
      parse_messages(f, f.cursor(at, length, "object header continuation block"), 1, false, h, continuations);
    } else {
      f.check(length >= 8 && std::memcmp(f.bytes(at, 4, "continuation block"), "OCHK", 4) == 0,
              "object header continuation block at address ", at, " has no 'OCHK' signature");
      f.check_checksum(at, length - 4, "object header continuation block");
      parse_messages(f, f.cursor(at + 4, length - 8, "object header continuation block"), 2, with_order, h,
                     continuations);
    }
  }
  return h;
}

// ---- local and global heaps -------------------------------------------------------------------

std::string LocalHeap::string_at(const File& f, uint64_t offset, std::string_view what) const {
  f.check(offset < size, what, " offset ", offset, " lies outside the local heap at address ", address, " (",
          size, " bytes of data)");
  const auto* begin = reinterpret_cast<const char*>(data + offset);
  const size_t n = strnlen(begin, size - offset);
  f.check(n < size - offset, what, " at offset ", offset, " of the local heap at address ", address,
          " is not NUL-terminated inside the heap");
  return std::string(begin, n);
}

LocalHeap read_local_heap(const File& f, uint64_t address) {
  Cursor c = f.cursor(address, 8 + 2 * static_cast<uint64_t>(f.length_size) + f.offset_size, "local heap");
  f.check(std::memcmp(c.take(4), "HEAP", 4) == 0, "no local heap at address ", address, " (signature 'HEAP' missing)");
  const uint8_t version = c.u8();
  f.check(version == 0, "local heap at address ", address, " has version ", unsigned(version), " (expected 0)");
  c.skip(3);
  LocalHeap h;
  h.size = c.length();
  c.length();  // free list
  h.address = c.address();
  h.data = f.bytes(h.address, h.size, "local heap data segment");
  return h;
}

std::pair<const uint8_t*, uint64_t> global_heap_object(File& f, uint64_t address, uint32_t index) {
  auto it = f.global_heaps.find(address);
  if (it == f.global_heaps.end()) {
    const uint64_t header = 8 + static_cast<uint64_t>(f.length_size);
    Cursor c = f.cursor(address, header, "global heap collection");
    f.check(std::memcmp(c.take(4), "GCOL", 4) == 0, "no global heap collection at address ", address,
            " (signature 'GCOL' missing)");
    const uint8_t version = c.u8();
    f.check(version == 1, "global heap collection at address ", address, " has version ", unsigned(version),
            " (expected 1)");
    c.skip(3);
    const uint64_t size = c.length();
    f.check(size >= header, "global heap collection at address ", address, " declares ", size, " bytes");
    Cursor objects = f.cursor(address + header, size - header, "global heap collection");
    std::map<uint32_t, std::pair<const uint8_t*, uint64_t>> table;
    const uint64_t object_header = 8 + static_cast<uint64_t>(f.length_size);
    while (objects.remaining() >= object_header) {
      const uint16_t id = objects.u16();
      objects.skip(6);  // reference count, reserved
      const uint64_t n = objects.length();
      if (id == 0) break;  // free space: the rest of the collection
      const uint8_t* data = objects.take(n);
      objects.skip(std::min(objects.remaining(), pad8(n) - n));
      f.check(table.emplace(id, std::make_pair(data, n)).second, "global heap collection at address ", address,
              " holds object ", id, " twice");
    }
    it = f.global_heaps.emplace(address, std::move(table)).first;
  }
  auto obj = it->second.find(index);
  f.check(obj != it->second.end(), "global heap collection at address ", address, " has no object ", index);
  return obj->second;
}

// ---- version-1 B-trees ----------------------------------------------------------------------------

namespace {

struct BtreeNode {
  unsigned level = 0;
  unsigned entries = 0;
  Cursor body;  // keys and children
};

// Reads a version-1 B-tree node header and returns a cursor over its keys and children
// (`entries` children, `entries` + 1 keys of `key_size` bytes each).
BtreeNode read_btree_node(const File& f, uint64_t address, unsigned type, uint64_t key_size,
                          std::set<uint64_t>& visited) {
  f.check(visited.insert(address).second, "B-tree node at address ", address, " is reached twice (a cyclic B-tree)");
  const uint64_t head = 8 + 2 * static_cast<uint64_t>(f.offset_size);
  Cursor c = f.cursor(address, head, "B-tree node");
  f.check(std::memcmp(c.take(4), "TREE", 4) == 0, "no B-tree node at address ", address, " (signature 'TREE' missing)");
  const uint8_t node_type = c.u8();
  f.check(node_type == type, "B-tree node at address ", address, " has type ", unsigned(node_type), ", expected ", type,
          type == 0 ? " (group)" : " (chunks)");
  const unsigned level = c.u8();
  const unsigned entries = c.u16();
  f.check(level <= kMaxBtreeLevel, "B-tree node at address ", address, " has level ", level, " (at most ",
          kMaxBtreeLevel, ")");
  const uint64_t body = entries * (key_size + f.offset_size) + key_size;
  return {level, entries, f.cursor(address + head, body, "B-tree node keys")};
}

void walk_group_btree(const File& f, uint64_t address, int expected_level, const LocalHeap& heap,
                      std::set<uint64_t>& visited, std::vector<SymbolEntry>& out) {
  BtreeNode node = read_btree_node(f, address, 0, f.length_size, visited);
  f.check(expected_level < 0 || static_cast<int>(node.level) == expected_level, "B-tree node at address ", address,
          " has level ", node.level, " under a node of level ", expected_level + 1);
  std::vector<uint64_t> children;
  for (unsigned i = 0; i < node.entries; ++i) {
    node.body.length();  // key: heap offset of a name, not needed to list every link
    children.push_back(node.body.address());
  }
  if (node.level > 0) {
    for (uint64_t child : children) walk_group_btree(f, child, static_cast<int>(node.level) - 1, heap, visited, out);
    return;
  }
  const uint64_t entry_size = 2 * static_cast<uint64_t>(f.offset_size) + 24;
  for (uint64_t snod : children) {
    f.check(visited.insert(snod).second, "symbol table node at address ", snod, " is reached twice");
    Cursor c = f.cursor(snod, 8, "symbol table node");
    f.check(std::memcmp(c.take(4), "SNOD", 4) == 0, "no symbol table node at address ", snod,
            " (signature 'SNOD' missing)");
    const uint8_t version = c.u8();
    f.check(version == 1, "symbol table node at address ", snod, " has version ", unsigned(version), " (expected 1)");
    c.skip(1);
    const uint16_t count = c.u16();
    Cursor e = f.cursor(snod + 8, count * entry_size, "symbol table node entries");
    for (unsigned k = 0; k < count; ++k) {
      const uint64_t name_offset = e.length();  // libhdf5 encodes it as a length, the spec says offset
      const uint64_t object = e.address();
      const uint32_t cache = e.u32();
      e.skip(4 + 16);
      if (cache == 2) continue;  // a soft link: it names another path, it is not an object
      SymbolEntry entry;
      entry.name = heap.string_at(f, name_offset, "link name");
      check_link_name(f, entry.name);
      entry.address = object;
      out.push_back(std::move(entry));
    }
  }
}

void walk_chunk_btree(const File& f, uint64_t address, int expected_level, size_t rank, std::set<uint64_t>& visited,
                      std::vector<ChunkRecord>& out) {
  const uint64_t key_size = 8 + 8 * (static_cast<uint64_t>(rank) + 1);
  BtreeNode node = read_btree_node(f, address, 1, key_size, visited);
  f.check(expected_level < 0 || static_cast<int>(node.level) == expected_level, "B-tree node at address ", address,
          " has level ", node.level, " under a node of level ", expected_level + 1);
  for (unsigned i = 0; i < node.entries; ++i) {
    ChunkRecord r;
    r.size = node.body.u32();
    r.filter_mask = node.body.u32();
    for (size_t d = 0; d < rank; ++d) r.offset.push_back(node.body.u64());
    const uint64_t element_offset = node.body.u64();
    r.address = node.body.address();
    if (node.level > 0) {
      walk_chunk_btree(f, r.address, static_cast<int>(node.level) - 1, rank, visited, out);
    } else {
      f.check(element_offset == 0, "chunk key at address ", address, " has element offset ", element_offset,
              " (must be 0)");
      out.push_back(std::move(r));
    }
  }
}

}  // namespace

std::vector<SymbolEntry> read_symbol_table(const File& f, const SymbolTable& table) {
  LocalHeap heap = read_local_heap(f, table.heap);
  std::vector<SymbolEntry> out;
  std::set<uint64_t> visited;
  walk_group_btree(f, table.btree, -1, heap, visited, out);
  return out;
}

std::vector<ChunkRecord> read_chunk_btree(const File& f, uint64_t address, size_t rank) {
  std::vector<ChunkRecord> out;
  std::set<uint64_t> visited;
  walk_chunk_btree(f, address, -1, rank, visited, out);
  return out;
}

}  // namespace tz::io::hdf5::detail
