// base/ossl: RAII owners for OpenSSL objects and the error queue as text.
#ifndef SMIME_BASE_OSSL_H_
#define SMIME_BASE_OSSL_H_

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <memory>
#include <string>

namespace smime {

// Longest buffer handed to OpenSSL's int-length functions (BIO_new_mem_buf,
// BIO_write, d2i): max_message_size is capped below it, and each CMS entry
// point refuses more rather than truncating a length.
constexpr size_t kMaxCmsLength = size_t{1} << 30;

template <typename T, void (*F)(T*)>
struct OsslDeleter {
  void operator()(T* p) const { F(p); }
};

inline void FreeX509Stack(STACK_OF(X509) * s) { sk_X509_pop_free(s, X509_free); }

using BioPtr = std::unique_ptr<BIO, OsslDeleter<BIO, BIO_free_all>>;
using X509Ptr = std::unique_ptr<X509, OsslDeleter<X509, X509_free>>;
using X509StorePtr = std::unique_ptr<X509_STORE, OsslDeleter<X509_STORE, X509_STORE_free>>;
using X509StoreCtxPtr =
    std::unique_ptr<X509_STORE_CTX, OsslDeleter<X509_STORE_CTX, X509_STORE_CTX_free>>;
using X509StackPtr = std::unique_ptr<STACK_OF(X509), OsslDeleter<STACK_OF(X509), FreeX509Stack>>;
using CmsPtr = std::unique_ptr<CMS_ContentInfo, OsslDeleter<CMS_ContentInfo, CMS_ContentInfo_free>>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, OsslDeleter<EVP_PKEY, EVP_PKEY_free>>;

// Drains OpenSSL's thread-local error queue into one line ("" when empty).
// Call after every failed OpenSSL call so errors never leak into the next
// message's diagnostics.
std::string DrainOpensslErrors();

}  // namespace smime

#endif  // SMIME_BASE_OSSL_H_
