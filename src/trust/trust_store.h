// trust/trust_store: the configured S/MIME trust anchors and chain checks.
//
// Entry points: TrustStore::Load() reads a PEM file or a folder of PEM files
// (start-up; failure names the file and stops start-up), VerifyChain() builds
// a path from a signer certificate to an anchor at a given time, using the
// certificates carried in the message only as untrusted path hints. The
// system TLS bundle is never consulted. A TrustStore is immutable after Load
// and safe to share between threads. Successful paths are reused while every
// certificate in them is valid at the time asked (trust/chain_cache.h).
// VerifyPath() is the same check, uncached, against any set of anchors
// (DANE-TA records).
#ifndef SMIME_TRUST_TRUST_STORE_H_
#define SMIME_TRUST_TRUST_STORE_H_

#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "base/ossl.h"
#include "base/status.h"
#include "trust/chain_cache.h"

namespace smime {

struct ChainResult {
  bool trusted = false;
  std::string reason;  // on failure: OpenSSL's verify error, e.g. "certificate has expired"
  X509StackPtr chain;  // leaf first, anchor last (on success)
  int error = 0;       // on failure: OpenSSL's X509_V_ERR_... code
};

// A path from leaf to a certificate of anchors at now, carried certificates
// (untrusted) as hints only: the one set of verification settings
// (TrustStore::VerifyChain; certdir/recipient_directory for DANE-TA anchors).
// Partial chains are allowed (an anchor may be an intermediate) and
// OpenSSL's security level is 0 (PathAlgorithmProblem judges the chain).
ChainResult VerifyPath(X509_STORE* anchors, X509* leaf, STACK_OF(X509) * untrusted,
                       std::time_t now);

class TrustStore {
 public:
  // On success the store holds at least one anchor; on failure it is unchanged.
  Status Load(const std::string& path);
  int anchor_count() const { return count_; }

  // OpenSSL's security level is 0 here: key sizes and signature hashes are
  // judged on the returned chain by PathAlgorithmProblem, not by OpenSSL.
  ChainResult VerifyChain(X509* leaf, STACK_OF(X509) * untrusted, std::time_t now) const;

  // One warning per anchor that expires within days of now (or has
  // expired): every path through it stops verifying then. Logged with the
  // identity warnings at start-up, on reload and daily.
  std::vector<std::string> ExpiryWarnings(std::time_t now, int days) const;
  // The earliest notAfter of the anchors; 0 when there is none.
  std::time_t EarliestNotAfter() const {
    std::time_t t = 0;
    for (const Anchor& a : anchors_)
      if (t == 0 || a.not_after < t) t = a.not_after;
    return t;
  }

  struct Anchor {
    std::string subject;
    std::time_t not_after = 0;
    X509Ptr cert;  // the anchor itself (fingerprint, serial for the metrics)
  };
  // Every anchor loaded (in the store's order).
  const std::vector<Anchor>& anchors() const { return anchors_; }

 private:
  X509StorePtr store_;
  int count_ = 0;
  std::vector<Anchor> anchors_;
  std::unique_ptr<ChainCache> chains_ = std::make_unique<ChainCache>(4096);
};

}  // namespace smime

#endif  // SMIME_TRUST_TRUST_STORE_H_
