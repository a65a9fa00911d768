// trust/circuit_breaker: see circuit_breaker.h.
#include "trust/circuit_breaker.h"

#include <iterator>

namespace smime {

bool CircuitBreaker::Allow(const std::string& url, std::time_t now) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = states_.find(url);
  if (it == states_.end() || it->second.failures < threshold_) return true;
  if (now < it->second.open_until) return false;
  // Half open: let one request probe; a failure re-opens for a full cooldown.
  it->second.open_until = now + cooldown_;
  return true;
}

void CircuitBreaker::Success(const std::string& url) {
  std::lock_guard<std::mutex> lock(mu_);
  states_.erase(url);
}

void CircuitBreaker::Failure(const std::string& url, std::time_t now) {
  std::lock_guard<std::mutex> lock(mu_);
  // URLs may come from senders (AIA): the map is bounded. Closed and
  // cooled-down entries go first; only an open breaker is worth keeping.
  if (states_.size() >= kMaxUrls && states_.find(url) == states_.end()) {
    for (auto it = states_.begin(); it != states_.end();)
      it = it->second.open_until > now ? std::next(it) : states_.erase(it);
    if (states_.size() >= kMaxUrls) states_.clear();
  }
  State& s = states_[url];
  ++s.failures;
  ++failures_;
  if (s.failures >= threshold_) {
    s.open_until = now + cooldown_;
    ++opened_;
  }
}

CircuitBreaker::Snapshot CircuitBreaker::Stats(std::time_t now) const {
  std::lock_guard<std::mutex> lock(mu_);
  Snapshot s;
  s.failures = failures_;
  s.opened = opened_;
  for (const auto& [url, st] : states_) {
    if (st.failures < threshold_)
      ++s.failing;
    else if (now < st.open_until)
      ++s.open;
    else
      ++s.half_open;
  }
  return s;
}

}  // namespace smime
