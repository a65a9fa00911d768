// base/clock: injectable wall clock and monotonic timer.
//
// The engine never calls time() directly: certificate validity is checked at
// Clock::Now(), which tests and `smimectl process --now` pin.
#ifndef SMIME_BASE_CLOCK_H_
#define SMIME_BASE_CLOCK_H_

#include <chrono>
#include <ctime>

namespace smime {

class Clock {
 public:
  virtual ~Clock() = default;
  // Seconds since the epoch, used for certificate validity checks.
  virtual std::time_t Now() const = 0;
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
