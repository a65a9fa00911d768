// mime/smime_locator: find the S/MIME entities of a message.
//
// Entry point: LocateSmime(). It parses the message with GMime (structure
// only), enforces depth and part limits, and reports where signatures are:
// for a top-level multipart/signed it returns part 1 exactly as received
// (found by scanning the raw body for the boundary, never re-serialised) and
// the decoded signature; for top-level application/pkcs7-mime it returns the
// decoded CMS. Signatures found below the root are listed by IMAP part
// number so the engine can report them without calling the message signed.
// Before anything is reported as signed, the unsigned frame (root headers,
// delimiters, the signature part's headers) must have one reading, the same
// for GMime, mail clients and our raw cut (mime/one_reading.h); otherwise
// the status is "ambiguous-mime" and `ambiguity` says why.
// Failure modes: malformed structure or exceeded limits give a Status with a
// short machine-readable reason; nothing is thrown for bad input.
#ifndef SMIME_MIME_SMIME_LOCATOR_H_
#define SMIME_MIME_SMIME_LOCATOR_H_

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace smime {

struct MimeLimits {
  int max_depth = 20;
  int max_parts = 1000;
};

struct SmimeLayout {
  enum class Kind {
    kNone,         // no S/MIME at the root
    kClearSigned,  // multipart/signed, protocol pkcs7-signature
    kOpaque,       // application/pkcs7-mime: signed-data, enveloped or certs-only
  };
  Kind kind = Kind::kNone;
  // kClearSigned: part 1, bytes as received (CRLF), a view into the message
  // LocateSmime read: valid while that string lives and is not changed.
  std::string_view signed_content;
  std::string cms_der;     // kClearSigned: signature part; kOpaque: the body, decoded
  std::string smime_type;  // kOpaque: smime-type parameter, lower-case ("" if absent)
  std::string protocol;    // kClearSigned: protocol parameter, lower-case
  std::vector<std::string> nested_signatures;  // IMAP part numbers, e.g. "2", "1.2"
  std::string ambiguity;  // why the frame has no single reading (with "ambiguous-mime")
  int parts = 0;
  int depth = 0;
};

// Converts bare LF line ends to CRLF (leaving existing CRLF alone), since
// signatures are computed over the wire form.
std::string ToCrlf(const std::string& in);

// Bounds the work GMime's recursive parser would do on hostile input, before
// it sees it: fails with "mime-parts-limit" when the Content-Type header
// lines (blanks before the colon included) exceed limits.max_parts or the
// delimiter lines of declared boundaries exceed twice that.
Status PrecheckMimeSize(const std::string& message, const MimeLimits& limits);
// The same for a message in segments read one after the other (a header
// block and a body apart: no contiguous copy). Each segment but the last
// ends at a line end, and a header line at the end of one is not
// continued in the next (a header block ends with its blank line).
Status PrecheckMimeSize(const std::vector<std::string_view>& segments, const MimeLimits& limits);

// message: the whole message (headers, blank line, body) with CRLF line ends.
// GMime reads the message in place (mime/view_stream.h), and signed_content
// points into it: the message must outlive the layout, so a temporary is
// refused at compile time.
Status LocateSmime(const std::string& message, const MimeLimits& limits, SmimeLayout* out);
Status LocateSmime(std::string&& message, const MimeLimits& limits, SmimeLayout* out) = delete;

}  // namespace smime

#endif  // SMIME_MIME_SMIME_LOCATOR_H_
