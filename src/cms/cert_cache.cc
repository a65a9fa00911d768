// cms/cert_cache: see cert_cache.h.
#include "cms/cert_cache.h"

#include <openssl/evp.h>

#include <climits>
#include <cstring>

namespace smime {

namespace {

constexpr size_t kSha256 = 32;

int DupDigest(CRYPTO_EX_DATA*, const CRYPTO_EX_DATA*, void** from, int, long, void*) {
  if (*from == nullptr) return 1;
  void* copy = OPENSSL_memdup(*from, kSha256);
  *from = copy;
  return copy != nullptr;
}

void FreeDigest(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) { OPENSSL_free(ptr); }

// The X509 ex_data slot of the remembered digest (-1: none to be had).
int DigestIndex() {
  static const int index = X509_get_ex_new_index(0, nullptr, nullptr, DupDigest, FreeDigest);
  return index;
}

bool ComputeSha256(X509* x, unsigned char out[32]) {
  unsigned int len = 0;
  return x && X509_digest(x, EVP_sha256(), out, &len) == 1 && len == kSha256;
}

}  // namespace

bool CertSha256(X509* x, unsigned char out[32]) {
  const int index = DigestIndex();
  if (x && index >= 0) {
    if (const void* d = X509_get_ex_data(x, index)) {
      std::memcpy(out, d, kSha256);
      return true;
    }
  }
  return ComputeSha256(x, out);
}

CertCache& CertCache::Shared() {
  static CertCache* cache = new CertCache(4096);  // never destroyed: used until exit
  return *cache;
}

X509Ptr CertCache::Parse(const unsigned char* der, size_t len) {
  if (der == nullptr || len == 0 || len > static_cast<size_t>(LONG_MAX)) return nullptr;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (EVP_Digest(der, len, md, &md_len, EVP_sha256(), nullptr) != 1) {
    DrainOpensslErrors();
    return nullptr;
  }
  std::string key(reinterpret_cast<const char*>(md), md_len);
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = map_.find(key);
    if (it != map_.end() && it->second.der.size() == len &&
        it->second.der.compare(0, len, reinterpret_cast<const char*>(der), len) == 0) {
      ++hits_;
      lru_.splice(lru_.begin(), lru_, it->second.lru);
      X509_up_ref(it->second.cert.get());
      return X509Ptr(it->second.cert.get());
    }
    ++misses_;
  }
  const unsigned char* p = der;
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(len)));
  if (!cert || p != der + len) {
    DrainOpensslErrors();
    return nullptr;
  }
  // Not yet shared: its digest (X509_digest's own answer) can be attached.
  unsigned char digest[kSha256];
  const int index = DigestIndex();
  if (index >= 0 && ComputeSha256(cert.get(), digest)) {
    void* copy = OPENSSL_memdup(digest, kSha256);
    if (copy && X509_set_ex_data(cert.get(), index, copy) != 1) OPENSSL_free(copy);
  }
  DrainOpensslErrors();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = map_.find(key);
  if (it != map_.end()) {  // another thread parsed it meanwhile (or a digest collision): keep ours
    return cert;
  }
  if (map_.size() >= capacity_) {
    map_.erase(lru_.back());
    lru_.pop_back();
  }
  lru_.push_front(key);
  X509_up_ref(cert.get());
  Entry e{std::string(reinterpret_cast<const char*>(der), len), X509Ptr(cert.get()), lru_.begin()};
  map_.emplace(std::move(key), std::move(e));
  return cert;
}

size_t CertCache::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return map_.size();
}

size_t CertCache::hits() const {
  std::lock_guard<std::mutex> lock(mu_);
  return hits_;
}

size_t CertCache::misses() const {
  std::lock_guard<std::mutex> lock(mu_);
  return misses_;
}

}  // namespace smime
