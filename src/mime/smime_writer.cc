// mime/smime_writer: see smime_writer.h.
#include "mime/smime_writer.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>
#include <strings.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>

#include "base/text.h"
#include "mime/view_stream.h"

namespace smime {

namespace {

// Longer lines (without CRLF) get re-wrapped by relays, which would break a
// signature: RFC 5322 allows 998, Sendmail's SMTP mailers wrap at 990.
constexpr size_t kMaxLine = 990;

// True when s has a byte >= 0x80 or a NUL.
bool HasHighOrNul(std::string_view s) {
  constexpr uint64_t kOnes = 0x0101010101010101u, kHighs = 0x8080808080808080u;
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    if ((w & kHighs) != 0 || ((w - kOnes) & ~w & kHighs) != 0) return true;
  }
  for (; i < s.size(); ++i)
    if (static_cast<unsigned char>(s[i]) >= 0x80 || s[i] == 0) return true;
  return false;
}

// What a relay or an mbox writer would alter in a text, read in slices:
// 8-bit bytes (or NUL), a line starting "From " (rewritten ">From " by mbox
// delivery, Postfix local(8) among others; RFC 2049 section 3), a line
// longer than kMaxLine (folded by relays; RFC 5322 2.1.1).
class LineScan {
 public:
  // A line at a time (memchr), the 8-bit test eight bytes at a time: this
  // runs over every outbound body.
  void Add(std::string_view s) {
    size_t i = 0;
    while (i < s.size()) {
      const void* nl = std::memchr(s.data() + i, '\n', s.size() - i);
      const size_t end =
          nl ? static_cast<size_t>(static_cast<const char*>(nl) - s.data()) : s.size();
      const std::string_view seg = s.substr(i, end - i);
      if (!eight_bit && HasHighOrNul(seg)) eight_bit = true;
      // CRs do not count: usually the one before the LF, else counted.
      size_t crs = !seg.empty() && seg.back() == '\r';
      if (!seg.empty() && std::memchr(seg.data(), '\r', seg.size() - 1) != nullptr)
        crs = static_cast<size_t>(std::count(seg.begin(), seg.end(), '\r'));
      line_ += seg.size() - crs;
      if (line_ > kMaxLine) long_line = true;
      for (size_t k = 0; from_ >= 0 && k < seg.size(); ++k) {
        from_ = seg[k] == "From "[from_] ? from_ + 1 : -1;
        if (from_ == 5) {
          from_line = true;
          from_ = -1;
        }
      }
      if (!nl) break;
      line_ = 0;
      from_ = 0;
      i = end + 1;
    }
  }
  bool Any() const { return eight_bit || from_line || long_line; }

  bool eight_bit = false, from_line = false, long_line = false;

 private:
  size_t line_ = 0;
  int from_ = 0;  // characters of "From " seen at the start of the line; -1: not this line
};

LineScan Scan(std::string_view s) {
  LineScan scan;
  scan.Add(s);
  return scan;
}

// Reads stream from its start (GMime resets it again before it writes it).
LineScan ScanStream(GMimeStream* stream) {
  LineScan scan;
  g_mime_stream_reset(stream);
  char buf[1 << 14];
  for (;;) {
    const ssize_t n = g_mime_stream_read(stream, buf, sizeof buf);
    if (n <= 0) break;
    scan.Add(std::string_view(buf, static_cast<size_t>(n)));
  }
  g_mime_stream_reset(stream);
  return scan;
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

// A multipart preamble or epilogue made relay-proof. No reader displays
// these (RFC 2046 5.1.1), so they are rewritten rather than encoded: a line
// starting "From " gets a leading space (not ">", which mboxrd readers
// would take away again), a line over kMaxLine is split, an 8-bit byte
// becomes '?'. Null when text needs no change.
std::optional<std::string> RelayProofUndisplayed(const char* text, unsigned* changes) {
  if (!text || !Scan(text).Any()) return std::nullopt;
  std::string out;
  size_t line = 0;
  for (const char* p = text; *p; ++p) {
    const char c = *p;
    if (c == '\n') {
      line = 0;
      out.push_back(c);
      continue;
    }
    if (c != '\r' && line >= kMaxLine) {
      out += '\n';  // GMime keeps these texts with LF; CRLF is written
      line = 0;
      *changes |= kPreambleLongLines;
    }
    if (line == 0 && strncmp(p, "From ", 5) == 0) {
      out.push_back(' ');
      ++line;
      *changes |= kPreambleFrom;
    }
    if (static_cast<unsigned char>(c) >= 0x80) {
      out.push_back('?');
      *changes |= kPreamble8Bit;
    } else {
      out.push_back(c);
    }
    if (c != '\r') ++line;
  }
  return out;
}

// A leaf part whose content (as written, still encoded) a relay would
// alter gets content that is re-encoded as it is written, by GMime's
// filters over the parsed content (no copy): decoded from its transfer
// encoding, encoded as quoted-printable (76-octet lines, every line that
// would start "From " written "=46rom ", GMime's From armour) or base64 (76
// columns). 8-bit or binary content gets the encoding GMime finds best for
// a 7-bit path; other 7-bit content keeps its encoding kind (quoted-
// printable for 7bit), re-wrapped.
void RelayProofLeaf(GMimePart* part, unsigned* changes) {
  GMimeDataWrapper* w = g_mime_part_get_content(part);
  if (!w) return;
  GMimeStream* raw = g_mime_data_wrapper_get_stream(w);
  if (!raw) return;
  const LineScan scan = ScanStream(raw);
  if (!scan.Any()) return;
  const GMimeContentEncoding had = g_mime_data_wrapper_get_encoding(w);
  GMimeContentEncoding target = GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE;
  switch (had) {
    case GMIME_CONTENT_ENCODING_DEFAULT:
    case GMIME_CONTENT_ENCODING_7BIT:
    case GMIME_CONTENT_ENCODING_8BIT:
    case GMIME_CONTENT_ENCODING_BINARY:
      if (scan.eight_bit &&
          g_mime_part_get_best_content_encoding(part, GMIME_ENCODING_CONSTRAINT_7BIT) ==
              GMIME_CONTENT_ENCODING_BASE64)
        target = GMIME_CONTENT_ENCODING_BASE64;
      break;
    case GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE: break;
    default: target = GMIME_CONTENT_ENCODING_BASE64;  // base64, uuencode
  }
  GObjPtr<GMimeStream> filtered(g_mime_stream_filter_new(raw));
  GMimeStreamFilter* chain = GMIME_STREAM_FILTER(filtered.get());
  auto add = [chain](GMimeFilter* f) {
    GObjPtr<GMimeFilter> owned(f);  // the stream holds its own reference
    g_mime_stream_filter_add(chain, owned.get());
  };
  if (had != GMIME_CONTENT_ENCODING_DEFAULT && had != GMIME_CONTENT_ENCODING_7BIT &&
      had != GMIME_CONTENT_ENCODING_8BIT && had != GMIME_CONTENT_ENCODING_BINARY)
    add(g_mime_filter_basic_new(had, FALSE));
  add(g_mime_filter_basic_new(target, TRUE));
  if (target == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE)
    add(g_mime_filter_from_new(GMIME_FILTER_FROM_MODE_ARMOR));
  // Content and part share the encoding, so GMime writes the stream as is.
  GObjPtr<GMimeDataWrapper> content(g_mime_data_wrapper_new_with_stream(filtered.get(), target));
  g_mime_part_set_content(part, content.get());
  g_mime_part_set_content_encoding(part, target);
  if (scan.eight_bit)
    *changes |= target == GMIME_CONTENT_ENCODING_BASE64 ? kEightBitToBase64 : kEightBitToQp;
  if (scan.from_line) *changes |= kFromArmour;
  if (scan.long_line) *changes |= kLongLines;
}

// A header line over kMaxLine: GMime writes the header again from its
// value, folded (parameters as RFC 2231 continuations, a long word as RFC
// 2047 encoded-words); the value a reader sees is the same.
void FoldLongHeaders(GMimeObject* obj, unsigned* changes) {
  GMimeHeaderList* list = g_mime_object_get_header_list(obj);
  const int n = list ? g_mime_header_list_get_count(list) : 0;
  for (int i = 0; i < n; ++i) {
    GMimeHeader* h = g_mime_header_list_get_header_at(list, i);
    const char* name = g_mime_header_get_name(h);
    const char* raw = g_mime_header_get_raw_value(h);
    if (!name || !raw) continue;
    LineScan scan;
    scan.Add(name);
    scan.Add(":");
    scan.Add(raw);
    if (!scan.long_line) continue;
    const char* value = g_mime_header_get_value(h);
    const std::string copy = value ? value : "";  // set_value frees the old one
    g_mime_header_set_value(h, nullptr, copy.c_str(), nullptr);
    *changes |= kLongHeaders;
  }
}

// Makes every leaf part and every preamble and epilogue relay-proof, also
// inside forwarded messages. Leaves signed and encrypted sub-entities alone.
void RelayProof(GMimeObject* obj, unsigned* changes) {
  if (IsSmimeOrSigned(obj)) return;
  FoldLongHeaders(obj, changes);
  if (GMIME_IS_MULTIPART(obj)) {
    GMimeMultipart* mp = GMIME_MULTIPART(obj);
    if (auto t = RelayProofUndisplayed(g_mime_multipart_get_prologue(mp), changes))
      g_mime_multipart_set_prologue(mp, t->c_str());
    if (auto t = RelayProofUndisplayed(g_mime_multipart_get_epilogue(mp), changes))
      g_mime_multipart_set_epilogue(mp, t->c_str());
    for (int i = 0; i < g_mime_multipart_get_count(mp); ++i)
      RelayProof(g_mime_multipart_get_part(mp, i), changes);
    MarkSevenBit(obj);
    return;
  }
  if (GMIME_IS_MESSAGE_PART(obj)) {
    GMimeMessage* m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
    if (m && m->marker) {
      // A forwarded message that begins with its mbox "From " separator
      // line: mbox framing, no part of the message (RFC 4155), dropped.
      g_free(m->marker);
      m->marker = nullptr;
      *changes |= kMboxMarker;
    }
    if (m) FoldLongHeaders(GMIME_OBJECT(m), changes);
    GMimeObject* inner = m ? g_mime_message_get_mime_part(m) : nullptr;
    if (inner) RelayProof(inner, changes);
    MarkSevenBit(obj);  // RFC 2046 5.2.1: only 7bit, 8bit or binary
    return;
  }
  if (GMIME_IS_PART(obj)) RelayProofLeaf(GMIME_PART(obj), changes);
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
  // Every LF follows a CR and every CR precedes an LF (memchr for each).
  for (const char* p = s.data();
       (p = static_cast<const char*>(std::memchr(p, '\n', s.data() + s.size() - p))) != nullptr;
       ++p)
    if (p == s.data() || p[-1] != '\r') return false;
  for (const char* p = s.data();
       (p = static_cast<const char*>(std::memchr(p, '\r', s.data() + s.size() - p))) != nullptr;
       ++p)
    if (p + 1 == s.data() + s.size() || p[1] != '\n') return false;
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

// GMime keeps a multipart's epilogue with LF line ends and writes it as it
// is (everything else the DOS newline format converts): given back with
// CRLF, the written entity is canonical without a repairing copy (the same
// bytes the repair would give, also inside kept signed entities).
void EpiloguesCrlf(GMimeObject* obj) {
  if (GMIME_IS_MULTIPART(obj)) {
    GMimeMultipart* mp = GMIME_MULTIPART(obj);
    const char* e = g_mime_multipart_get_epilogue(mp);
    if (e && !IsCanonical(e)) g_mime_multipart_set_epilogue(mp, CanonicalLineEnds(e).c_str());
    for (int i = 0; i < g_mime_multipart_get_count(mp); ++i)
      EpiloguesCrlf(g_mime_multipart_get_part(mp, i));
  } else if (GMIME_IS_MESSAGE_PART(obj)) {
    GMimeMessage* m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
    GMimeObject* inner = m ? g_mime_message_get_mime_part(m) : nullptr;
    if (inner) EpiloguesCrlf(inner);
  }
}

// What a relay could still alter in an entity built with no further
// change possible (see SignableEntity).
void NoteWhatIsLeft(const LineScan& left, SignableEntity* out) {
  out->eight_bit_kept = left.eight_bit;
  out->relay_unsafe.clear();
  if (left.from_line) out->relay_unsafe = "from-line";
  if (left.long_line) out->relay_unsafe += out->relay_unsafe.empty() ? "long-line" : "+long-line";
}

struct FormatOptionsFree {
  void operator()(GMimeFormatOptions* p) const { g_mime_format_options_free(p); }
};

struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};

// Writes obj as an entity (CRLF: GMime's DOS newline format) into emit,
// re-encoding its re-encoded parts on the way; *digest becomes the SHA-256
// and *size the length of all it wrote. False when GMime or emit fails.
bool WriteObject(GMimeObject* obj, const std::function<bool(std::string_view)>& emit,
                 std::string* digest, size_t* size) {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> md(EVP_MD_CTX_new());
  if (!md || EVP_DigestInit_ex(md.get(), EVP_sha256(), nullptr) != 1) return false;
  size_t n = 0;
  const std::function<bool(std::string_view)> sink = [&](std::string_view s) {
    if (EVP_DigestUpdate(md.get(), s.data(), s.size()) != 1) return false;
    n += s.size();
    return emit(s);
  };
  GObjPtr<GMimeStream> stream(NewSinkStream(&sink));
  std::unique_ptr<GMimeFormatOptions, FormatOptionsFree> fo(g_mime_format_options_new());
  g_mime_format_options_set_newline_format(fo.get(), GMIME_NEWLINE_FORMAT_DOS);
  if (g_mime_object_write_to_stream(obj, fo.get(), stream.get()) < 0) return false;
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(md.get(), d, &len) != 1) return false;
  digest->assign(reinterpret_cast<const char*>(d), len);
  *size = n;
  return true;
}

// The first writing of a re-encoded entity, read as it passes: what a
// relay could still alter, whether it is canonical CRLF, and its first
// header block (kLeadMax at most: a longer one cannot take header
// protection).
constexpr size_t kLeadMax = 1 << 20;
struct FirstWriting {
  void Add(std::string_view s) {
    left.Add(s);
    for (char ch : s) {
      if ((prev == '\r' && ch != '\n') || (ch == '\n' && prev != '\r')) canonical = false;
      prev = ch;
    }
    if (lead_done) return;
    const size_t from = lead.size() < 3 ? 0 : lead.size() - 3;
    lead.append(s.substr(0, kLeadMax));
    const size_t end = lead.find("\r\n\r\n", from);
    if (end != std::string::npos) {
      lead.resize(end + 4);
      lead_done = true;
    } else if (lead.size() >= kLeadMax) {
      lead_done = true;
    }
  }
  bool Canonical() const { return canonical && prev != '\r'; }

  LineScan left;
  std::string lead;
  bool lead_done = false, canonical = true;
  char prev = '\0';
};

}  // namespace

bool IsContentHeader(const std::string& name) {
  return name.size() > 8 && strncasecmp(name.c_str(), "Content-", 8) == 0;
}

std::string_view SignableEntity::body() const {
  if (borrowed) return *borrowed;
  return owned;
}

std::string_view SignableEntity::Lead() const {
  if (!head.empty()) return head;
  return object ? std::string_view(lead) : std::string_view(owned);
}

size_t SignableEntity::size() const { return object ? written_size : head.size() + body().size(); }

bool SignableEntity::Write(const std::function<bool(std::string_view)>& emit, size_t skip) const {
  if (!object) {
    for (std::string_view piece : {std::string_view(head), body()}) {
      if (skip >= piece.size()) {
        skip -= piece.size();
        continue;
      }
      if (!emit(piece.substr(skip))) return false;
      skip = 0;
    }
    return true;
  }
  size_t at = 0;
  std::string digest;
  size_t n = 0;
  const bool ok = WriteObject(
      object.get(),
      [&](std::string_view s) {
        const size_t start = at;
        at += s.size();
        if (at <= skip) return true;
        return emit(s.substr(skip > start ? skip - start : 0));
      },
      &digest, &n);
  // GMime writes the same tree the same way every time; should it not,
  // what was signed is not what goes out: fail rather than emit it.
  return ok && n == written_size && digest == written_digest;
}

bool SignableEntity::Contains(std::string_view needle) const {
  if (needle.empty()) return true;
  if (!object) {
    const std::string_view b = body();
    if (head.find(needle) != std::string::npos || b.find(needle) != std::string_view::npos)
      return true;
    const size_t keep = std::min(head.size(), needle.size() - 1);
    std::string seam = head.substr(head.size() - keep);
    seam.append(b.substr(0, needle.size() - 1));
    return seam.find(needle) != std::string::npos;
  }
  // GMime writes in small slices: a window of one slice and the end of the
  // one before.
  std::string window;
  bool found = false;
  (void)Write([&](std::string_view s) {
    if (found) return true;
    window.append(s);
    if (window.find(needle) != std::string::npos) {
      found = true;
    } else if (window.size() >= needle.size()) {
      window.erase(0, window.size() - (needle.size() - 1));
    }
    return true;
  });
  return found;
}

std::string SignableEntity::Bytes() const {
  std::string out;
  out.reserve(size());
  (void)Write([&out](std::string_view s) {
    out.append(s);
    return true;
  });
  return out;
}

Status BuildSignableEntity(const std::vector<MimeHeader>& content_headers, const std::string& body,
                           const MimeLimits& limits, SignableEntity* out) {
  *out = SignableEntity();
  // On the heap: GMime's tree views these bytes, and the entity keeps them
  // where they are when it moves.
  auto head = std::make_unique<std::string>();
  bool has_type = false;
  for (const MimeHeader& h : content_headers) {
    if (strcasecmp(h.name.c_str(), "Content-Type") == 0) has_type = true;
    *head += h.name + ":" + h.value + "\r\n";
  }
  *head = CanonicalLineEnds(*head);
  // The body is used in place unless its line ends need repair.
  auto repaired = std::make_unique<std::string>();
  const bool canonical = IsCanonical(body);
  if (!canonical) *repaired = CanonicalLineEnds(body);
  const std::string_view canon_body = canonical ? std::string_view(body) : *repaired;
  const LineScan body_scan = Scan(canon_body);
  const bool encode = body_scan.Any() || Scan(*head).Any();
  if (!has_type) {
    const char* charset = !body_scan.eight_bit    ? "us-ascii"
                          : ValidUtf8(canon_body) ? "utf-8"
                                                  : "unknown-8bit";
    *head = "Content-Type: text/plain; charset=" + std::string(charset) + "\r\n" + *head;
  }
  *head += "\r\n";
  out->changes = canonical ? 0u : static_cast<unsigned>(kLineEnds);
  // Kept as it came (line ends aside): the header and body as they are.
  auto keep = [&]() {
    out->head = std::move(*head);
    out->borrowed = canonical ? &body : nullptr;
    out->owned = std::move(*repaired);
    return Status::Ok();
  };
  if (!encode) return keep();

  // The limits check reads the header block (ending with its blank line)
  // and the body where they are: no contiguous copy of the entity.
  Status pre = PrecheckMimeSize({std::string_view(*head), canon_body}, limits);
  if (!pre.ok()) return pre;
  EnsureGmimeInitialised();
  // GMime reads the header and the body in place, as one stream of two
  // views (their substreams, the parts' contents, are views too; re-encoded
  // content is filtered from them each time the entity is written).
  GObjPtr<GMimeStream> stream(g_mime_stream_cat_new());
  GObjPtr<GMimeStream> head_view(NewViewStream(head->data(), head->size()));
  GObjPtr<GMimeStream> body_view(NewViewStream(canon_body.data(), canon_body.size()));
  g_mime_stream_cat_add_source(GMIME_STREAM_CAT(stream.get()), head_view.get());
  g_mime_stream_cat_add_source(GMIME_STREAM_CAT(stream.get()), body_view.get());
  GObjPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  GObjPtr<GMimeObject> obj(g_mime_parser_construct_part(parser.get(), nullptr));
  if (!obj) return Status::InvalidInput("mime-unparseable");
  if (IsSmimeOrSigned(obj.get())) {
    // The client's own signed or encrypted message (encrypted only by us):
    // byte for byte, or its signature breaks; the log says what is left.
    NoteWhatIsLeft(body_scan, out);
    return keep();
  }
  RelayProof(obj.get(), &out->changes);
  EpiloguesCrlf(obj.get());
  // The first writing, consumed as it comes: its length and digest (every
  // later writing must match them), its lead and what is left.
  FirstWriting first;
  if (!WriteObject(
          obj.get(),
          [&first](std::string_view s) {
            first.Add(s);
            return true;
          },
          &out->written_digest, &out->written_size))
    return Status::Internal("mime-serialise-failed");
  NoteWhatIsLeft(first.left, out);
  if (!first.Canonical()) {
    // Not expected (epilogues are given CRLF above): one repaired copy.
    std::string all;
    std::string digest;
    size_t n = 0;
    if (!WriteObject(
            obj.get(),
            [&all](std::string_view s) {
              all.append(s);
              return true;
            },
            &digest, &n))
      return Status::Internal("mime-serialise-failed");
    out->owned = CanonicalLineEnds(all);
    out->written_size = 0;
    out->written_digest.clear();
    NoteWhatIsLeft(Scan(out->owned), out);
    return Status::Ok();
  }
  out->object = std::move(obj);
  out->source_head = std::move(head);
  if (!canonical) out->source_body = std::move(repaired);
  out->lead = std::move(first.lead);
  return Status::Ok();
}

std::string EntityChangeList(unsigned changes) {
  static const struct {
    unsigned bit;
    const char* name;
  } kNames[] = {{kEightBitToQp, "8bit-to-qp"},    {kEightBitToBase64, "8bit-to-base64"},
                {kFromArmour, "from-armour"},     {kLongLines, "long-lines"},
                {kPreambleFrom, "preamble-from"}, {kPreambleLongLines, "preamble-long-lines"},
                {kPreamble8Bit, "preamble-8bit"}, {kMboxMarker, "mbox-marker"},
                {kLongHeaders, "long-headers"},   {kLineEnds, "line-ends"}};
  std::string out;
  for (const auto& n : kNames) {
    if (!(changes & n.bit)) continue;
    if (!out.empty()) out += '+';  // a comma would be escaped in the log (base/log.h)
    out += n.name;
  }
  return out.empty() ? "no" : out;
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
