// trust/revocation: the revocation-checker interface.
//
// The engine asks a RevocationChecker about a chain that already verified to
// a trust anchor. This issue ships only NotCheckedRevocation, which says so
// honestly ("not-checked" in the log); CRL and OCSP checkers implement the
// same interface later, and outbound encryption will check recipient
// certificates through it too. Implementations must honour a deadline and
// never block a message indefinitely.
#ifndef SMIME_TRUST_REVOCATION_H_
#define SMIME_TRUST_REVOCATION_H_

#include <ctime>
#include <string>

#include "base/ossl.h"

namespace smime {

enum class RevocationStatus { kGood, kRevoked, kUnknown, kUnavailable, kNotChecked };

struct RevocationResult {
  RevocationStatus status = RevocationStatus::kNotChecked;
  std::string source;  // "ocsp", "crl", "cache" or "" when none consulted
  std::string detail;
};

const char* RevocationStatusName(RevocationStatus s);

class RevocationChecker {
 public:
  virtual ~RevocationChecker() = default;
  // chain: leaf first, anchor last. Never throws; failure is a status.
  virtual RevocationResult Check(STACK_OF(X509) * chain, std::time_t now) = 0;
};

class NotCheckedRevocation final : public RevocationChecker {
 public:
  RevocationResult Check(STACK_OF(X509) *, std::time_t) override { return {}; }
};

}  // namespace smime

#endif  // SMIME_TRUST_REVOCATION_H_
