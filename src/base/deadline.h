// base/deadline: the time by which one milter step must have answered.
//
// The MTA waits a bounded time for each milter reply (Postfix
// milter_command_timeout for RCPT, milter_content_timeout for end of data;
// Sendmail's T= timeouts), then applies its default action. One step can
// chain several network waits (LDAP lookups, OCSP then CRL for every
// certificate of a chain, several signers), each bounded on its own, so the
// engine creates one Deadline per step (engine/encryption AddRecipient,
// engine/processor Process; parameters rcpt_deadline and eom_deadline) and
// passes it down to every network wait. A fetch waits at most Cap(its own
// timeout); none starts once the deadline has passed (expired()), and the
// step then ends with its defined temporary outcome (docs/verification.md,
// docs/encryption.md). A default-constructed Deadline never expires: call
// sites without a step (CLI lookups, tests) pass Deadline().
//
// The clock is not owned and must outlive the deadline (it lives for one
// step). Copyable; const methods are thread-safe.
#ifndef SMIME_BASE_DEADLINE_H_
#define SMIME_BASE_DEADLINE_H_

#include <algorithm>
#include <chrono>
#include <limits>

#include "base/clock.h"

namespace smime {

class Deadline {
 public:
  Deadline() = default;  // no deadline

  // ms milliseconds after clock's monotonic now.
  static Deadline After(const Clock& clock, long ms) {
    Deadline d;
    d.clock_ = &clock;
    d.at_ = clock.Monotonic() + std::chrono::milliseconds(std::max(0L, ms));
    return d;
  }

  bool unlimited() const { return clock_ == nullptr; }

  // What is left; zero once passed; milliseconds::max() without a deadline.
  std::chrono::milliseconds remaining() const {
    if (!clock_) return std::chrono::milliseconds::max();
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(at_ - clock_->Monotonic());
    return std::max(left, std::chrono::milliseconds(0));
  }

  bool expired() const { return clock_ && remaining().count() <= 0; }

  // A wait of timeout_ms shortened to what is left (0 when expired).
  long Cap(long timeout_ms) const {
    if (!clock_) return timeout_ms;
    const auto left = remaining().count();
    return left < timeout_ms ? static_cast<long>(left) : timeout_ms;
  }

 private:
  const Clock* clock_ = nullptr;
  std::chrono::steady_clock::time_point at_{};
};

}  // namespace smime

#endif  // SMIME_BASE_DEADLINE_H_
