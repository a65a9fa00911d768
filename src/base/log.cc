// base/log: stderr, syslog and capture sinks. See log.h.
#include "base/log.h"

#include <syslog.h>

#include <cstdio>
#include <cstring>

namespace smime {

const char* SeverityPrefix(Severity sev) {
  switch (sev) {
    case Severity::kInfo: return "";
    case Severity::kWarning: return "warning: ";
    case Severity::kError: return "error: ";
    case Severity::kFatal: return "fatal: ";
    case Severity::kPanic: return "panic: ";
  }
  return "";
}

void StderrLog::Write(Severity sev, const std::string& line) {
  std::fprintf(stderr, "%s: %s%s\n", program_.c_str(), SeverityPrefix(sev), line.c_str());
}

SyslogLog::SyslogLog(bool also_stderr) {
  openlog("smime-milter", LOG_PID | LOG_NDELAY | (also_stderr ? LOG_PERROR : 0), LOG_MAIL);
}

void SyslogLog::Write(Severity sev, const std::string& line) {
  int prio = LOG_INFO;
  switch (sev) {
    case Severity::kInfo: prio = LOG_INFO; break;
    case Severity::kWarning: prio = LOG_WARNING; break;
    case Severity::kError: prio = LOG_ERR; break;
    case Severity::kFatal: prio = LOG_CRIT; break;
    case Severity::kPanic: prio = LOG_CRIT; break;
  }
  syslog(prio, "%s%s", SeverityPrefix(sev), line.c_str());
}

void CaptureLog::Write(Severity sev, const std::string& line) {
  std::lock_guard<std::mutex> lock(mu_);
  lines_.push_back(SeverityPrefix(sev) + line);
}

std::vector<std::string> CaptureLog::Lines() const {
  std::lock_guard<std::mutex> lock(mu_);
  return lines_;
}

std::string LogEscape(const std::string& in, size_t max_len) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (char c : in) {
    const unsigned char u = static_cast<unsigned char>(c);
    const bool escape = u < 0x20 || u >= 0x7f || std::strchr(",=<>()\"\\", c) != nullptr;
    if (out.size() + (escape ? 4 : 1) > max_len) break;
    if (escape) {
      out += "\\x";
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xf]);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

namespace {

// Where the field called name starts in fields, or npos. LogEscape turns
// ',' into \x2c in every value (quoted ones and addresses too), so ", "
// occurs only between fields and each field starts at 0 or right after one.
size_t FindField(const std::string& fields, const char* name) {
  const size_t name_len = std::strlen(name);
  size_t start = 0;
  while (start < fields.size()) {
    size_t end = fields.find(", ", start);
    if (end == std::string::npos) end = fields.size();
    if (end - start > name_len && fields.compare(start, name_len, name) == 0 &&
        fields[start + name_len] == '=')
      return start;
    start = end + 2;
  }
  return std::string::npos;
}

// Removes every field called name from out.
void RemoveField(std::string* out, const char* name) {
  for (size_t at = FindField(*out, name); at != std::string::npos; at = FindField(*out, name)) {
    const size_t end = out->find(", ", at);
    if (end != std::string::npos)
      out->erase(at, end + 2 - at);  // the field and the ", " after it
    else
      out->erase(at >= 2 ? at - 2 : 0);  // the last field and the ", " before it
  }
}

void StartField(std::string* out, const char* name) {
  if (!out->empty()) out->append(", ");
  out->append(name).append("=");
}

void WriteValue(std::string* out, const char* name, const std::string& value) {
  StartField(out, name);
  const std::string escaped = LogEscape(value);
  if (escaped.empty() || escaped.find(' ') != std::string::npos)
    out->append("\"").append(escaped).append("\"");
  else
    out->append(escaped);
}

void WriteAddress(std::string* out, const char* name, const std::string& address) {
  StartField(out, name);
  // Addresses keep Postfix's <...> form; a space (a quoted local part) is
  // escaped like the delimiters instead of quoting the whole value.
  std::string escaped;
  for (char c : LogEscape(address)) {
    if (c == ' ')
      escaped += "\\x20";
    else
      escaped.push_back(c);
  }
  out->append("<").append(escaped).append(">");
}

}  // namespace

void AppendField(std::string* out, const char* name, const std::string& value) {
  RemoveField(out, name);
  WriteValue(out, name, value);
}

void AppendAddressField(std::string* out, const char* name, const std::string& address) {
  RemoveField(out, name);
  WriteAddress(out, name, address);
}

std::string FieldText(const std::string& fields, const char* name) {
  const size_t at = FindField(fields, name);
  if (at == std::string::npos) return std::string();
  const size_t value = at + std::strlen(name) + 1;
  const size_t end = fields.find(", ", value);
  return fields.substr(value, end == std::string::npos ? std::string::npos : end - value);
}

void RenameField(std::string* out, const char* from, const char* to) {
  if (FindField(*out, from) == std::string::npos) return;
  RemoveField(out, to);
  const size_t at = FindField(*out, from);
  out->replace(at, std::strlen(from), to);
}

void AppendSignerField(std::string* out, const char* name, const std::string& value) {
  WriteValue(out, name, value);
}

void AppendSignerAddressField(std::string* out, const char* name, const std::string& address) {
  WriteAddress(out, name, address);
}

void AppendOriginAndDetail(std::string* out, const std::string& message) {
  // "FILE:LINE: " with no space in FILE and digits only in LINE.
  const size_t colon_space = message.find(": ");
  if (colon_space != std::string::npos) {
    const std::string head = message.substr(0, colon_space);
    const size_t colon = head.rfind(':');
    const bool digits = colon != std::string::npos && colon + 1 < head.size() &&
                        head.find_first_not_of("0123456789", colon + 1) == std::string::npos;
    if (digits && colon > 0 && head.find(' ') == std::string::npos) {
      AppendField(out, "origin", head);
      AppendField(out, "detail", message.substr(colon_space + 2));
      return;
    }
  }
  AppendField(out, "detail", message);
}

}  // namespace smime
