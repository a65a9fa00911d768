// trust/cert_info: facts about a certificate that verdicts depend on.
//
// Pure functions over an X509; none fails: absent data gives empty results.
#ifndef SMIME_TRUST_CERT_INFO_H_
#define SMIME_TRUST_CERT_INFO_H_

#include <openssl/x509.h>

#include <ctime>
#include <string>
#include <vector>

namespace smime {

// rfc822Names from subjectAltName; when there are none, emailAddress values
// of the subject DN (old certificates, RFC 8550 section 3).
std::vector<std::string> CertificateAddresses(X509* cert);

// "" when keyUsage/extendedKeyUsage allow S/MIME signing, else a reason:
// "keyusage-lacks-digitalsignature" or "eku-lacks-emailprotection".
std::string SigningUsageProblem(X509* cert);

// "" when the certificate's key and usage allow S/MIME encryption to it:
// RSA with keyEncipherment or EC with keyAgreement (when keyUsage is
// present), emailProtection (when extendedKeyUsage is present); else a
// reason such as "keyusage-lacks-keyencipherment".
std::string EncryptionUsageProblem(X509* cert);

// Serial number as upper-case hex without leading zeros ("0" for zero).
std::string SerialHex(X509* cert);

// Issuer / subject DN in RFC 2253 form, non-ASCII escaped.
std::string IssuerText(X509* cert);
std::string SubjectText(X509* cert);

// Public key algorithm short name as OpenSSL names it ("rsaEncryption",
// "id-ecPublicKey", "ED25519") and size in bits.
std::string KeyType(X509* cert, int* bits);

// True when the two addresses are the same mailbox: domains compare in
// IDNA2008 A-label lower-case form (mime/rcpt_address DomainForm, so
// "bücher.example", "XN--BCHER-KVA.example" and "bücher.example." are one
// domain), local parts exactly or ASCII case-insensitively per
// local_case_sensitive.
bool SameMailbox(const std::string& a, const std::string& b, bool local_case_sensitive);

// Seconds since the epoch; 0 for a missing or unparseable time.
std::time_t ToTimeT(const ASN1_TIME* t);

}  // namespace smime

#endif  // SMIME_TRUST_CERT_INFO_H_
