// trust/http_fetch: libcurl implementation. See http_fetch.h.
#include "trust/http_fetch.h"

#include <curl/curl.h>
#include <sys/socket.h>

#include <memory>
#include <mutex>

namespace smime {

namespace {

struct Sink {
  std::string* body;
  size_t max;
  bool too_big = false;
};

size_t Write(char* data, size_t size, size_t n, void* user) {
  Sink* s = static_cast<Sink*>(user);
  size_t len = size * n;
  if (s->body->size() + len > s->max) {
    s->too_big = true;
    return 0;  // aborts the transfer
  }
  s->body->append(data, len);
  return len;
}

// CURLOPT_OPENSOCKETFUNCTION: curl asks here for every socket it connects,
// with the resolved address, so the check sees what is really connected.
struct Gate {
  const std::function<std::string(const struct sockaddr*)>* check;
  std::string refused;
};

curl_socket_t OpenChecked(void* user, curlsocktype purpose, struct curl_sockaddr* a) {
  Gate* g = static_cast<Gate*>(user);
  if (purpose != CURLSOCKTYPE_IPCXN) return CURL_SOCKET_BAD;
  std::string why = (*g->check)(&a->addr);
  if (!why.empty()) {
    if (g->refused.empty()) g->refused = why;
    return CURL_SOCKET_BAD;
  }
  return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);  // no leak to children
}

}  // namespace

CurlFetcher::CurlFetcher() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

Status CurlFetcher::Fetch(const HttpRequest& req, std::string* body) {
  body->clear();
  // libcurl reads a timeout of 0 as "none": a request without time left
  // (the step's deadline has passed) is not sent at all.
  if (req.timeout_ms <= 0) return Status::Io("no time left for the request");
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return Status::Internal("curl_easy_init failed");
  Sink sink{body, req.max_size};
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> headers(nullptr, curl_slist_free_all);
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, req.url.c_str());
  Gate gate{&req.connect_check, ""};
  if (req.connect_check) {
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
    curl_easy_setopt(c, CURLOPT_PROXY, "");  // a proxy would connect for us, unchecked
    curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, OpenChecked);
    curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, &gate);
  } else {
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  }
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // threads: no SIGALRM for timeouts
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, req.timeout_ms);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, req.timeout_ms);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, Write);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "smime-milter");
  if (!req.post_body.empty()) {
    headers.reset(curl_slist_append(nullptr, ("Content-Type: " + req.content_type).c_str()));
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, req.post_body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(req.post_body.size()));
  }
  CURLcode rc = curl_easy_perform(c);
  // Another address of the name may have connected after one was refused.
  if (rc != CURLE_OK && !gate.refused.empty()) return Status::Io(gate.refused);
  if (sink.too_big)
    return Status::Io("response larger than " + std::to_string(req.max_size) + " bytes");
  if (rc == CURLE_OPERATION_TIMEDOUT)
    return Status::Io("timeout after " + std::to_string(req.timeout_ms) + " ms");
  if (rc != CURLE_OK) return Status::Io(curl_easy_strerror(rc));
  long code = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  if (code >= 300 && code < 400)
    return Status::Io("HTTP " + std::to_string(code) + ": redirect not followed");
  if (code != 200) return Status::Io("HTTP " + std::to_string(code));
  return Status::Ok();
}

}  // namespace smime
