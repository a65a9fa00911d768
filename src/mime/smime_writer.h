// mime/smime_writer: the MIME side of outbound signing.
//
// Entry points: BuildSignableEntity() turns the message's Content-* headers
// and body into the MIME entity that gets signed or encrypted: canonical
// CRLF, 7-bit, no line over 990 octets and no line starting "From ", so that
// neither a relay (8-bit downgrade, folding at 998 octets: RFC 8551 3.1,
// RFC 5322 2.1.1) nor an mbox writer (">From ") can alter it in transit.
// Every leaf part is checked as written (also quoted-printable and base64
// ones, and inside forwarded messages); one that fails is re-encoded by
// GMime (quoted-printable with "=46rom " armour, or base64) as the entity
// is written, never held encoded (SignableEntity::Write). Preambles and
// epilogues are rewritten in place, long header lines folded again by GMime
// (see RelayProofUndisplayed and FoldLongHeaders in the .cc;
// docs/signing.md). Content that needs nothing is kept byte for byte;
// changes says what was changed, for the log. ClearSignedBody() and
// OpaqueSignedContentType() frame a signature as multipart/signed or
// application/pkcs7-mime. Failure modes: a structure beyond the limits or
// one GMime cannot parse gives a Status with a short reason; a re-encoded
// entity written otherwise than the first time makes Write() return false
// (the caller refuses the message); nothing is thrown.
#ifndef SMIME_MIME_SMIME_WRITER_H_
#define SMIME_MIME_SMIME_WRITER_H_

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "mime/gmime_ptr.h"
#include "mime/smime_locator.h"

namespace smime {

struct MimeHeader {
  std::string name;
  std::string value;  // raw, after the colon, CRLF folding kept
};

// The MIME entity to sign (CRLF): head() then body(), or, re-encoded,
// what Write() produces. Memory (docs/performance.md): a body that needed
// no change is the caller's own string (it must then outlive the entity);
// one whose line ends were repaired is the entity's one copy; re-encoded
// content is never held: GMime's tree views the original bytes and encodes
// them (quoted-printable with From armour, or base64) each time the entity
// is written, straight into the signer, the cipher or the new body. Every
// writing is checked against the first (length and SHA-256): the bytes
// signed are the bytes emitted, or Write() fails.
struct SignableEntity {
  std::string head;  // Content-* header lines and the blank line; empty when re-encoded
  // The body when it is held (not re-encoded); empty when streamed().
  std::string_view body() const;
  // Re-encoded: produced by Write() only.
  bool streamed() const { return object != nullptr; }
  // The header block the entity starts with (for header protection): head,
  // or the first header block of the re-encoded entity (up to and with its
  // empty line); the entity's bytes start with it.
  std::string_view Lead() const;
  size_t size() const;
  // Hands the entity's bytes from offset skip on to emit, in slices. False
  // when emit fails or when a re-encoded entity's bytes are not those of
  // its first writing (then some may have been emitted already).
  bool Write(const std::function<bool(std::string_view)>& emit, size_t skip = 0) const;
  // Whether needle occurs in the entity (a boundary must not).
  bool Contains(std::string_view needle) const;
  std::string Bytes() const;  // one copy, for tests

  const std::string* borrowed = nullptr;  // the caller's body, unchanged
  std::string owned;                      // line ends repaired
  // Re-encoded: GMime's tree over views of source_head and the body
  // (source_body when its line ends were repaired, else the caller's).
  GObjPtr<GMimeObject> object;
  std::unique_ptr<std::string> source_head, source_body;
  size_t written_size = 0;     // of the first writing
  std::string written_digest;  // its SHA-256
  std::string lead;            // its first header block

  unsigned changes = 0;  // EntityChange bits: what was changed
  // 8-bit bytes remain where no transfer encoding may apply: raw UTF-8 in
  // Content-* parameters or in the header of a forwarded message.
  bool eight_bit_kept = false;
  // Empty, or what a relay could still alter ("from-line", "long-line",
  // joined by "+"):
  // a forwarded signed or encrypted entity kept byte for byte, or a header.
  std::string relay_unsafe;
};

// What BuildSignableEntity changed; names as EntityChangeList gives them.
enum EntityChange : unsigned {
  kEightBitToQp = 1u << 0,       // "8bit-to-qp": 8-bit/binary part now quoted-printable
  kEightBitToBase64 = 1u << 1,   // "8bit-to-base64": 8-bit/binary part now base64
  kFromArmour = 1u << 2,         // "from-armour": "From " lines in a part, now "=46rom "
  kLongLines = 1u << 3,          // "long-lines": a part's lines over 990 octets re-wrapped
  kPreambleFrom = 1u << 4,       // "preamble-from": " From " in a preamble or epilogue
  kPreambleLongLines = 1u << 5,  // "preamble-long-lines": such a line split
  kPreamble8Bit = 1u << 6,       // "preamble-8bit": 8-bit bytes there became '?'
  kLineEnds = 1u << 7,           // "line-ends": bare CR or LF became CRLF
  kMboxMarker = 1u << 8,         // "mbox-marker": a forwarded message's "From " line dropped
  kLongHeaders = 1u << 9,        // "long-headers": header lines over 990 octets folded again
};

// "no", or the names of the changes joined by "+" (a log value).
std::string EntityChangeList(unsigned changes);

// True for header names that describe the content (Content-*), which move
// into the signed entity; all other headers stay outside the signature.
bool IsContentHeader(const std::string& name);

// content_headers: the message's Content-* headers in order; body: CRLF
// (kept by reference when it needs no change).
// A missing Content-Type becomes text/plain with charset us-ascii (7-bit
// body), utf-8 (valid UTF-8) or unknown-8bit (RFC 1428).
Status BuildSignableEntity(const std::vector<MimeHeader>& content_headers, const std::string& body,
                           const MimeLimits& limits, SignableEntity* out);

// A fresh random boundary that occurs in none of avoid.
std::string NewBoundary(const std::vector<std::string_view>& avoid);
inline std::string NewBoundary(const std::string& avoid) {
  return NewBoundary(std::vector<std::string_view>{avoid});
}

// base64 in 76-column CRLF lines.
std::string Base64Lines(const std::string& data);

// Content-Type value and body of a multipart/signed message (RFC 8551 3.5).
std::string ClearSignedContentType(const std::string& micalg, const std::string& boundary);
std::string ClearSignedBody(const std::string& entity, const std::string& der,
                            const std::string& boundary);
// The same body in three parts around the entity, so that it need not be
// copied: opening + entity + closing is ClearSignedBody(entity, der, boundary).
std::string ClearSignedOpening(const std::string& boundary);
std::string ClearSignedClosing(const std::string& der, const std::string& boundary);

// Content-Type value of an opaque signed message (RFC 8551 3.5.2); its body
// is Base64Lines(der) with Content-Transfer-Encoding base64.
std::string OpaqueSignedContentType();

}  // namespace smime

#endif  // SMIME_MIME_SMIME_WRITER_H_
