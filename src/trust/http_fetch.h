// trust/http_fetch: bounded HTTP for revocation data (CRLs, OCSP).
//
// Entry point: HttpFetcher::Fetch. Every request has a deadline and a size
// limit; redirects are not followed and only http/https are spoken (only
// http, without any proxy, and every connected address checked after DNS
// resolution when the request has a connect_check: AIA fetches). On
// failure the Status says why in one line ("timeout after 5 s", "HTTP 404",
// "response larger than 1048576 bytes"). CurlFetcher is thread-safe; tests
// may inject their own fetcher.
#ifndef SMIME_TRUST_HTTP_FETCH_H_
#define SMIME_TRUST_HTTP_FETCH_H_

#include <sys/socket.h>

#include <cstddef>
#include <functional>
#include <string>

#include "base/status.h"

namespace smime {

struct HttpRequest {
  std::string url;
  std::string post_body;     // empty: GET
  std::string content_type;  // for POST
  long timeout_ms = 5000;
  size_t max_size = 1 << 20;
  // Set for URLs from unverified certificates (trust/aia_fetch): http only,
  // no proxy, and each address the request would connect to (after DNS
  // resolution, so rebinding cannot slip past) is passed here first; a
  // non-empty answer refuses it and the request fails with that text.
  std::function<std::string(const struct sockaddr*)> connect_check;
};

class HttpFetcher {
 public:
  virtual ~HttpFetcher() = default;
  virtual Status Fetch(const HttpRequest& req, std::string* body) = 0;
};

class CurlFetcher final : public HttpFetcher {
 public:
  CurlFetcher();  // curl_global_init once per process
  Status Fetch(const HttpRequest& req, std::string* body) override;
};

}  // namespace smime

#endif  // SMIME_TRUST_HTTP_FETCH_H_
