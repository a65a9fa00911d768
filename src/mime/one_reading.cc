// mime/one_reading: see one_reading.h.
#include "mime/one_reading.h"

#include <strings.h>

#include <cstring>

#include "base/text.h"

namespace smime {

namespace {

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

Status Ambiguous(const char* what) { return Status::InvalidInput(what); }

// RFC 2045 token characters: printable ASCII except tspecials.
bool IsTokenChar(char c) {
  const unsigned char u = static_cast<unsigned char>(c);
  return u > 0x20 && u < 0x7f && !std::strchr("()<>@,;:\\\"/[]?=", c);
}

// RFC 2046 bchars without the space: a byte that can continue a boundary,
// so "--B" followed by it is another boundary's delimiter, not ours.
bool IsBoundaryChar(char c) {
  const unsigned char u = static_cast<unsigned char>(c);
  return (u >= '0' && u <= '9') || (u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') ||
         (c != '\0' && std::strchr("'()+_,-./:=?", c));
}

bool IsStructuralParameter(const std::string& name) {
  return name == "boundary" || name == "protocol" || name == "micalg" || name == "smime-type";
}

}  // namespace

Status ReadHeaderBlock(std::string_view e, std::vector<RawField>* fields, size_t* body_offset) {
  fields->clear();
  size_t pos = 0;
  while (true) {
    if (pos >= e.size()) return Ambiguous("header-block-unterminated");
    const size_t eol = e.find("\r\n", pos);
    if (eol == std::string_view::npos) return Ambiguous("header-block-unterminated");
    const std::string_view line = e.substr(pos, eol - pos);
    pos = eol + 2;
    if (line.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos)
      return Ambiguous("header-bare-line-break-or-nul");
    if (line.empty()) {
      *body_offset = pos;
      return Status::Ok();
    }
    if (IsBlank(line[0])) {
      if (fields->empty()) return Ambiguous("header-continuation-first");
      if (line.find_first_not_of(" \t") == std::string_view::npos)
        return Ambiguous("header-blank-line");
      fields->back().value.append(line.data(), line.size());
      continue;
    }
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return Ambiguous("header-without-colon");
    for (size_t i = 0; i < colon; ++i) {
      const unsigned char u = static_cast<unsigned char>(line[i]);
      if (u <= 0x20 || u >= 0x7f) return Ambiguous("header-name-invalid");
    }
    fields->push_back({std::string(line.substr(0, colon)), std::string(line.substr(colon + 1))});
  }
}

const RawField* FindField(const std::vector<RawField>& fields, const char* name) {
  for (const RawField& f : fields)
    if (strcasecmp(f.name.c_str(), name) == 0) return &f;
  return nullptr;
}

Status CheckEntityFields(const std::vector<RawField>& fields) {
  static const struct {
    const char* name;
    const char* reason;
  } kOnce[] = {{"Content-Type", "duplicate-content-type"},
               {"Content-Transfer-Encoding", "duplicate-content-transfer-encoding"},
               {"MIME-Version", "duplicate-mime-version"}};
  for (const auto& once : kOnce) {
    int n = 0;
    for (const RawField& f : fields)
      if (strcasecmp(f.name.c_str(), once.name) == 0 && ++n > 1) return Ambiguous(once.reason);
  }
  return Status::Ok();
}

Status ParseContentTypeStrict(std::string_view v, ContentTypeValue* out) {
  *out = ContentTypeValue();
  // Comments are read differently by different parsers (GMime skips them,
  // simpler parsers find "boundary=" inside them): never accept one.
  bool quoted = false;
  for (size_t i = 0; i < v.size(); ++i) {
    if (quoted && v[i] == '\\') {
      return Ambiguous("content-type-quoted-pair");
    } else if (v[i] == '"') {
      quoted = !quoted;
    } else if (!quoted && (v[i] == '(' || v[i] == ')')) {
      return Ambiguous("content-type-comment");
    }
  }
  if (quoted) return Ambiguous("content-type-unterminated-quote");

  size_t i = 0;
  auto skip = [&] {
    while (i < v.size() && IsBlank(v[i])) ++i;
  };
  auto token = [&] {
    const size_t start = i;
    while (i < v.size() && IsTokenChar(v[i])) ++i;
    return v.substr(start, i - start);
  };
  skip();
  out->type = AsciiLower(std::string(token()));
  if (out->type.empty() || i >= v.size() || v[i] != '/') return Ambiguous("content-type-syntax");
  ++i;
  out->subtype = AsciiLower(std::string(token()));
  if (out->subtype.empty()) return Ambiguous("content-type-syntax");
  while (true) {
    skip();
    if (i >= v.size()) return Status::Ok();
    if (v[i] != ';') return Ambiguous("content-type-syntax");
    ++i;
    skip();
    if (i >= v.size()) return Status::Ok();  // a trailing ';' is common and harmless
    const std::string name = AsciiLower(std::string(token()));
    skip();
    if (name.empty() || i >= v.size() || v[i] != '=') return Ambiguous("content-type-syntax");
    ++i;
    skip();
    std::string value;
    if (i < v.size() && v[i] == '"') {
      // No quoted-pairs here: the scan above refused every backslash.
      for (++i; i < v.size() && v[i] != '"'; ++i) value.push_back(v[i]);
      ++i;  // the closing quote (present: checked above)
    } else {
      // Lenient like every mail parser: anything up to ';' or a blank. The
      // caller compares structural values with GMime's reading.
      const size_t start = i;
      while (i < v.size() && v[i] != ';' && !IsBlank(v[i]) && v[i] != '"') ++i;
      value.assign(v.substr(start, i - start));
      if (value.empty()) return Ambiguous("content-type-syntax");
    }
    // name, name*, name*0, name*0*: one parameter in RFC 2231's forms.
    const size_t star = name.find('*');
    const std::string base = name.substr(0, star);
    if (base.empty()) return Ambiguous("content-type-syntax");
    if (star != std::string::npos) {
      if (IsStructuralParameter(base)) return Ambiguous("content-type-rfc2231-structural");
      // Continuations name*1, name*2... belong to the same parameter.
      const std::string section = name.substr(star + 1);
      if (section != "" && section != "0" && section != "0*") {
        if (!out->params.count(base)) return Ambiguous("content-type-syntax");
        continue;
      }
    }
    if (!out->params.emplace(base, value).second)
      return Ambiguous("content-type-duplicate-parameter");
  }
}

Status ReadTransferEncoding(const std::vector<RawField>& fields, std::string* encoding) {
  encoding->clear();
  const RawField* f = FindField(fields, "Content-Transfer-Encoding");
  if (!f) return Status::Ok();
  std::string v = AsciiLower(f->value);
  v.erase(0, v.find_first_not_of(" \t"));
  v.erase(v.find_last_not_of(" \t") + 1);
  if (v != "7bit" && v != "8bit" && v != "binary" && v != "base64" && v != "quoted-printable")
    return Ambiguous("content-transfer-encoding-syntax");
  *encoding = v;
  return Status::Ok();
}

Status CheckLineBreaks(std::string_view b) {
  // memchr for each; the first offence in the text is the one named.
  const char* const begin = b.data();
  const char* const end = begin + b.size();
  const char* nul = static_cast<const char*>(std::memchr(begin, '\0', b.size()));
  const char* bare_cr = nullptr;
  for (const char* p = begin;
       (p = static_cast<const char*>(std::memchr(p, '\r', static_cast<size_t>(end - p)))) !=
       nullptr;
       ++p) {
    if (p + 1 == end || p[1] != '\n') {
      bare_cr = p;
      break;
    }
  }
  if (nul && (!bare_cr || nul < bare_cr)) return Ambiguous("frame-nul");
  if (bare_cr) return Ambiguous("frame-bare-cr");
  return Status::Ok();
}

Status CutMultipartStrictly(std::string_view body, const std::string& boundary,
                            std::vector<std::string_view>* parts) {
  parts->clear();
  if (boundary.empty()) return Ambiguous("multipart-without-boundary");
  const std::string delim = "--" + boundary;
  struct Line {
    size_t start;  // where "--boundary" begins
    size_t brk;    // where the line break before it begins (== start at offset 0)
    size_t next;   // just after the delimiter line's CRLF
    bool close;
  };
  std::vector<Line> lines;
  for (size_t at = body.find(delim); at != std::string_view::npos; at = body.find(delim, at + 1)) {
    const char before = at ? body[at - 1] : '\n';
    if (before != '\n' && before != '\r') continue;  // not at a line start for anyone
    size_t p = at + delim.size();
    const bool close = body.substr(p, 2) == "--";
    if (close) {
      p += 2;
    } else if (p < body.size() && IsBoundaryChar(body[p])) {
      continue;  // "--boundaryX": another boundary's delimiter
    }
    // From here every parser could take the line for ours: it must be clean.
    if (before == '\r') return Ambiguous("delimiter-after-bare-cr");
    while (p < body.size() && IsBlank(body[p])) ++p;
    size_t next;
    if (p == body.size()) {
      if (!close) return Ambiguous("delimiter-unterminated");
      next = p;
    } else if (body.substr(p, 2) == "\r\n") {
      next = p + 2;
    } else {
      return Ambiguous("delimiter-trailing-bytes");
    }
    size_t brk = at;
    if (at >= 2 && body.substr(at - 2, 2) == "\r\n")
      brk = at - 2;
    else if (at >= 1)
      brk = at - 1;
    if (!lines.empty() && lines.back().close) return Ambiguous("delimiter-after-close");
    lines.push_back({at, brk, next, close});
  }
  if (lines.empty()) return Ambiguous("multipart-without-delimiter");
  if (!lines.back().close) return Ambiguous("missing-close-delimiter");
  for (size_t k = 0; k + 1 < lines.size(); ++k) {
    const size_t begin = lines[k].next, end = lines[k + 1].brk;
    parts->push_back(end > begin ? body.substr(begin, end - begin) : std::string_view());
  }
  return Status::Ok();
}

}  // namespace smime
