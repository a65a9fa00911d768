// testing/test_pki: a tiny in-memory PKI for unit tests.
//
// Everything is generated in-process with OpenSSL 3 (no files, no shelling
// out): keys, a self-signed CA, leaf certificates with chosen validity,
// addresses, keyUsage and extendedKeyUsage, and CMS SignedData over given
// content. Validity is given as fixed epochs so tests pin the clock (kNow;
// HandClock for a test that moves it). Helpers abort the test program
// (cmocka fail_msg) when OpenSSL refuses an operation: a broken fixture is a
// test bug, not a verdict.
#ifndef SMIME_TESTING_TEST_PKI_H_
#define SMIME_TESTING_TEST_PKI_H_

#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/ossl.h"

namespace smime {
namespace testpki {

// 2026-06-01T00:00:00Z, the pinned "time of receipt" of the unit tests.
constexpr std::time_t kNow = 1780272000;
// 2025-01-01 and 2027-01-01: the default validity window around kNow.
constexpr std::time_t kNotBefore = 1735689600;
constexpr std::time_t kNotAfter = 1798761600;

// A clock at kNow that a test moves by hand (t += seconds), e.g. past a
// cache's time to live. Not thread-safe.
class HandClock final : public Clock {
 public:
  std::time_t Now() const override { return t; }
  std::time_t t = kNow;
};

// kDsa1024 and the small curves exist to test that weak keys are refused.
enum class KeyKind {
  kRsa1024,
  kRsa2048,
  kRsa3072,
  kRsaPss2048,
  kEcP256,
  kEcP384,
  kEcP192,
  kEcSecp160r1,
  kEcBrainpool256,
  kEd25519,
  kEd448,
  kDsa1024
};

EvpPkeyPtr MakeKey(KeyKind kind);

struct CertSpec {
  std::string common_name = "Test";
  std::string organization = "Test PKI";
  std::string subject_email;            // subject DN emailAddress ("" = none)
  std::vector<std::string> san_emails;  // SAN rfc822Name entries
  std::vector<std::string> san_dns;     // SAN dNSName entries
  std::time_t not_before = kNotBefore;
  std::time_t not_after = kNotAfter;
  std::string serial_hex;  // "" = next value of a process-wide counter
  int key_usage = -1;      // KU_* bits from x509v3.h; -1 = no keyUsage extension
  std::vector<int> eku;    // NIDs, e.g. NID_email_protect; empty = no EKU extension
  bool ca = false;         // basicConstraints CA:TRUE (critical)
  KeyKind key = KeyKind::kRsa2048;
  std::vector<std::string> crl_urls;         // cRLDistributionPoints: one point per URI
  std::vector<std::string> ocsp_urls;        // authorityInfoAccess OCSP URIs
  std::vector<std::string> ca_issuers_urls;  // authorityInfoAccess caIssuers URIs
  // Hash the issuer signs this certificate with; nullptr = SHA-256 (none
  // for EdDSA issuers). EVP_md5()/EVP_sha1() make deliberately weak ones.
  const EVP_MD* signature_md = nullptr;
};

struct Issued {
  X509Ptr cert;
  EvpPkeyPtr key;
};

// A certificate for subject_key per spec, signed by issuer_key (SHA-256).
// issuer == nullptr makes it self-signed (issuer name = subject name).
X509Ptr MakeCert(const CertSpec& spec, EVP_PKEY* subject_key, X509* issuer, EVP_PKEY* issuer_key);

// A self-signed CA: basicConstraints CA:TRUE, keyUsage keyCertSign|cRLSign.
Issued MakeCa(const std::string& common_name, KeyKind key = KeyKind::kRsa2048,
              std::time_t not_before = kNotBefore, std::time_t not_after = kNotAfter);

// An intermediate CA signed by parent.
Issued MakeSubCa(const std::string& common_name, const Issued& parent);

// The CA profile of MakeCa/MakeSubCa (CA:TRUE, keyCertSign|cRLSign, RSA-2048),
// to vary before MakeLeaf(spec, parent) issues an intermediate from it.
CertSpec CaSpec(const std::string& common_name);

// A leaf with a fresh key of spec.key, signed by ca.
Issued MakeLeaf(const CertSpec& spec, const Issued& ca);

// Convenience: an S/MIME signing leaf for address (SAN rfc822Name, keyUsage
// digitalSignature|nonRepudiation, EKU emailProtection).
CertSpec SmimeSpec(const std::string& address);

struct SignOptions {
  bool detached = true;
  const EVP_MD* md = nullptr;  // nullptr = SHA-256
  bool no_attributes = false;  // CMS_NOATTR: SignerInfo without signed attributes
  bool no_certs = false;       // CMS_NOCERTS: leave the signer certificate out
  bool key_id = false;         // CMS_USE_KEYID: sid is the subjectKeyIdentifier
  std::vector<X509*> chain;    // extra certificates to carry (intermediates)
};

// CMS SignedData over content by signer; returns the ContentInfo as DER.
std::string SignCms(const std::string& content, const Issued& signer, const SignOptions& opt);

// Adds one more SignerInfo to an existing SignedData (CMS_add1_signer with
// CMS_REUSE_DIGEST: md must equal an existing signer's digest). The
// signer's certificate is added to the certificate set.
std::string AddSigner(const std::string& der, const Issued& signer, const EVP_MD* md = nullptr);

// A SignedData without SignerInfos carrying certs (certs-only).
std::string CertsOnly(const std::vector<X509*>& certs);

// der read as one CMS ContentInfo that uses every byte and encodes back to
// the same bytes (DER, not merely BER); fails the test (cmocka) otherwise.
CmsPtr ParseExactCms(const std::string& der);

// EnvelopedData (AES-128-CBC) of content for recipient.
std::string Encrypt(const std::string& content, X509* recipient);

// A CRL of issuer (v2, SHA-256), as DER. The fields choose the RFC 5280
// features the revocation checker must judge.
struct CrlSpec {
  std::time_t last_update = kNow - 3600;
  std::time_t next_update = kNow + 7 * 86400;
  std::vector<X509*> revoked;  // listed by serial, revoked a minute before last_update
  long number = 1;             // cRLNumber; < 0: none
  // issuingDistributionPoint: present when any of the following is set.
  std::vector<std::string> idp_urls;  // distributionPoint fullName URIs
  bool only_user = false, only_ca = false, only_attr = false, indirect = false;
  int only_some_reasons = 0;                // reason bit mask (bit 1 = keyCompromise, ...)
  bool unknown_critical_ext = false;        // a private critical CRL extension
  bool entry_unknown_critical_ext = false;  // a private critical extension on each entry
  bool malformed_idp = false;               // an issuingDistributionPoint whose value is a NULL
};
std::string MakeCrl(const CrlSpec& spec, const Issued& issuer);

// A successful OCSP response about cert signed by issuer itself (SHA-1
// CertID, like the checker's request); next_update 0 leaves nextUpdate out.
struct OcspSpec {
  int status = V_OCSP_CERTSTATUS_GOOD;
  std::time_t this_update = kNow - 600;
  std::time_t next_update = 0;
};
std::string MakeOcspResponse(X509* cert, const Issued& issuer, const OcspSpec& spec);

std::string ToPem(X509* cert);
std::string ToDer(X509* cert);

// Base64 in lines of 76 characters, each ended by CRLF.
std::string Base64Lines(const std::string& bytes);

// A stack of (up-referenced) certificates; empty stack for an empty list.
X509StackPtr Stack(const std::vector<X509*>& certs);

}  // namespace testpki
}  // namespace smime

#endif  // SMIME_TESTING_TEST_PKI_H_
