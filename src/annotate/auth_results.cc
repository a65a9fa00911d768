// annotate/auth_results: see auth_results.h.
#include "annotate/auth_results.h"

#include <strings.h>

#include <algorithm>
#include <cctype>
#include <cstring>

namespace smime {

namespace {

constexpr size_t kMaxPropertyLen = 200;

bool IsAtext(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("!#$%&'*+-/=?^_`{|}~", c);
}

bool IsToken(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c <= ' ' || c >= 127 || std::strchr("()<>@,;:\\\"/[]?=", c)) return false;
  return true;
}

bool IsSimpleAddrSpec(const std::string& s) {
  size_t at = s.find('@');
  if (at == std::string::npos || at == 0 || at + 1 == s.size()) return false;
  for (size_t i = 0; i < at; ++i)
    if (!IsAtext(s[i]) && s[i] != '.') return false;
  for (size_t i = at + 1; i < s.size(); ++i)
    if (!std::isalnum(static_cast<unsigned char>(s[i])) && s[i] != '.' && s[i] != '-') return false;
  return true;
}

size_t SkipCfws(const std::string& s, size_t i) {
  int depth = 0;
  while (i < s.size()) {
    char c = s[i];
    if (depth > 0) {
      if (c == '\\')
        ++i;
      else if (c == '(')
        ++depth;
      else if (c == ')')
        --depth;
    } else if (c == '(') {
      depth = 1;
    } else if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
      break;
    }
    ++i;
  }
  return i;
}

}  // namespace

const char* AuthResultName(AuthResult r) {
  switch (r) {
    case AuthResult::kNone: return "none";
    case AuthResult::kPass: return "pass";
    case AuthResult::kFail: return "fail";
    case AuthResult::kPolicy: return "policy";
    case AuthResult::kNeutral: return "neutral";
    case AuthResult::kTempError: return "temperror";
    case AuthResult::kPermError: return "permerror";
  }
  return "none";
}

std::string SanitizeHeaderText(const std::string& in, size_t max_len) {
  std::string out;
  for (char c : in) {
    if (out.size() >= max_len) break;
    unsigned char u = static_cast<unsigned char>(c);
    out.push_back(u >= 0x20 && u < 0x7f ? c : '?');
  }
  return out;
}

std::string PropertyValue(const std::string& in) {
  std::string s = SanitizeHeaderText(in, kMaxPropertyLen);
  if (IsToken(s) || IsSimpleAddrSpec(s)) return s;
  std::string q = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') q.push_back('\\');
    q.push_back(c);
  }
  return q + "\"";
}

std::vector<SignatureResult> HonestClauses(AuthResult verdict,
                                           std::vector<SignatureResult> results) {
  auto first = std::find_if(results.begin(), results.end(),
                            [verdict](const SignatureResult& r) { return r.result == verdict; });
  if (first != results.end()) std::rotate(results.begin(), first, first + 1);
  if (verdict != AuthResult::kPass)
    for (SignatureResult& r : results)
      if (r.result == AuthResult::kPass) {
        r.result = AuthResult::kPolicy;
        r.reason = "other-signature-not-pass";
      }
  return results;
}

std::string BuildAuthResults(const std::string& authserv_id,
                             const std::vector<SignatureResult>& results) {
  std::string v = PropertyValue(authserv_id) + ";";
  if (results.empty()) return v + " smime=none";
  for (size_t i = 0; i < results.size(); ++i) {
    const SignatureResult& r = results[i];
    v += (i ? ";\n\t" : "\n\t");
    v += std::string("smime=") + AuthResultName(r.result);
    if (!r.comment.empty()) {
      std::string c = SanitizeHeaderText(r.comment, kMaxPropertyLen);
      for (char& ch : c)
        if (ch == '(' || ch == ')' || ch == '\\') ch = ' ';
      v += " (" + c + ")";
    }
    if (!r.reason.empty()) v += " reason=" + PropertyValue(r.reason);
    if (!r.identifier.empty()) v += "\n\tbody.smime-identifier=" + PropertyValue(r.identifier);
    if (!r.part.empty()) v += " body.smime-part=" + PropertyValue(r.part);
    // The identity was Sender:'s, not From:'s (RFC 8601 ptype header).
    if (!r.sender.empty()) v += "\n\theader.sender=" + PropertyValue(r.sender);
    if (!r.serial.empty() && !r.issuer.empty()) {
      v += "\n\tbody.smime-serial=" + PropertyValue(r.serial);
      // Always quoted: DNs contain '=' and ','.
      std::string issuer = PropertyValue(r.issuer);
      if (issuer[0] != '"') issuer = "\"" + issuer + "\"";
      v += "\n\tbody.smime-issuer=" + issuer;
    }
  }
  return v;
}

std::string AuthservIdOf(const std::string& value) {
  size_t i = SkipCfws(value, 0);
  std::string id;
  if (i < value.size() && value[i] == '"') {
    for (++i; i < value.size() && value[i] != '"'; ++i) {
      if (value[i] == '\\' && i + 1 < value.size()) ++i;
      id.push_back(value[i]);
    }
    return id;
  }
  while (i < value.size() && value[i] != ';' && value[i] != '(' && value[i] != ' ' &&
         value[i] != '\t' && value[i] != '\r' && value[i] != '\n')
    id.push_back(value[i++]);
  return id;
}

bool SameAuthservId(const std::string& a, const std::string& b) {
  auto strip = [](std::string s) {
    while (!s.empty() && s.back() == '.') s.pop_back();
    return s;
  };
  std::string x = strip(a), y = strip(b);
  return !x.empty() && x.size() == y.size() && strcasecmp(x.c_str(), y.c_str()) == 0;
}

}  // namespace smime
