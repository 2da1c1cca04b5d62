// Keras weight files (what tf.keras Model.save_weights writes to HDF5, and HuggingFace's
// tf_model.h5): the layout on top of the HDF5 tree, read and written. The file's root lists the
// model's top-level layers in the attribute `layer_names`; each layer is a group whose attribute
// `weight_names` lists the full variable names, each stored as a dataset at that name inside the
// group (so '/' in a name makes nested groups). Long lists are split into `layer_names0`,
// `layer_names1`, ... (and `weight_names0`, ...) as Keras does past 64512 bytes.
// Not here: HDF5 itself (hdf5.h); how a model family names its variables (models/tf_weights.h).
#pragma once

#include <string>
#include <vector>

#include "tensor/io/hdf5.h"

namespace tz::io {

/// One variable of a Keras weights file.
struct KerasWeight {
  /// The top-level layer (group) that lists it.
  std::string layer;
  /// The full Keras variable name, e.g. "tf_conv_bert_model/convbert/embeddings/LayerNorm/gamma:0".
  std::string name;
  /// The value with the variable's (TensorFlow) shape, float32 or int64.
  Tensor value;
};

/// The contents of a Keras weights file.
struct KerasWeights {
  /// The model's top-level layers, in the model's order (the root attribute `layer_names`).
  std::vector<std::string> layer_names;
  /// Every listed variable: layer by layer in `layer_names` order, each in its `weight_names` order.
  /// A variable listed by two layers (HF's masked-LM head re-lists the embeddings) appears twice.
  std::vector<KerasWeight> weights;
  std::string backend = "tensorflow";
  /// Which Keras writer's conventions the file follows; read from the file, written as given.
  std::string keras_version = "2.4.0";
  /// Keras >= 2.7 also writes an empty group `top_level_model_weights` that `layer_names` does not
  /// list. Read: whether the file has it; written when true.
  bool top_level_model_weights = false;
  /// Read only: groups of the file that `layer_names` does not list (top_level_model_weights included).
  std::vector<std::string> unlisted_groups;
};

/// Reads a Keras weights file. Accepts both string forms of the name lists (fixed-length, as h5py 2
/// writes them, and variable-length, as h5py 3 does), split lists, and layers without weights
/// (`weight_names` an empty float64 array). Throws tz::Error naming the file, the layer and the
/// variable when a listed group or dataset is missing or a list is malformed.
KerasWeights load_keras_weights(const std::string& path);
/// The same from a tree already read (`what` names it in errors).
KerasWeights keras_weights_from_hdf5(const hdf5::Node& root, const std::string& what = "keras weights");

/// The HDF5 tree save_weights would write for `weights`: fixed-length name lists (split as Keras
/// splits them), `backend` and `keras_version` as variable-length strings, one group per layer.
hdf5::Node keras_weights_to_hdf5(const KerasWeights& weights);
/// Writes keras_weights_to_hdf5(weights) to `path` (atomically, see save_hdf5).
void save_keras_weights(const std::string& path, const KerasWeights& weights);

/// Keras' attribute size limit: a name list whose array (count x longest name) passes this many
/// bytes is split into the fewest nearly equal pieces that fit.
inline constexpr size_t kKerasAttributeLimit = 64512;
/// The attributes Keras writes for the list `values` called `name`: `name` alone, or `name0`,
/// `name1`, ... (numpy.array_split pieces, each keeping the whole list's string size); an empty
/// list is an empty float64 array, as numpy makes it.
std::vector<hdf5::Attribute> keras_name_attributes(const std::string& name, const std::vector<std::string>& values);

}  // namespace tz::io
