// mime/smime_locator: see smime_locator.h.
#include "mime/smime_locator.h"

#include <strings.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <mutex>
#include <set>
#include <unordered_set>

#include "mime/gmime_ptr.h"

namespace smime {

void EnsureGmimeInitialised() {
  static std::once_flag once;
  std::call_once(once, [] { g_mime_init(); });
}

namespace {

std::string Lower(const char* s) {
  std::string out = s ? s : "";
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool IsPkcs7Mime(GMimeContentType* ct) {
  return g_mime_content_type_is_type(ct, "application", "pkcs7-mime") ||
         g_mime_content_type_is_type(ct, "application", "x-pkcs7-mime");
}

// Case-insensitive find of a lower-case needle.
size_t FindNoCase(const std::string& hay, const char* needle, size_t from) {
  const size_t n = std::strlen(needle);
  for (size_t i = from; i + n <= hay.size(); ++i)
    if (strncasecmp(hay.c_str() + i, needle, n) == 0) return i;
  return std::string::npos;
}

bool IsPkcs7SignatureProtocol(const std::string& protocol) {
  return protocol == "application/pkcs7-signature" || protocol == "application/x-pkcs7-signature";
}

// True when body[pos..] is a boundary delimiter line "--boundary" followed by
// optional transport padding and CRLF (or "--" for the close delimiter).
// *line_end receives the offset just after the line's CRLF.
bool DelimiterAt(const std::string& body, size_t pos, const std::string& delim, bool* close,
                 size_t* line_end) {
  if (body.compare(pos, delim.size(), delim) != 0) return false;
  size_t p = pos + delim.size();
  *close = body.compare(p, 2, "--") == 0;
  if (*close) p += 2;
  while (p < body.size() && (body[p] == ' ' || body[p] == '\t')) ++p;
  if (p == body.size()) {
    *line_end = p;
    return *close;
  }
  if (body.compare(p, 2, "\r\n") != 0) return false;
  *line_end = p + 2;
  return true;
}

// Finds the first body part of a multipart body exactly as received: from
// after the first delimiter line to the CRLF that precedes the next one
// (RFC 2046 5.1.1: that CRLF belongs to the delimiter).
bool ExtractFirstPart(const std::string& body, const std::string& boundary, std::string* out) {
  const std::string delim = "--" + boundary;
  size_t start = std::string::npos;
  bool close = false;
  size_t line_end = 0;
  if (DelimiterAt(body, 0, delim, &close, &line_end) && !close) {
    start = line_end;
  } else {
    for (size_t p = body.find("\r\n" + delim); p != std::string::npos;
         p = body.find("\r\n" + delim, p + 2)) {
      if (DelimiterAt(body, p + 2, delim, &close, &line_end) && !close) {
        start = line_end;
        break;
      }
    }
  }
  if (start == std::string::npos) return false;
  for (size_t p = body.find("\r\n" + delim, start > 2 ? start - 2 : 0); p != std::string::npos;
       p = body.find("\r\n" + delim, p + 2)) {
    if (p + 2 < start) continue;
    if (DelimiterAt(body, p + 2, delim, &close, &line_end)) {
      out->assign(body, start, p >= start ? p - start : 0);
      return true;
    }
  }
  return false;
}

bool DecodePartContent(GMimeObject* obj, std::string* out) {
  if (!GMIME_IS_PART(obj)) return false;
  GMimeDataWrapper* content = g_mime_part_get_content(GMIME_PART(obj));
  if (!content) return false;
  GObjPtr<GMimeStream> mem(g_mime_stream_mem_new());
  if (g_mime_data_wrapper_write_to_stream(content, mem.get()) < 0) return false;
  GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem.get()));
  out->assign(reinterpret_cast<const char*>(bytes->data), bytes->len);
  return true;
}

bool IsSignatureEntity(GMimeObject* obj) {
  GMimeContentType* ct = g_mime_object_get_content_type(obj);
  if (GMIME_IS_MULTIPART_SIGNED(obj)) {
    return IsPkcs7SignatureProtocol(
        Lower(g_mime_object_get_content_type_parameter(obj, "protocol")));
  }
  if (IsPkcs7Mime(ct)) {
    std::string type = Lower(g_mime_content_type_get_parameter(ct, "smime-type"));
    return type.empty() || type == "signed-data";
  }
  return false;
}

struct Walker {
  const MimeLimits& limits;
  SmimeLayout* out;
  Status status;

  void Walk(GMimeObject* obj, int depth, const std::string& part_id) {
    if (!status.ok() || !obj) return;
    ++out->parts;
    out->depth = std::max(out->depth, depth);
    if (out->parts > limits.max_parts) {
      status = Status::Limit("mime-parts-limit");
      return;
    }
    if (depth > limits.max_depth) {
      status = Status::Limit("mime-depth-limit");
      return;
    }
    if (depth > 0 && IsSignatureEntity(obj)) out->nested_signatures.push_back(part_id);
    if (GMIME_IS_MULTIPART(obj)) {
      GMimeMultipart* mp = GMIME_MULTIPART(obj);
      int n = g_mime_multipart_get_count(mp);
      for (int i = 0; i < n; ++i) {
        std::string child =
            part_id.empty() ? std::to_string(i + 1) : part_id + "." + std::to_string(i + 1);
        Walk(g_mime_multipart_get_part(mp, i), depth + 1, child);
      }
    } else if (GMIME_IS_MESSAGE_PART(obj)) {
      GMimeMessage* inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
      if (inner) Walk(g_mime_message_get_mime_part(inner), depth + 1, part_id);
    }
  }
};

}  // namespace

Status PrecheckMimeSize(const std::string& m, const MimeLimits& limits) {
  const size_t max_parts = static_cast<size_t>(limits.max_parts);
  // Declared boundaries: every "boundary = value" anywhere (quoted or not).
  std::unordered_set<std::string> boundaries;
  std::set<size_t> lengths;
  for (size_t at = 0; (at = FindNoCase(m, "boundary", at)) != std::string::npos; at += 8) {
    size_t p = at + 8;
    while (p < m.size() && (m[p] == ' ' || m[p] == '\t')) ++p;
    if (p >= m.size() || m[p] != '=') continue;
    ++p;
    while (p < m.size() && (m[p] == ' ' || m[p] == '\t')) ++p;
    std::string b;
    if (p < m.size() && m[p] == '"') {
      size_t q = m.find('"', p + 1);
      if (q == std::string::npos) continue;
      b = m.substr(p + 1, q - p - 1);
    } else {
      size_t q = p;
      while (q < m.size() && !std::isspace(static_cast<unsigned char>(m[q])) && m[q] != ';') ++q;
      b = m.substr(p, q - p);
    }
    if (b.empty() || b.size() > 200) continue;
    boundaries.insert(b);
    lengths.insert(b.size());
    if (boundaries.size() > max_parts) return Status::Limit("mime-parts-limit");
  }
  size_t content_types = 0, delimiters = 0;
  for (size_t pos = 0; pos < m.size();) {
    size_t nl = m.find('\n', pos);
    const size_t end = nl == std::string::npos ? m.size() : nl;
    if (end - pos >= 12 && strncasecmp(m.c_str() + pos, "content-type", 12) == 0) {
      size_t p = pos + 12;
      while (p < end && (m[p] == ' ' || m[p] == '\t')) ++p;
      if (p < end && m[p] == ':') ++content_types;
    } else if (end - pos >= 3 && m[pos] == '-' && m[pos + 1] == '-') {
      for (size_t len : lengths)
        if (end - pos >= 2 + len && boundaries.count(m.substr(pos + 2, len))) {
          ++delimiters;
          break;
        }
    }
    pos = end + 1;
  }
  // Every entity has at most one Content-Type; every part follows one
  // delimiter line, and each multipart adds one close delimiter.
  if (content_types > max_parts || delimiters > 2 * max_parts)
    return Status::Limit("mime-parts-limit");
  return Status::Ok();
}

std::string ToCrlf(const std::string& in) {
  std::string out;
  out.reserve(in.size() + in.size() / 32);
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '\n' && (i == 0 || in[i - 1] != '\r')) out.push_back('\r');
    out.push_back(in[i]);
  }
  return out;
}

Status LocateSmime(const std::string& message, const MimeLimits& limits, SmimeLayout* out) {
  *out = SmimeLayout();
  Status pre = PrecheckMimeSize(message, limits);
  if (!pre.ok()) return pre;
  EnsureGmimeInitialised();

  GObjPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(message.data(), message.size()));
  GObjPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  g_mime_parser_set_format(parser.get(), GMIME_FORMAT_MESSAGE);
  GObjPtr<GMimeMessage> msg(g_mime_parser_construct_message(parser.get(), nullptr));
  if (!msg) return Status::InvalidInput("unparsable-message");
  GMimeObject* root = g_mime_message_get_mime_part(msg.get());
  if (!root) return Status::Ok();  // no body structure: nothing signed

  Walker walker{limits, out, Status::Ok()};
  walker.Walk(root, 0, "");
  if (!walker.status.ok()) return walker.status;

  GMimeContentType* ct = g_mime_object_get_content_type(root);
  if (GMIME_IS_MULTIPART_SIGNED(root)) {
    out->protocol = Lower(g_mime_object_get_content_type_parameter(root, "protocol"));
    if (!IsPkcs7SignatureProtocol(out->protocol)) return Status::Ok();  // e.g. OpenPGP
    out->kind = SmimeLayout::Kind::kClearSigned;
    GMimeMultipart* mp = GMIME_MULTIPART(root);
    const char* boundary = g_mime_multipart_get_boundary(mp);
    if (!boundary || g_mime_multipart_get_count(mp) != 2)
      return Status::InvalidInput("multipart-signed-needs-two-parts");
    size_t split = message.find("\r\n\r\n");
    if (split == std::string::npos) return Status::InvalidInput("no-body");
    if (!ExtractFirstPart(message.substr(split + 4), boundary, &out->signed_content))
      return Status::InvalidInput("signed-part-not-found");
    if (!DecodePartContent(g_mime_multipart_get_part(mp, 1), &out->cms_der))
      return Status::InvalidInput("signature-part-unreadable");
  } else if (IsPkcs7Mime(ct)) {
    out->kind = SmimeLayout::Kind::kOpaque;
    out->smime_type = Lower(g_mime_content_type_get_parameter(ct, "smime-type"));
    if (!DecodePartContent(root, &out->cms_der))
      return Status::InvalidInput("pkcs7-body-unreadable");
  }
  return Status::Ok();
}

}  // namespace smime
