// The environment variables huggingface_hub reads (its constants.py), with the same precedence.
// Not here: the layout below the cache folder (cache_layout.cpp).
#include "hub/environment.h"

#include <pwd.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace tz::hub {

namespace {

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

// Python's `os.environ.get(a) or os.environ.get(b)`: an empty first value counts as unset.
std::string first_nonempty(const char* a, const char* b) {
  std::string v = env_or_empty(a);
  return v.empty() ? env_or_empty(b) : v;
}

bool is_true(const std::string& value) {
  std::string upper;
  for (char c : value) upper.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  return upper == "1" || upper == "ON" || upper == "YES" || upper == "TRUE";
}

std::string trim(const std::string& s) {
  const char* space = " \t\r\n\v\f";
  const size_t b = s.find_first_not_of(space);
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(space) - b + 1);
}

long seconds_from(const char* name, long fallback) {
  const std::string v = env_or_empty(name);
  if (v.empty()) return fallback;
  char* end = nullptr;
  const long n = std::strtol(v.c_str(), &end, 10);
  TZ_CHECK(end && *end == '\0' && n > 0 && n <= 86400, name, ": expected a whole number of seconds (1 to 86400), got '",
           v, "'");
  return n;
}

std::string home_of(const std::string& user) {
  if (user.empty()) {
    const std::string home = env_or_empty("HOME");
    if (!home.empty()) return home;
    if (const passwd* pw = ::getpwuid(::getuid())) return pw->pw_dir;
    return {};
  }
  if (const passwd* pw = ::getpwnam(user.c_str())) return pw->pw_dir;
  return {};
}

bool is_word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

}  // namespace

std::string expand_user_and_vars(const std::string& path) {
  std::string s = path;
  if (!s.empty() && s[0] == '~') {
    const size_t slash = s.find('/');
    const std::string user = s.substr(1, slash == std::string::npos ? std::string::npos : slash - 1);
    const std::string home = home_of(user);
    if (!home.empty()) s = home + (slash == std::string::npos ? std::string() : s.substr(slash));
  }
  std::string out;
  for (size_t i = 0; i < s.size();) {
    if (s[i] == '$' && i + 1 < s.size()) {
      size_t name_begin = i + 1, name_end = name_begin, next = 0;
      if (s[name_begin] == '{') {
        const size_t close = s.find('}', name_begin);
        if (close != std::string::npos) {
          name_begin += 1;
          name_end = close;
          next = close + 1;
        }
      } else {
        while (name_end < s.size() && is_word_char(s[name_end])) ++name_end;
        next = name_end;
      }
      if (next > 0 && name_end > name_begin) {
        const char* value = std::getenv(s.substr(name_begin, name_end - name_begin).c_str());
        if (value) {
          out += value;
          i = next;
          continue;
        }
      }
    }
    out.push_back(s[i++]);
  }
  return out;
}

HubEnvironment read_hub_environment() {
  HubEnvironment env;
  std::string xdg = env_or_empty("XDG_CACHE_HOME");
  if (xdg.empty()) xdg = "~/.cache";
  std::string hf_home = env_or_empty("HF_HOME");
  if (hf_home.empty()) hf_home = xdg + "/huggingface";
  hf_home = expand_user_and_vars(hf_home);

  std::string cache = env_or_empty("HF_HUB_CACHE");
  if (cache.empty()) cache = env_or_empty("HUGGINGFACE_HUB_CACHE");
  if (cache.empty()) cache = hf_home + "/hub";
  env.cache_dir = expand_user_and_vars(cache);

  env.endpoint = env_or_empty("HF_ENDPOINT");
  if (env.endpoint.empty()) env.endpoint = "https://huggingface.co";
  while (env.endpoint.size() > 1 && env.endpoint.back() == '/') env.endpoint.pop_back();

  env.offline = is_true(first_nonempty("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"));
  env.progress_bars_disabled = is_true(env_or_empty("HF_HUB_DISABLE_PROGRESS_BARS"));

  std::string token_path = env_or_empty("HF_TOKEN_PATH");
  if (token_path.empty()) token_path = hf_home + "/token";
  env.token_path = expand_user_and_vars(token_path);
  for (const char* name : {"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"}) {
    env.token = trim(env_or_empty(name));
    if (!env.token.empty()) {
      env.token_source = name;
      break;
    }
  }
  if (env.token.empty()) {
    std::ifstream in(env.token_path);
    if (in) {
      std::ostringstream text;
      text << in.rdbuf();
      env.token = trim(text.str());
      if (!env.token.empty()) env.token_source = env.token_path;
    }
  }

  env.metadata_timeout_seconds = seconds_from("HF_HUB_ETAG_TIMEOUT", 10);
  env.download_timeout_seconds = seconds_from("HF_HUB_DOWNLOAD_TIMEOUT", 10);
  return env;
}

}  // namespace tz::hub
