// trust/path_algorithms: algorithm rules for every certificate on a path.
//
// Entry points: PathAlgorithmProblem() judges a VERIFIED chain (leaf first,
// anchor last, as TrustStore::VerifyChain returns it); KeyProblem() judges
// one public key. Both return "" when the rules hold, else one reason token
// that names the position of the offending certificate ("leaf",
// "intermediate", "anchor"):
//   weak-signature-POS-HASH   the certificate is signed with MD2, MD4, MD5,
//                             SHA-1 (unless allow_sha1) or any hash other
//                             than SHA-2/SHA-3 (pure EdDSA is accepted)
//   unknown-signature-POS     the signature algorithm is not recognised
//   weak-key-POS-rsa-BITS     RSA or RSASSA-PSS key below min_rsa_bits
//   weak-curve-POS-CURVE      EC key on a curve below 256 bits
//   curve-not-allowed-POS-CURVE  other EC curves than P-256/P-384/P-521
//   key-type-POS-TYPE         DSA and every other key type (Ed25519 and
//                             Ed448 are accepted)
//   ca-eku-lacks-emailprotection  an intermediate or the anchor carries an
//                             extendedKeyUsage without emailProtection or
//                             anyExtendedKeyUsage (CA/B Forum S/MIME BR)
// The anchor's own signature is not judged (it is trusted by configuration,
// not by its signature); its key is, because it signed the next certificate.
// Pure functions; they never fail.
#ifndef SMIME_TRUST_PATH_ALGORITHMS_H_
#define SMIME_TRUST_PATH_ALGORITHMS_H_

#include <openssl/x509.h>

#include <string>

namespace smime {

struct AlgorithmRules {
  bool allow_sha1 = false;  // per domain: allow_sha1
  int min_rsa_bits = 2048;  // per domain: min_rsa_bits
};

// position: "leaf", "intermediate" or "anchor", used in the reason.
std::string KeyProblem(EVP_PKEY* key, const AlgorithmRules& rules, const std::string& position);

// Checked from the leaf up; for each certificate its signature hash (not
// for the anchor), its key, and for CAs the extendedKeyUsage. The first
// problem found is returned. A one-certificate chain (the leaf itself is
// the configured anchor) judges only the leaf's key.
std::string PathAlgorithmProblem(STACK_OF(X509) * verified_chain, const AlgorithmRules& rules);

}  // namespace smime

#endif  // SMIME_TRUST_PATH_ALGORITHMS_H_
