// mime/address: see address.h.
#include "mime/address.h"

#include <strings.h>

#include <cctype>
#include <cstring>

#include "mime/gmime_ptr.h"

namespace smime {

std::string SingleMailbox(const std::vector<std::string>& values, std::string* addr,
                          const std::string& header) {
  addr->clear();
  if (values.empty()) return "no-" + header + "-header";
  if (values.size() > 1) return "multiple-" + header + "-headers";
  EnsureGmimeInitialised();
  GObjPtr<InternetAddressList> list(internet_address_list_parse(nullptr, values[0].c_str()));
  if (!list || internet_address_list_length(list.get()) != 1) return header + "-not-single-mailbox";
  InternetAddress* ia = internet_address_list_get_address(list.get(), 0);
  if (!INTERNET_ADDRESS_IS_MAILBOX(ia)) return header + "-not-single-mailbox";
  const char* a = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
  std::string s = a ? a : "";
  size_t at = s.rfind('@');
  if (at == std::string::npos || at == 0 || at + 1 == s.size()) return header + "-without-address";
  *addr = s;
  return "";
}

namespace {

bool IsAtext(unsigned char c) {
  // Bytes above 0x7f: UTF-8 in display names (RFC 6532), read as text.
  return std::isalnum(c) || std::strchr("!#$%&'*+-/=?^_`{|}~", c) || c >= 0x80;
}

// The raw value of one mailbox, read as RFC 5322 does, keeping what a
// reader sees besides the address.
struct MailboxText {
  bool ambiguous = false;
  bool angle = false;                 // name-addr form ("... <addr>")
  std::string phrase;                 // display name as written, quotes removed
  std::vector<std::string> comments;  // comment texts
};

// Reads a quoted-string or comment starting at v[*i] ('"' or '('); returns
// false when it is unterminated or holds a control character.
bool ReadDelimited(const std::string& v, size_t* i, std::string* text) {
  const bool comment = v[*i] == '(';
  int depth = 1;
  for (++*i; *i < v.size(); ++*i) {
    const unsigned char c = static_cast<unsigned char>(v[*i]);
    if (c == '\r') {  // folding only: CRLF WSP
      if (*i + 2 >= v.size() || v[*i + 1] != '\n' || (v[*i + 2] != ' ' && v[*i + 2] != '\t'))
        return false;
      ++*i;
      continue;
    }
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
    if (c == '\\') {
      if (++*i >= v.size()) return false;
      const unsigned char e = static_cast<unsigned char>(v[*i]);
      if ((e < 0x20 && e != '\t') || e == 0x7f) return false;
      text->push_back(static_cast<char>(e));
      continue;
    }
    if (comment && c == '(') ++depth;
    if ((comment && c == ')' && --depth == 0) || (!comment && c == '"')) return true;
    text->push_back(static_cast<char>(c));
  }
  return false;
}

MailboxText ReadMailbox(const std::string& v) {
  MailboxText m;
  enum { kPhrase, kAngle, kAfter } where = kPhrase;
  int ats_outside = 0, ats_inside = 0;
  bool after_at = false;  // a domain literal may follow
  for (size_t i = 0; i < v.size() && !m.ambiguous; ++i) {
    const unsigned char c = static_cast<unsigned char>(v[i]);
    if (c == '\r') {
      if (i + 2 >= v.size() || v[i + 1] != '\n' || (v[i + 2] != ' ' && v[i + 2] != '\t'))
        m.ambiguous = true;
      ++i;
    } else if (c == ' ' || c == '\t') {
      if (where == kPhrase && !m.phrase.empty() && m.phrase.back() != ' ') m.phrase.push_back(' ');
    } else if (c == '"') {
      std::string text;
      if (!ReadDelimited(v, &i, &text) || where == kAfter) m.ambiguous = true;
      if (where == kPhrase) m.phrase += text;
    } else if (c == '(') {
      std::string text;
      if (!ReadDelimited(v, &i, &text)) m.ambiguous = true;
      m.comments.push_back(text);
    } else if (c == '<') {
      if (where != kPhrase) m.ambiguous = true;
      where = kAngle;
      m.angle = true;
      after_at = false;
    } else if (c == '>') {
      if (where != kAngle) m.ambiguous = true;
      where = kAfter;
    } else if (c == '@') {
      if (where == kAngle)
        ++ats_inside;
      else if (where == kPhrase)
        ++ats_outside;
      else
        m.ambiguous = true;
      if (where == kPhrase) m.phrase.push_back('@');
      after_at = true;
    } else if (IsAtext(c) || c == '.') {
      if (where == kAfter) m.ambiguous = true;
      if (where == kPhrase) m.phrase.push_back(static_cast<char>(c));
    } else if ((c == '[' || c == ']') && after_at && where != kAfter) {
      if (where == kPhrase) m.phrase.push_back(static_cast<char>(c));
    } else {
      // Controls, NUL, and specials a phrase may not hold unquoted (',', ';',
      // ':', '\\', ')', a '[' outside a domain): parsers split here differently.
      m.ambiguous = true;
    }
  }
  if (where == kAngle) m.ambiguous = true;
  if (m.angle && (ats_outside != 0 || ats_inside != 1)) m.ambiguous = true;
  if (!m.angle) {
    if (ats_outside != 1) m.ambiguous = true;
    m.phrase.clear();  // the text was the address itself
  }
  return m;
}

bool HasControl(const std::string& s) {
  for (char ch : s) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\t') || c == 0x7f) return true;
  }
  return false;
}

// A control character other than TAB and CRLF-WSP folding.
bool HasStrayControl(const std::string& v) {
  for (size_t i = 0; i < v.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(v[i]);
    if (c == '\r' && i + 2 < v.size() && v[i + 1] == '\n' &&
        (v[i + 2] == ' ' || v[i + 2] == '\t')) {
      ++i;
      continue;
    }
    if ((c < 0x20 && c != '\t') || c == 0x7f) return true;
  }
  return false;
}

// Look-alike at signs and dots a reader takes for the real ones, as UTF-8.
std::string FoldLookalikes(std::string s) {
  static const struct {
    const char* from;
    char to;
  } kFolds[] = {
      {"\xef\xbc\xa0", '@'}, {"\xef\xb9\xab", '@'}, {"\xef\xbc\x8e", '.'}, {"\xe3\x80\x82", '.'}};
  for (const auto& f : kFolds)
    for (size_t p; (p = s.find(f.from)) != std::string::npos;) s.replace(p, 3, 1, f.to);
  return s;
}

// Every address-looking text (local@label.label) in s.
std::vector<std::string> AddressesIn(const std::string& raw) {
  const std::string s = FoldLookalikes(raw);
  std::vector<std::string> out;
  for (size_t at = s.find('@'); at != std::string::npos; at = s.find('@', at + 1)) {
    size_t b = at;
    while (b > 0 && (IsAtext(static_cast<unsigned char>(s[b - 1])) || s[b - 1] == '.')) --b;
    size_t e = at + 1;
    while (e < s.size()) {
      const unsigned char c = static_cast<unsigned char>(s[e]);
      if (!std::isalnum(c) && c != '-' && c != '.' && c < 0x80) break;
      ++e;
    }
    std::string domain = s.substr(at + 1, e - at - 1);
    while (!domain.empty() && domain.back() == '.') domain.pop_back();
    const size_t dot = domain.find('.');
    if (b == at || dot == std::string::npos || dot == 0 || dot + 1 == domain.size()) continue;
    out.push_back(s.substr(b, at - b) + "@" + domain);
  }
  return out;
}

}  // namespace

std::string IdentityMailbox(const std::vector<std::string>& values, const std::string& header,
                            std::string* addr) {
  const std::string problem = SingleMailbox(values, addr, header);
  // A NUL or control character ends or changes the value for some readers
  // (GMime stops at a NUL), whatever GMime made of the rest.
  if (values.size() == 1 && HasStrayControl(values[0])) return header + "-ambiguous";
  if (!problem.empty()) return problem;
  const std::string& v = values[0];
  const MailboxText m = ReadMailbox(v);
  if (m.ambiguous) return header + "-ambiguous";

  // What a reader sees besides the address: the display name and comments,
  // as written and decoded, and the name GMime settled on.
  std::vector<std::string> shown = m.comments;
  if (!m.phrase.empty()) shown.push_back(m.phrase);
  GCharPtr phrase(g_mime_utils_header_decode_phrase(nullptr, m.phrase.c_str()));
  if (phrase) shown.push_back(phrase.get());
  for (const std::string& c : m.comments) {
    GCharPtr text(g_mime_utils_header_decode_text(nullptr, c.c_str()));
    if (text) shown.push_back(text.get());
  }
  GObjPtr<InternetAddressList> list(internet_address_list_parse(nullptr, v.c_str()));
  const char* name = internet_address_get_name(internet_address_list_get_address(list.get(), 0));
  if (name) shown.push_back(name);

  for (const std::string& s : shown) {
    if (HasControl(s)) return header + "-ambiguous";
    for (const std::string& a : AddressesIn(s))
      if (strcasecmp(a.c_str(), addr->c_str()) != 0) return header + "-display-name-address";
  }
  return "";
}

namespace {
void Collect(InternetAddressList* list, std::vector<std::string>* out) {
  for (int i = 0; list && i < internet_address_list_length(list); ++i) {
    InternetAddress* ia = internet_address_list_get_address(list, i);
    if (INTERNET_ADDRESS_IS_GROUP(ia)) {
      Collect(internet_address_group_get_members(INTERNET_ADDRESS_GROUP(ia)), out);
    } else if (INTERNET_ADDRESS_IS_MAILBOX(ia)) {
      const char* a = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
      if (a && *a) out->push_back(a);
    }
  }
}
}  // namespace

std::vector<std::string> AllMailboxes(const std::vector<std::string>& values) {
  EnsureGmimeInitialised();
  std::vector<std::string> out;
  for (const std::string& v : values) {
    GObjPtr<InternetAddressList> list(internet_address_list_parse(nullptr, v.c_str()));
    Collect(list.get(), &out);
  }
  return out;
}

}  // namespace smime
