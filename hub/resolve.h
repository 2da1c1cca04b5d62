// From a model name to a local model directory, the way HF users name models:
//
//   std::string dir = tz::hub::resolve_model_dir("YituTech/conv-bert-base");   // or "org/name@v1.0"
//
// An existing directory is returned as it is. "org/name[@revision]" (revision: a branch, tag or
// commit hash; default "main") resolves through the HuggingFace cache shared with Python, and the
// files a model needs that the cache lacks are downloaded, unless offline (HF_HUB_OFFLINE=1).
// The directory returned is the commit's snapshot folder in the cache.
// Not here: one file's download (file_download.h), the cache layout (cache_layout.h), listing and
// removing cached models (cache_scan.h); reading the weights (tensor/io/sharded_checkpoint.h).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "hub/file_download.h"

namespace tz::hub {

struct ResolveOptions {
  std::string cache_dir;        ///< "" = HF_HUB_CACHE / HF_HOME/hub / ~/.cache/huggingface/hub
  std::string endpoint;         ///< "" = HF_ENDPOINT, else https://huggingface.co
  std::string token;            ///< "" = HF_TOKEN, else the token file (HF_TOKEN_PATH, HF_HOME/token)
  std::optional<bool> offline;  ///< unset = HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE)
  bool quiet = false;           ///< no progress bars and no warnings on stderr
  bool weights = true;          ///< the weights (first of weight_file_preference(), with its shards)
  bool tokenizer = true;        ///< vocab.txt, tokenizer.json, tokenizer_config.json, special_tokens_map.json
  bool sentence_transformers = true;  ///< modules.json, each module's config (and Dense weights), sentence_bert_config.json
  /// Reconnections within one download after a cut mid-transfer (each resumes with a Range request).
  int resume_attempts = 3;
};

struct ResolvedModel {
  std::string dir;        ///< the local model directory
  bool from_hub = false;  ///< false: the name was a local directory, returned as is (nothing else is set)
  std::string repo_id;
  std::string revision;
  std::string commit;
  /// The weights file chosen, relative to dir ("model.safetensors", "pytorch_model.bin.index.json", ...).
  std::string weights_file;
  std::vector<std::string> files;   ///< every file present, relative to dir, in the order resolved
  std::vector<std::string> absent;  ///< optional files the repo does not have (or, offline, the cache lacks)
  bool downloaded = false;          ///< some file came over the network
  std::vector<std::string> warnings;  ///< e.g. the Hub could not be reached and the cache answered
};

/// Weight files in order of preference, as transformers looks for them.
const std::vector<std::string>& weight_file_preference();

/// The settings a download uses: `options` where given, else the environment.
HubSettings hub_settings(const ResolveOptions& options);

/// Resolves `name_or_path` (see the top of this file) and reports what it found. Throws
/// HubError: InvalidName for something that is neither a directory nor a model name (a path
/// such as "/x" or "./x" that does not exist says it is not a directory), and the errors of
/// download_file for config.json, the weights and their shards (optional files that are missing
/// are only listed in `absent`).
ResolvedModel resolve_model(const std::string& name_or_path, const ResolveOptions& options = {});

/// resolve_model(...).dir: the entry point for every `--model` and from_pretrained.
std::string resolve_model_dir(const std::string& name_or_path, const ResolveOptions& options = {});

}  // namespace tz::hub
