// Keras weight files on top of the HDF5 tree; see keras_weights.h.
// The reading rules follow what HF's modeling_tf_utils.load_tf_weights relies on: names come from
// the attributes, never from the order of groups or datasets in the file.
#include "tensor/io/keras_weights.h"

#include <algorithm>
#include <set>

#include "core/error.h"

namespace tz::io {

namespace {

using hdf5::Attribute;
using hdf5::Node;

// The strings of attribute `a`; an empty numeric array is an empty list (numpy's np.asarray([])).
std::vector<std::string> strings_of(const Attribute& a, const std::string& where) {
  if (a.is_string()) return a.strings;
  TZ_CHECK(a.numbers.defined() && a.numbers.numel() == 0, "keras weights: attribute '", a.name, "' of ", where,
           " holds ", a.numbers.defined() ? a.numbers.numel() : 0, " numbers, expected a list of names");
  return {};
}

// `name`, or the pieces `name0`, `name1`, ... concatenated, as Keras' load_attributes_from_hdf5_group.
std::vector<std::string> name_list(const Node& node, const std::string& name, const std::string& where) {
  if (const Attribute* a = node.attribute(name)) return strings_of(*a, where);
  std::vector<std::string> out;
  size_t k = 0;
  for (; const Attribute* a = node.attribute(name + std::to_string(k)); ++k) {
    auto piece = strings_of(*a, where);
    out.insert(out.end(), piece.begin(), piece.end());
  }
  TZ_CHECK(k > 0, "keras weights: ", where, " has no attribute '", name, "' (nor '", name,
           "0', ...): not a Keras weights file");
  return out;
}

std::string scalar_string(const Node& root, const char* name, const std::string& fallback) {
  const Attribute* a = root.attribute(name);
  return a && a->is_string() && a->strings.size() == 1 ? a->strings[0] : fallback;
}

}  // namespace

KerasWeights keras_weights_from_hdf5(const Node& root, const std::string& what) {
  KerasWeights w;
  w.layer_names = name_list(root, "layer_names", what + " root");
  w.backend = scalar_string(root, "backend", "");
  w.keras_version = scalar_string(root, "keras_version", "");
  std::set<std::string> listed;
  for (const std::string& layer : w.layer_names) {
    TZ_CHECK(listed.insert(layer).second, "keras weights: layer_names of ", what, " lists '", layer, "' twice");
    const Node* group = root.child(layer);
    TZ_CHECK(group && group->is_group(), "keras weights: layer '", layer, "' is listed in layer_names but ", what,
             " has no group '", layer, "'");
    const auto names = name_list(*group, "weight_names", "layer '" + layer + "'");
    std::set<std::string> seen;
    for (const std::string& name : names) {
      TZ_CHECK(seen.insert(name).second, "keras weights: layer '", layer, "' lists weight '", name, "' twice");
      const Node* d = group->find(name);
      TZ_CHECK(d && !d->is_group(), "keras weights: layer '", layer, "' lists weight '", name, "' but ", what,
               " has no dataset '/", layer, "/", name, "'");
      w.weights.push_back({layer, name, d->data});
    }
  }
  for (const Node& c : root.children) {
    if (listed.count(c.name)) continue;
    w.unlisted_groups.push_back(c.name);
    if (c.name == "top_level_model_weights") w.top_level_model_weights = true;
  }
  return w;
}

KerasWeights load_keras_weights(const std::string& path) {
  const Node root = load_hdf5(path);
  try {
    return keras_weights_from_hdf5(root, "the file");
  } catch (const Error& e) {
    throw Error(std::string(e.what()) + " [" + path + "]");
  }
}

std::vector<Attribute> keras_name_attributes(const std::string& name, const std::vector<std::string>& values) {
  if (values.empty()) return {Attribute::number_array(name, Tensor::empty({0}), "F64")};
  size_t longest = 1;
  for (const std::string& v : values) {
    TZ_CHECK(v.size() <= kKerasAttributeLimit, "keras weights: the name '", v.substr(0, 64), "...' of ", v.size(),
             " bytes is longer than an attribute may be (", kKerasAttributeLimit, " bytes)");
    longest = std::max(longest, v.size());
  }
  const size_t n = values.size();
  if (n * longest <= kKerasAttributeLimit) return {Attribute::fixed_strings(name, values)};
  // numpy.array_split into k pieces: the first n % k pieces hold one more; the largest must fit.
  size_t k = 2;
  while ((n + k - 1) / k * longest > kKerasAttributeLimit) ++k;
  std::vector<Attribute> out;
  size_t begin = 0;
  for (size_t piece = 0; piece < k; ++piece) {
    const size_t count = n / k + (piece < n % k ? 1 : 0);
    std::vector<std::string> part(values.begin() + begin, values.begin() + begin + count);
    out.push_back(Attribute::fixed_strings(name + std::to_string(piece), std::move(part),
                                           static_cast<uint32_t>(longest)));
    begin += count;
  }
  return out;
}

Node keras_weights_to_hdf5(const KerasWeights& w) {
  Node root;
  for (auto& a : keras_name_attributes("layer_names", w.layer_names)) root.attributes.push_back(std::move(a));
  root.attributes.push_back(Attribute::variable_string("backend", w.backend));
  root.attributes.push_back(Attribute::variable_string("keras_version", w.keras_version));
  std::set<std::string> layers;
  for (const std::string& layer : w.layer_names) {
    TZ_CHECK(layers.insert(layer).second, "keras weights: layer '", layer, "' is listed twice");
    TZ_CHECK(!(w.top_level_model_weights && layer == "top_level_model_weights"),
             "keras weights: a layer may not be called 'top_level_model_weights'");
    TZ_CHECK(!layer.empty() && layer.find('/') == std::string::npos, "keras weights: layer name '", layer,
             "' is empty or contains '/'");
    Node& group = root.group_at(layer);
    std::vector<std::string> names;
    for (const KerasWeight& kw : w.weights) {
      if (kw.layer != layer) continue;
      group.add_dataset(kw.name, kw.value);
      names.push_back(kw.name);
    }
    for (auto& a : keras_name_attributes("weight_names", names)) group.attributes.push_back(std::move(a));
  }
  for (const KerasWeight& kw : w.weights)
    TZ_CHECK(layers.count(kw.layer), "keras weights: weight '", kw.name, "' belongs to layer '", kw.layer,
             "', which layer_names does not list");
  if (w.top_level_model_weights) {
    Node& group = root.group_at("top_level_model_weights");
    group.attributes.push_back(Attribute::number_array("weight_names", Tensor::empty({0}), "F64"));
  }
  return root;
}

void save_keras_weights(const std::string& path, const KerasWeights& w) { save_hdf5(path, keras_weights_to_hdf5(w)); }

}  // namespace tz::io
