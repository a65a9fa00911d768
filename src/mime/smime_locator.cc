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
#include "mime/one_reading.h"
#include "mime/view_stream.h"

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

bool IsPkcs7SignatureProtocol(const std::string& protocol) {
  return protocol == "application/pkcs7-signature" || protocol == "application/x-pkcs7-signature";
}

bool DecodePartContent(GMimeObject* obj, std::string* out) {
  if (!GMIME_IS_PART(obj)) return false;
  GMimeDataWrapper* content = g_mime_part_get_content(GMIME_PART(obj));
  if (!content) return false;
  // Base64 (every CMS part we read) is decoded in slices straight into
  // *out, as GMime's own decoding filter would: no second whole copy
  // (docs/performance.md, "Memory per message").
  GMimeStream* raw = g_mime_data_wrapper_get_stream(content);
  if (raw && g_mime_data_wrapper_get_encoding(content) == GMIME_CONTENT_ENCODING_BASE64 &&
      g_mime_stream_reset(raw) == 0) {
    GMimeEncoding enc;
    g_mime_encoding_init_decode(&enc, GMIME_CONTENT_ENCODING_BASE64);
    const gint64 length = g_mime_stream_length(raw);
    out->clear();
    if (length > 0) out->reserve(static_cast<size_t>(length) / 4 * 3 + 3);
    char in[1 << 16];
    std::string buf;
    for (;;) {
      const ssize_t n = g_mime_stream_read(raw, in, sizeof in);
      if (n < 0) return false;
      if (n == 0) break;
      buf.resize(g_mime_encoding_outlen(&enc, static_cast<size_t>(n)) + 8);
      out->append(buf, 0, g_mime_encoding_step(&enc, in, static_cast<size_t>(n), &buf[0]));
    }
    buf.resize(g_mime_encoding_outlen(&enc, 0) + 8);
    out->append(buf, 0, g_mime_encoding_flush(&enc, "", 0, &buf[0]));
    g_mime_stream_reset(raw);
    return true;
  }
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

Status PrecheckMimeSize(const std::vector<std::string_view>& segments, const MimeLimits& limits) {
  EnsureGmimeInitialised();
  const size_t max_parts = static_cast<size_t>(limits.max_parts);
  // Every line that could be a Content-Type header (blanks before the colon
  // included), unfolded and read by GMime's own parser, so a boundary in any
  // form (quoted, RFC 2231 continuations, encoded) is the boundary GMime
  // will split on.
  std::unordered_set<std::string> boundaries;
  size_t content_types = 0;
  for (const std::string_view m : segments) {
    for (size_t pos = 0; pos < m.size();) {
      size_t nl = m.find('\n', pos);
      size_t end = nl == std::string_view::npos ? m.size() : nl;
      if (end - pos >= 12 && strncasecmp(m.data() + pos, "content-type", 12) == 0) {
        size_t p = pos + 12;
        while (p < end && (m[p] == ' ' || m[p] == '\t')) ++p;
        if (p < end && m[p] == ':') {
          if (++content_types > max_parts) return Status::Limit("mime-parts-limit");
          std::string value(m.substr(p + 1, end - p - 1));
          while (end < m.size() && end + 1 < m.size() &&
                 (m[end + 1] == ' ' || m[end + 1] == '\t')) {
            nl = m.find('\n', end + 1);
            const size_t next = nl == std::string_view::npos ? m.size() : nl;
            value += m.substr(end + 1, next - end - 1);
            end = next;
          }
          value.erase(std::remove(value.begin(), value.end(), '\r'), value.end());
          value.erase(std::remove(value.begin(), value.end(), '\0'), value.end());
          GObjPtr<GMimeContentType> ct(g_mime_content_type_parse(nullptr, value.c_str()));
          const char* b = ct ? g_mime_content_type_get_parameter(ct.get(), "boundary") : nullptr;
          if (b && *b) boundaries.insert(b);
        }
      }
      pos = end + 1;
    }
  }
  if (boundaries.empty()) return Status::Ok();
  // GMime takes a line for a delimiter when it is "--" boundary ["--"]
  // followed only by blanks (CR included).
  size_t delimiters = 0;
  for (const std::string_view m : segments) {
    for (size_t pos = 0; pos < m.size();) {
      const size_t nl = m.find('\n', pos);
      const size_t end = nl == std::string_view::npos ? m.size() : nl;
      if (end - pos >= 3 && m[pos] == '-' && m[pos + 1] == '-') {
        size_t e = end;
        while (e > pos + 2 && (m[e - 1] == ' ' || m[e - 1] == '\t' || m[e - 1] == '\r')) --e;
        std::string cand(m.substr(pos + 2, e - pos - 2));
        bool hit = boundaries.count(cand) > 0;
        if (!hit && cand.size() > 2 && cand.compare(cand.size() - 2, 2, "--") == 0)
          hit = boundaries.count(cand.substr(0, cand.size() - 2)) > 0;
        // Every part follows one delimiter line, and each multipart adds one
        // close delimiter.
        if (hit && ++delimiters > 2 * max_parts) return Status::Limit("mime-parts-limit");
      }
      pos = end + 1;
    }
  }
  return Status::Ok();
}

Status PrecheckMimeSize(const std::string& message, const MimeLimits& limits) {
  return PrecheckMimeSize(std::vector<std::string_view>{message}, limits);
}

std::string ToCrlf(const std::string& in) {
  std::string out;
  out.reserve(in.size() + in.size() / 32);
  // Whole runs between bare LFs are copied at once.
  size_t from = 0;
  for (size_t i = in.find('\n'); i != std::string::npos; i = in.find('\n', i + 1)) {
    if (i > 0 && in[i - 1] == '\r') continue;
    out.append(in, from, i - from);
    out += "\r\n";
    from = i + 1;
  }
  out.append(in, from, std::string::npos);
  return out;
}

namespace {

std::string GmimeParam(GMimeContentType* ct, const char* name) {
  const char* v = g_mime_content_type_get_parameter(ct, name);
  return v ? v : "";
}

// The one-reading rule for the unsigned frame (mime/one_reading.h): our
// strict reading of the root headers, and for multipart/signed of the
// delimiters and the signature part, must exist and agree with GMime's.
// On success for multipart/signed, *signed_content is part 1 as received.
Status CheckFrame(const std::string& message, GMimeObject* root, GMimeParser* parser,
                  SmimeLayout* out) {
  std::vector<RawField> fields;
  size_t body_at = 0;
  Status st = ReadHeaderBlock(message, &fields, &body_at);
  if (st.ok()) st = CheckEntityFields(fields);
  if (!st.ok()) return st;
  if (g_mime_parser_get_headers_end(parser) + 2 != static_cast<gint64>(body_at))
    return Status::InvalidInput("header-end-differs");
  const RawField* ctf = FindField(fields, "Content-Type");
  if (!ctf) return Status::InvalidInput("content-type-missing");
  ContentTypeValue ct;
  st = ParseContentTypeStrict(ctf->value, &ct);
  if (!st.ok()) return st;
  GMimeContentType* gct = g_mime_object_get_content_type(root);
  const std::string gtype = Lower(g_mime_content_type_get_media_type(gct));
  const std::string gsub = Lower(g_mime_content_type_get_media_subtype(gct));
  if (ct.type != gtype || ct.subtype != gsub) return Status::InvalidInput("content-type-differs");
  for (const char* p : {"boundary", "protocol", "smime-type"}) {
    auto it = ct.params.find(p);
    const std::string ours = it == ct.params.end() ? "" : it->second;
    if (ours != GmimeParam(gct, p)) return Status::InvalidInput("parameter-differs");
  }
  std::string enc;
  st = ReadTransferEncoding(fields, &enc);
  if (!st.ok()) return st;
  const std::string_view body = std::string_view(message).substr(body_at);
  if (out->kind != SmimeLayout::Kind::kClearSigned) return CheckLineBreaks(body);

  // Some clients decode a multipart's transfer encoding, others ignore it.
  if (!enc.empty() && enc != "7bit" && enc != "8bit" && enc != "binary")
    return Status::InvalidInput("multipart-transfer-encoding");
  std::vector<std::string_view> parts;
  st = CutMultipartStrictly(body, ct.params["boundary"], &parts);
  if (!st.ok()) return st;
  if (static_cast<int>(parts.size()) != g_mime_multipart_get_count(GMIME_MULTIPART(root)))
    return Status::InvalidInput("part-count-differs");
  if (parts.size() != 2) return Status::Ok();  // refused as not two parts by the caller
  // Part 1 is covered by the signature: whatever a reader makes of it, the
  // signer wrote it. Part 2 is not: it must be a signature for every
  // reader, never text a client displays.
  std::vector<RawField> f2;
  size_t at2 = 0;
  // Everything but part 1 is frame: no bytes that readers split differently.
  const size_t p1_begin = static_cast<size_t>(parts[0].data() - body.data());
  const size_t p1_end = p1_begin + parts[0].size();
  st = CheckLineBreaks(body.substr(0, p1_begin));
  if (st.ok()) st = CheckLineBreaks(body.substr(p1_end));
  if (!st.ok()) return st;
  std::string sig_enc;  // read only to refuse a malformed encoding
  st = ReadHeaderBlock(parts[1], &f2, &at2);
  if (st.ok()) st = ReadTransferEncoding(f2, &sig_enc);
  if (st.ok()) st = CheckEntityFields(f2);
  if (!st.ok()) return st;
  const RawField* sig = FindField(f2, "Content-Type");
  ContentTypeValue sct;
  if (!sig) return Status::InvalidInput("signature-part-type");
  st = ParseContentTypeStrict(sig->value, &sct);
  if (!st.ok()) return st;
  GMimeContentType* gsig =
      g_mime_object_get_content_type(g_mime_multipart_get_part(GMIME_MULTIPART(root), 1));
  if (sct.type != "application" ||
      (sct.subtype != "pkcs7-signature" && sct.subtype != "x-pkcs7-signature") ||
      !(g_mime_content_type_is_type(gsig, "application", "pkcs7-signature") ||
        g_mime_content_type_is_type(gsig, "application", "x-pkcs7-signature")))
    return Status::InvalidInput("signature-part-type");
  out->signed_content = parts[0];
  return Status::Ok();
}

}  // namespace

Status LocateSmime(const std::string& message, const MimeLimits& limits, SmimeLayout* out) {
  *out = SmimeLayout();
  Status pre = PrecheckMimeSize(message, limits);
  if (!pre.ok()) return pre;
  EnsureGmimeInitialised();

  GObjPtr<GMimeStream> stream(NewViewStream(message.data(), message.size()));
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
    if (IsPkcs7SignatureProtocol(out->protocol)) out->kind = SmimeLayout::Kind::kClearSigned;
  } else if (IsPkcs7Mime(ct)) {
    out->kind = SmimeLayout::Kind::kOpaque;
    out->smime_type = Lower(g_mime_content_type_get_parameter(ct, "smime-type"));
  }

  // Only a root GMime reads as S/MIME can lead to pass; its frame must have
  // one reading before anything is verified.
  if (out->kind != SmimeLayout::Kind::kNone) {
    Status frame = CheckFrame(message, root, parser.get(), out);
    if (!frame.ok()) {
      out->ambiguity = frame.message();
      return Status::InvalidInput("ambiguous-mime");
    }
  }
  if (out->kind == SmimeLayout::Kind::kClearSigned &&
      g_mime_multipart_get_count(GMIME_MULTIPART(root)) != 2)
    return Status::InvalidInput("multipart-signed-needs-two-parts");

  if (out->kind == SmimeLayout::Kind::kClearSigned) {
    if (!DecodePartContent(g_mime_multipart_get_part(GMIME_MULTIPART(root), 1), &out->cms_der))
      return Status::InvalidInput("signature-part-unreadable");
  } else if (out->kind == SmimeLayout::Kind::kOpaque) {
    if (!DecodePartContent(root, &out->cms_der))
      return Status::InvalidInput("pkcs7-body-unreadable");
  }
  return Status::Ok();
}

}  // namespace smime
