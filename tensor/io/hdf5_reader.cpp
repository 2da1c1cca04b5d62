// Reading an HDF5 file into a tree (load_hdf5 in hdf5.h): the superblock, then a walk over the
// groups from the root. Groups are "old style" (symbol table: a version-1 B-tree of symbol nodes
// naming links in a local heap) or "new style" (link messages in the object header, or a fractal
// heap of them when there are many); datasets are read by hdf5_data.cpp.
// The walk is bounded: groups nest at most kMaxDepth deep, a link back to an enclosing group is a
// cycle and refused, a group reached through two links is refused, a dataset reached through two
// links is read once and shared, and the memory of the result is limited (File::charge).
// Not here: the structures (hdf5_objects.cpp, hdf5_dense.cpp) and values (hdf5_data.cpp).
#include <algorithm>
#include <cstring>

#include "tensor/io/hdf5_format.h"
#include "tensor/io/hdf5_parse.h"
#include "tensor/io/mapped_file.h"

namespace tz::io {

namespace {

using namespace hdf5::detail;
using hdf5::Attribute;
using hdf5::Node;

constexpr int kMaxDepth = 100;

struct Superblock {
  int version = 0;
  uint64_t base = 0;  // where the superblock (and with it address 0) sits in the file
  uint64_t root = 0;  // the root group's object header
};

int checked_size(uint8_t n, const char* what, uint64_t at) {
  TZ_CHECK(n == 2 || n == 4 || n == 8, "hdf5: superblock at offset ", at, " declares ", what, " of ", unsigned(n),
           " bytes (2, 4 or 8 are supported)");
  return n;
}

// Finds the signature (at 0, 512, 1024, 2048, ...: a user block may precede it) and reads the
// superblock into `f`'s address and length sizes.
Superblock find_superblock(const uint8_t* data, uint64_t size) {
  uint64_t at = 0;
  for (;; at = at == 0 ? 512 : 2 * at) {
    TZ_CHECK(size >= 8 && at <= size - 8,
             "hdf5: no HDF5 signature at offset 0, 512, 1024, ... (not an HDF5 file, or it is truncated; the file has ",
             size, " bytes)");
    if (std::memcmp(data + at, kSignature, 8) == 0) break;
  }
  Superblock sb;
  sb.base = at;
  TZ_CHECK(size - at >= 9, "hdf5: the file ends inside the superblock at offset ", at);
  sb.version = data[at + 8];
  TZ_CHECK(sb.version <= 3, "hdf5: superblock version ", sb.version, " at offset ", at,
           " is not supported (versions 0 to 3 are)");
  return sb;
}

// The end-of-file address counts from the start of the file (user block included): a smaller file
// was truncated (or damaged in transfer), and its last objects would be missing.
void check_end_of_file(const File& f, const Superblock& sb, uint64_t eof) {
  f.check(eof <= sb.base || eof - sb.base <= f.size(), "the file is truncated: its superblock says ", eof,
          " bytes, the file holds ", sb.base + f.size());
}

Superblock read_superblock(File& f, Superblock sb) {
  const uint8_t* p = f.bytes(0, std::min<uint64_t>(f.size(), 16), "superblock");
  auto check_length = [&](uint64_t n) {
    f.check(f.size() >= n, "the file ends inside the superblock (", n, " bytes needed, ", f.size(), " in the file)");
  };
  check_length(16);
  if (sb.version <= 1) {
    f.offset_size = checked_size(p[13], "addresses", sb.base);
    f.length_size = checked_size(p[14], "lengths", sb.base);
    const uint64_t entry = static_cast<uint64_t>(f.length_size) + f.offset_size + 24;
    const uint64_t length = 24 + (sb.version == 1 ? 4 : 0) + 4 * static_cast<uint64_t>(f.offset_size) + entry;
    check_length(length);
    Cursor c = f.cursor(0, length, "superblock");
    c.skip(9);
    f.check(c.u8() == 0, "superblock free-space version is not 0");
    f.check(c.u8() == 0, "superblock root symbol table entry version is not 0");
    c.skip(1);
    f.check(c.u8() == 0, "superblock shared header message version is not 0");
    c.skip(3);      // sizes (read above), reserved
    c.skip(4 + 4);  // group leaf and internal node K, file consistency flags
    if (sb.version == 1) c.skip(4);  // indexed storage internal node K, reserved
    c.address();  // base address: addresses are relative to the superblock's position, as libhdf5 reads them
    c.address();  // free-space info
    const uint64_t eof = c.address();
    c.address();  // driver information block
    check_end_of_file(f, sb, eof);
    c.length();   // root link name offset
    sb.root = c.address();
  } else {
    f.offset_size = checked_size(p[9], "addresses", sb.base);
    f.length_size = checked_size(p[10], "lengths", sb.base);
    const uint64_t body = 12 + 4 * static_cast<uint64_t>(f.offset_size);
    check_length(body + 4);
    Cursor c = f.cursor(0, body + 4, "superblock");
    c.skip(12);
    c.address();  // base address
    c.address();  // superblock extension (B-tree K values, driver info, shared message table: not needed)
    const uint64_t eof = c.address();
    sb.root = c.address();
    f.check_checksum(0, body, "superblock");
    check_end_of_file(f, sb, eof);
  }
  return sb;
}

class Walker {
 public:
  Walker(File& f, std::shared_ptr<const void> keepalive) : f_(f), keepalive_(std::move(keepalive)) {}

  Node read(uint64_t address, const std::string& name, const std::string& path, int depth) {
    f_.path = path;
    f_.check(depth <= kMaxDepth, "groups nest deeper than ", kMaxDepth, " levels");
    f_.check(!ancestors_.count(address), "a link points back to an enclosing group at address ", address,
             " (a cycle)");
    f_.charge(sizeof(Node) + name.size(), "the object tree");
    if (auto it = datasets_.find(address); it != datasets_.end()) {
      Node copy = it->second;  // another link to a dataset already read: its tensor is shared
      copy.name = name;
      for (const Attribute& a : copy.attributes) f_.charge(a.strings.size() * 32 + a.numbers.numel() * 8, "attributes");
      return copy;
    }
    f_.check(groups_.insert(address).second, "the group at address ", address,
             " is reached through a second link; hard links to one group from two places are not supported");

    const ObjectHeader h = read_object_header(f_, address);
    Node node;
    node.name = name;
    node.attributes = read_attributes(h);
    const bool old_group = h.find(kMsgSymbolTable) != nullptr;
    const bool new_group = h.find(kMsgLinkInfo) || h.find(kMsgLink) || h.find(kMsgGroupInfo);
    if (old_group || new_group) {
      node.kind = Node::Kind::Group;
      ancestors_.insert(address);
      for (const auto& [child_name, child_address] : old_group ? symbol_table_links(h) : link_message_links(h)) {
        node.children.push_back(read(child_address, child_name, join(path, child_name), depth + 1));
        f_.path = path;
      }
      ancestors_.erase(address);
      return node;
    }
    f_.check(h.find(kMsgLayout) != nullptr || h.find(kMsgDatatype) != nullptr, "the object at address ", address,
             " is neither a group nor a dataset");
    if (!h.find(kMsgLayout)) {
      node.name.clear();  // a committed datatype: not part of the tree (dropped by drop_unnamed)
      node.kind = Node::Kind::Dataset;
      return node;
    }
    groups_.erase(address);
    node.kind = Node::Kind::Dataset;
    const DatasetInfo info = dataset_info(h);
    node.stored_dtype = info.type.is_number ? stored_dtype_name(info.type.stored) : "";
    node.data = read_dataset(f_, info, keepalive_);
    datasets_.emplace(address, node);
    return node;
  }

 private:
  static std::string join(const std::string& path, const std::string& name) {
    return path == "/" ? "/" + name : path + "/" + name;
  }

  std::vector<Attribute> read_attributes(const ObjectHeader& h) {
    std::vector<AttributeMessage> messages;
    for (const Message& m : h.messages)
      if (m.type == kMsgAttribute) messages.push_back(decode_attribute(m.cursor(f_, "attribute message")));
    if (const Message* m = h.find(kMsgAttributeInfo)) {
      const DenseStorage info = decode_dense_storage(m->cursor(f_, "attribute info message"), true);
      if (!f_.is_undefined(info.heap))
        for (auto& a : read_dense_attributes(f_, info)) messages.push_back(std::move(a));
    }
    // h5py lists attributes by name; dense storage keeps them in hash order.
    std::stable_sort(messages.begin(), messages.end(),
                     [](const AttributeMessage& a, const AttributeMessage& b) { return a.name < b.name; });
    std::vector<Attribute> out;
    for (const AttributeMessage& m : messages) {
      f_.check(out.empty() || out.back().name != m.name, "attribute '", m.name, "' appears twice");
      out.push_back(read_attribute(f_, m));
    }
    return out;
  }

  std::vector<std::pair<std::string, uint64_t>> symbol_table_links(const ObjectHeader& h) {
    const SymbolTable table = decode_symbol_table(h.find(kMsgSymbolTable)->cursor(f_, "symbol table message"));
    std::vector<std::pair<std::string, uint64_t>> links;
    for (auto& e : read_symbol_table(f_, table)) links.emplace_back(std::move(e.name), e.address);
    check_unique(links);
    return links;
  }

  std::vector<std::pair<std::string, uint64_t>> link_message_links(const ObjectHeader& h) {
    std::vector<LinkMessage> messages;
    for (const Message& m : h.messages)
      if (m.type == kMsgLink) messages.push_back(decode_link(m.cursor(f_, "link message")));
    if (const Message* m = h.find(kMsgLinkInfo)) {
      const DenseStorage info = decode_dense_storage(m->cursor(f_, "link info message"), false);
      if (!f_.is_undefined(info.heap))
        for (auto& l : read_dense_links(f_, info)) messages.push_back(std::move(l));
    }
    // h5py lists members by name unless the group tracks creation order.
    const bool by_order = !messages.empty() && std::all_of(messages.begin(), messages.end(),
                                                           [](const LinkMessage& l) { return l.has_order; });
    std::stable_sort(messages.begin(), messages.end(), [&](const LinkMessage& a, const LinkMessage& b) {
      return by_order ? a.order < b.order : a.name < b.name;
    });
    std::vector<std::pair<std::string, uint64_t>> links;
    for (auto& l : messages)
      if (l.link_type == 0) links.emplace_back(std::move(l.name), l.address);  // soft and external links skipped
    check_unique(links);
    return links;
  }

  void check_unique(const std::vector<std::pair<std::string, uint64_t>>& links) {
    std::set<std::string_view> names;
    for (const auto& l : links) f_.check(names.insert(l.first).second, "the group has two links named '", l.first, "'");
  }

  DatasetInfo dataset_info(const ObjectHeader& h) {
    DatasetInfo info;
    const Message* space = h.find(kMsgDataspace);
    const Message* type = h.find(kMsgDatatype);
    f_.check(space && type, "the dataset has no ", space ? "datatype" : "dataspace", " message");
    info.space = decode_dataspace(space->cursor(f_, "dataspace message"));
    Cursor tc = type->cursor(f_, "datatype message");
    info.type = decode_datatype(tc);
    info.layout = decode_layout(h.find(kMsgLayout)->cursor(f_, "data layout message"));
    if (const Message* m = h.find(kMsgFillValue))
      info.fill = decode_fill_value(m->cursor(f_, "fill value message"), false);
    else if (const Message* old = h.find(kMsgFillValueOld))
      info.fill = decode_fill_value(old->cursor(f_, "fill value message"), true);
    if (const Message* m = h.find(kMsgFilterPipeline))
      info.filters = decode_filter_ids(m->cursor(f_, "filter pipeline message"));
    info.external = h.find(kMsgExternalFiles) != nullptr;
    return info;
  }

  File& f_;
  std::shared_ptr<const void> keepalive_;
  std::set<uint64_t> ancestors_;
  std::set<uint64_t> groups_;
  std::map<uint64_t, Node> datasets_;
};

// Committed datatypes come back from the walk as nameless groups; drop them.
void drop_unnamed(Node& n) {
  n.children.erase(std::remove_if(n.children.begin(), n.children.end(), [](const Node& c) { return c.name.empty(); }),
                   n.children.end());
  for (Node& c : n.children) drop_unnamed(c);
}

Node parse_hdf5(const uint8_t* data, uint64_t size, const std::shared_ptr<const void>& keepalive) {
  Superblock sb = find_superblock(data, size);
  File f(data + sb.base, size - sb.base);
  sb = read_superblock(f, sb);
  Walker walker(f, keepalive);
  Node root = walker.read(sb.root, "", "/", 0);
  f.path = "/";
  f.check(root.is_group(), "the root object is not a group");
  drop_unnamed(root);
  return root;
}

}  // namespace

Node load_hdf5_from_memory(const uint8_t* data, size_t size) { return parse_hdf5(data, size, nullptr); }

Node load_hdf5(const std::string& path) {
  auto file = detail::MappedFile::open(path, "hdf5");
  try {
    return parse_hdf5(file->data(), file->size(), file);
  } catch (const Error& e) {
    throw Error(std::string(e.what()) + " [" + path + "]");
  }
}

}  // namespace tz::io
