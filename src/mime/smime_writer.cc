// mime/smime_writer: see smime_writer.h.
#include "mime/smime_writer.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <strings.h>

#include "base/text.h"
#include "mime/view_stream.h"

namespace smime {

namespace {

// Longer lines (without CRLF) get re-wrapped by relays, which would break a
// signature: RFC 5322 allows 998, Sendmail's SMTP mailers wrap at 990.
constexpr size_t kMaxLine = 990;

bool HasEightBit(std::string_view s) {
  for (char ch : s)
    if (static_cast<unsigned char>(ch) >= 0x80 || ch == 0) return true;
  return false;
}

// A line starting "From " is rewritten to ">From " by mbox delivery (Postfix
// local(8) among others), which breaks a signature; RFC 2049 section 3.
bool HasFromLine(std::string_view s) {
  return s.substr(0, 5) == "From " || s.find("\nFrom ") != std::string_view::npos;
}

// s has canonical CRLF line ends.
bool NeedsEncoding(std::string_view s) {
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

// Quoted-printable of data with every line that would start "From " written
// "=46rom " (the same text to a reader), in GMime's LF line ends, as a
// memory stream. Memory: encoded in slices (GMime's worst-case output size
// for the whole would be 3.5 times the data) and armored line by line into
// the stream's own array, which the part then keeps without another copy;
// data (taken over) is freed on return.
GObjPtr<GMimeStream> ArmoredQuotedPrintable(std::string data) {
  GMimeEncoding enc;
  g_mime_encoding_init_encode(&enc, GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
  GByteArray* out = g_byte_array_sized_new(static_cast<guint>(data.size() + data.size() / 8 + 64));
  // Complete lines are armored and moved out as they come; pending holds
  // the line still open (quoted-printable lines are short).
  std::string pending, buf;
  auto flush_lines = [&](bool all) {
    size_t from = 0;  // start of the bytes not yet copied
    size_t end = all ? pending.size() : pending.rfind('\n');
    if (end == std::string::npos) return;
    if (!all) ++end;
    for (size_t i = 0; i < end; ++i) {
      if ((i == 0 || pending[i - 1] == '\n') && pending.compare(i, 5, "From ") == 0) {
        g_byte_array_append(out, reinterpret_cast<const guint8*>(pending.data() + from),
                            static_cast<guint>(i - from));
        g_byte_array_append(out, reinterpret_cast<const guint8*>("=46"), 3);
        from = i + 1;  // the 'F' is replaced; "rom " follows
      }
    }
    g_byte_array_append(out, reinterpret_cast<const guint8*>(pending.data() + from),
                        static_cast<guint>(end - from));
    pending.erase(0, end);
  };
  constexpr size_t kSlice = 1 << 16;
  for (size_t at = 0;; at += kSlice) {
    const size_t n = std::min(kSlice, data.size() - std::min(at, data.size()));
    const bool last = at + kSlice >= data.size();
    buf.resize(g_mime_encoding_outlen(&enc, n) + 16);
    const char* in = n ? data.data() + at : "";
    const size_t w = last ? g_mime_encoding_flush(&enc, in, n, &buf[0])
                          : g_mime_encoding_step(&enc, in, n, &buf[0]);
    pending.append(buf, 0, w);
    flush_lines(last);
    if (last) break;
  }
  return GObjPtr<GMimeStream>(g_mime_stream_mem_new_with_byte_array(out));
}

// Sets a leaf part's content to text already encoded as quoted-printable.
void SetQuotedPrintable(GMimePart* part, GObjPtr<GMimeStream> stream) {
  GObjPtr<GMimeDataWrapper> w(
      g_mime_data_wrapper_new_with_stream(stream.get(), GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE));
  g_mime_part_set_content(part, w.get());
  g_mime_part_set_content_encoding(part, GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
}

// Signed or encrypted content inside (a forwarded signed message) must stay
// byte for byte: re-encoding it would break its signature.
bool IsSmimeOrSigned(GMimeObject* obj) {
  if (GMIME_IS_MULTIPART_SIGNED(obj) || GMIME_IS_MULTIPART_ENCRYPTED(obj)) return true;
  GMimeContentType* ct = g_mime_object_get_content_type(obj);
  return ct && (g_mime_content_type_is_type(ct, "application", "pkcs7-mime") ||
                g_mime_content_type_is_type(ct, "application", "x-pkcs7-mime"));
}

// Container headers claiming 8bit or binary: Postfix rewrites them when it
// downgrades for a 7-bit relay, so say 7bit once the content is.
void MarkSevenBit(GMimeObject* obj) {
  const char* cte = g_mime_object_get_header(obj, "Content-Transfer-Encoding");
  if (!cte) return;
  std::string v(cte);
  v.erase(0, v.find_first_not_of(" \t"));
  v.erase(v.find_last_not_of(" \t\r\n") + 1);
  if (strcasecmp(v.c_str(), "7bit") != 0)
    g_mime_object_set_header(obj, "Content-Transfer-Encoding", "7bit", nullptr);
}

// Gives every leaf part a 7-bit transfer encoding, also inside forwarded
// messages (g_mime_object_encode does not descend into message/rfc822), and
// "From "-safe quoted-printable to text with such lines. Leaves signed and
// encrypted sub-entities alone.
void Encode7Bit(GMimeObject* obj) {
  if (IsSmimeOrSigned(obj)) return;
  if (GMIME_IS_MULTIPART(obj)) {
    GMimeMultipart* mp = GMIME_MULTIPART(obj);
    for (int i = 0; i < g_mime_multipart_get_count(mp); ++i)
      Encode7Bit(g_mime_multipart_get_part(mp, i));
    MarkSevenBit(obj);
    return;
  }
  if (GMIME_IS_MESSAGE_PART(obj)) {
    GMimeMessage* m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
    GMimeObject* inner = m ? g_mime_message_get_mime_part(m) : nullptr;
    if (inner) Encode7Bit(inner);
    MarkSevenBit(obj);  // RFC 2046 5.2.1: only 7bit, 8bit or binary
    return;
  }
  if (!GMIME_IS_PART(obj)) return;
  GMimePart* part = GMIME_PART(obj);
  const GMimeContentEncoding before = g_mime_part_get_content_encoding(part);
  if (before == GMIME_CONTENT_ENCODING_BASE64 || before == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE)
    return;  // already 7-bit as the client wrote it
  g_mime_object_encode(obj, GMIME_ENCODING_CONSTRAINT_7BIT);
  const GMimeContentEncoding after = g_mime_part_get_content_encoding(part);
  if (after == GMIME_CONTENT_ENCODING_BASE64) return;
  std::string text = DecodedContent(part);
  // GMime allows 998-octet lines in 7bit; we want kMaxLine (see above).
  if (after == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE || HasFromLine(text) || NeedsEncoding(text)) {
    SetQuotedPrintable(part, ArmoredQuotedPrintable(std::move(text)));
  }
}

bool ValidUtf8(std::string_view s) {
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

bool IsCanonical(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r' && (i + 1 == s.size() || s[i + 1] != '\n')) return false;
    if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) return false;
  }
  return true;
}

// Every line end becomes CRLF: bare CR and bare LF are not allowed in mail
// (RFC 5322 2.3) and relays "repair" them, which would break the signature.
std::string CanonicalLineEnds(std::string_view in) {
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

std::string_view SignableEntity::body() const {
  if (borrowed) return *borrowed;
  if (serialised) {
    GByteArray* a = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(serialised.get()));
    return a ? std::string_view(reinterpret_cast<const char*>(a->data), a->len)
             : std::string_view();
  }
  return owned;
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
  // The body is used in place unless its line ends need repair.
  std::string repaired;
  const bool canonical = IsCanonical(body);
  if (!canonical) repaired = CanonicalLineEnds(body);
  const std::string_view canon_body = canonical ? std::string_view(body) : repaired;
  const bool encode = NeedsEncoding(canon_body) || NeedsEncoding(head);
  if (!has_type) {
    const char* charset = !encode ? "us-ascii" : ValidUtf8(canon_body) ? "utf-8" : "unknown-8bit";
    head = "Content-Type: text/plain; charset=" + std::string(charset) + "\r\n" + head;
  }
  head += "\r\n";
  out->serialised.reset();
  out->reencoded = false;
  out->eight_bit_kept = false;
  if (!encode) {
    out->head = std::move(head);
    out->borrowed = canonical ? &body : nullptr;
    out->owned = std::move(repaired);
    return Status::Ok();
  }

  {
    // The limits check reads one contiguous copy, freed before parsing.
    std::string entity = head;
    entity.reserve(head.size() + canon_body.size());
    entity.append(canon_body);
    Status pre = PrecheckMimeSize(entity, limits);
    if (!pre.ok()) return pre;
  }
  EnsureGmimeInitialised();
  // GMime reads the header and the body in place, as one stream of two
  // views (their substreams, the parts' contents, are views too).
  GObjPtr<GMimeStream> stream(g_mime_stream_cat_new());
  GObjPtr<GMimeStream> head_view(NewViewStream(head.data(), head.size()));
  GObjPtr<GMimeStream> body_view(NewViewStream(canon_body.data(), canon_body.size()));
  g_mime_stream_cat_add_source(GMIME_STREAM_CAT(stream.get()), head_view.get());
  g_mime_stream_cat_add_source(GMIME_STREAM_CAT(stream.get()), body_view.get());
  GObjPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  GObjPtr<GMimeObject> obj(g_mime_parser_construct_part(parser.get(), nullptr));
  if (!obj) return Status::InvalidInput("mime-unparseable");
  Encode7Bit(obj.get());
  std::unique_ptr<GMimeFormatOptions, FormatOptionsFree> fo(g_mime_format_options_new());
  g_mime_format_options_set_newline_format(fo.get(), GMIME_NEWLINE_FORMAT_DOS);
  // Through a memory stream, not a C string: content may hold NUL bytes.
  GObjPtr<GMimeStream> mem(g_mime_stream_mem_new());
  if (g_mime_object_write_to_stream(obj.get(), fo.get(), mem.get()) < 0)
    return Status::Internal("mime-serialise-failed");
  out->head.clear();
  out->borrowed = nullptr;
  out->owned.clear();
  out->serialised = std::move(mem);
  if (!IsCanonical(out->body())) {
    out->owned = CanonicalLineEnds(out->body());
    out->serialised.reset();
  }
  out->reencoded = true;
  out->eight_bit_kept = HasEightBit(out->body());
  return Status::Ok();
}

std::string NewBoundary(const std::vector<std::string_view>& avoid) {
  static const char kHex[] = "0123456789abcdef";
  for (;;) {
    unsigned char r[16];
    if (RAND_bytes(r, sizeof r) != 1) continue;
    std::string b = "----=_smime_";
    for (unsigned char c : r) {
      b.push_back(kHex[c >> 4]);
      b.push_back(kHex[c & 15]);
    }
    bool found = false;
    for (std::string_view a : avoid) found = found || a.find(b) != std::string_view::npos;
    if (!found) return b;
  }
}

std::string Base64Lines(const std::string& data) {
  std::string out;
  out.reserve(Base64LineWriter::EncodedSize(data.size()));
  Base64LineWriter w(&out);
  w.Write(data);
  w.Finish();
  return out;
}

std::string ClearSignedContentType(const std::string& micalg, const std::string& boundary) {
  return "multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=" + micalg +
         ";\n\tboundary=\"" + boundary + "\"";
}

std::string ClearSignedOpening(const std::string& boundary) {
  return "This is an S/MIME signed message.\r\n\r\n--" + boundary + "\r\n";
}

std::string ClearSignedClosing(const std::string& der, const std::string& boundary) {
  // The CRLF before a delimiter belongs to the delimiter (RFC 2046 5.1.1).
  std::string b = "\r\n--" + boundary + "\r\n";
  b += "Content-Type: application/pkcs7-signature; name=\"smime.p7s\"\r\n";
  b += "Content-Transfer-Encoding: base64\r\n";
  b += "Content-Disposition: attachment; filename=\"smime.p7s\"\r\n";
  b += "Content-Description: S/MIME Cryptographic Signature\r\n\r\n";
  b += Base64Lines(der);
  b += "\r\n--" + boundary + "--\r\n";
  return b;
}

std::string ClearSignedBody(const std::string& entity, const std::string& der,
                            const std::string& boundary) {
  return ClearSignedOpening(boundary) + entity + ClearSignedClosing(der, boundary);
}

std::string OpaqueSignedContentType() {
  return "application/pkcs7-mime; smime-type=signed-data; name=\"smime.p7m\"";
}

}  // namespace smime
