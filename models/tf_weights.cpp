// TF <-> PyTorch weight names, layouts and files for any family; see tf_weights.h.
// The rules are HF's (transformers' modeling_tf_pytorch_utils): names by convert_tf_weight_name_to_
// pt_weight_name, axes by the TF variable's last name component and rank, then a reshape to the
// other side's shape. The Keras shapes of PyTorch weights follow Keras' layer conventions.
#include "models/tf_weights.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <set>

#include "core/error.h"
#include "tensor/ops.h"

namespace tz::models {

namespace {

std::vector<std::string> split(const std::string& s, const std::string& sep) {
  std::vector<std::string> out;
  size_t begin = 0;
  while (true) {
    const size_t end = s.find(sep, begin);
    out.push_back(s.substr(begin, end == std::string::npos ? std::string::npos : end - begin));
    if (end == std::string::npos) return out;
    begin = end + sep.size();
  }
}

std::string join(const std::vector<std::string>& parts, const char* sep, size_t from = 0) {
  std::string s;
  for (size_t i = from; i < parts.size(); ++i) s += (i > from ? sep : "") + parts[i];
  return s;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

// The leaf of a TF name: its last '/' component without ":0".
std::string tf_leaf(const std::string& tf_name) {
  std::string leaf = tf_name.substr(tf_name.rfind('/') + 1);
  if (ends_with(leaf, ":0")) leaf.resize(leaf.size() - 2);
  return leaf;
}

TfTranspose transpose_rule(const std::string& leaf, size_t rank) {
  if (leaf == "kernel" && rank == 4) return TfTranspose::Conv2d;
  if (leaf == "kernel" && rank == 3) return TfTranspose::Conv1d;
  if (leaf == "kernel" || leaf == "depthwise_kernel" || leaf == "pointwise_kernel") return TfTranspose::Reverse;
  return TfTranspose::None;
}

// Axes that take a TF array to PyTorch order (`to_pytorch`) or back.
std::vector<int64_t> axes_of(TfTranspose t, size_t rank, bool to_pytorch) {
  std::vector<int64_t> axes(rank);
  for (size_t i = 0; i < rank; ++i) axes[i] = static_cast<int64_t>(i);
  switch (t) {
    case TfTranspose::None: break;
    case TfTranspose::Reverse:
    case TfTranspose::Conv1d: std::reverse(axes.begin(), axes.end()); break;  // (2, 1, 0) is a reversal too
    case TfTranspose::Conv2d: axes = to_pytorch ? std::vector<int64_t>{3, 2, 0, 1} : std::vector<int64_t>{2, 3, 1, 0}; break;
  }
  return axes;
}

// `t` permuted by `axes`, then given `shape` (same element count, C order).
Tensor rearrange(const Tensor& t, const std::vector<int64_t>& axes, const Shape& shape, const std::string& what) {
  TZ_CHECK(shape_numel(shape) == t.numel(), what, ": ", shape_str(t.shape()), " cannot become ", shape_str(shape));
  return raw::reshape(raw::contiguous(raw::permute(t, axes)), shape);
}

// Bit for bit (NaN payloads included).
bool same_values(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
  if (a.dtype() == DType::Int64) return a.to_vector<int64_t>() == b.to_vector<int64_t>();
  const auto x = a.to_vector<float>(), y = b.to_vector<float>();
  return x.empty() || std::memcmp(x.data(), y.data(), x.size() * sizeof(float)) == 0;
}

}  // namespace

bool is_pytorch_only(const std::string& name, const TfWeightsTable& table) {
  for (const std::string& s : table.pytorch_only)
    if (name == s || ends_with(name, "." + s)) return true;
  return false;
}

const TfWeightsTable::Head& TfWeightsTable::head(const std::string& architecture) const {
  std::string known;
  for (const Head& h : heads) {
    if (h.architecture == architecture) return h;
    known += (known.empty() ? "" : ", ") + h.architecture;
  }
  TZ_CHECK(false, "tf weights: no TF layout for architecture '", architecture, "' (known: ", known, ")");
  return heads.front();
}

std::string TfWeightsTable::dropout_name(int64_t num_hidden_layers) const {
  const int64_t n = dropouts_outside_layers + dropouts_per_layer * num_hidden_layers;
  return n == 0 ? "dropout" : "dropout_" + std::to_string(n);
}

std::string pytorch_name_of_tf(const std::string& tf_name, size_t tf_rank, TfTranspose* transpose) {
  std::string name = tf_name;
  if (ends_with(name, ":0")) name.resize(name.size() - 2);
  std::vector<std::string> parts;
  for (std::string part : split(name, "/")) {
    // HF: "a___b" becomes "b" (lets TF and PyTorch differ by a level), "_._" separates levels.
    const size_t triple = part.find("___");
    if (triple != std::string::npos) part = part.substr(triple + 3);
    for (const std::string& level : split(part, "_._"))
      if (!level.empty()) parts.push_back(level);
  }
  TZ_CHECK(parts.size() >= 2, "tf weights: variable name '", tf_name, "' has no component after the model name");
  parts.erase(parts.begin());  // the Keras model name
  const std::string leaf = parts.back();
  if (transpose) *transpose = transpose_rule(leaf, tf_rank);
  if (leaf == "kernel" || leaf == "embeddings" || leaf == "gamma") parts.back() = "weight";
  else if (leaf == "beta") parts.back() = "bias";
  else if (leaf == "depthwise_kernel" || leaf == "pointwise_kernel") {
    parts.back() = leaf.substr(0, leaf.size() - 7);  // "depthwise" / "pointwise"
    parts.push_back("weight");
  }
  return join(parts, ".");
}

std::string tf_name_of_pytorch(const std::string& pytorch_name, const std::string& keras_model_name,
                               const TfWeightsTable& table) {
  std::vector<std::string> parts = split(pytorch_name, ".");
  TZ_CHECK(parts.size() >= 2 && (parts.back() == "weight" || parts.back() == "bias"), "tf weights: PyTorch name '",
           pytorch_name, "' does not end in .weight or .bias");
  const bool is_weight = parts.back() == "weight";
  parts.pop_back();
  const std::string module = parts.back();
  std::string leaf;
  if (module.find("LayerNorm") != std::string::npos || module.find("layer_norm") != std::string::npos) {
    leaf = is_weight ? "gamma" : "beta";
  } else if (module == "depthwise" || module == "pointwise") {
    TZ_CHECK(is_weight, "tf weights: '", pytorch_name, "': a separable convolution's bias belongs to the layer");
    parts.pop_back();
    leaf = module + "_kernel";
  } else if (is_weight && ends_with(module, "embeddings")) {
    const auto& named = table.embeddings_named_weight;
    leaf = std::find(named.begin(), named.end(), module) != named.end() ? "weight" : "embeddings";
  } else {
    leaf = is_weight ? "kernel" : "bias";
  }
  // Numbered children ("layer.3") are the Keras layers "layer_._3".
  std::vector<std::string> path;
  for (const std::string& p : parts) {
    if (all_digits(p) && !path.empty()) path.back() += "_._" + p;
    else path.push_back(p);
  }
  path.push_back(leaf);
  return keras_model_name + "/" + join(path, "/") + ":0";
}

Shape tf_shape_of(const std::string& tf_name, const Shape& p) {
  const std::string leaf = tf_leaf(tf_name);
  if (leaf == "kernel" && p.size() == 4) return {p[2], p[3], p[1], p[0]};
  if (leaf == "kernel" || leaf == "pointwise_kernel") return Shape(p.rbegin(), p.rend());
  if (leaf == "depthwise_kernel") {
    TZ_CHECK(p.size() == 3, "tf weights: depthwise kernel '", tf_name, "' has PyTorch shape ", shape_str(p),
             ", expected [in, multiplier, k]");
    return {p[2], p[0], p[1]};
  }
  if (leaf == "bias") return {shape_numel(p)};
  return p;
}

Tensor tf_to_pytorch_value(const Tensor& tf_value, const std::string& tf_name, const Shape& pytorch_shape) {
  const auto axes = axes_of(transpose_rule(tf_leaf(tf_name), tf_value.shape().size()), tf_value.shape().size(), true);
  return rearrange(tf_value, axes, pytorch_shape, "tf weights: variable '" + tf_name + "'");
}

Tensor pytorch_to_tf_value(const Tensor& pytorch_value, const std::string& tf_name, const Shape& tf_shape) {
  const auto rule = transpose_rule(tf_leaf(tf_name), tf_shape.size());
  const size_t rank = pytorch_value.shape().size();
  TZ_CHECK(rule == TfTranspose::None || rank == tf_shape.size() || rule == TfTranspose::Reverse,
           "tf weights: '", tf_name, "': PyTorch rank ", rank, " does not fit TF shape ", shape_str(tf_shape));
  return rearrange(pytorch_value, axes_of(rule, rank, false), tf_shape, "tf weights: variable '" + tf_name + "'");
}

TfToPytorch tf_to_pytorch(const io::KerasWeights& file, const TfWeightsTable& table,
                          const std::map<std::string, Shape>& target_shapes, bool target_is_base_model) {
  TfToPytorch out;
  std::map<std::string, std::pair<std::string, Tensor>> first_listing;  // PyTorch name -> (TF name, TF value)
  const std::string prefix = table.base_prefix + ".";
  for (const io::KerasWeight& w : file.weights) {
    std::string name = pytorch_name_of_tf(w.name, w.value.shape().size());
    if (target_is_base_model) {
      if (!starts_with(name, prefix)) {
        if (std::find(out.unexpected.begin(), out.unexpected.end(), name) == out.unexpected.end())
          out.unexpected.push_back(name);
        continue;
      }
      name = name.substr(prefix.size());
    }
    if (auto it = first_listing.find(name); it != first_listing.end()) {
      TZ_CHECK(same_values(it->second.second, w.value), "tf weights: '", w.name, "' is listed by layer '", w.layer,
               "' with values that differ from the same variable listed before ('", it->second.first, "')");
      continue;
    }
    first_listing.emplace(name, std::make_pair(w.name, w.value));
    auto target = target_shapes.find(name);
    if (target == target_shapes.end()) {
      out.unexpected.push_back(name);
      continue;
    }
    const Shape expected = tf_shape_of(w.name, target->second);
    if (w.value.shape() != expected) {
      out.mismatched.push_back(name + " (TF variable '" + w.name + "' " + shape_str(w.value.shape()) + ", expected " +
                               shape_str(expected) + " for the model's " + shape_str(target->second) + ")");
      continue;
    }
    out.names.push_back(name);
    out.tensors.emplace(name, tf_to_pytorch_value(w.value, w.name, target->second));
  }
  return out;
}

io::KerasWeights pytorch_to_tf(const std::vector<std::pair<std::string, Tensor>>& state_dict,
                               const TfWeightsTable& table, const std::string& architecture,
                               int64_t num_hidden_layers) {
  const TfWeightsTable::Head& head = table.head(architecture);
  io::KerasWeights out;
  for (const std::string& layer : head.layer_names)
    out.layer_names.push_back(layer == "{dropout}" ? table.dropout_name(num_hidden_layers) : layer);
  const bool bare = architecture == table.base_architecture;
  const std::string prefix = table.base_prefix + ".";
  std::map<std::string, std::vector<io::KerasWeight>> by_layer;
  std::vector<io::KerasWeight> relisted;
  std::set<std::string> seen;
  for (const auto& [pt_name, value] : state_dict) {
    if (is_pytorch_only(pt_name, table)) continue;
    const std::string name = bare ? prefix + pt_name : pt_name;
    std::string layer = starts_with(name, prefix) ? table.main_layer : name.substr(0, name.find('.'));
    std::string keras_path = name;  // the PyTorch name with the Keras layer as its first component
    for (const auto& [module, keras_layer] : head.renamed_layers)
      if (starts_with(name, module + ".")) {
        layer = keras_layer;
        keras_path = keras_layer + name.substr(name.find('.'));
        break;
      }
    TZ_CHECK(layer == table.main_layer || std::find(head.layer_names.begin(), head.layer_names.end(), layer) !=
                                              head.layer_names.end(),
             "tf weights: '", pt_name, "' belongs to no layer of TF", architecture, " (layers: ",
             join(out.layer_names, ", "), ")");
    io::KerasWeight w;
    w.layer = layer;
    w.name = tf_name_of_pytorch(keras_path, head.keras_model_name, table);
    // The name must come back: a PyTorch name the TF rules cannot express would be lost on reload.
    TZ_CHECK(pytorch_name_of_tf(w.name, 0) == name, "tf weights: '", pt_name, "' has no TF name that maps back to it (",
             w.name, " -> ", pytorch_name_of_tf(w.name, 0), ")");
    TZ_CHECK(seen.insert(w.name).second, "tf weights: two PyTorch weights map to '", w.name, "'");
    w.value = pytorch_to_tf_value(value, w.name, tf_shape_of(w.name, value.shape()));
    if (!head.embeddings_relisted_by.empty() && starts_with(name, prefix + table.embeddings_module + "."))
      relisted.push_back({head.embeddings_relisted_by, w.name, w.value});
    by_layer[layer].push_back(std::move(w));
  }
  for (io::KerasWeight& w : relisted) by_layer[w.layer].push_back(std::move(w));
  for (const std::string& layer : out.layer_names)
    for (io::KerasWeight& w : by_layer[layer]) out.weights.push_back(std::move(w));
  return out;
}

}  // namespace tz::models
