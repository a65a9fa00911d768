// cms/decrypt: opens CMS EnvelopedData (RFC 5652 6) and AuthEnvelopedData
// (RFC 5083) addressed to one of our keys.
//
// Entry points: ReadEnvelope() parses a DER ContentInfo and says whether it
// is an envelope, its content cipher and whether that cipher protects
// integrity; EnvelopeNames() says whether a RecipientInfo is for a given
// certificate (key transport by issuer and serial or subjectKeyIdentifier,
// key agreement likewise); DecryptEnvelope() decrypts the content with one
// certificate and key, completely into memory.
//
// Content ciphers accepted: AES-128/192/256 in CBC (EnvelopedData) or GCM
// (AuthEnvelopedData), and 3DES-CBC, which older clients still send (RFC
// 8551 2.7: receivers SHOULD- read it). Anything else (RC2, DES, unknown
// OIDs) is "unsupported-content-cipher". Key management: what OpenSSL's CMS
// does, RSA PKCS#1 v1.5 and RSAES-OAEP key transport, ECDH key agreement.
//
// Failure modes: every failure gives a short machine-readable reason
// ("not-enveloped", "malformed-envelope", "unsupported-content-cipher",
// "no-matching-recipient", "decryption-failed") with OpenSSL's words in the
// Status message after ": ". On failure the plaintext output is untouched:
// the GCM tag and the CBC padding are checked before anything is handed
// out. Key decryption errors and content errors share one reason, so the
// result never tells an RSA padding failure from a bad content (the
// Bleichenbacher-style distinction).
#ifndef SMIME_CMS_DECRYPT_H_
#define SMIME_CMS_DECRYPT_H_

#include <string>

#include "base/ossl.h"
#include "base/status.h"

namespace smime {

struct EnvelopeFacts {
  bool authenticated = false;  // AuthEnvelopedData with an AEAD cipher
  std::string cipher;          // "aes-256-gcm", "aes-128-cbc", "des-ede3-cbc", ...
  int recipients = 0;          // RecipientInfos
};

// der: one ContentInfo. Ok only for an EnvelopedData or AuthEnvelopedData
// whose content cipher is accepted (above) and with no byte after the DER;
// else the Status message starts with the reason.
Status ReadEnvelope(const std::string& der, EnvelopeFacts* facts);

// True when a RecipientInfo of the envelope in der is for cert.
bool EnvelopeNames(const std::string& der, X509* cert);

// Decrypts the envelope in der with cert and key (key transport or key
// agreement). On success *plaintext is the whole content; on failure it is
// untouched.
Status DecryptEnvelope(const std::string& der, X509* cert, EVP_PKEY* key, std::string* plaintext);

// The encapsulated content of an opaque SignedData (der: one ContentInfo):
// what a triple-wrapped message (RFC 2634) carries inside its outer
// signature. False when der is not a SignedData with content. The signature
// itself is not checked here (cms/signed_data does that).
bool SignedDataContent(const std::string& der, std::string* content);

}  // namespace smime

#endif  // SMIME_CMS_DECRYPT_H_
