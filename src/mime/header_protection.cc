// mime/header_protection: see header_protection.h and docs/header-protection.md.
#include "mime/header_protection.h"

#include <strings.h>

#include <algorithm>
#include <cctype>

#include "mime/gmime_ptr.h"
#include "mime/one_reading.h"

namespace smime {

namespace {

constexpr size_t kMaxFields = 1000;
constexpr size_t kMaxBlock = 256 * 1024;

// Named in logs and A-R comments (processor): the user-facing fields of
// RFC 9788 section 1.1.2 and the originator, destination, identification
// and informational fields of RFC 5322 section 3.6 (and the reply-routing
// fields in common use). Any other name is only counted there: a payload's
// field name is attacker text.
constexpr const char* kNamed[] = {
    "From",        "Sender",          "Reply-To",   "To",      "Cc",       "Date",
    "Message-ID",  "In-Reply-To",     "References", "Subject", "Comments", "Keywords",
    "Followup-To", "Mail-Followup-To"};

// Fields the author did not compose: trace and transit fields that MTAs,
// filters and mailing lists add on the way (RFC 9788 section 7 leaves them
// unprotected; at a gateway they are already present), Bcc (a copy inside
// the payload would show it to every recipient), and HP-Outer itself (only
// a sender may write one, inside the payload). Prefixes end in '-'.
constexpr const char* kNotCopied[] = {"Received",
                                      "Return-Path",
                                      "Delivered-To",
                                      "X-Original-To",
                                      "DKIM-Signature",
                                      "ARC-",
                                      "Authentication-Results",
                                      "Received-SPF",
                                      "List-",
                                      "Archived-At",
                                      "Resent-",
                                      "Bcc",
                                      "HP-Outer"};

// RFC 9788 section 1.1.2's user-facing fields: the ones a Legacy Display
// Element shows when the policy obscured or removed them.
constexpr const char* kUserFacing[] = {"Subject", "From",     "To",         "Cc",
                                       "Date",    "Reply-To", "Followup-To"};

bool Same(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// Bare CR or LF become CRLF, so the lines fit the CRLF entity.
std::string Crlf(std::string_view in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '\r') {
      out += "\r\n";
      if (i + 1 < in.size() && in[i + 1] == '\n') ++i;
    } else if (in[i] == '\n') {
      out += "\r\n";
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

// Leading and trailing blanks and line breaks off: how two values compare.
std::string Trim(std::string_view v) {
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  size_t b = 0, e = v.size();
  while (b < e && blank(v[b])) ++b;
  while (e > b && blank(v[e - 1])) --e;
  return std::string(v.substr(b, e - b));
}

// Unfolded (line breaks removed), for parsing a Content-Type value.
std::string Unfold(std::string_view v) {
  std::string out;
  for (char c : v)
    if (c != '\r' && c != '\n') out.push_back(c);
  return out;
}

struct Field {
  std::string_view name;
  std::string_view value;  // after the colon, up to (not including) the final line break
  size_t value_end = 0;    // offset in the block where the final line break starts
};

// The header block of an entity we built (outbound; inbound blocks go
// through mime/one_reading): its fields and its length (including the
// empty line). False when it is unterminated, beyond the limits, or has a
// line that is not a field.
bool SplitBlock(std::string_view entity, std::vector<Field>* fields, size_t* length,
                std::string* why) {
  size_t at = 0;
  while (true) {
    if (at >= entity.size() || at > kMaxBlock) {
      *why = at > kMaxBlock ? "hp-header-block-too-large" : "hp-header-block-unterminated";
      return false;
    }
    // The empty line ends the block.
    if (entity[at] == '\n') {
      *length = at + 1;
      return true;
    }
    if (entity.compare(at, 2, "\r\n") == 0) {
      *length = at + 2;
      return true;
    }
    if (entity[at] == ' ' || entity[at] == '\t') {
      *why = "hp-header-block-malformed";
      return false;
    }
    const size_t colon = entity.find(':', at);
    const size_t eol = entity.find('\n', at);
    if (colon == std::string_view::npos || (eol != std::string_view::npos && eol < colon)) {
      *why = "hp-header-block-malformed";
      return false;
    }
    // The field runs on over continuation lines (starting with a blank).
    size_t end = eol;
    while (end != std::string_view::npos && end + 1 < entity.size() &&
           (entity[end + 1] == ' ' || entity[end + 1] == '\t'))
      end = entity.find('\n', end + 1);
    if (end == std::string_view::npos) {
      *why = "hp-header-block-unterminated";
      return false;
    }
    const size_t value_end = end > 0 && entity[end - 1] == '\r' ? end - 1 : end;
    std::string_view name = entity.substr(at, colon - at);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
    if (fields->size() >= kMaxFields) {
      *why = "hp-too-many-fields";
      return false;
    }
    fields->push_back({name, entity.substr(colon + 1, value_end - colon - 1), value_end});
    at = end + 1;
  }
}

bool IsStructural(std::string_view name) {
  return Same(name, "MIME-Version") || (name.size() > 8 && Same(name.substr(0, 8), "Content-"));
}

// The hp parameter of a Content-Type value, lower case; "" without one.
std::string HpParameter(std::string_view content_type, bool* present) {
  EnsureGmimeInitialised();
  const std::string v = Unfold(content_type);
  GObjPtr<GMimeContentType> ct(g_mime_content_type_parse(nullptr, v.c_str()));
  const char* hp = ct ? g_mime_content_type_get_parameter(ct.get(), "hp") : nullptr;
  *present = hp != nullptr;
  std::string out = hp ? hp : "";
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// How a Content-Type value names a parameter hp, however the rest reads:
// 0 not at all, 1 plainly (hp=), 2 in RFC 2231 form (hp*=, hp*0=), any
// letter case.
int HpForm(std::string_view v) {
  int form = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] != ';') continue;
    size_t j = i + 1;
    while (j < v.size() && (v[j] == ' ' || v[j] == '\t' || v[j] == '\r' || v[j] == '\n')) ++j;
    if (j + 2 >= v.size() || !Same(v.substr(j, 2), "hp")) continue;
    size_t k = j + 2;
    while (k < v.size() && (v[k] == ' ' || v[k] == '\t')) ++k;
    if (k < v.size() && v[k] == '*')
      form = 2;
    else if (k < v.size() && v[k] == '=' && form == 0)
      form = 1;
  }
  return form;
}

bool MentionsHp(std::string_view v) { return HpForm(v) != 0; }

// Whether a header block we could not read strictly shows, read with any
// byte among CR, LF and NUL as a line end, a From: or Sender: field or an
// hp parameter: what an RFC 9788 reader might take as protected fields.
bool Suspicious(std::string_view block) {
  size_t at = 0;
  while (at < block.size()) {
    size_t end = block.find_first_of(std::string_view("\r\n\0", 3), at);
    if (end == std::string_view::npos) end = block.size();
    std::string_view line = block.substr(at, end - at);
    at = end + 1;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = line.substr(0, colon);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
    while (!name.empty() && (name.front() == ' ' || name.front() == '\t')) name.remove_prefix(1);
    if (Same(name, "From") || Same(name, "Sender")) return true;
    if (MentionsHp(line.substr(colon))) return true;
  }
  return false;
}

bool IsUserFacing(std::string_view name) {
  for (const char* p : kUserFacing)
    if (Same(name, p)) return true;
  return false;
}

// A field value as a reader sees it: unfolded, blanks at both ends off,
// RFC 2047 encoded words decoded (UTF-8).
std::string DisplayValue(std::string_view raw) {
  EnsureGmimeInitialised();
  const std::string v = Trim(Unfold(raw));
  GCharPtr decoded(g_mime_utils_header_decode_text(nullptr, v.c_str()));
  return decoded ? std::string(decoded.get()) : v;
}

bool IsAscii(std::string_view v) {
  return std::all_of(v.begin(), v.end(), [](char c) {
    const unsigned char u = static_cast<unsigned char>(c);
    return u < 0x80 && (u >= 0x20 || c == '\t');
  });
}

// Quoted-printable lines (RFC 2045 section 6.7) for text that has no line
// breaks, each line ending in CRLF.
std::string QuotedPrintableLine(std::string_view text) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  size_t column = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    const bool last = i + 1 == text.size();
    std::string piece;
    if ((c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !last)) {
      piece.push_back(static_cast<char>(c));
    } else {
      piece = {'=', kHex[c >> 4], kHex[c & 15]};
    }
    if (column + piece.size() > 75) {
      out += "=\r\n";
      column = 0;
    }
    out += piece;
    column += piece.size();
  }
  return out + "\r\n";
}

// The Legacy Display Element for a text/plain payload root (RFC 9788
// section 5.2.2): one "Name: value" line per field, then an empty line, in
// the root's own transfer encoding and charset. False (and *why) when the
// root is not text/plain or its body cannot take the lines unchanged: a
// base64 body, a charset that is not ASCII-compatible for ASCII lines, or
// non-ASCII values for anything but a UTF-8 body.
bool LegacyDisplayText(const ContentTypeValue& ct, std::string_view transfer_encoding,
                       const std::vector<MimeHeader>& fields, std::string* out, std::string* why) {
  if (ct.type != "text" || ct.subtype != "plain") {
    *why = "hp-legacy-display-not-text-plain";
    return false;
  }
  std::string cte = Trim(Unfold(transfer_encoding));
  for (char& c : cte) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const bool qp = cte == "quoted-printable";
  if (!cte.empty() && cte != "7bit" && cte != "8bit" && !qp) {
    *why = "hp-legacy-display-encoding";
    return false;
  }
  auto it = ct.params.find("charset");
  std::string charset = it == ct.params.end() ? "us-ascii" : it->second;
  for (char& c : charset) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const bool utf8 = charset == "utf-8" || charset == "utf8";
  const bool ascii_compatible = utf8 || charset == "us-ascii" || charset == "ascii" ||
                                charset.compare(0, 9, "iso-8859-") == 0 ||
                                charset.compare(0, 8, "windows-") == 0;
  std::string text;
  for (const MimeHeader& f : fields) {
    const std::string line = f.name + ": " + DisplayValue(f.value);
    if (!ascii_compatible || (!IsAscii(line) && (!utf8 || cte == "7bit" || cte.empty()))) {
      *why = "hp-legacy-display-charset";
      return false;
    }
    if (!qp && line.size() > 998) {
      *why = "hp-legacy-display-long-line";
      return false;
    }
    text += qp ? QuotedPrintableLine(line) : line + "\r\n";
  }
  *out = text + "\r\n";
  return true;
}

}  // namespace

const char* HpModeName(HpMode m) {
  switch (m) {
    case HpMode::kNone: return "none";
    case HpMode::kClear: return "clear";
    case HpMode::kCipher: return "cipher";
  }
  return "?";
}

bool ParseHpMode(const std::string& s, HpMode* m) {
  if (s == "none")
    *m = HpMode::kNone;
  else if (s == "clear")
    *m = HpMode::kClear;
  else if (s == "cipher")
    *m = HpMode::kCipher;
  else
    return false;
  return true;
}

bool IsProtectedHeaderName(std::string_view name) {
  for (const char* p : kNamed)
    if (Same(name, p)) return true;
  return false;
}

bool IsCopiedHeaderName(std::string_view name) {
  if (name.empty() || IsStructural(name)) return false;
  for (std::string_view p : kNotCopied) {
    if (p.back() == '-' ? name.size() > p.size() && Same(name.substr(0, p.size()), p)
                        : Same(name, p))
      return false;
  }
  return true;
}

bool HcpBaseline(std::string_view name, const std::string& value, const std::string& placeholder,
                 std::string* out) {
  if (Same(name, "Subject")) {
    *out = placeholder;
    return true;
  }
  if (Same(name, "Keywords") || Same(name, "Comments")) return false;
  *out = value;
  return true;
}

HpPlan PlanHeaderProtection(const std::vector<MimeHeader>& message_headers, HpMode mode,
                            const std::string& placeholder, bool hide) {
  HpPlan plan;
  plan.mode = mode;
  if (mode == HpMode::kNone) return plan;
  std::string hp_outer;
  for (const MimeHeader& h : message_headers) {
    if (!IsCopiedHeaderName(h.name)) continue;
    plan.lines += h.name + ":" + Crlf(h.value) + "\r\n";
    if (std::none_of(plan.protected_names.begin(), plan.protected_names.end(),
                     [&](const std::string& n) { return Same(n, h.name); }))
      plan.protected_names.push_back(h.name);
    if (mode != HpMode::kCipher) continue;
    std::string outer = h.value;
    const bool kept = !hide || HcpBaseline(h.name, h.value, " " + placeholder, &outer);
    if (kept) hp_outer += "HP-Outer: " + h.name + ":" + Crlf(outer) + "\r\n";
    if (kept && outer == h.value) continue;
    if (IsUserFacing(h.name)) plan.legacy_display.push_back({h.name, h.value});
    // Changed or removed: every outer field of this name goes, the changed
    // ones come back with their outer value.
    if (std::none_of(plan.outer_names.begin(), plan.outer_names.end(),
                     [&](const std::string& n) { return Same(n, h.name); }))
      plan.outer_names.push_back(h.name);
    if (kept) plan.outer_fields.push_back({h.name, outer});
  }
  plan.lines += hp_outer;
  return plan;
}

Status ProtectPayloadHead(std::string_view entity, const HpPlan& plan, std::string* head,
                          size_t* consumed, std::string* legacy_display) {
  if (legacy_display) legacy_display->clear();
  std::vector<Field> fields;
  size_t length = 0;
  std::string why;
  if (!SplitBlock(entity, &fields, &length, &why)) return Status::InvalidInput(why);
  const Field* type = nullptr;
  std::string_view transfer_encoding;
  for (const Field& f : fields) {
    if (Same(f.name, "Content-Transfer-Encoding")) transfer_encoding = f.value;
    if (!Same(f.name, "Content-Type")) continue;
    if (type) return Status::InvalidInput("hp-multiple-content-type");
    type = &f;
  }
  if (!type) return Status::InvalidInput("hp-no-content-type");
  bool present = false;
  HpParameter(type->value, &present);
  if (present || HpForm(type->value) != 0) return Status::InvalidInput("hp-already-present");
  // A Legacy Display Element for the fields the policy obscured or removed
  // (RFC 9788 section 5.2.2), when the root is text/plain and its body can
  // take the lines as they are; otherwise none, and *legacy_display says why.
  std::string display, ld_why;
  if (plan.mode == HpMode::kCipher && !plan.legacy_display.empty()) {
    ContentTypeValue ct;
    const bool ok =
        ParseContentTypeStrict(Unfold(type->value), &ct).ok() &&
        LegacyDisplayText(ct, transfer_encoding, plan.legacy_display, &display, &ld_why);
    if (!ok) {
      display.clear();
      if (ld_why.empty()) ld_why = "hp-legacy-display-content-type";
    }
    if (legacy_display) *legacy_display = ok ? "added" : ld_why;
  }
  // The entity's own fields, hp (and hp-legacy-display) added at the end of
  // the Content-Type value, then the protected fields and HP-Outer lines,
  // then the empty line and the element.
  const size_t blank = entity[length - 2] == '\r' ? length - 2 : length - 1;
  *head = std::string(entity.substr(0, type->value_end));
  *head += std::string("; hp=\"") + HpModeName(plan.mode) + "\"";
  if (!display.empty()) *head += "; hp-legacy-display=\"1\"";
  *head += Crlf(entity.substr(type->value_end, blank - type->value_end));
  *head += plan.lines + "\r\n" + display;
  *consumed = length;
  return Status::Ok();
}

Status ParseProtectedHeaders(std::string_view entity, HpInbound* out) {
  *out = HpInbound();
  // One reading only (mime/one_reading): where a reader could see fields or
  // an hp parameter that we do not, the block is ambiguous, and it counts
  // as such when any reading of it shows an hp parameter or a From: or
  // Sender: (docs/header-protection.md).
  const std::string_view window = entity.substr(0, kMaxBlock);
  std::vector<RawField> fields;
  size_t body_offset = 0;
  Status st = ReadHeaderBlock(window, &fields, &body_offset);
  if (st.ok() && fields.size() > kMaxFields) st = Status::InvalidInput("hp-too-many-fields");
  if (st.ok()) st = CheckEntityFields(fields);
  const RawField* type = st.ok() ? FindField(fields, "Content-Type") : nullptr;
  ContentTypeValue ct;
  if (type && !ParseContentTypeStrict(type->value, &ct).ok()) {
    // Unreadable strictly: fine unless some reading finds hp in it.
    bool lenient = false;
    HpParameter(type->value, &lenient);
    if (lenient || MentionsHp(type->value)) st = Status::InvalidInput("hp-content-type-ambiguous");
  }
  // RFC 2231 forms decode differently from reader to reader.
  if (type && HpForm(type->value) == 2) st = Status::InvalidInput("hp-parameter-encoded");
  if (!st.ok()) {
    out->problem = st.message();
    out->ambiguous = Suspicious(window);
    return Status::Ok();
  }
  for (const RawField& f : fields) {
    if (IsStructural(f.name)) continue;
    if (Same(f.name, "HP-Outer")) {
      // "HP-Outer: NAME: VALUE": the name up to the first colon.
      const size_t colon = f.value.find(':');
      if (colon == std::string::npos) continue;
      const std::string name = Trim(f.value.substr(0, colon));
      if (!name.empty()) out->hp_outer.push_back({name, f.value.substr(colon + 1)});
      continue;
    }
    out->protected_fields.push_back({f.name, f.value});
  }
  auto hp = ct.params.find("hp");
  if (hp == ct.params.end()) return Status::Ok();
  std::string value = hp->second;
  for (char& c : value) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!ParseHpMode(value, &out->mode) || out->mode == HpMode::kNone) {
    out->mode = HpMode::kNone;
    out->problem = "hp-unknown-value";
  }
  return Status::Ok();
}

std::vector<std::string> FieldValues(const std::vector<MimeHeader>& fields, std::string_view name) {
  std::vector<std::string> out;
  for (const MimeHeader& h : fields)
    if (Same(h.name, name)) out.push_back(h.value);
  return out;
}

std::vector<MimeHeader> HeadersToRestore(const HpInbound& in) {
  std::vector<MimeHeader> out;
  if (in.mode != HpMode::kCipher) return out;
  std::vector<std::string> done;
  for (const MimeHeader& h : in.protected_fields) {
    // Only the author fields of IsProtectedHeaderName, never From: or
    // Sender:. A payload is the sender's text: its Authentication-Results,
    // Received, X-Spam-* or Bcc (no HP-Outer, so "removed") must not land in
    // the header that filters and readers behind us trust.
    if (!IsProtectedHeaderName(h.name) || Same(h.name, "From") || Same(h.name, "Sender")) continue;
    if (std::any_of(done.begin(), done.end(),
                    [&](const std::string& n) { return Same(n, h.name); }))
      continue;
    done.push_back(h.name);
    const std::vector<std::string> inner = FieldValues(in.protected_fields, h.name);
    const std::vector<std::string> outer = FieldValues(in.hp_outer, h.name);
    bool same = inner.size() == outer.size();
    for (size_t i = 0; same && i < inner.size(); ++i) same = Trim(inner[i]) == Trim(outer[i]);
    if (same) continue;
    for (const std::string& v : inner) out.push_back({h.name, v});
  }
  return out;
}

}  // namespace smime
