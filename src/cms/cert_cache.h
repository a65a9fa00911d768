// cms/cert_cache: parsed certificates shared by their DER bytes.
//
// OpenSSL 3.0 spends most of a certificate's parse turning its public key
// into an EVP_PKEY (the provider decoders): for a signed message with a chain
// of three, more than the signature checks (docs/performance.md). Every
// message of a correspondent carries the same certificates, and the
// certificate store hands out the same rows again and again, so the parsed
// X509 is kept and shared: CertCache::Parse() returns a new reference to the
// object parsed earlier from exactly the same bytes (looked up by SHA-256,
// confirmed by comparing the bytes), parsing only on a miss.
//
// Content-addressed, so nothing ever needs invalidating: the same bytes give
// the same certificate (a store change or a revocation changes what callers
// ask for, not what the bytes mean). Sharing is safe because callers only
// read certificates (OpenSSL caches extension flags under its own lock, as
// it does for trust-store certificates used by many threads). Bounded: the
// least recently used entry goes when the cache is full; an entry still
// referenced elsewhere lives on there. Thread-safe (one mutex around the
// map; the parse itself runs outside it).
// Failure: bytes that are not exactly one certificate give null (never
// cached).
#ifndef SMIME_CMS_CERT_CACHE_H_
#define SMIME_CMS_CERT_CACHE_H_

#include <cstddef>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>

#include "base/ossl.h"

namespace smime {

// The SHA-256 of x's DER, exactly as X509_digest gives it, into out (32
// bytes). Certificates this cache parsed carry it from their parse (set
// before the object is shared, read-only after): a message's certificates
// are hashed for several keys (the chain cache's among them), and hashing
// means encoding the certificate again. False when OpenSSL fails.
bool CertSha256(X509* x, unsigned char out[32]);

class CertCache {
 public:
  explicit CertCache(size_t capacity) : capacity_(capacity > 0 ? capacity : 1) {}
  CertCache(const CertCache&) = delete;
  CertCache& operator=(const CertCache&) = delete;

  // The process-wide cache (4096 certificates) used by cms/ and certdir/.
  static CertCache& Shared();

  // A reference to the certificate that is exactly der[0..len), or null.
  X509Ptr Parse(const unsigned char* der, size_t len);

  size_t size() const;
  size_t hits() const;
  size_t misses() const;

 private:
  struct Entry {
    std::string der;
    X509Ptr cert;
    std::list<std::string>::iterator lru;  // position of the key in lru_
  };
  const size_t capacity_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> map_;  // key: SHA-256 of the DER
  std::list<std::string> lru_;                  // keys, most recent first
  size_t hits_ = 0, misses_ = 0;
};

}  // namespace smime

#endif  // SMIME_CMS_CERT_CACHE_H_
