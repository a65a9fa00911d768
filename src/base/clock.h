// base/clock: injectable wall clock and monotonic timer.
//
// The engine never calls time() directly: certificate validity is checked at
// Clock::Now(), which tests and `smimectl process --now` pin. Deadlines
// (base/deadline.h) run on Clock::Monotonic(), real time unless a test
// moves it by hand (ManualClock), so no test has to wait for a timeout.
#ifndef SMIME_BASE_CLOCK_H_
#define SMIME_BASE_CLOCK_H_

#include <atomic>
#include <chrono>
#include <ctime>

namespace smime {

class Clock {
 public:
  virtual ~Clock() = default;
  // Seconds since the epoch, used for certificate validity checks.
  virtual std::time_t Now() const = 0;
  // Monotonic time for deadlines. Real by default, also when Now() is
  // pinned: a pinned clock must not stop network waits from being bounded.
  virtual std::chrono::steady_clock::time_point Monotonic() const {
    return std::chrono::steady_clock::now();
  }
};

class SystemClock final : public Clock {
 public:
  std::time_t Now() const override { return std::time(nullptr); }
};

class FixedClock final : public Clock {
 public:
  explicit FixedClock(std::time_t t) : t_(t) {}
  std::time_t Now() const override { return t_; }

 private:
  std::time_t t_;
};

// For tests: Now() is pinned and monotonic time moves only by Advance(), as
// a fake network does when it "takes" some time. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(std::time_t now) : now_(now) {}
  std::time_t Now() const override { return now_; }
  std::chrono::steady_clock::time_point Monotonic() const override {
    return std::chrono::steady_clock::time_point() + std::chrono::milliseconds(elapsed_ms_.load());
  }
  void Advance(long ms) { elapsed_ms_ += ms; }

 private:
  std::time_t now_;
  std::atomic<long> elapsed_ms_{0};
};

// Elapsed milliseconds since construction, for the log's ms= field.
class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  long ElapsedMs() const {
    return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::steady_clock::now() - start_)
                                 .count());
  }

 private:
  std::chrono::steady_clock::time_point start_;
};

}  // namespace smime

#endif  // SMIME_BASE_CLOCK_H_
