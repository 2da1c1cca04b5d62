// ELECTRA's TensorFlow weights (HF's TFElectra* classes, tf_model.h5): the family's table for the TF
// <-> PyTorch rules in models/tf_weights.h, which family.cpp hands to the registry. Not here: the
// rules themselves (models/tf_weights.cpp), loading and saving (models/pretrained.cpp), the Keras
// file layout (tensor/io/keras_weights.h).
#pragma once

#include "models/tf_weights.h"

namespace tz::electra {

/// What is ELECTRA-specific in HF's TF weights: the "electra" prefix and main layer (with
/// embeddings_project when embedding_size != hidden_size), the Keras model and layer names of each
/// head, the embeddings the generator's LM head lists again, and the PyTorch-only weights
/// (position_ids, the tied generator decoder).
const models::TfWeightsTable& tf_weights_table();

}  // namespace tz::electra
