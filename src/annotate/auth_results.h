// annotate/auth_results: Authentication-Results (RFC 8601) with the smime
// method (RFC 7281): build our header, recognise forged ones.
//
// Entry points: BuildAuthResults() formats our header value (one smime=
// clause per signature; attacker-chosen certificate text is sanitised,
// quoted and capped; header.sender when Sender:, not From:, was matched); AuthservIdOf() extracts
// the authserv-id of an incoming header; SameAuthservId() compares two ids the way forged-header
// removal needs (case-insensitive, trailing dot ignored). No function fails: hostile input yields
// an empty or sanitised string.
#ifndef SMIME_ANNOTATE_AUTH_RESULTS_H_
#define SMIME_ANNOTATE_AUTH_RESULTS_H_

#include <string>
#include <vector>

namespace smime {

enum class AuthResult { kNone, kPass, kFail, kPolicy, kNeutral, kTempError, kPermError };

const char* AuthResultName(AuthResult r);

struct SignatureResult {
  AuthResult result = AuthResult::kNone;
  std::string reason;      // short, machine-readable; empty for pass
  std::string identifier;  // the signer address (body.smime-identifier)
  std::string part;        // body.smime-part: "TEXT" for the whole body, else "2", "1.2"
  std::string serial;      // body.smime-serial, hex; written only with issuer
  std::string issuer;      // body.smime-issuer
  std::string comment;     // RFC 8601 comment after the result, e.g. revocation unknown
  std::string sender;      // header.sender: the Sender: mailbox when the identity was
                           // matched against Sender: instead of From: (else empty)
};

// The clauses as our header writes them, so that no reader is told pass for
// a message that is not pass: the first clause is one whose result is the
// message verdict; when the verdict is not pass, a signer that passed on
// its own is written as policy with reason "other-signature-not-pass". The
// other clauses keep their order.
std::vector<SignatureResult> HonestClauses(AuthResult verdict,
                                           std::vector<SignatureResult> results);

// Header value (without "Authentication-Results:"), folded with "\n\t".
std::string BuildAuthResults(const std::string& authserv_id,
                             const std::vector<SignatureResult>& results);

// Printable ASCII only, at most max_len bytes; others become '?'.
std::string SanitizeHeaderText(const std::string& in, size_t max_len);

// An RFC 8601 pvalue: the text as a token or addr-spec when it is one, else
// a quoted-string. The input is sanitised first.
std::string PropertyValue(const std::string& in);

// The authserv-id of an Authentication-Results value ("" when none).
std::string AuthservIdOf(const std::string& header_value);

bool SameAuthservId(const std::string& a, const std::string& b);

}  // namespace smime

#endif  // SMIME_ANNOTATE_AUTH_RESULTS_H_
