// cms/sign: create CMS SignedData for outbound mail.
//
// Entry points: SignContent(), and SignPieces() / SignStream() for content
// in pieces, or produced as it is signed, that must not be copied
// (docs/performance.md); SignMemo, a signer's template that spares the CMS
// encoder per message. The content is signed exactly as given (the
// caller has already canonicalised it to CRLF, 7-bit MIME), with signed
// attributes contentType, messageDigest, signingTime (from the caller's
// clock, not the system time), SMIMECapabilities (our preferred algorithms
// only, never DES or RC2: AES-256-GCM, AES-128-GCM, AES-256-CBC,
// AES-128-CBC), signingCertificateV2 (ESS, binds the signature to the
// certificate) and, when there is an encryption certificate to name,
// SMIMEEncryptionKeyPreference (RFC 8551 2.5.3) with its Microsoft twin.
// The signer certificate and its chain (never the trust anchor) are
// included, and a separate encryption_cert too. On failure the Status carries OpenSSL's words;
// nothing is partially written. SignContent may run in many threads at once; keys whose backend may
// not (PKCS#11 tokens) carry a lock, see SerializeSigningWith.
#ifndef SMIME_CMS_SIGN_H_
#define SMIME_CMS_SIGN_H_

#include <ctime>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/ossl.h"
#include "base/status.h"

namespace smime {

enum class RsaPadding { kPkcs1, kPss };

class SignMemo;

struct SignParams {
  X509* cert = nullptr;      // the signer
  EVP_PKEY* key = nullptr;   // its private key (file or token)
  std::vector<X509*> chain;  // intermediates to include, leaf excluded
  // The certificate replies should be encrypted to (key preference
  // attributes); nullptr = cert itself when its key usage allows encryption
  // (trust/cert_info EncryptionUsageProblem), else none is named.
  X509* encryption_cert = nullptr;
  const EVP_MD* md = nullptr;  // nullptr = SHA-256
  RsaPadding rsa_padding = RsaPadding::kPkcs1;
  bool detached = true;  // true: multipart/signed; false: opaque (eContent included)
  std::time_t signing_time = 0;
  // Optional: the signer's memo (SignMemo below), owned by whoever owns
  // cert, key, chain and encryption_cert (an identity). nullptr: every
  // signature is built by OpenSSL's CMS encoder from scratch.
  SignMemo* memo = nullptr;
};

// The parts of a detached RSA signature that do not change from message to
// message (docs/performance.md, "Where the time went"): all of the
// ContentInfo but the messageDigest and signingTime values and the
// signature. The first signature for a set of SignParams is built by
// OpenSSL's CMS encoder as without a memo (over empty content) and kept
// as DER with the places of those three values; later ones copy it, put in
// the content's digest and the signing time, sign the signed attributes
// with EVP_DigestSign (what OpenSSL's CMS_SignerInfo_sign does) and put in
// the signature: the same bytes the encoder writes (RSA signatures have
// the key's length; the attributes' DER order does not depend on those
// values, whose lengths are fixed). Entries hold references to the
// certificates and key they were made with and match on them, the digest,
// the padding and the form of the time (UTCTime through 2049). Opaque
// signatures and other key types always take the encoder. Thread-safe.
class SignMemo {
 public:
  SignMemo();
  ~SignMemo();
  SignMemo(const SignMemo&) = delete;
  SignMemo& operator=(const SignMemo&) = delete;
  struct Template;
  // The template for p and time type, or nullptr.
  std::shared_ptr<const Template> Find(const SignParams& p, int time_type) const;
  // Keeps t (at most a few: one identity signs with a handful of settings).
  void Keep(std::shared_ptr<const Template> t);
  size_t size() const;

 private:
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<const Template>> templates_;
};

// On success *der is the DER ContentInfo; on failure *der is untouched.
Status SignContent(const std::string& content, const SignParams& p, std::string* der);

// The same for content given as pieces (their concatenation is signed),
// without copying it: detached, *prefix is the whole ContentInfo and
// *suffix empty; opaque, the ContentInfo is *prefix, the pieces, *suffix
// (cms/der_splice). On failure both are untouched.
Status SignPieces(const std::vector<std::string_view>& content, const SignParams& p,
                  std::string* prefix, std::string* suffix);
// Content produced in slices: calls emit with each (false from emit means
// stop and fail); returns false when it cannot produce the content (the
// same type as in cms/encrypt.h).
using ContentWriter = std::function<bool(const std::function<bool(std::string_view)>& emit)>;
// The same for content that is produced as it is digested and never held
// (a re-encoded entity, mime/smime_writer): size is its exact length (an
// opaque signature's DER encodes it); a writer that fails, or produces
// another length, fails the signature.
Status SignStream(const ContentWriter& content, size_t size, const SignParams& p,
                  std::string* prefix, std::string* suffix);

// Makes every later SignContent with key hold *mu while it signs, for keys
// whose backend must not be used from two threads at once (certdir/
// token_key). *mu must outlive key. False when OpenSSL cannot store the mark.
bool SerializeSigningWith(EVP_PKEY* key, std::mutex* mu);

// The lock SerializeSigningWith attached to key, or nullptr: every other
// private-key operation (decryption, cms/decrypt) holds it too.
std::mutex* SerialLockOf(EVP_PKEY* key);

// The digest a signature with key uses: md (nullptr = SHA-256), except
// SHA-512 for Ed25519, which RFC 8419 3.1 requires with signed attributes.
const EVP_MD* EffectiveDigest(EVP_PKEY* key, const EVP_MD* md);

// The RFC 8551 micalg name of md ("sha-256"); "" for digests S/MIME does not name.
std::string MicalgName(const EVP_MD* md);

}  // namespace smime

#endif  // SMIME_CMS_SIGN_H_
