// trust/online_revocation: revocation status from OCSP and CRLs.
//
// For every certificate of a verified chain except the anchor, the methods
// in `order` are asked in turn until one gives a definite answer (good or
// revoked):
//  - OCSP at the certificate's AIA URL: the response must be signed by the
//    issuing CA or by a responder it delegated (issued by it, with the
//    OCSPSigning EKU); thisUpdate/nextUpdate are checked against the
//    injectable clock (an answer without nextUpdate only for ocsp_max_age
//    after thisUpdate); optional nonce; answers cached in memory and on
//    disk until nextUpdate (or thisUpdate + ocsp_max_age).
//  - CRLs: local crl_files, CRLs at the distribution points (cached on disk
//    under state_dir/crl until nextUpdate, written to a temp file and
//    renamed) and CRLs embedded in the message; only complete CRLs signed
//    by the issuer, current at `now` and whose scope (RFC 5280 6.3.3:
//    issuingDistributionPoint, critical extensions) covers the certificate
//    count, and the newest wins. An embedded CRL counts only next to a
//    CRL from the certificate's own distribution point and when not older;
//    alone it gives kUnknown.
// Every fetch has a timeout (timeout_ms) and a size limit, and a per-URL
// circuit breaker stops asking a responder that keeps failing. Check also
// honours the step's Deadline: each fetch waits at most what is left of it,
// and once it has passed no fetch starts (cached answers, local and
// carried CRLs still count); such a certificate is kUnavailable with
// RevocationResult::deadline set, and a fetch the deadline cut short is not
// held against the responder's breaker. Entry points: Create (loads
// crl_files; a bad file stops start-up with its name), Check (thread-safe),
// RefreshCachedCrls (`smimectl crl fetch`).
#ifndef SMIME_TRUST_ONLINE_REVOCATION_H_
#define SMIME_TRUST_ONLINE_REVOCATION_H_

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/status.h"
#include "trust/circuit_breaker.h"
#include "trust/http_fetch.h"
#include "trust/revocation.h"

namespace smime {

struct RevocationOptions {
  std::vector<std::string> order = {"ocsp", "crl"};
  long timeout_ms = 5000;
  size_t max_size = 1 << 20;
  bool nonce = false;
  long ocsp_max_age = 3600;  // seconds an OCSP answer without nextUpdate is usable
  std::string state_dir;     // caches live in state_dir/crl and state_dir/ocsp
  int breaker_threshold = 3;
  int breaker_cooldown = 60;
  std::vector<std::string> crl_files;
  bool network = true;  // false: never fetch; caches, local and embedded CRLs only
};

class OnlineRevocationChecker final : public RevocationChecker {
 public:
  static Status Create(const RevocationOptions& opts, std::unique_ptr<HttpFetcher> fetcher,
                       std::unique_ptr<OnlineRevocationChecker>* out);

  ChainRevocation Check(STACK_OF(X509) * chain, STACK_OF(X509_CRL) * embedded, std::time_t now,
                        const Deadline& deadline) override;

  // Fetches every CRL in the disk cache again and keeps it when it is
  // signed by the cached issuer and not older; one report line per URL.
  // Returns an Io status when any fetch failed (the others are still done).
  Status RefreshCachedCrls(std::time_t now, std::vector<std::string>* report);

  RevocationStats Stats(std::time_t now) const override;

  using CrlPtr = std::shared_ptr<X509_CRL>;

 private:
  OnlineRevocationChecker(const RevocationOptions& opts, std::unique_ptr<HttpFetcher> fetcher);
  RevocationResult CheckOne(X509* cert, X509* issuer, STACK_OF(X509) * chain,
                            STACK_OF(X509_CRL) * embedded, std::time_t now,
                            const Deadline& deadline);
  RevocationResult ViaOcsp(X509* cert, X509* issuer, STACK_OF(X509) * chain, std::time_t now,
                           const Deadline& deadline);
  RevocationResult ViaCrl(X509* cert, X509* issuer, STACK_OF(X509_CRL) * embedded, std::time_t now,
                          const Deadline& deadline);
  // The current CRL for url (memory, disk, then network); null with *why on
  // failure (*cut_short: because of the deadline).
  CrlPtr CrlForUrl(const std::string& url, X509* issuer, std::time_t now, const Deadline& deadline,
                   bool* from_cache, std::string* why, bool* cut_short);
  Status StoreCrl(const std::string& url, X509_CRL* crl, X509* issuer);

  RevocationOptions opts_;
  std::unique_ptr<HttpFetcher> fetcher_;
  CircuitBreaker breaker_;
  std::atomic<uint64_t> ocsp_failures_{0}, crl_failures_{0}, breaker_refusals_{0};
  std::vector<CrlPtr> local_crls_;

  struct OcspEntry {
    RevocationStatus status;
    std::time_t next_update;
  };
  std::mutex mu_;
  std::map<std::string, CrlPtr> crl_cache_;      // by URL
  std::map<std::string, OcspEntry> ocsp_cache_;  // by hex SHA-256 of the CertID
};

}  // namespace smime

#endif  // SMIME_TRUST_ONLINE_REVOCATION_H_
