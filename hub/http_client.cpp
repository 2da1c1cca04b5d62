// libcurl behind the two requests of http_client.h. One easy handle per thread is reused, so that
// the many small requests of one model share a connection (and a TLS session) to the Hub.
// Callbacks run inside libcurl's C code, so exceptions are caught there, the transfer is aborted,
// and the exception is rethrown once curl_easy_perform returns.
#include "hub/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <exception>
#include <memory>
#include <mutex>

#include "hub/hub_error.h"

namespace tz::hub {

namespace {

constexpr size_t kMaxErrorBody = 64 * 1024;

std::string lowercase(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// One handle per thread, reset before each request; its connection cache survives the reset.
class EasyHandle {
 public:
  EasyHandle() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    handle_ = curl_easy_init();
  }
  ~EasyHandle() {
    if (handle_) curl_easy_cleanup(handle_);
  }
  EasyHandle(const EasyHandle&) = delete;
  EasyHandle& operator=(const EasyHandle&) = delete;
  CURL* get() const { return handle_; }

 private:
  CURL* handle_ = nullptr;
};

CURL* thread_handle() {
  thread_local EasyHandle handle;
  if (!handle.get()) throw HubError(HubErrorKind::Network, "hub: libcurl could not create a handle");
  curl_easy_reset(handle.get());
  return handle.get();
}

struct Transfer {
  HttpResponse response;
  const std::function<bool(const HttpResponse&)>* accept = nullptr;
  const std::function<void(const char*, size_t)>* on_data = nullptr;
  bool decided = false;
  bool accepted = false;
  std::exception_ptr error;
};

size_t on_header_line(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  std::string line(data, n);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  if (line.rfind("HTTP/", 0) == 0) {
    t->response.headers.clear();  // a new response in a redirect chain (or after 100 Continue)
    return n;
  }
  const size_t colon = line.find(':');
  if (colon == std::string::npos) return n;
  std::string value = line.substr(colon + 1);
  const size_t b = value.find_first_not_of(" \t");
  value = b == std::string::npos ? std::string() : value.substr(b, value.find_last_not_of(" \t") - b + 1);
  t->response.headers[lowercase(line.substr(0, colon))] = value;
  return n;
}

void fill_status(CURL* curl, HttpResponse& response) {
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  response.status = status;
  char* url = nullptr;
  curl_easy_getinfo(curl, CURLINFO_EFFECTIVE_URL, &url);
  if (url) response.url = url;
}

// Asks the caller once, at the first body byte (or at the end for an empty body), whether it
// wants the body.
bool decide(CURL* curl, Transfer& t) {
  if (!t.decided) {
    t.decided = true;
    fill_status(curl, t.response);
    t.accepted = t.accept && (*t.accept)(t.response);
  }
  return t.accepted;
}

struct WriteContext {
  CURL* curl;
  Transfer* transfer;
};

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* ctx = static_cast<WriteContext*>(user);
  Transfer& t = *ctx->transfer;
  const size_t n = size * count;
  try {
    if (decide(ctx->curl, t)) {
      (*t.on_data)(data, n);
    } else if (t.response.body.size() < kMaxErrorBody) {
      t.response.body.append(data, std::min(n, kMaxErrorBody - t.response.body.size()));
    }
  } catch (...) {
    t.error = std::current_exception();
    return 0;  // makes libcurl stop with CURLE_WRITE_ERROR
  }
  return n;
}

struct HeaderList {
  curl_slist* list = nullptr;
  ~HeaderList() { curl_slist_free_all(list); }
};

void set_common(CURL* curl, const HttpRequest& request, HeaderList& headers, Transfer& t, char* error_buffer) {
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "tensorzoo");
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, request.connect_timeout_seconds);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, request.stall_timeout_seconds);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
  for (const std::string& h : request.headers) headers.list = curl_slist_append(headers.list, h.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.list);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header_line);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
}

void perform(CURL* curl, Transfer& t, const HttpRequest& request, const char* method, const char* error_buffer) {
  const CURLcode rc = curl_easy_perform(curl);
  if (t.error) std::rethrow_exception(t.error);
  if (rc != CURLE_OK) {
    std::string detail = error_buffer[0] ? error_buffer : curl_easy_strerror(rc);
    throw HubError(HubErrorKind::Network, std::string("hub: ") + method + " " + request.url + " failed: " + detail);
  }
}

}  // namespace

std::string HttpResponse::header(const std::string& name) const {
  auto it = headers.find(lowercase(name));
  return it == headers.end() ? std::string() : it->second;
}

HttpResponse http_head(const HttpRequest& request) {
  CURL* curl = thread_handle();
  Transfer t;
  HeaderList headers;
  char error_buffer[CURL_ERROR_SIZE] = {0};
  set_common(curl, request, headers, t, error_buffer);
  curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  perform(curl, t, request, "HEAD", error_buffer);
  fill_status(curl, t.response);
  return t.response;
}

HttpResponse http_get(const HttpRequest& request, const std::function<bool(const HttpResponse&)>& accept,
                      const std::function<void(const char*, size_t)>& on_data) {
  CURL* curl = thread_handle();
  Transfer t;
  t.accept = &accept;
  t.on_data = &on_data;
  WriteContext ctx{curl, &t};
  HeaderList headers;
  char error_buffer[CURL_ERROR_SIZE] = {0};
  set_common(curl, request, headers, t, error_buffer);
  curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &ctx);
  perform(curl, t, request, "GET", error_buffer);
  decide(curl, t);  // an empty body never reached on_body
  fill_status(curl, t.response);
  return t.response;
}

std::string url_quote(const std::string& text, bool keep_slash) {
  static const char digits[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    const bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (alnum || c == '-' || c == '.' || c == '_' || c == '~' || (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(digits[c >> 4]);
      out.push_back(digits[c & 15]);
    }
  }
  return out;
}

}  // namespace tz::hub
