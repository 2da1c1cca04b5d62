// HuggingFace TensorFlow weights (tf_model.h5) <-> PyTorch state dicts, for any model family: HF's
// family-neutral naming and transposition rules (modeling_tf_pytorch_utils), driven by a small
// per-family table of what varies (prefixes, Keras layer names per head, ...). Works on plain
// name -> tensor maps, so it needs no model class.
// Not here: the Keras file layout (tensor/io/keras_weights.h); each family's table
// (models/<family>/tf_weights.cpp, e.g. convbert::tf_weights_table()).
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "tensor/io/keras_weights.h"

namespace tz::models {

/// What varies between families in HF's TF weights files. Adding a family is writing one of these.
struct TfWeightsTable {
  /// The PyTorch attribute that holds the base model in head classes ("convbert"): head state dicts
  /// prefix the base model's names with it, bare-model state dicts do not.
  std::string base_prefix;
  /// The TF main layer: the top-level Keras layer holding the base model ("convbert").
  std::string main_layer;
  /// The HF architecture of the bare model ("ConvBertModel").
  std::string base_architecture;

  struct Head {
    /// HF's PyTorch architecture name ("ConvBertForMaskedLM"); the TF class is "TF" + this.
    std::string architecture;
    /// The Keras model name, the first component of every variable name: the TF class name in
    /// snake case ("tf_conv_bert_for_masked_lm").
    std::string keras_model_name;
    /// The model's top-level Keras layers in HF's order, layers without weights included.
    /// "{dropout}" stands for the head's own Dropout layer, which Keras numbers (see dropout_name()).
    std::vector<std::string> layer_names;
    /// The head layer that lists the main layer's embeddings variables again (HF's masked-LM head
    /// keeps the embeddings layer to tie its decoder); "" for none.
    std::string embeddings_relisted_by;
    /// Keras layers named otherwise than the PyTorch module they hold, as (PyTorch dotted prefix,
    /// Keras layer): BERT's "cls.predictions" is the layer "mlm___cls", whose name HF's "___" rule
    /// reads back as "cls". The Keras layer takes the place of the prefix's first component.
    std::vector<std::pair<std::string, std::string>> renamed_layers;
  };
  std::vector<Head> heads;

  /// The main layer's module whose variables `embeddings_relisted_by` lists again.
  std::string embeddings_module = "embeddings";
  /// PyTorch names never stored in TF files, as dotted suffixes: buffers TF builds itself
  /// ("position_ids") and weights TF ties to another ("generator_lm_head.weight", the masked-LM
  /// decoder, which is the word embeddings). Saving checks that a model holds no own value under them.
  std::vector<std::string> pytorch_only;
  /// Embedding modules whose TF variable is called "weight" rather than "embeddings".
  std::vector<std::string> embeddings_named_weight = {"word_embeddings"};
  /// Dropout layers Keras creates before the head's own: outside + per_layer * num_hidden_layers
  /// (the head's Dropout is then "dropout_<n>", or "dropout" when n is 0).
  int dropouts_outside_layers = 0;
  int dropouts_per_layer = 0;

  /// The entry for `architecture`; throws listing the known ones.
  const Head& head(const std::string& architecture) const;
  /// The head's Dropout layer name for a model of `num_hidden_layers` layers.
  std::string dropout_name(int64_t num_hidden_layers) const;
};

/// Whether `pytorch_name` is one of `table.pytorch_only` (never stored in TF files).
bool is_pytorch_only(const std::string& pytorch_name, const TfWeightsTable& table);

/// How a TF array's axes map to PyTorch's (HF's TransposeType).
enum class TfTranspose {
  None,
  Reverse,  // dense kernels, separable-conv depthwise/pointwise kernels: all axes reversed
  Conv1d,   // rank-3 kernels (1-D convs, grouped linear layers): axes (2, 1, 0)
  Conv2d,   // rank-4 kernels: TF (kh, kw, in, out) -> PyTorch (out, in, kh, kw), axes (3, 2, 0, 1)
};

/// A Keras variable name in PyTorch terms (HF's convert_tf_weight_name_to_pt_weight_name): ":0"
/// dropped, "_._" made a level ("layer_._3" -> "layer.3"), the first component (the Keras model name)
/// dropped, levels joined with '.', and the last renamed: kernel/embeddings/gamma -> weight, beta ->
/// bias, depthwise_kernel/pointwise_kernel -> depthwise.weight/pointwise.weight.
/// `transpose` gets the axis rule that the TF name and `tf_rank` imply.
std::string pytorch_name_of_tf(const std::string& tf_name, size_t tf_rank, TfTranspose* transpose = nullptr);

/// The Keras variable name of PyTorch weight `pytorch_name` (with the base prefix when it belongs to
/// the base model) in model `keras_model_name`: the inverse of pytorch_name_of_tf.
std::string tf_name_of_pytorch(const std::string& pytorch_name, const std::string& keras_model_name,
                               const TfWeightsTable& table);

/// The TF shape of a variable named `tf_name` whose PyTorch shape is `pytorch_shape` (Keras'
/// conventions: dense kernels [in, out], 1-D biases, depthwise kernels [k, in, 1], ...).
Shape tf_shape_of(const std::string& tf_name, const Shape& pytorch_shape);

/// A TF value in PyTorch layout: transposed by the name's rule, then reshaped to `pytorch_shape`
/// (squeezing, adding a leading axis or reshaping only ever reinterprets the transposed array).
Tensor tf_to_pytorch_value(const Tensor& tf_value, const std::string& tf_name, const Shape& pytorch_shape);
/// The inverse: a PyTorch value in TF layout with `tf_shape`.
Tensor pytorch_to_tf_value(const Tensor& pytorch_value, const std::string& tf_name, const Shape& tf_shape);

/// A TF weights file converted to PyTorch names for a target model.
struct TfToPytorch {
  /// PyTorch names in the file's order (each once).
  std::vector<std::string> names;
  std::map<std::string, Tensor> tensors;
  /// Variables the target has no weight for, by PyTorch name (head layers when loading a bare
  /// model, or another family's names): reported, not loaded, as HF does.
  std::vector<std::string> unexpected;
  /// Variables whose shape is not the TF shape of the target's weight: not converted, described as
  /// "<PyTorch name> (TF variable '<name>' [shape], expected [TF shape] for the model's [shape])".
  std::vector<std::string> mismatched;
};

/// Converts every variable of `file` for a target whose state dict has `target_shapes`. A bare-model
/// target (`target_is_base_model`) has no base prefix: it is removed from the names, and variables
/// outside the base model are unexpected. Each dataset's shape must equal the TF shape of its
/// target weight exactly, else it is listed in `mismatched` (HF reshapes silently when only the
/// count agrees; that is not done here). A variable listed by two layers must hold identical values
/// in both; otherwise tz::Error names it.
TfToPytorch tf_to_pytorch(const io::KerasWeights& file, const TfWeightsTable& table,
                          const std::map<std::string, Shape>& target_shapes, bool target_is_base_model);

/// The Keras weights file HF's TF class of `architecture` would save for `state_dict` (a PyTorch
/// state dict of that architecture, or of the bare model when `architecture` is the base one):
/// layer_names of the head, variables under the Keras model name in TF layout, the embeddings
/// listed again where HF lists them, and `table.pytorch_only` left out. `num_hidden_layers` numbers
/// the Dropout layer of heads that have one.
io::KerasWeights pytorch_to_tf(const std::vector<std::pair<std::string, Tensor>>& state_dict,
                               const TfWeightsTable& table, const std::string& architecture,
                               int64_t num_hidden_layers);

}  // namespace tz::models
