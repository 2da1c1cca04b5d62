// The HDF5 tree's helpers: lookups by name and path, building groups and datasets, and the
// attribute constructors; see hdf5.h. Not here: reading (hdf5_reader.cpp) and writing (hdf5_writer.cpp).
#include <algorithm>

#include "core/error.h"
#include "tensor/io/hdf5.h"

namespace tz::io::hdf5 {

namespace {

// Splits "a/b/c" into its components; empty components (leading, trailing or doubled '/') are skipped.
std::vector<std::string_view> components(std::string_view path) {
  std::vector<std::string_view> out;
  size_t begin = 0;
  while (begin <= path.size()) {
    size_t end = path.find('/', begin);
    if (end == std::string_view::npos) end = path.size();
    if (end > begin) out.push_back(path.substr(begin, end - begin));
    begin = end + 1;
  }
  return out;
}

}  // namespace

Attribute Attribute::fixed_strings(std::string name, std::vector<std::string> values, uint32_t size) {
  Attribute a;
  a.string_size = size;
  a.name = std::move(name);
  a.type = Type::FixedString;
  a.shape = {static_cast<int64_t>(values.size())};
  a.strings = std::move(values);
  return a;
}

Attribute Attribute::variable_string(std::string name, std::string value) {
  Attribute a;
  a.name = std::move(name);
  a.type = Type::VariableString;
  a.strings = {std::move(value)};
  return a;
}

Attribute Attribute::number_array(std::string name, Tensor values, std::string stored_dtype) {
  Attribute a;
  a.name = std::move(name);
  a.type = Type::Number;
  a.shape = values.shape();
  a.numbers = std::move(values);
  a.stored_dtype = std::move(stored_dtype);
  return a;
}

const Node* Node::child(std::string_view name) const {
  for (const Node& c : children)
    if (c.name == name) return &c;
  return nullptr;
}

Node* Node::child(std::string_view name) {
  for (Node& c : children)
    if (c.name == name) return &c;
  return nullptr;
}

const Node* Node::find(std::string_view path) const {
  const Node* n = this;
  for (std::string_view part : components(path)) {
    n = n->child(part);
    if (!n) return nullptr;
  }
  return n;
}

const Attribute* Node::attribute(std::string_view name) const {
  for (const Attribute& a : attributes)
    if (a.name == name) return &a;
  return nullptr;
}

Node& Node::group_at(std::string_view path) {
  Node* n = this;
  for (std::string_view part : components(path)) {
    TZ_CHECK(n->is_group(), "hdf5: cannot create group '", part, "' under dataset '", n->name, "'");
    Node* next = n->child(part);
    if (!next) {
      Node g;
      g.name = std::string(part);
      n->children.push_back(std::move(g));
      next = &n->children.back();
    }
    TZ_CHECK(next->is_group(), "hdf5: '", part, "' in path '", path, "' is a dataset, not a group");
    n = next;
  }
  return *n;
}

Node& Node::add_dataset(std::string_view path, Tensor data) {
  const size_t slash = path.rfind('/');
  Node& parent = slash == std::string_view::npos ? group_at("") : group_at(path.substr(0, slash));
  const std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  TZ_CHECK(!name.empty(), "hdf5: dataset path '", path, "' ends with '/'");
  TZ_CHECK(!parent.child(name), "hdf5: '", path, "' already exists");
  TZ_CHECK(data.defined(), "hdf5: dataset '", path, "' has no data");
  Node d;
  d.kind = Kind::Dataset;
  d.name = std::string(name);
  d.data = std::move(data);
  parent.children.push_back(std::move(d));
  return parent.children.back();
}

}  // namespace tz::io::hdf5
