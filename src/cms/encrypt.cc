// cms/encrypt: see encrypt.h.
#include "cms/encrypt.h"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>

#include "trust/cert_info.h"

namespace smime {

namespace {

Status Fail(const std::string& what) {
  std::string detail = DrainOpensslErrors();
  return Status::Internal(what + (detail.empty() ? "" : ": " + detail));
}

const EVP_CIPHER* CipherOf(ContentCipher c) {
  switch (c) {
    case ContentCipher::kAes256Gcm: return EVP_aes_256_gcm();
    case ContentCipher::kAes128Gcm: return EVP_aes_128_gcm();
    case ContentCipher::kAes256Cbc: return EVP_aes_256_cbc();
    case ContentCipher::kAes192Cbc: return EVP_aes_192_cbc();
    case ContentCipher::kAes128Cbc: return EVP_aes_128_cbc();
  }
  return EVP_aes_256_cbc();
}

}  // namespace

bool ParseContentCipher(const std::string& name, ContentCipher* out) {
  for (ContentCipher c :
       {ContentCipher::kAes256Gcm, ContentCipher::kAes128Gcm, ContentCipher::kAes256Cbc,
        ContentCipher::kAes192Cbc, ContentCipher::kAes128Cbc})
    if (name == ContentCipherName(c)) {
      *out = c;
      return true;
    }
  return false;
}

const char* ContentCipherName(ContentCipher c) {
  switch (c) {
    case ContentCipher::kAes256Gcm: return "aes256-gcm";
    case ContentCipher::kAes128Gcm: return "aes128-gcm";
    case ContentCipher::kAes256Cbc: return "aes256-cbc";
    case ContentCipher::kAes192Cbc: return "aes192-cbc";
    case ContentCipher::kAes128Cbc: return "aes128-cbc";
  }
  return "?";
}

bool IsAuthenticated(ContentCipher c) {
  return c == ContentCipher::kAes256Gcm || c == ContentCipher::kAes128Gcm;
}

int ContentCipherNid(ContentCipher c) { return EVP_CIPHER_get_nid(CipherOf(c)); }

Status EncryptContent(const std::string& content, const EncryptParams& p, std::string* der) {
  if (p.recipients.empty()) return Status::Internal("encrypt: no recipients");
  if (content.size() > kMaxCmsLength) return Status::Limit("encrypt: content too large");
  const unsigned int flags = CMS_BINARY | CMS_PARTIAL;
  BioPtr in(BIO_new_mem_buf(content.data(), static_cast<int>(content.size())));
  if (!in) return Fail("encrypt: out of memory");
  // An AEAD cipher makes CMS_encrypt build AuthEnvelopedData.
  CmsPtr cms(CMS_encrypt(nullptr, nullptr, CipherOf(p.cipher), flags));
  if (!cms) return Fail("encrypt: cannot create EnvelopedData");
  for (const EncryptRecipient& r : p.recipients) {
    X509* cert = r.cert;
    EVP_PKEY* pub = X509_get0_pubkey(cert);
    const bool oaep = r.rsa == RsaKeyTransport::kOaep && pub && EVP_PKEY_is_a(pub, "RSA");
    CMS_RecipientInfo* ri =
        CMS_add1_recipient_cert(cms.get(), cert, flags | (oaep ? CMS_KEY_PARAM : 0u));
    if (!ri)
      return Fail("encrypt: cannot add recipient " + SubjectText(cert) + " (" +
                  (pub ? EVP_PKEY_get0_type_name(pub) : "no key") + ")");
    if (oaep) {
      EVP_PKEY_CTX* pctx = CMS_RecipientInfo_get0_pkey_ctx(ri);
      if (!pctx || EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
          EVP_PKEY_CTX_set_rsa_oaep_md(pctx, EVP_sha256()) <= 0 ||
          EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) <= 0)
        return Fail("encrypt: cannot select RSAES-OAEP");
    }
    if (CMS_RecipientInfo_type(ri) == CMS_RECIPINFO_AGREE) {
      // RFC 8551 2.7 / RFC 5753: dhSinglePass-stdDH-sha256kdf-scheme; OpenSSL
      // would pick the sha1 KDF when none is set. The key wrap follows the
      // content cipher's key size (aes256-wrap for AES-256).
      EVP_PKEY_CTX* pctx = CMS_RecipientInfo_get0_pkey_ctx(ri);
      if (!pctx || EVP_PKEY_CTX_set_ecdh_kdf_md(pctx, EVP_sha256()) <= 0)
        return Fail("encrypt: cannot select the SHA-256 KDF for " + SubjectText(cert));
    }
  }
  if (CMS_final(cms.get(), in.get(), nullptr, flags) != 1) return Fail("encrypt: failed");
  unsigned char* out = nullptr;
  int len = i2d_CMS_ContentInfo(cms.get(), &out);
  if (len <= 0) return Fail("encrypt: cannot encode");
  der->assign(reinterpret_cast<const char*>(out), static_cast<size_t>(len));
  OPENSSL_free(out);
  return Status::Ok();
}

}  // namespace smime
