// cms/encrypt: see encrypt.h.
#include "cms/encrypt.h"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "base/text.h"
#include "cms/der_splice.h"
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

// A write-only BIO handing what it gets to the CiphertextSink in its data
// pointer: the ciphertext lands where the caller wants it (a string, a
// spool file), not in a memory BIO that i2d would copy again. A sink that
// fails makes the write fail, and so the encryption.
int SinkWrite(BIO* b, const char* data, int len) {
  if (len < 0) return -1;
  const auto* out = static_cast<const CiphertextSink*>(BIO_get_data(b));
  return (*out)(std::string_view(data, static_cast<size_t>(len))) ? len : -1;
}

long SinkCtrl(BIO*, int cmd, long, void*) { return cmd == BIO_CTRL_FLUSH ? 1 : 0; }

int SinkCreate(BIO* b) {
  BIO_set_init(b, 1);
  return 1;
}

const BIO_METHOD* SinkMethod() {
  static const std::unique_ptr<BIO_METHOD, void (*)(BIO_METHOD*)> method(
      [] {
        BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "string sink");
        if (m && (BIO_meth_set_write(m, SinkWrite) != 1 || BIO_meth_set_ctrl(m, SinkCtrl) != 1 ||
                  BIO_meth_set_create(m, SinkCreate) != 1)) {
          BIO_meth_free(m);
          m = nullptr;
        }
        return m;
      }(),
      BIO_meth_free);
  return method.get();
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

namespace {

// Encrypts what content emits; the ciphertext goes to out (*out_size bytes
// of it), and the ContentInfo is *prefix + that ciphertext + *suffix.
Status Envelope(const ContentWriter& content, size_t size, const EncryptParams& p,
                const CiphertextSink& out, size_t* out_size, std::string* prefix,
                std::string* suffix) {
  if (p.recipients.empty()) return Status::Internal("encrypt: no recipients");
  if (size > kMaxCmsLength) return Status::Limit("encrypt: content too large");
  const unsigned int flags = CMS_BINARY | CMS_PARTIAL;
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
  // CMS_final() in its parts, with our sink under the cipher: the
  // ciphertext is put back around the DER by SplitDerAround.
  const BIO_METHOD* method = SinkMethod();
  BIO* sink = method ? BIO_new(method) : nullptr;
  if (!sink) return Fail("encrypt: out of memory");
  size_t produced = 0;
  const CiphertextSink counted = [&](std::string_view piece) {
    produced += piece.size();
    return out(piece);
  };
  BIO_set_data(sink, const_cast<CiphertextSink*>(&counted));
  BioPtr chain(CMS_dataInit(cms.get(), sink));
  if (!chain) {
    BIO_free(sink);
    return Fail("encrypt: cannot start the content");
  }
  size_t written = 0;
  const bool ok = content([&](std::string_view piece) {
    for (size_t at = 0; at < piece.size();) {
      const int n = static_cast<int>(std::min<size_t>(piece.size() - at, 1 << 20));
      if (BIO_write(chain.get(), piece.data() + at, n) != n) return false;
      at += static_cast<size_t>(n);
    }
    written += piece.size();
    return true;
  });
  if (!ok || written > kMaxCmsLength) {
    return ok ? Status::Limit("encrypt: content too large")
              : Fail("encrypt: cannot write the content");
  }
  if (BIO_flush(chain.get()) != 1) return Fail("encrypt: cannot finish the content");
  ASN1_OCTET_STRING** slot = CMS_get0_content(cms.get());
  if (!slot || CMS_set_detached(cms.get(), 1) != 1 || CMS_dataFinal(cms.get(), chain.get()) != 1)
    return Fail("encrypt: failed");
  *out_size = produced;
  return SplitDerAround(cms.get(), slot, produced, prefix, suffix);
}

CiphertextSink AppendTo(std::string* s) {
  return [s](std::string_view piece) {
    s->append(piece);
    return true;
  };
}

}  // namespace

Status EncryptToSink(const ContentWriter& content, size_t size, const EncryptParams& p,
                     const CiphertextSink& out, std::string* prefix, std::string* suffix) {
  size_t n = 0;
  return Envelope(content, size, p, out, &n, prefix, suffix);
}

Status EncryptContent(const std::string& content, const EncryptParams& p, std::string* der) {
  std::string ciphertext, prefix, suffix;
  size_t n = 0;
  Status st =
      Envelope([&](const std::function<bool(std::string_view)>& emit) { return emit(content); },
               content.size(), p, AppendTo(&ciphertext), &n, &prefix, &suffix);
  if (!st.ok()) return st;
  *der = prefix + ciphertext + suffix;
  return Status::Ok();
}

Status EncryptToBase64Lines(const ContentWriter& content, size_t size, const EncryptParams& p,
                            std::string* base64) {
  // Reserved for the final size (the ciphertext is at most a block longer
  // than the content; the rest is recipients and algorithm parameters), so
  // the buffer is not reallocated; pages are only used once written.
  std::string buf;
  buf.reserve(Base64LineWriter::EncodedSize(size + 16 + 65536 + 2048 * p.recipients.size()));
  std::string prefix, suffix;
  size_t c = 0;
  Status st = Envelope(content, size, p, AppendTo(&buf), &c, &prefix, &suffix);
  if (!st.ok()) return st;
  const size_t der = prefix.size() + c + suffix.size();
  const size_t total = Base64LineWriter::EncodedSize(der);
  buf.resize(total);
  // The DER at the end of the buffer, then encoded forward over it.
  char* at = &buf[total - der];
  std::memmove(at + prefix.size(), buf.data(), c);
  std::memcpy(at, prefix.data(), prefix.size());
  std::memcpy(at + prefix.size() + c, suffix.data(), suffix.size());
  Base64LinesInPlace(&buf, der);
  *base64 = std::move(buf);
  return Status::Ok();
}

}  // namespace smime
