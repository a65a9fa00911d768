// trust/aia_fetch: missing issuers fetched from a certificate's AIA
// caIssuers URL (RFC 5280 4.2.2.1), as path hints only.
//
// The URL comes from a certificate nobody has verified yet, so it is chosen
// by whoever sent the message. AiaFetcher therefore asks only http URLs,
// never follows a redirect, speaks to no proxy, refuses every address that
// is not public (loopback, private, link-local, unique-local, shared
// 100.64/10, multicast, unspecified, reserved; IPv4 inside IPv6 judged as
// the IPv4 address) unless an administrator listed it (aia_allow_networks),
// and checks the address curl actually connects to, after DNS resolution
// (http_fetch connect_check), so DNS rebinding cannot get past. Answers are
// limited in size (aia_max_size) and time (revocation_timeout, and the
// milter step's Deadline), a per-URL circuit breaker stops asking a server
// that keeps failing, and the caller gives each message a budget of one
// request. A DER certificate or a certs-only CMS/PKCS#7 bundle (.p7c) is
// accepted; only certificates that issued the asking certificate (name and
// signature, X509_check_issued) are kept and cached by URL (at most
// kCacheEntries URLs, each for kCacheSeconds). What comes back is never an
// anchor: the caller adds it to the untrusted hints and every path rule
// still applies (docs/verification.md, "Issuers fetched from AIA").
//
// Entry points: ParseNetworks (base/ip_network; start-up: aia_allow_networks), AddressProblem
// (the connect check, also for tests), AiaFetcher::IssuersOf (per message,
// thread-safe), AiaFetcher::Stats (the metrics: requests, failures by
// outcome, cache hits, the breakers). Failures never stop anything: the outcome says what
// happened (e.g. "refused", "too-large") and the chain stays incomplete.
#ifndef SMIME_TRUST_AIA_FETCH_H_
#define SMIME_TRUST_AIA_FETCH_H_

#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <ctime>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/deadline.h"
#include "base/ip_network.h"
#include "base/ossl.h"
#include "base/status.h"
#include "trust/circuit_breaker.h"
#include "trust/http_fetch.h"

namespace smime {

// Why the fetcher must not connect to sa ("" when it may): the address in
// words and its kind, e.g. "127.0.0.1 is loopback". An IPv4-mapped,
// IPv4-compatible, NAT64 (64:ff9b::/96) or 6to4 address is judged by its
// IPv4 address; Teredo and local-use NAT64 (64:ff9b:1::/48) are refused. An address inside allow is
// accepted whatever its kind.
std::string AddressProblem(const struct sockaddr* sa, const std::vector<IpNetwork>& allow);

struct AiaOptions {
  bool enabled = true;  // aia_fetch
  bool network = true;  // revocation_network: no means cache only
  long timeout_ms = 5000;
  size_t max_size = 65536;
  std::vector<IpNetwork> allow;
  int breaker_threshold = 3;
  int breaker_cooldown = 60;
};

struct AiaResult {
  // "" (the certificate names no caIssuers URL), "cached", "fetched",
  // "off" (aia_fetch = no), "no-network" (revocation_network = no),
  // "budget" (this message already made its request), "refused" (scheme,
  // address, redirect), "too-large", "failed", "breaker-open", "deadline",
  // "no-issuer" (the answer held no certificate that issued this one).
  std::string outcome;
  std::string url;     // the URL asked (or found in the cache, or refused)
  std::string why;     // for a failure or refusal: what happened, in words
  std::string detail;  // url, then ": " and why when there is one
  std::vector<X509Ptr> issuers;
};

// Totals since creation and the breakers now, for the metrics
// (milter/metrics). A request is counted once, in fetches, and when it gave
// no issuer once more under its outcome in failures.
struct AiaStats {
  uint64_t fetches = 0;           // HTTP requests made (a message's budget spent)
  uint64_t failed = 0;            // outcome "failed": network, HTTP status, no answer
  uint64_t refused = 0;           // "refused" after the request started (address, redirect)
  uint64_t too_large = 0;         // "too-large"
  uint64_t deadline = 0;          // "deadline": the message's deadline cut it short
  uint64_t no_issuer = 0;         // "no-issuer": an answer without this certificate's issuer
  uint64_t cache_hits = 0;        // "cached": answered from the cache, no request
  uint64_t breaker_refusals = 0;  // "breaker-open": not asked, the URL's breaker was open
  size_t breakers_open = 0;       // URLs whose breaker refuses now
  size_t breakers_half_open = 0;  // URLs whose next request probes
  uint64_t breaker_opens = 0;     // times a breaker opened
};

class AiaFetcher {
 public:
  static constexpr size_t kCacheEntries = 256;
  static constexpr long kCacheSeconds = 86400;
  static constexpr int kMaxUrls = 4;  // caIssuers URLs looked at per certificate

  AiaFetcher(AiaOptions opts, std::unique_ptr<HttpFetcher> fetcher);

  // Issuers of cert from its caIssuers URLs: a cached answer for any of
  // them, else one request to the first http URL when *budget > 0 (which
  // it then decrements, whatever the result).
  AiaResult IssuersOf(X509* cert, std::time_t now, const Deadline& deadline, int* budget);

  const AiaOptions& options() const { return opts_; }

  AiaStats Stats(std::time_t now) const;

 private:
  struct Entry {
    std::time_t fetched = 0;
    std::vector<std::shared_ptr<X509>> certs;
  };
  // The certificates of a DER certificate or certs-only bundle that issued cert.
  static std::vector<X509Ptr> IssuersIn(const std::string& body, X509* cert, bool* parsed);
  bool Cached(const std::string& url, X509* cert, std::time_t now, std::vector<X509Ptr>* out);
  void Remember(const std::string& url, const std::vector<X509Ptr>& certs, std::time_t now);

  AiaOptions opts_;
  std::unique_ptr<HttpFetcher> fetcher_;
  CircuitBreaker breaker_;
  std::mutex mu_;
  std::map<std::string, Entry> cache_;  // by URL
  // For Stats(); relaxed counters, read without a lock.
  std::atomic<uint64_t> fetches_{0}, failed_{0}, refused_{0}, too_large_{0}, deadline_{0},
      no_issuer_{0}, cache_hits_{0}, breaker_refusals_{0};
};

}  // namespace smime

#endif  // SMIME_TRUST_AIA_FETCH_H_
