// trust/revocation: the revocation-checker interface.
//
// The engine asks a RevocationChecker about a chain that already verified to
// a trust anchor (fetching data for untrusted chains would let anyone make
// us call arbitrary URLs). OnlineRevocationChecker (online_revocation.h)
// asks OCSP and CRLs; NotCheckedRevocation says honestly that nothing was
// checked (`revocation = off`). Outbound encryption checks recipient
// certificates through the same interface. Implementations honour the
// step's Deadline (base/deadline.h): no fetch waits past it and none starts
// after it, so a check never blocks a message beyond it; they are
// thread-safe.
#ifndef SMIME_TRUST_REVOCATION_H_
#define SMIME_TRUST_REVOCATION_H_

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <string>
#include <vector>

#include "base/deadline.h"
#include "base/ossl.h"

namespace smime {

// kUnknown: a responder or a current CRL exists but gives no answer (OCSP
// "unknown", CRL expired or out of scope, only CRLs carried in the message);
// kUnavailable: the data could not be fetched or
// verified; kNoSource: the certificate publishes no OCSP URL, no CRL
// distribution point, and no local or embedded CRL covers it.
enum class RevocationStatus { kGood, kRevoked, kUnknown, kUnavailable, kNoSource, kNotChecked };

struct RevocationResult {
  RevocationStatus status = RevocationStatus::kNotChecked;
  std::string source;  // "ocsp", "crl" or "" when none consulted
  bool from_cache = false;
  std::string detail;  // why, for the log ("timeout after 5000 ms", ...)
  // The step's deadline cut the check short (status kUnavailable); logged
  // as the source: "revocation=unavailable (deadline)".
  bool deadline = false;
};

struct CertRevocation {
  std::string subject;
  RevocationResult result;
};

struct ChainRevocation {
  RevocationResult overall;           // revoked if any is; good only if all are
  std::vector<CertRevocation> certs;  // leaf first; the anchor is not checked
};

// `revocation = hard | soft | off`, per domain.
enum class RevocationMode { kHard, kSoft, kOff };

const char* RevocationStatusName(RevocationStatus s);

// Where the log's revocation= value came from, logged in parentheses after
// RevocationStatusName: "ocsp", "crl", "cache", "deadline" (cut short by the
// step's deadline), or "" when nothing was asked.
std::string RevocationLogSource(const RevocationResult& r);

// Totals since creation and the responders' breakers now, for the metrics.
struct RevocationStats {
  uint64_t ocsp_fetch_failures = 0;  // OCSP fetches or answers that failed (breaker counted)
  uint64_t crl_fetch_failures = 0;   // CRL fetches that failed or were not a CRL
  uint64_t breaker_refusals = 0;     // fetches not tried: the URL's breaker was open
  size_t breakers_open = 0;          // URLs whose breaker refuses now
  size_t breakers_half_open = 0;     // URLs whose next request probes
  uint64_t breaker_opens = 0;        // times a breaker opened
};

class RevocationChecker {
 public:
  virtual ~RevocationChecker() = default;
  // Fetch and breaker counts (none for a checker that never fetches).
  virtual RevocationStats Stats(std::time_t /*now*/) const { return {}; }
  // chain: leaf first, anchor last, already verified. embedded: CRLs carried
  // in the message (may be null), never a source on their own: used only
  // as a later replacement of a CRL from the certificate's distribution point.
  // deadline: the step's (Deadline() for none); answers already cached are
  // still used after it. Never throws; failure is a status.
  virtual ChainRevocation Check(STACK_OF(X509) * chain, STACK_OF(X509_CRL) * embedded,
                                std::time_t now, const Deadline& deadline) = 0;
};

class NotCheckedRevocation final : public RevocationChecker {
 public:
  ChainRevocation Check(STACK_OF(X509) *, STACK_OF(X509_CRL) *, std::time_t,
                        const Deadline&) override {
    return {};
  }
};

}  // namespace smime

#endif  // SMIME_TRUST_REVOCATION_H_
