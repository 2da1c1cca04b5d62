// BERT's TensorFlow weights (HF's TFBert* classes, tf_model.h5): the family's table for the TF <->
// PyTorch rules in models/tf_weights.h, which family.cpp hands to the registry. Not here: the rules
// themselves (models/tf_weights.cpp), loading and saving (models/pretrained.cpp), the Keras file
// layout (tensor/io/keras_weights.h).
#pragma once

#include "models/tf_weights.h"

namespace tz::bert {

/// What is BERT-specific in HF's TF weights: the "bert" prefix and main layer, the Keras model and
/// layer names of each head (the pretraining heads live in layers "mlm___cls" and "nsp___cls", which
/// HF reads back as PyTorch's "cls"), the embeddings the masked-LM head lists again, and the
/// PyTorch-only weights (position_ids, the tied decoder and its bias alias).
const models::TfWeightsTable& tf_weights_table();

}  // namespace tz::bert
