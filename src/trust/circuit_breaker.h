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

#include <cstdint>
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

  // For the metrics: URLs by state at now, and totals since creation.
  struct Snapshot {
    size_t open = 0;        // refusing until their cooldown ends
    size_t half_open = 0;   // cooled down: the next request probes
    size_t failing = 0;     // failed lately, below the threshold (still closed)
    uint64_t failures = 0;  // Failure() calls
    uint64_t opened = 0;    // times a breaker opened (or re-opened after a probe)
  };
  Snapshot Stats(std::time_t now) const;

 private:
  struct State {
    int failures = 0;
    std::time_t open_until = 0;
  };
  const int threshold_;
  const int cooldown_;
  mutable std::mutex mu_;
  std::map<std::string, State> states_;
  uint64_t failures_ = 0;
  uint64_t opened_ = 0;
};

}  // namespace smime

#endif  // SMIME_TRUST_CIRCUIT_BREAKER_H_
