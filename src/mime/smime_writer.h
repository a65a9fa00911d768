// mime/smime_writer: the MIME side of outbound signing.
//
// Entry points: BuildSignableEntity() turns the message's Content-* headers
// and body into the entity that gets signed: canonical CRLF and 7-bit, so no
// relay can alter it in transit (RFC 8551 3.1), and no line starting "From "
// for mbox delivery to quote. Content that is already 7-bit with short lines
// and no such line is kept byte for byte; otherwise GMime picks
// quoted-printable or base64 per part, forwarded messages included. ClearSignedBody() and
// OpaqueBody() frame a signature as multipart/signed or application/pkcs7-mime. Failure modes: a
// structure beyond the limits or one GMime cannot parse gives a Status with a short reason; nothing
// is thrown.
#ifndef SMIME_MIME_SMIME_WRITER_H_
#define SMIME_MIME_SMIME_WRITER_H_

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

// The MIME entity to sign (CRLF): head() then body(). Memory: the body is
// the caller's own string when it needed no change (it must then outlive
// the entity), else the one re-encoded copy (docs/performance.md).
struct SignableEntity {
  std::string head;  // Content-* header lines and the blank line; empty when re-encoded
  std::string_view body() const;
  std::string Bytes() const { return head + std::string(body()); }  // one copy, for tests
  size_t size() const { return head.size() + body().size(); }

  const std::string* borrowed = nullptr;  // the caller's body, unchanged
  std::string owned;                      // line ends repaired
  GObjPtr<GMimeStream> serialised;        // re-encoded by GMime (a memory stream)

  bool reencoded = false;  // some content was 8-bit, binary, had long lines or "From " lines
  // 8-bit bytes remain where no transfer encoding may apply: raw UTF-8 in
  // Content-* parameters or in the header of a forwarded message.
  bool eight_bit_kept = false;
};

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
