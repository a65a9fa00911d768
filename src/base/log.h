// base/log: log sinks for Postfix-shaped lines.
//
// Lines look like "QUEUEID: event: name=value, name=value (text)". The daemon
// logs to syslog (ident smime-milter, facility mail), the CLI to stderr, tests
// to a CaptureLog. Severity prefixes ("warning: ", "error: ", "fatal: ",
// "panic: ") are part of the text, as in Postfix.
#ifndef SMIME_BASE_LOG_H_
#define SMIME_BASE_LOG_H_

#include <mutex>
#include <string>
#include <vector>

namespace smime {

enum class Severity { kInfo, kWarning, kError, kFatal, kPanic };

class LogSink {
 public:
  virtual ~LogSink() = default;
  // Writes one line; never fails (a sink that cannot write drops the line).
  virtual void Write(Severity sev, const std::string& line) = 0;
};

// Prefix for a severity, e.g. "warning: "; empty for kInfo.
const char* SeverityPrefix(Severity sev);

class StderrLog final : public LogSink {
 public:
  explicit StderrLog(std::string program) : program_(std::move(program)) {}
  void Write(Severity sev, const std::string& line) override;

 private:
  std::string program_;
};

class SyslogLog final : public LogSink {
 public:
  // openlog("smime-milter", LOG_PID, LOG_MAIL); also_stderr adds LOG_PERROR
  // (foreground runs).
  explicit SyslogLog(bool also_stderr = false);
  void Write(Severity sev, const std::string& line) override;
};

class CaptureLog final : public LogSink {
 public:
  void Write(Severity sev, const std::string& line) override;
  std::vector<std::string> Lines() const;

 private:
  mutable std::mutex mu_;
  std::vector<std::string> lines_;
};

// A client-supplied string made safe for a log field: control characters,
// commas and non-ASCII bytes become '?' (a login must not be able to fake a
// ", action=signed" field), truncated to max_len.
std::string LogSafe(const std::string& in, size_t max_len);

// Appends ", name=value" (or "name=value" when out is empty) to out.
void AppendField(std::string* out, const char* name, const std::string& value);

}  // namespace smime

#endif  // SMIME_BASE_LOG_H_
