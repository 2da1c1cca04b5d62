// Checkpoints split over several files, as HF's save_pretrained writes large models: an index
// (model.safetensors.index.json or pytorch_model.bin.index.json) maps every tensor name to its
// shard file, and the shards are ordinary checkpoint files:
//
//   { "metadata": {"total_size": 1234}, "weight_map": {"embeddings.word_embeddings.weight":
//     "model-00001-of-00002.safetensors", ...} }
//
// Also the weights of a model directory in HF's order of preference, sharded or not.
// Not here: reading one file (checkpoint.h); downloading the shards (hub/).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "tensor/io/checkpoint.h"

namespace tz::io {

/// Reads an index and every shard it names into one Checkpoint (shards in sorted name order, each
/// in file order; safetensors or PyTorch shards, read by load_checkpoint). Throws tz::Error naming
/// the culprit when: the index is not JSON with a "weight_map" object of strings; a shard name
/// is not a plain relative path inside the index's folder; a shard file is missing; a tensor the
/// index places in a shard is not in it; a tensor is in two shards. Tensors a shard holds beyond
/// the index's list are kept, as transformers keeps them. `metadata` is the first shard's.
Checkpoint load_sharded(const std::string& index_path);

/// The weights file of a model directory: the first of model.safetensors,
/// model.safetensors.index.json, pytorch_model.bin, pytorch_model.bin.index.json that exists (a
/// file name), or "" when there is none.
std::string find_weights_file(const std::string& dir);

/// Loads the weights of a model directory: find_weights_file's choice, an index with its shards.
/// Throws tz::Error naming the directory and the files looked for when there is none. The chosen
/// file name goes to `*chosen` when given.
Checkpoint load_checkpoint_dir_weights(const std::string& dir, std::string* chosen = nullptr);

/// HF's max_shard_size: "5GB", "200MB", "10KB", "1TB" (powers of 1000, any case, a decimal
/// number allowed: "1.5GB"), or a plain number of bytes. Throws tz::Error for anything else or a
/// size below one byte.
int64_t parse_shard_size(const std::string& text);

/// What save_safetensors_sharded wrote.
struct ShardedSave {
  std::vector<std::string> files;  ///< the weight files, in order (one: model.safetensors)
  std::string index_file;          ///< "model.safetensors.index.json", or "" when not sharded
  int64_t total_size = 0;          ///< the bytes of tensor data, the index's metadata.total_size
};

/// Writes `tensors` into `dir` as save_pretrained does with max_shard_size: tensors in the given
/// order fill a shard until the next one would pass `max_shard_bytes` (a tensor larger than the
/// limit gets a shard of its own). One shard is written as model.safetensors; several as
/// model-00001-of-0000N.safetensors plus model.safetensors.index.json (keys sorted, indent 2).
/// Every file appears atomically, the index last; weight files of an earlier save that the new
/// one does not use (model.safetensors, the index, model-*-of-*.safetensors) are removed after.
ShardedSave save_safetensors_sharded(const std::string& dir, const std::vector<std::pair<std::string, Tensor>>& tensors,
                                     int64_t max_shard_bytes,
                                     const std::map<std::string, std::string>& metadata = {{"format", "pt"}});

}  // namespace tz::io
