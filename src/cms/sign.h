// cms/sign: create CMS SignedData for outbound mail.
//
// Entry point: SignContent(). The content is signed exactly as given (the
// caller has already canonicalised it to CRLF, 7-bit MIME), with signed
// attributes contentType, messageDigest, signingTime (from the caller's
// clock, not the system time), SMIMECapabilities (our preferred algorithms
// only, never DES or RC2) and signingCertificateV2 (ESS, binds the
// signature to the certificate). The signer certificate and its chain are
// included. On failure the Status carries OpenSSL's words; nothing is
// partially written.
#ifndef SMIME_CMS_SIGN_H_
#define SMIME_CMS_SIGN_H_

#include <ctime>
#include <string>
#include <vector>

#include "base/ossl.h"
#include "base/status.h"

namespace smime {

enum class RsaPadding { kPkcs1, kPss };

struct SignParams {
  X509* cert = nullptr;        // the signer
  EVP_PKEY* key = nullptr;     // its private key (file or token)
  std::vector<X509*> chain;    // intermediates to include, leaf excluded
  const EVP_MD* md = nullptr;  // nullptr = SHA-256
  RsaPadding rsa_padding = RsaPadding::kPkcs1;
  bool detached = true;  // true: multipart/signed; false: opaque (eContent included)
  std::time_t signing_time = 0;
};

// On success *der is the DER ContentInfo; on failure *der is untouched.
Status SignContent(const std::string& content, const SignParams& p, std::string* der);

// The RFC 8551 micalg name of md ("sha-256"); "" for digests S/MIME does not name.
std::string MicalgName(const EVP_MD* md);

}  // namespace smime

#endif  // SMIME_CMS_SIGN_H_
