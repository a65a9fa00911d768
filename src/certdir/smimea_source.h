// certdir/smimea_source: recipient certificates from DANE SMIMEA records
// (RFC 8162) in DNSSEC-signed DNS.
//
// SmimeaSource asks a validating resolver (libunbound, in-process; it
// forwards to dns_resolver or the system's resolvers and validates from
// dnssec_trust_anchor itself) for the SMIMEA records of an address: owner
// name SHA-256 of the local part (as given, no case folding), first 28
// octets in hex, then "._smimecert." and the domain in A-label form.
// Only answers that validate (secure) are used; a bogus answer (signature
// check failed) and an insecure one (zone unsigned or no chain of trust to
// the anchor) are never used: they come back as refused candidates that
// say why, for `smimectl cert lookup` and the log. NXDOMAIN or no record is
// "nothing found". Large answers are retried over TCP by libunbound when
// the UDP answer is truncated.
//
// What a record gives (docs/dane.md): a full certificate (selector 0,
// matching 0) with usage DANE-EE (3) is a candidate bound to the address by
// DNS (CertCandidate::dane_ee: no CA, no name check), with PKIX-EE (1) a
// candidate that must also pass the chain rules. Every other record
// (hashes, SPKI, trust-anchor usages 0 and 2) cannot supply a certificate:
// it comes back as a confirmation (a candidate without certificate whose
// dane records the directory matches against candidates from other
// sources; DANE-TA records also serve as anchors there). All candidates
// have trust CertTrust::kDane, source "dane".
//
// Entry points: SmimeaOptionsFromConfig (parameters dns_resolver,
// dnssec_trust_anchor, dns_timeout), SmimeaSource::Create, Find (per
// recipient, many threads at once). Only domains with smimea = yes ask it
// (CertSource::OptIn).
//
// Failure modes: a resolver that is down, SERVFAIL without a validation
// failure, or no answer within dns_timeout (or what is left of the step's
// Deadline) is a non-OK Status: the engine defers (451) rather than treat
// the recipient as having no certificate. Secure, bogus and insecure
// answers are cached for their TTL (at most kMaxTtl s, bogus and insecure
// at most kMaxNegativeTtl s; at most kCacheEntries owner names); failures are
// not cached and kBreakerThreshold of them in a row make lookups fail at
// once for kBreakerCooldown s.
#ifndef SMIME_CERTDIR_SMIMEA_SOURCE_H_
#define SMIME_CERTDIR_SMIMEA_SOURCE_H_

#include <atomic>
#include <cstdint>
#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "certdir/cert_source.h"
#include "trust/circuit_breaker.h"

namespace smime {

class Config;

struct SmimeaOptions {
  std::vector<std::string> resolvers;  // "ADDR" or "ADDR@PORT"; empty = /etc/resolv.conf
  std::string trust_anchor_file = "/usr/share/dns/root.key";
  int timeout_ms = 5000;
};

// dns_resolver, dnssec_trust_anchor, dns_timeout to *out; errors are
// Status::Config "origin: NAME: reason".
Status SmimeaOptionsFromConfig(const Config& config, SmimeaOptions* out);

// RFC 8162 owner name of address (local@domain, domain in A-label form):
// "<56 hex digits>._smimecert.<domain>"; "" when address has no '@'.
std::string SmimeaOwnerName(const std::string& address);

// One SMIMEA record's RDATA parsed; InvalidInput when shorter than 4 octets.
Status ParseSmimeaRdata(const std::string& rdata, DaneRecord* out);

// "" when the record's data matches cert (selector 0 the DER certificate,
// 1 its DER SubjectPublicKeyInfo; matching 0 exact, 1 SHA-256, 2 SHA-512),
// else why not (also for unknown selector or matching types).
std::string DaneMismatch(const DaneRecord& record, X509* cert);

// "usage 3 selector 0 matching 0" style description.
std::string DescribeDaneRecord(const DaneRecord& record);

// The outcome of one query, before the cache.
struct SmimeaAnswer {
  enum class Kind { kSecure, kBogus, kInsecure };
  Kind kind = Kind::kSecure;
  std::string why;                  // bogus/insecure: the reason
  std::vector<std::string> rdatas;  // SMIMEA RDATA (empty: NXDOMAIN / no record)
  int ttl = 0;
};

// Replaces libunbound (tests): answers one owner name within timeout_ms.
using SmimeaQueryFn =
    std::function<Status(const std::string& owner, long timeout_ms, SmimeaAnswer* out)>;

class SmimeaSource final : public CertSource {
 public:
  static constexpr int kMaxTtl = 3600;
  static constexpr int kMaxNegativeTtl = 300;
  static constexpr size_t kCacheEntries = 10000;
  static constexpr int kBreakerThreshold = 3;
  static constexpr int kBreakerCooldown = 30;

  // Checks the options (resolver addresses, the anchor file is readable);
  // does not query. clock: nullptr = system clock; query: nullptr = libunbound.
  static Status Create(const SmimeaOptions& options, std::unique_ptr<SmimeaSource>* out,
                       const Clock* clock = nullptr, SmimeaQueryFn query = nullptr);
  ~SmimeaSource() override;

  const char* Name() const override { return "dane"; }
  bool OptIn() const override { return true; }
  Status Find(const std::string& address, const Deadline& deadline,
              std::vector<CertCandidate>* out) const override;

  struct Pool;  // libunbound contexts (smimea_source.cc)

 private:
  SmimeaSource(const SmimeaOptions& options, const Clock* clock, SmimeaQueryFn query);
  Status Resolve(const std::string& owner, long timeout_ms, SmimeaAnswer* out) const;

  struct CacheSlot {
    SmimeaAnswer answer;
    std::time_t expires = 0;
  };
  const SmimeaOptions options_;
  SystemClock system_clock_;
  const Clock* clock_;
  SmimeaQueryFn query_;
  std::unique_ptr<Pool> pool_;
  mutable std::mutex cache_mu_;
  mutable std::map<std::string, CacheSlot> cache_;
  mutable CircuitBreaker breaker_;
};

}  // namespace smime

#endif  // SMIME_CERTDIR_SMIMEA_SOURCE_H_
