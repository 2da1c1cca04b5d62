// DistilBERT's TensorFlow weights (HF's TFDistilBert* classes, tf_model.h5): the family's table for
// the TF <-> PyTorch rules in models/tf_weights.h, which family.cpp hands to the registry. Not here:
// the rules themselves (models/tf_weights.cpp), loading and saving (models/pretrained.cpp), the
// Keras file layout (tensor/io/keras_weights.h).
#pragma once

#include "models/tf_weights.h"

namespace tz::distilbert {

/// What is DistilBERT-specific in HF's TF weights: the "distilbert" prefix and main layer
/// (embeddings and transformer.layer_._N with q_lin/k_lin/v_lin/out_lin, sa_layer_norm, ffn,
/// output_layer_norm), the Keras model and layer names of each head, the embeddings the
/// vocab_projector lists again, and the PyTorch-only weights (position_ids, the tied projector).
const models::TfWeightsTable& tf_weights_table();

}  // namespace tz::distilbert
