// base/log: log sinks for Postfix-shaped lines.
//
// Lines look like "QUEUEID: event: name=value, name=value"; every value is
// escaped by LogEscape (AppendField does it), so no value can add a field,
// and a value with a space is double-quoted, so no value holds a bare space.
// The format is an interface: docs/logging.md. The daemon
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

// The one escaping of every value that goes into a log field or note.
// Bytes outside printable ASCII and the characters that delimit fields and
// values (',', '=', '<', '>', '(', ')', '"', '\\') become "\xHH" (two
// lowercase hex digits), so a value from a message, a certificate or a
// client can never start a field of its own, and the original bytes can be
// recovered. Spaces stay: with ',' and '=' escaped they cannot start a field.
// At most max_len bytes of output; an escape is never cut in half.
std::string LogEscape(const std::string& in, size_t max_len = 300);

// Appends ", name=VALUE" (or "name=VALUE" when out is empty) to out, VALUE
// being LogEscape(value), between double quotes when it holds a space or is
// empty (free text: "detail=\"verification failure\""). LogEscape turns '"'
// and ',' into \xHH, so a quoted value never holds either. Field names are
// the program's own words.
//
// One value per name (docs/logging.md): a field of the same name already in
// out is removed first, so the later value wins and comes last. A refusal
// after signing thus logs action=tempfail, reason=..., never action=signed
// beside it, while signing's own fields (format, digest) stay. A value with
// its explanation is two fields (revocation=good, revocation_source=ocsp).
// out must hold only fields these functions wrote: ", " then separates
// fields and nothing else.
void AppendField(std::string* out, const char* name, const std::string& value);

// ", name=<ADDRESS>", escaped, a space as \x20: an address in angle
// brackets, as Postfix logs them ("from=<>" for an empty one). Replaces an
// earlier field of the name, as AppendField does.
void AppendAddressField(std::string* out, const char* name, const std::string& address);

// The value of the field called name in fields as written (escaped, with
// its quotes or <> if any); empty when there is none.
std::string FieldText(const std::string& fields, const char* name);

// Renames the field from to to in place, keeping its value and position (an
// earlier field called to goes): a later step that takes over a name keeps
// the earlier step's value under a name of its own (docs/logging.md).
void RenameField(std::string* out, const char* from, const char* to);

// The per-signer group of a verify line (docs/logging.md, "One value per
// name"): the only fields a line may repeat, once per signature, so these
// append without removing an earlier field of the name.
// tests/docs/check_log_lines.py refuses any other name given to them.
void AppendSignerField(std::string* out, const char* name, const std::string& value);
void AppendSignerAddressField(std::string* out, const char* name, const std::string& address);

// For an error message as Status carries it ("FILE:LINE: what", or just
// "what"): ", origin=FILE:LINE" when it starts with one, then
// ", detail=\"what\"". Error lines keep the shape of docs/logging.md
// (reload failures, start-up refusals) and the place to fix in a field.
void AppendOriginAndDetail(std::string* out, const std::string& message);

}  // namespace smime

#endif  // SMIME_BASE_LOG_H_
