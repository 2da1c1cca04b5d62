// The two HTTP requests the Hub needs, over libcurl: HEAD (no redirects followed, so the caller
// sees the Hub's own headers) and GET (redirects followed, the body streamed to a callback).
// Only http:// and https:// URLs are accepted, for requests and redirects alike. Proxies come
// from the usual environment variables (https_proxy, no_proxy), as libcurl reads them.
// Not here: what the Hub's headers and status codes mean (file_download.cpp).
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace tz::hub {

struct HttpRequest {
  std::string url;
  std::vector<std::string> headers;  ///< "Name: value" lines
  long connect_timeout_seconds = 10;
  /// The request fails when fewer than one byte per second arrives for this long.
  long stall_timeout_seconds = 10;
};

struct HttpResponse {
  long status = 0;
  /// The headers of the last response (after redirects), names lowercased.
  std::map<std::string, std::string> headers;
  /// The URL that answered (after redirects).
  std::string url;
  /// The body of a response the caller did not accept (an error page), at most 64 KiB.
  std::string body;

  /// The header's value, or "" when absent (`name` in any case).
  std::string header(const std::string& name) const;
};

/// HEAD `request.url`. Throws HubError(Network) when no HTTP answer arrives (no route, refused,
/// timeout, TLS failure); any HTTP status, 3xx and 4xx included, is returned.
HttpResponse http_head(const HttpRequest& request);

/// GET `request.url`, following redirects. `accept` sees the final response's status and headers
/// before any body byte; when it returns true the body goes to `on_data` in chunks, otherwise it
/// is kept in the returned response's `body`. Throws HubError(Network) when the transfer fails
/// (including a connection cut mid-body: `on_data` has then seen the bytes that did arrive), and
/// rethrows what `accept` or `on_data` throw.
HttpResponse http_get(const HttpRequest& request, const std::function<bool(const HttpResponse&)>& accept,
                      const std::function<void(const char* data, size_t size)>& on_data);

/// Percent-encodes everything but letters, digits and "-._~" (and '/' when `keep_slash`), as
/// Python's urllib.parse.quote does with safe="" or safe="/".
std::string url_quote(const std::string& text, bool keep_slash);

}  // namespace tz::hub
