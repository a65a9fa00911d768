// trust/circuit_breaker: stop asking a responder that keeps failing.
//
// After `threshold` consecutive failures of one URL, Allow() says no until
// `cooldown` seconds have passed; then one request is let through (half
// open) and its outcome closes or re-opens the breaker. Thread-safe. Keeps
// a dead or slow responder from stalling every message for its deadline.
// At most kMaxUrls URLs are remembered (they may come from certificates a
// sender chose).
#ifndef SMIME_TRUST_CIRCUIT_BREAKER_H_
#define SMIME_TRUST_CIRCUIT_BREAKER_H_

#include <ctime>
#include <map>
#include <mutex>
#include <string>

namespace smime {

class CircuitBreaker {
 public:
  // URLs remembered at most; beyond, breakers that are not open are forgotten.
  static constexpr size_t kMaxUrls = 4096;

  CircuitBreaker(int threshold, int cooldown_seconds)
      : threshold_(threshold), cooldown_(cooldown_seconds) {}

  bool Allow(const std::string& url, std::time_t now);
  void Success(const std::string& url);
  void Failure(const std::string& url, std::time_t now);

 private:
  struct State {
    int failures = 0;
    std::time_t open_until = 0;
  };
  const int threshold_;
  const int cooldown_;
  std::mutex mu_;
  std::map<std::string, State> states_;
};

}  // namespace smime

#endif  // SMIME_TRUST_CIRCUIT_BREAKER_H_
