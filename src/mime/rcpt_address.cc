// mime/rcpt_address: see rcpt_address.h.
#include "mime/rcpt_address.h"

#include <idn2.h>

#include <cctype>
#include <cstdlib>
#include <memory>

#include "base/text.h"

namespace smime {

namespace {

constexpr size_t kMaxLabel = 63;
constexpr size_t kMaxDomain = 253;

bool IsLdh(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; }

// d: ASCII lower-case, no trailing dot. "" when every label is a host name
// label (letters, digits, hyphens inside, 1..63 octets).
std::string CheckLdh(const std::string& d) {
  if (d.size() > kMaxDomain) return "domain-too-long";
  size_t start = 0;
  while (true) {
    size_t dot = d.find('.', start);
    const std::string label = d.substr(start, dot == std::string::npos ? dot : dot - start);
    if (label.empty()) return "empty-label";
    if (label.size() > kMaxLabel) return "label-too-long";
    for (char c : label)
      if (!IsLdh(c)) return "bad-character";
    if (label.front() == '-' || label.back() == '-') return "hyphen-at-label-end";
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return "";
}

bool HasAceLabel(const std::string& d) {
  if (d.compare(0, 4, "xn--") == 0) return true;
  return d.find(".xn--") != std::string::npos;
}

// RFC 5322 atext, plus UTF-8 (RFC 6531).
bool IsAtext(unsigned char c) {
  if (c >= 0x80) return true;
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  static const char kSpecials[] = "!#$%&'*+-/=?^_`{|}~";
  for (const char* p = kSpecials; *p; ++p)
    if (c == static_cast<unsigned char>(*p)) return true;
  return false;
}

bool IsDotAtom(const std::string& s) {
  if (s.empty() || s.front() == '.' || s.back() == '.' || s.find("..") != std::string::npos)
    return false;
  for (char c : s)
    if (c != '.' && !IsAtext(static_cast<unsigned char>(c))) return false;
  return true;
}

// Why the byte c cannot appear unquoted in an address.
std::string BadCharReason(unsigned char c) {
  if (c == '(' || c == ')') return "comment";
  if (c == ' ' || c == '\t') return "whitespace";
  if (c < 0x20 || c == 0x7f) return "control-character";
  if (c == '@') return "multiple-at";
  if (c == '"') return "misplaced-quote";
  if (c == '<' || c == '>') return "angle-brackets";
  return "bad-character";
}

}  // namespace

std::string CanonicalDomain(const std::string& domain, std::string* out) {
  std::string d = domain;
  if (!d.empty() && d.back() == '.') d.pop_back();  // the root: "b.example." is b.example
  if (d.empty()) return "empty-domain";
  if (d.front() == '[') return "address-literal";
  bool ascii = true;
  for (char c : d) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u >= 0x80) ascii = false;
    if (u <= 0x20 || u == 0x7f) return "bad-character";
  }
  if (ascii) {
    d = AsciiLower(d);
    std::string why = CheckLdh(d);
    if (!why.empty()) return why;
    if (!HasAceLabel(d)) {
      *out = d;
      return "";
    }
  }
  // U-labels, or A-labels to validate: UTS #46 non-transitional mapping
  // (case folding, NFC), then IDNA2008, as Postfix's SMTPUTF8 support does.
  char* raw = nullptr;
  const int rc =
      idn2_lookup_u8(reinterpret_cast<const uint8_t*>(d.c_str()), reinterpret_cast<uint8_t**>(&raw),
                     IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
  std::unique_ptr<char, void (*)(void*)> owned(raw, idn2_free);
  if (rc != IDN2_OK || !raw) return std::string("bad-idna: ") + idn2_strerror(rc);
  std::string a = AsciiLower(raw);
  if (!a.empty() && a.back() == '.') a.pop_back();
  std::string why = CheckLdh(a);
  if (!why.empty()) return why;
  *out = a;
  return "";
}

std::string DomainForm(const std::string& domain) {
  std::string out;
  if (CanonicalDomain(domain, &out).empty()) return out;
  out = AsciiLower(domain);
  while (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

std::string CanonicalAddress(const std::string& address, std::string* out) {
  const size_t at = address.rfind('@');
  if (at == std::string::npos) return "no-at";
  std::string domain;
  const std::string why = CanonicalDomain(address.substr(at + 1), &domain);
  if (!why.empty()) return why;
  *out = AsciiLower(address.substr(0, at)) + "@" + domain;
  return "";
}

std::string AddressForm(const std::string& address) {
  std::string out;
  if (CanonicalAddress(address, &out).empty()) return out;
  const size_t at = address.rfind('@');
  if (at == std::string::npos) return AsciiLower(address);
  return AsciiLower(address.substr(0, at)) + "@" + DomainForm(address.substr(at + 1));
}

std::string WithDomainForm(const std::string& address) {
  const size_t at = address.rfind('@');
  if (at == std::string::npos) return address;
  return address.substr(0, at + 1) + DomainForm(address.substr(at + 1));
}

std::string ParseRcptAddress(const std::string& arg, RcptAddress* out) {
  *out = RcptAddress();
  std::string s = arg;
  if (!s.empty() && s.front() == '<') {
    if (s.size() < 2 || s.back() != '>') return "angle-brackets";
    s = s.substr(1, s.size() - 2);
  }
  if (s.empty()) return "null-path";
  // Source route "@a,@b:" (RFC 5321 4.1.1.3: receivers should ignore it).
  if (s.front() == '@') {
    const size_t colon = s.find(':');
    if (colon == std::string::npos) return "bad-source-route";
    const std::string route = s.substr(0, colon);
    size_t start = 0;
    while (start < route.size()) {
      size_t comma = route.find(',', start);
      if (comma == std::string::npos) comma = route.size();
      std::string hop;
      if (route[start] != '@' ||
          !CanonicalDomain(route.substr(start + 1, comma - start - 1), &hop).empty())
        return "bad-source-route";
      start = comma + 1;
    }
    s = s.substr(colon + 1);
    if (s.empty()) return "null-path";
  }

  std::string local;  // unquoted
  size_t pos = 0;
  bool quoted = false;
  if (s[0] == '"') {
    quoted = true;
    for (pos = 1;; ++pos) {
      if (pos >= s.size()) return "unterminated-quote";
      const unsigned char c = static_cast<unsigned char>(s[pos]);
      if (c == '"') break;
      if (c == '\\') {
        if (++pos >= s.size()) return "unterminated-quote";
        const unsigned char e = static_cast<unsigned char>(s[pos]);
        if (e < 0x20 || e == 0x7f) return "control-character";
        local.push_back(static_cast<char>(e));
        continue;
      }
      if ((c < 0x20 && c != '\t') || c == 0x7f) return "control-character";
      local.push_back(static_cast<char>(c));
    }
    ++pos;  // the closing quote
  } else {
    while (pos < s.size() && (s[pos] == '.' || IsAtext(static_cast<unsigned char>(s[pos])))) ++pos;
    local = s.substr(0, pos);
    if (!local.empty() && !IsDotAtom(local)) return "bad-dot-atom";
  }
  if (pos == s.size()) {
    // RFC 5321 4.5.1: "postmaster" without a domain must be accepted.
    if (!quoted && AsciiLower(local) == "postmaster") {
      out->local = local;
      out->address = local;
      return "";
    }
    return "no-domain";
  }
  if (s[pos] != '@') return BadCharReason(static_cast<unsigned char>(s[pos]));
  if (local.empty()) return "empty-local-part";
  if (local.find_first_of("%!@") != std::string::npos) return "routing-characters-in-local-part";
  const std::string domain_text = s.substr(pos + 1);
  for (char c : domain_text) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x80 && u != '.' && u != '-' && u != '[' && u != ']' && u != ':' && !std::isalnum(u))
      return BadCharReason(u);
  }
  std::string domain;
  std::string why = CanonicalDomain(domain_text, &domain);
  if (!why.empty()) return why;
  if (IsDotAtom(local)) {
    out->local = local;
  } else {
    out->local = "\"";
    for (char c : local) {
      if (c == '"' || c == '\\') out->local.push_back('\\');
      out->local.push_back(c);
    }
    out->local.push_back('"');
  }
  out->domain = domain;
  out->address = out->local + "@" + domain;
  return "";
}

}  // namespace smime
