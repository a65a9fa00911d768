// trust/chain_cache: see chain_cache.h.
#include "trust/chain_cache.h"

#include <openssl/evp.h>

#include "cms/cert_cache.h"
#include "trust/cert_info.h"

namespace smime {

namespace {

// SHA-256 of x's DER (remembered on certificates from cms/cert_cache).
bool AppendDigest(X509* x, std::string* key) {
  unsigned char md[32];
  if (!CertSha256(x, md)) return false;
  key->append(reinterpret_cast<const char*>(md), sizeof md);
  return true;
}

}  // namespace

std::string ChainCache::KeyOf(X509* leaf, STACK_OF(X509) * untrusted) {
  std::string key;
  if (!AppendDigest(leaf, &key)) {
    DrainOpensslErrors();
    return "";
  }
  for (int i = 0; untrusted && i < sk_X509_num(untrusted); ++i) {
    if (!AppendDigest(sk_X509_value(untrusted, i), &key)) {
      DrainOpensslErrors();
      return "";
    }
  }
  return key;
}

X509StackPtr ChainCache::Find(const std::string& key, std::time_t now) const {
  if (key.empty()) return nullptr;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = map_.find(key);
  if (it == map_.end() || now < it->second.from || now >= it->second.until) return nullptr;
  return X509StackPtr(X509_chain_up_ref(it->second.chain.get()));
}

void ChainCache::Store(const std::string& key, STACK_OF(X509) * chain) {
  if (key.empty() || !chain || sk_X509_num(chain) == 0) return;
  Entry e;
  for (int i = 0; i < sk_X509_num(chain); ++i) {
    X509* x = sk_X509_value(chain, i);
    std::time_t nb = ToTimeT(X509_get0_notBefore(x)), na = ToTimeT(X509_get0_notAfter(x));
    if (nb == 0 || na == 0) return;  // a time we cannot read: never cached
    if (i == 0 || nb > e.from) e.from = nb;
    if (i == 0 || na < e.until) e.until = na;
  }
  if (e.from >= e.until) return;
  e.chain.reset(X509_chain_up_ref(chain));
  if (!e.chain) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (map_.count(key)) return;
  while (map_.size() >= capacity_ && !order_.empty()) {
    map_.erase(order_.front());
    order_.pop_front();
  }
  order_.push_back(key);
  map_.emplace(key, std::move(e));
}

size_t ChainCache::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return map_.size();
}

}  // namespace smime
