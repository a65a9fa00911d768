// cms/encrypt: CMS EnvelopedData / AuthEnvelopedData for outbound mail.
//
// Entry point: EncryptContent(). One content-encryption key for all
// recipients (one RecipientInfo each): RSA key transport (PKCS#1 v1.5 by
// default, RSAES-OAEP with SHA-256 selectable) or ECDH key agreement for EC
// certificates (ephemeral-static, dhSinglePass-stdDH-sha256kdf-scheme, the
// AES key wrap of the content key's size: RFC 5753, RFC 8551 2.7).
// X25519/X448 recipients are not supported (OpenSSL 3.0's CMS cannot).
// AES-GCM produces AuthEnvelopedData (RFC 5083/5084), AES-CBC
// EnvelopedData. On failure the Status names the recipient or step and
// carries OpenSSL's words; nothing is partially written.
#ifndef SMIME_CMS_ENCRYPT_H_
#define SMIME_CMS_ENCRYPT_H_

#include <string>
#include <vector>

#include "base/ossl.h"
#include "base/status.h"

namespace smime {

enum class ContentCipher { kAes256Gcm, kAes128Gcm, kAes256Cbc, kAes192Cbc, kAes128Cbc };
enum class RsaKeyTransport { kPkcs1, kOaep };

// "aes256-gcm" etc., as in encryption_algorithm; false for other names.
bool ParseContentCipher(const std::string& name, ContentCipher* out);
const char* ContentCipherName(ContentCipher c);
bool IsAuthenticated(ContentCipher c);

// The SMIMECapabilities NID of a cipher (NID_aes_256_gcm, ...).
int ContentCipherNid(ContentCipher c);

struct EncryptRecipient {
  X509* cert = nullptr;
  RsaKeyTransport rsa = RsaKeyTransport::kPkcs1;  // for RSA certificates
};

struct EncryptParams {
  std::vector<EncryptRecipient> recipients;
  ContentCipher cipher = ContentCipher::kAes256Cbc;
};

// content: the MIME entity to protect (CRLF). On success *der is the DER
// ContentInfo; on failure it is untouched.
Status EncryptContent(const std::string& content, const EncryptParams& p, std::string* der);

}  // namespace smime

#endif  // SMIME_CMS_ENCRYPT_H_
