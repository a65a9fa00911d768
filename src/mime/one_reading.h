// mime/one_reading: a strict reader for the unsigned frame of an S/MIME
// message, so that GMime, mail clients and our raw cut cannot disagree.
//
// The frame of a clear-signed message (its top-level headers, the delimiter
// lines and the signature part's headers) is not covered by the signature:
// an attacker may rewrite it. Where two parsers could read those bytes two
// ways, a mail client may display something other than what was verified.
// This module reads the frame with rules strict enough that every parser
// that matters (GMime, Thunderbird, Python's email, our cut) has one reading;
// anything else is refused as ambiguous (docs/verification.md, "One
// reading").
//
// Entry points: ReadHeaderBlock() splits an entity's header block;
// CheckEntityFields() refuses duplicate Content-* and MIME-Version fields;
// ParseContentTypeStrict() reads a Content-Type with no comments, no
// duplicate parameters and no RFC 2231 forms for structural parameters;
// CutMultipartStrictly() cuts a multipart body at delimiter lines that
// every parser recognises alike. Each fails with Status::InvalidInput and a
// short detail (e.g. "duplicate-content-type") naming what was ambiguous;
// none throws, none reads past its input.
#ifndef SMIME_MIME_ONE_READING_H_
#define SMIME_MIME_ONE_READING_H_

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace smime {

struct RawField {
  std::string name;   // as written
  std::string value;  // unfolded (line breaks removed), leading blanks kept
};

// Reads the header block at the start of entity (CRLF line ends). On success
// *body_offset is the offset just after the blank line (entity.size() when
// there is no body). Refused: a line without a colon, blanks or controls in
// a field name, a continuation line first, a line of blanks only, a bare CR
// or LF, a NUL, a header block without its blank line.
Status ReadHeaderBlock(std::string_view entity, std::vector<RawField>* fields, size_t* body_offset);

// Refuses more than one Content-Type, Content-Transfer-Encoding or
// MIME-Version field.
Status CheckEntityFields(const std::vector<RawField>& fields);

// The first field named name (case-insensitive), or nullptr when there is none.
const RawField* FindField(const std::vector<RawField>& fields, const char* name);

struct ContentTypeValue {
  std::string type;                           // lower case
  std::string subtype;                        // lower case
  std::map<std::string, std::string> params;  // lower-case names; values unquoted
};

// Parses "type/subtype *(; name=value)". Refused: comments, a parameter
// named twice in any form (plain, name*, name*0...), RFC 2231 forms of
// boundary, protocol, micalg and smime-type, quoted-pairs (backslash
// escapes, which some readers keep and others remove), text that is not a
// parameter.
Status ParseContentTypeStrict(std::string_view value, ContentTypeValue* out);

// The Content-Transfer-Encoding value, lower case, or "" when fields have
// none. Refused: anything but one of 7bit, 8bit, binary, base64 and
// quoted-printable, optionally between blanks (a comment such as
// "base64 (x)" makes some readers give up decoding).
Status ReadTransferEncoding(const std::vector<RawField>& fields, std::string* encoding);

// Refuses a NUL or a CR that is not followed by LF in bytes of the frame
// that readers split into lines differently (Python's email ends a line at
// a bare CR, GMime does not).
Status CheckLineBreaks(std::string_view frame_bytes);

// Cuts a multipart body into its parts at "--boundary" lines. Every line
// that any parser could take for a delimiter (a line start after CRLF, a
// bare CR or a bare LF; "--boundary" followed by nothing, blanks, "--" or a
// byte that cannot continue a boundary) must be a clean delimiter: exactly
// "--boundary" or "--boundary--", then optional blanks, then CRLF (or the
// end of the body for the close delimiter), and no delimiter may follow the
// close delimiter. On success parts[i] is the body part between its
// delimiter lines (the CRLF before the next delimiter belongs to the
// delimiter, RFC 2046 5.1.1).
Status CutMultipartStrictly(std::string_view body, const std::string& boundary,
                            std::vector<std::string_view>* parts);

}  // namespace smime

#endif  // SMIME_MIME_ONE_READING_H_
