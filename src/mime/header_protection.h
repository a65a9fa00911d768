// mime/header_protection: Header Protection for cryptographically protected
// email (RFC 9788), the MIME side, both directions (docs/header-protection.md).
//
// Outbound: PlanHeaderProtection() decides, from the message's header fields,
// what goes inside the Cryptographic Payload (the entity that is signed, or
// encrypted when there is no signature; RFC 9788 section 2): a copy of
// every non-structural field the author composed (IsCopiedHeaderName: not
// MIME-Version or Content-*, not Bcc, not trace and transit fields added on
// the way, RFC 9788 section 7) and, for hp="cipher", one HP-Outer line per
// copied field that stays in the outer header, with its outer value (RFC
// 9788 section 2.2; a removed field gets none). The Header Confidentiality
// Policy hides nothing (hcp_no_confidentiality, section 3.2.3) or is
// hcp_baseline (section 3.2.1): Subject becomes "[...]", Keywords and
// Comments are removed from the outer header, every other field is kept.
// ProtectPayloadHead() then rewrites the payload root's header block: the
// hp parameter on its Content-Type, the planned lines after its own header
// fields and, when the root is text/plain and the policy obscured a
// user-facing field, a Legacy Display Element (section 5.2.2). The caller
// applies plan.outer to the outer header (hp="cipher" only, and only when
// the message really is encrypted).
//
// Inbound: ParseProtectedHeaders() reads the payload root of a verified or
// decrypted message: its hp parameter, the protected fields and HP-Outer
// lines. HeadersToRestore() lists what a gateway that decrypts an
// hp="cipher" payload should put back into the outer header (the author
// fields the sender's policy obscured or removed, never From: or Sender:,
// never trace, transit or filter fields).
//
// Failure modes: a payload without a header block or Content-Type, one that
// already carries an hp parameter, or a header block beyond the limits gives
// a Status with a short reason; nothing is thrown. An unknown hp value reads
// as no header protection (problem says why).
#ifndef SMIME_MIME_HEADER_PROTECTION_H_
#define SMIME_MIME_HEADER_PROTECTION_H_

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "mime/smime_writer.h"

namespace smime {

// none < clear < cipher: a message for several recipient domains gets the
// lowest level any of them asks for.
enum class HpMode : int { kNone = 0, kClear = 1, kCipher = 2 };

const char* HpModeName(HpMode m);                   // "none", "clear", "cipher"
bool ParseHpMode(const std::string& s, HpMode* m);  // false for anything else
inline HpMode MinHpMode(HpMode a, HpMode b) { return a < b ? a : b; }

// True for the field names logs and A-R comments may name (any letter
// case): the user-facing, originator, destination, identification and
// informational fields.
bool IsProtectedHeaderName(std::string_view name);

// True for the header fields copied into the payload (any letter case):
// every field but the structural ones, Bcc, HP-Outer and trace and transit
// fields (Received, Return-Path, Delivered-To, X-Original-To,
// DKIM-Signature, ARC-*, Authentication-Results, Received-SPF, List-*,
// Archived-At, Resent-*).
bool IsCopiedHeaderName(std::string_view name);

// RFC 9788 hcp_baseline for one outer field: false when the field is
// removed from the outer header, else *out is its outer value (raw, after
// the colon). placeholder replaces Subject (e.g. " [...]" keeps the blank).
bool HcpBaseline(std::string_view name, const std::string& value, const std::string& placeholder,
                 std::string* out);

struct HpPlan {
  HpMode mode = HpMode::kNone;
  std::string lines;  // CRLF header lines for the payload root: protected fields, HP-Outer
  // hp="cipher": what the outer header becomes. Every field named in
  // outer_names is deleted, then outer_fields (name, value) are added.
  std::vector<std::string> outer_names;
  std::vector<MimeHeader> outer_fields;
  std::vector<std::string> protected_names;  // the fields copied, for the log
  // hp="cipher": the user-facing fields (RFC 9788 section 1.1.2) the policy
  // obscured or removed, with their real values: the Legacy Display Element.
  std::vector<MimeHeader> legacy_display;
};

// message_headers: every header field of the message in order (raw values,
// after the colon). mode: the hp value (clear: signed only; cipher:
// encrypted). hide: with cipher, apply hcp_baseline to the outer header
// (placeholder: the outer Subject, printable ASCII, header_protection_subject);
// without it the policy is RFC 9788's hcp_no_confidentiality (the outer
// header unchanged, every field recorded in HP-Outer).
HpPlan PlanHeaderProtection(const std::vector<MimeHeader>& message_headers, HpMode mode,
                            const std::string& placeholder, bool hide);

// entity: the payload root, starting with its header block (CRLF lines
// ending in an empty line). *head becomes the new header block (the
// entity's own fields with hp="clear" or hp="cipher" added to Content-Type,
// then plan.lines, then the empty line) and *consumed the length of the old
// one: the payload is *head followed by entity.substr(*consumed). With
// plan.legacy_display and a text/plain root whose body can take it (7bit,
// 8bit or quoted-printable; ASCII-compatible charset; non-ASCII values only
// in UTF-8 8bit or quoted-printable), *head also carries
// hp-legacy-display="1" on Content-Type and ends with the Legacy Display
// Element (RFC 9788 section 5.2.2): "Name: value" lines (values decoded),
// then an empty line, the start of the body. *legacy_display (optional):
// "" when none was due, "added", or why none was added.
Status ProtectPayloadHead(std::string_view entity, const HpPlan& plan, std::string* head,
                          size_t* consumed, std::string* legacy_display = nullptr);

struct HpInbound {
  HpMode mode = HpMode::kNone;               // kNone: no valid hp parameter
  std::vector<MimeHeader> protected_fields;  // the payload root's non-structural fields
                                             // (values unfolded), hp or not
  std::vector<MimeHeader> hp_outer;          // HP-Outer lines: the name and value they record
  std::string problem;                       // why the block or its hp was not accepted
  // The block has no single reading (mime/one_reading) and some reading
  // shows a From:, a Sender: or an hp parameter: a reader may take fields
  // as protected that we cannot judge.
  bool ambiguous = false;
};

// entity: a payload root (the signed content of multipart/signed, the
// eContent of opaque signed-data, or a decrypted EnvelopedData). Reads only
// its header block (CRLF), strictly (mime/one_reading): an unreadable block
// (unterminated in 256 KiB, bare CR or LF, NUL, a second Content-Type, an
// hp parameter in RFC 2231 form or in a Content-Type that does not parse
// strictly, more than 1000 fields) gives mode kNone, problem saying why, and
// ambiguous as above. Never fails (the Status is for symmetry with the
// writers).
Status ParseProtectedHeaders(std::string_view entity, HpInbound* out);

// For a decrypted hp="cipher" payload: the protected fields to put back into
// the outer header, replacing every outer field of the same name: those
// whose HP-Outer record differs from the protected value (obscured) or is
// missing (removed by the sender's policy; RFC 9788 section 4.2.1). Only
// names IsProtectedHeaderName() accepts are listed, so a payload's trace,
// transit, filter or Bcc fields never reach the outer header; From: and
// Sender: are never listed: the signer is judged against the outer From:
// (docs/verification.md), and a gateway must not swap the address it
// judged. Empty for other modes.
std::vector<MimeHeader> HeadersToRestore(const HpInbound& in);

// The field values of name in fields (any letter case), in order.
std::vector<std::string> FieldValues(const std::vector<MimeHeader>& fields, std::string_view name);

}  // namespace smime

#endif  // SMIME_MIME_HEADER_PROTECTION_H_
