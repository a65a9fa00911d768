// mime/smime_writer: see smime_writer.h.
#include "mime/smime_writer.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <strings.h>

#include "mime/gmime_ptr.h"

namespace smime {

namespace {

// Lines longer than this (without CRLF) break RFC 5322 2.1.1 and get
// re-wrapped by some relays, which would break a signature.
constexpr size_t kMaxLine = 998;

bool HasEightBit(const std::string& s) {
  for (char ch : s)
    if (static_cast<unsigned char>(ch) >= 0x80 || ch == 0) return true;
  return false;
}

// A line starting "From " is rewritten to ">From " by mbox delivery (Postfix
// local(8) among others), which breaks a signature; RFC 2049 section 3.
bool HasFromLine(const std::string& s) {
  return s.rfind("From ", 0) == 0 || s.find("\nFrom ") != std::string::npos;
}

// s has canonical CRLF line ends.
bool NeedsEncoding(const std::string& s) {
  if (HasEightBit(s) || HasFromLine(s)) return true;
  size_t line = 0;
  for (char c : s) {
    if (c == '\n')
      line = 0;
    else if (c != '\r' && ++line > kMaxLine)
      return true;
  }
  return false;
}

// The content of a leaf part, decoded.
std::string DecodedContent(GMimePart* part) {
  GMimeDataWrapper* w = g_mime_part_get_content(part);
  if (!w) return "";
  GObjPtr<GMimeStream> out(g_mime_stream_mem_new());
  g_mime_data_wrapper_write_to_stream(w, out.get());
  GByteArray* a = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(out.get()));
  return a ? std::string(reinterpret_cast<const char*>(a->data), a->len) : "";
}

// Gives every leaf part a 7-bit transfer encoding, also inside forwarded
// messages (g_mime_object_encode does not descend into message/rfc822), and
// quoted-printable to 7-bit text with "From " lines.
void Encode7Bit(GMimeObject* obj) {
  if (GMIME_IS_MULTIPART(obj)) {
    GMimeMultipart* mp = GMIME_MULTIPART(obj);
    for (int i = 0; i < g_mime_multipart_get_count(mp); ++i)
      Encode7Bit(g_mime_multipart_get_part(mp, i));
    return;
  }
  if (GMIME_IS_MESSAGE_PART(obj)) {
    GMimeMessage* m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
    GMimeObject* inner = m ? g_mime_message_get_mime_part(m) : nullptr;
    if (inner) Encode7Bit(inner);
    // RFC 2046 5.2.1: only 7bit, 8bit or binary; what it holds is now 7-bit.
    if (g_mime_object_get_header(obj, "Content-Transfer-Encoding"))
      g_mime_object_set_header(obj, "Content-Transfer-Encoding", "7bit", nullptr);
    return;
  }
  if (!GMIME_IS_PART(obj)) return;
  GMimePart* part = GMIME_PART(obj);
  g_mime_object_encode(obj, GMIME_ENCODING_CONSTRAINT_7BIT);
  switch (g_mime_part_get_content_encoding(part)) {
    case GMIME_CONTENT_ENCODING_BASE64:
    case GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE:
    case GMIME_CONTENT_ENCODING_UUENCODE: return;
    default: break;
  }
  if (HasFromLine(DecodedContent(part)))
    g_mime_part_set_content_encoding(part, GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
}

// GMime's quoted-printable leaves "From " alone; =46 is the same letter. After
// Encode7Bit such lines can only be in quoted-printable text or in preambles
// and epilogues, which readers do not show.
std::string ArmorFromLines(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  size_t pos = 0;
  for (size_t at; (at = s.find("\r\nFrom ", pos)) != std::string::npos; pos = at + 2) {
    out.append(s, pos, at + 2 - pos);
    out += "=46";
    at += 1;  // continue after the "F"
  }
  out.append(s, pos, std::string::npos);
  return out;
}

bool ValidUtf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    int n = c < 0x80 ? 0 : (c >> 5) == 0x6 ? 1 : (c >> 4) == 0xe ? 2 : (c >> 3) == 0x1e ? 3 : -1;
    if (n < 0 || i + static_cast<size_t>(n) >= s.size()) return false;
    for (int k = 1; k <= n; ++k)
      if ((static_cast<unsigned char>(s[i + static_cast<size_t>(k)]) >> 6) != 0x2) return false;
    i += static_cast<size_t>(n) + 1;
  }
  return true;
}

int CountContentTypes(const std::string& m) {
  int count = 0;
  size_t pos = 0;
  while (pos < m.size()) {
    if (strncasecmp(m.c_str() + pos, "content-type:", 13) == 0) ++count;
    size_t nl = m.find('\n', pos);
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  return count;
}

// Every line end becomes CRLF: bare CR and bare LF are not allowed in mail
// (RFC 5322 2.3) and relays "repair" them, which would break the signature.
std::string CanonicalLineEnds(const std::string& in) {
  std::string out;
  out.reserve(in.size() + in.size() / 50);
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '\r') {
      out += "\r\n";
      if (i + 1 < in.size() && in[i + 1] == '\n') ++i;
    } else if (c == '\n') {
      out += "\r\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

struct FormatOptionsFree {
  void operator()(GMimeFormatOptions* p) const { g_mime_format_options_free(p); }
};

}  // namespace

bool IsContentHeader(const std::string& name) {
  return name.size() > 8 && strncasecmp(name.c_str(), "Content-", 8) == 0;
}

Status BuildSignableEntity(const std::vector<MimeHeader>& content_headers, const std::string& body,
                           const MimeLimits& limits, SignableEntity* out) {
  std::string head;
  bool has_type = false;
  for (const MimeHeader& h : content_headers) {
    if (strcasecmp(h.name.c_str(), "Content-Type") == 0) has_type = true;
    head += h.name + ":" + h.value + "\r\n";
  }
  head = CanonicalLineEnds(head);
  const std::string canon_body = CanonicalLineEnds(body);
  const bool encode = NeedsEncoding(canon_body) || NeedsEncoding(head);
  if (!has_type) {
    const char* charset = !encode ? "us-ascii" : ValidUtf8(canon_body) ? "utf-8" : "unknown-8bit";
    head = "Content-Type: text/plain; charset=" + std::string(charset) + "\r\n" + head;
  }
  std::string entity = head + "\r\n" + canon_body;
  if (!encode) {
    out->bytes = std::move(entity);
    out->reencoded = false;
    return Status::Ok();
  }

  // Every entity has at most one Content-Type line: this bounds depth and
  // part count before GMime's recursive parser sees the input.
  if (CountContentTypes(entity) > limits.max_parts) return Status::Limit("too-many-mime-parts");
  EnsureGmimeInitialised();
  GObjPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(entity.data(), entity.size()));
  GObjPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  GObjPtr<GMimeObject> obj(g_mime_parser_construct_part(parser.get(), nullptr));
  if (!obj) return Status::InvalidInput("mime-unparseable");
  Encode7Bit(obj.get());
  std::unique_ptr<GMimeFormatOptions, FormatOptionsFree> fo(g_mime_format_options_new());
  g_mime_format_options_set_newline_format(fo.get(), GMIME_NEWLINE_FORMAT_DOS);
  char* text = g_mime_object_to_string(obj.get(), fo.get());
  if (!text) return Status::Internal("mime-serialise-failed");
  out->bytes = ArmorFromLines(CanonicalLineEnds(text));
  g_free(text);
  out->reencoded = true;
  out->eight_bit_kept = HasEightBit(out->bytes);
  return Status::Ok();
}

std::string NewBoundary(const std::string& avoid) {
  static const char kHex[] = "0123456789abcdef";
  for (;;) {
    unsigned char r[16];
    if (RAND_bytes(r, sizeof r) != 1) continue;
    std::string b = "----=_smime_";
    for (unsigned char c : r) {
      b.push_back(kHex[c >> 4]);
      b.push_back(kHex[c & 15]);
    }
    if (avoid.find(b) == std::string::npos) return b;
  }
}

std::string Base64Lines(const std::string& data) {
  std::string out;
  const size_t chunk = 57;  // 57 bytes -> 76 base64 characters
  unsigned char buf[80];
  for (size_t i = 0; i < data.size(); i += chunk) {
    size_t n = std::min(chunk, data.size() - i);
    int len = EVP_EncodeBlock(buf, reinterpret_cast<const unsigned char*>(data.data() + i),
                              static_cast<int>(n));
    out.append(reinterpret_cast<const char*>(buf), static_cast<size_t>(len));
    out += "\r\n";
  }
  return out;
}

std::string ClearSignedContentType(const std::string& micalg, const std::string& boundary) {
  return "multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=" + micalg +
         ";\n\tboundary=\"" + boundary + "\"";
}

std::string ClearSignedBody(const std::string& entity, const std::string& der,
                            const std::string& boundary) {
  std::string b = "This is an S/MIME signed message.\r\n\r\n--" + boundary + "\r\n";
  b += entity;
  // The CRLF before a delimiter belongs to the delimiter (RFC 2046 5.1.1).
  b += "\r\n--" + boundary + "\r\n";
  b += "Content-Type: application/pkcs7-signature; name=\"smime.p7s\"\r\n";
  b += "Content-Transfer-Encoding: base64\r\n";
  b += "Content-Disposition: attachment; filename=\"smime.p7s\"\r\n";
  b += "Content-Description: S/MIME Cryptographic Signature\r\n\r\n";
  b += Base64Lines(der);
  b += "\r\n--" + boundary + "--\r\n";
  return b;
}

std::string OpaqueSignedContentType() {
  return "application/pkcs7-mime; smime-type=signed-data; name=\"smime.p7m\"";
}

}  // namespace smime
