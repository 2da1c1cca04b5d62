// What the environment says about the Hub, read the way huggingface_hub reads it, so that a cache,
// a token or an offline switch set up for Python applies here too. Not here: the cache layout
// under that folder (cache_layout.h).
#pragma once

#include <string>

namespace tz::hub {

/// The Hub settings of the current environment (read afresh on every call).
struct HubEnvironment {
  /// HF_HUB_CACHE, else HUGGINGFACE_HUB_CACHE, else HF_HOME/hub, where HF_HOME defaults to
  /// $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface. "~" and $VARS are expanded.
  std::string cache_dir;
  /// HF_ENDPOINT without a trailing '/', else https://huggingface.co.
  std::string endpoint;
  /// HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) set to 1, ON, YES or TRUE (any case).
  bool offline = false;
  /// HF_TOKEN (or HUGGING_FACE_HUB_TOKEN), else the contents of token_path; trimmed; empty for none.
  std::string token;
  /// Where `token` came from: "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN" or token_path ("" for none).
  std::string token_source;
  /// HF_TOKEN_PATH, else HF_HOME/token (where `huggingface-cli login` saves the token).
  std::string token_path;
  /// HF_HUB_DISABLE_PROGRESS_BARS set to a true value.
  bool progress_bars_disabled = false;
  /// Seconds to wait for a file's metadata (HF_HUB_ETAG_TIMEOUT, default 10) and for a stalled
  /// download to make progress (HF_HUB_DOWNLOAD_TIMEOUT, default 10).
  long metadata_timeout_seconds = 10;
  long download_timeout_seconds = 10;
};

HubEnvironment read_hub_environment();

/// Python's os.path.expanduser followed by os.path.expandvars: a leading "~" becomes $HOME, and
/// $NAME / ${NAME} become the variable's value (left as written when the variable is unset).
std::string expand_user_and_vars(const std::string& path);

}  // namespace tz::hub
