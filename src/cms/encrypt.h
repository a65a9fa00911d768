// cms/encrypt: CMS EnvelopedData / AuthEnvelopedData for outbound mail.
//
// Entry points: EncryptContent(); EncryptToSink() for the message body,
// which hands the ciphertext on as it is produced (engine/outbound spools
// it) and never holds the content; EncryptToBase64Lines(), the same into
// one string (docs/performance.md).
// One content-encryption key for all recipients (one RecipientInfo each):
// RSA key transport (PKCS#1 v1.5 by
// default, RSAES-OAEP with SHA-256 selectable) or ECDH key agreement for EC
// certificates (ephemeral-static, dhSinglePass-stdDH-sha256kdf-scheme, the
// AES key wrap of the content key's size: RFC 5753, RFC 8551 2.7).
// X25519/X448 recipients are not supported (OpenSSL 3.0's CMS cannot).
// AES-GCM produces AuthEnvelopedData (RFC 5083/5084), AES-CBC
// EnvelopedData. On failure the Status names the recipient or step and
// carries OpenSSL's words; nothing is partially written (EncryptToSink:
// what the sink received is to be discarded).
#ifndef SMIME_CMS_ENCRYPT_H_
#define SMIME_CMS_ENCRYPT_H_

#include <functional>
#include <string>
#include <string_view>
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

// Content produced in pieces: calls emit with each (false from emit means
// stop and fail); returns false when it cannot produce the content.
using ContentWriter = std::function<bool(const std::function<bool(std::string_view)>& emit)>;

// The same encryption for content the writer produces (size: its length,
// to reserve), giving the ContentInfo as base64 in 76-column CRLF lines,
// the body of an application/pkcs7-mime entity. Memory: the ciphertext goes
// straight into *base64, and is encoded there in place (base/text
// Base64LinesInPlace), so the content is never held twice. On failure
// *base64 is untouched.
Status EncryptToBase64Lines(const ContentWriter& content, size_t size, const EncryptParams& p,
                            std::string* base64);

// Receives the ciphertext in pieces; false stops the encryption (it fails).
using CiphertextSink = std::function<bool(std::string_view)>;

// The same encryption with the ciphertext handed to out as it is produced
// (a spool file for large content: engine/outbound), never held here. The
// ContentInfo is *prefix, the ciphertext, *suffix (the DER around it, known
// once the ciphertext is). On failure the prefix and suffix are untouched
// and what out received is to be discarded.
Status EncryptToSink(const ContentWriter& content, size_t size, const EncryptParams& p,
                     const CiphertextSink& out, std::string* prefix, std::string* suffix);

}  // namespace smime

#endif  // SMIME_CMS_ENCRYPT_H_
