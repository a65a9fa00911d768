// certdir/ldap_source: recipient certificates from an LDAP directory.
//
// LdapSource asks a directory (OpenLDAP's libldap: OpenLDAP, Active
// Directory, any LDAPv3 server) for the entries whose filter (ldap_filter,
// "%s" replaced by the address with its domain in IDNA2008 A-label form,
// "bob@xn--bcher-kva.example" for bob@bücher.example, the local part as
// given; escaped per RFC 4515) matches under
// ldap_base, and returns the certificates in their certificate attributes:
// userCertificate;binary holds one DER certificate, userSMIMECertificate a
// PKCS#7/CMS certs-only SignedData (certificates are taken out of it; CA
// certificates in it are left out); PEM values are accepted too. Candidates
// have trust CertTrust::kDirectory, source "ldap" and origin "ldap: DN".
//
// Entry points: LdapOptionsFromConfig (start-up/reload: parameters ldap_* to
// options, errors name file:line), LdapSource::Create (reads the bind
// password file) and Find/Lookup (per recipient, from many threads at once,
// each within the milter step's Deadline).
// Connections are kept in a small pool (one per concurrent lookup, idle ones
// reused; a connection that failed is dropped and the next lookup connects
// again, trying the URIs in order). Answers are cached, found ones for
// cache_ttl and "nothing found" for negative_cache_ttl seconds, at most
// cache_size addresses, so a fleet of MTAs does not hammer the directory.
//
// Failure modes: a directory that is down, refuses the bind or the search,
// or does not answer within timeout_ms (connect, StartTLS, bind and search
// together) gives a non-OK Status within that deadline, never a hang; it is
// not cached. A lookup waits at most what is left of the step's Deadline
// (when that is less than timeout_ms) and none is started once it has
// passed; such failures say "deadline reached" and, not being the
// directory's fault, do not count for the breaker. After breaker_threshold
// other failures in a row, lookups fail at once for breaker_cooldown
// seconds. An attribute value that is not a certificate is skipped
// (LdapLookupInfo::notes, LdapStats::malformed_values) and the others are
// still returned; a size-limited answer is used as far as
// it goes (LdapLookupInfo::truncated). Write errors on a closed connection
// can raise SIGPIPE: the process must ignore it (libmilter does).
#ifndef SMIME_CERTDIR_LDAP_SOURCE_H_
#define SMIME_CERTDIR_LDAP_SOURCE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/ossl.h"
#include "base/status.h"
#include "certdir/cert_source.h"
#include "trust/circuit_breaker.h"

namespace smime {

class Config;

struct LdapOptions {
  std::vector<std::string> uris;     // ldap://, ldaps://, ldapi://, tried in order; empty = off
  std::string base;                  // search base DN (subtree search)
  std::string filter = "(mail=%s)";  // every %s is replaced by the escaped address
  std::vector<std::string> attributes = {"userCertificate;binary", "userSMIMECertificate"};
  std::string bind_dn;             // "" = anonymous
  std::string bind_password_file;  // with bind_dn; first line, mode 0600 (ReadSecretFile)
  bool starttls = false;           // StartTLS on ldap:// (TLS settings from ldap.conf)
  int timeout_ms = 5000;           // one lookup: connect, StartTLS, bind and search
  int size_limit = 20;             // most entries per search
  int cache_ttl = 3600;            // seconds a found answer is reused; 0 = not cached
  int negative_cache_ttl = 300;    // seconds "nothing found" is reused; 0 = not cached
  size_t cache_size = 10000;       // most cached addresses; 0 = no cache
  int breaker_threshold = 3;       // failures in a row that make lookups fail at once
  int breaker_cooldown = 30;       // seconds they do so; 0 = never
};

// Parameters ldap_* to *out. ldap_uri empty means LDAP is off: *out gets
// no URIs and the result is OK. Errors are Status::Config "file:line:
// ldap_NAME: reason" (the origin of the offending value).
Status LdapOptionsFromConfig(const Config& config, LdapOptions* out);

// RFC 4515 assertion value escaping: '*', '(', ')', '\\', NUL and every
// byte outside printable ASCII become \XX (two lower-case hex digits).
std::string EscapeLdapFilterValue(const std::string& value);

// The filter template with every "%s" replaced by the escaped address.
std::string BuildLdapFilter(const std::string& filter_template, const std::string& address);

// Appends the certificates in one attribute value to *out: a DER
// certificate, a DER PKCS#7/CMS SignedData (certs-only, as in
// userSMIMECertificate; only end-entity certificates are kept) or PEM
// certificates. A value that is none of these, has trailing bytes or holds
// no certificate gives InvalidInput with the reason and appends nothing.
Status DecodeLdapCertificates(const std::string& value, std::vector<X509Ptr>* out);

// One directory answer, undecoded: what a search returns.
struct LdapEntry {
  std::string dn;
  std::vector<std::pair<std::string, std::string>> values;  // attribute name, raw value
};
struct LdapSearchResult {
  std::vector<LdapEntry> entries;
  bool truncated = false;  // size limit reached: more entries matched
};
// Runs one search with the given filter, waiting at most timeout_ms (the
// lookup's timeout, shortened to what is left of the step's deadline); used
// by tests in place of the network.
using LdapSearchFn =
    std::function<Status(const std::string& filter, long timeout_ms, LdapSearchResult* out)>;

// How one Lookup went (for smimectl and logs).
struct LdapLookupInfo {
  bool cached = false;             // answered from the cache
  bool truncated = false;          // the size limit cut the answer short
  std::vector<std::string> notes;  // "DN: ATTRIBUTE: value N skipped: reason", ...
};

// Upper bounds (seconds) of the directory search latency histogram.
constexpr double kLdapLatencyBuckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
constexpr size_t kLdapLatencyBucketCount = sizeof(kLdapLatencyBuckets) / sizeof(double);

// Totals since Create; read with Stats().
struct LdapStats {
  uint64_t searches = 0;          // directory searches started
  uint64_t cache_hits = 0;        // answers from the cache (found)
  uint64_t negative_hits = 0;     // answers from the cache (nothing found)
  uint64_t failures = 0;          // lookups that returned a non-OK Status
  uint64_t malformed_values = 0;  // attribute values skipped
  // Directory searches (not cache answers) by wall time, failed ones too:
  // latency_le[i] counts those that took at most kLdapLatencyBuckets[i] s
  // (cumulative, as Prometheus histograms are).
  uint64_t latency_le[kLdapLatencyBucketCount] = {};
  uint64_t latency_count = 0;
  double latency_sum_seconds = 0;
  size_t breakers_open = 0;       // servers the breaker refuses now (0 or 1: one per source)
  uint64_t breaker_refusals = 0;  // lookups not asked: the breaker was open
};

// A bounded TTL cache of lookup answers by address (mime/rcpt_address
// AddressForm, so both spellings of a domain share one entry). When full,
// expired entries go first, then the least recently used. Thread-safe.
class LdapResultCache {
 public:
  struct Cert {
    X509Ptr cert;
    std::string dn;
    std::time_t seen = 0;  // when the directory returned it
  };
  explicit LdapResultCache(size_t max_entries) : max_entries_(max_entries) {}

  // True (and a copy of the certificates in *out) when key is cached and
  // not expired at now; an empty *out is a cached "nothing found".
  bool Get(const std::string& key, std::time_t now, std::vector<Cert>* out);
  void Put(const std::string& key, const std::vector<Cert>& certs, std::time_t expires,
           std::time_t now);
  size_t size() const;

 private:
  struct Slot {
    std::vector<Cert> certs;
    std::time_t expires = 0;
    std::list<std::string>::iterator lru;  // position in lru_ (front = most recent)
  };
  const size_t max_entries_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Slot> slots_;
  std::list<std::string> lru_;
};

class LdapSource final : public CertSource {
 public:
  // Checks the options, reads the bind password file (ReadSecretFile in
  // base/safe_file.h). Does not contact the directory. clock (not owned,
  // must outlive the source; nullptr = system clock) times the cache and
  // the breaker; search replaces the network (tests; nullptr = libldap).
  static Status Create(const LdapOptions& options, std::unique_ptr<LdapSource>* out,
                       const Clock* clock = nullptr, LdapSearchFn search = nullptr);
  ~LdapSource() override;

  const char* Name() const override { return "ldap"; }
  Status Find(const std::string& address, const Deadline& deadline,
              std::vector<CertCandidate>* out) const override;
  // Find, and how it went in *info (may be nullptr).
  Status Lookup(const std::string& address, std::vector<CertCandidate>* out, LdapLookupInfo* info,
                const Deadline& deadline = Deadline()) const;
  LdapStats Stats() const;

  struct Pool;  // libldap connections (ldap_source.cc)

 private:
  LdapSource(const LdapOptions& options, const Clock* clock, LdapSearchFn search);
  Status SearchDirectory(const std::string& filter, long timeout_ms, LdapSearchResult* out) const;

  const LdapOptions options_;
  std::string password_;  // cleansed in the destructor
  SystemClock system_clock_;
  const Clock* clock_;
  LdapSearchFn search_;
  std::unique_ptr<Pool> pool_;
  mutable LdapResultCache cache_;
  mutable CircuitBreaker breaker_;
  mutable std::atomic<uint64_t> searches_{0}, cache_hits_{0}, negative_hits_{0}, failures_{0},
      malformed_{0}, breaker_refusals_{0}, latency_count_{0}, latency_sum_us_{0};
  mutable std::atomic<uint64_t> latency_le_[kLdapLatencyBucketCount] = {};
};

}  // namespace smime

#endif  // SMIME_CERTDIR_LDAP_SOURCE_H_
