// trust/chain_cache: verified certificate paths, reused while they hold.
//
// X509_verify_cert costs a signature check per link; every message of a
// correspondent asks for the same path again. ChainCache keeps the chain of
// a SUCCESSFUL verification under a key made of the SHA-256 digests of the
// leaf's and every path hint's DER (in order), and gives it back only while
// the time asked for lies inside every certificate's validity in that chain
// (the latest notBefore up to, not including, the earliest notAfter, as
// OpenSSL compares them). Failures are never kept: they are verified again
// (and their reason depends on the time). Revocation is not part of a chain
// here: it is checked on every use by trust/revocation with its own caches.
// One cache belongs to one TrustStore (immutable anchors), so a reload
// starts empty. Bounded (the oldest entry goes first), thread-safe.
#ifndef SMIME_TRUST_CHAIN_CACHE_H_
#define SMIME_TRUST_CHAIN_CACHE_H_

#include <cstddef>
#include <ctime>
#include <deque>
#include <map>
#include <mutex>
#include <string>

#include "base/ossl.h"

namespace smime {

class ChainCache {
 public:
  explicit ChainCache(size_t capacity) : capacity_(capacity > 0 ? capacity : 1) {}

  // The key for leaf and untrusted (may be null); "" when a digest fails
  // (then nothing is cached).
  static std::string KeyOf(X509* leaf, STACK_OF(X509) * untrusted);

  // A new reference to the chain stored under key if now lies within every
  // certificate's validity in it; null otherwise.
  X509StackPtr Find(const std::string& key, std::time_t now) const;

  // Keeps chain (leaf first, anchor last), verified at some time inside its
  // window, under key.
  void Store(const std::string& key, STACK_OF(X509) * chain);

  size_t size() const;

 private:
  struct Entry {
    X509StackPtr chain;
    std::time_t from = 0;   // latest notBefore: valid from here
    std::time_t until = 0;  // earliest notAfter: invalid from here on
  };
  const size_t capacity_;
  mutable std::mutex mu_;
  std::map<std::string, Entry> map_;
  std::deque<std::string> order_;  // insertion order, for eviction
};

}  // namespace smime

#endif  // SMIME_TRUST_CHAIN_CACHE_H_
