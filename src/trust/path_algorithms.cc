// trust/path_algorithms: see path_algorithms.h.
#include "trust/path_algorithms.h"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include <cctype>

#include "base/ossl.h"

namespace smime {

namespace {

// "RSA-PSS" -> "rsa-pss", "ecdsa-with-SHA1" -> "ecdsa-with-sha1".
std::string Token(const char* s) {
  std::string out;
  for (const char* p = s ? s : ""; *p; ++p) {
    unsigned char u = static_cast<unsigned char>(*p);
    if (std::isalnum(u))
      out.push_back(static_cast<char>(std::tolower(u)));
    else if (!out.empty() && out.back() != '-')
      out.push_back('-');
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out.empty() ? "unknown" : out;
}

bool StrongHash(int nid) {
  switch (nid) {
    case NID_sha224:
    case NID_sha256:
    case NID_sha384:
    case NID_sha512:
    case NID_sha512_224:
    case NID_sha512_256:
    case NID_sha3_224:
    case NID_sha3_256:
    case NID_sha3_384:
    case NID_sha3_512: return true;
    default: return false;
  }
}

// The hash the issuer used to sign cert (for RSASSA-PSS the one in its
// parameters); "" when acceptable.
std::string SignatureProblem(X509* cert, const AlgorithmRules& rules, const std::string& pos) {
  int mdnid = NID_undef, pknid = NID_undef;
  const bool known = X509_get_signature_info(cert, &mdnid, &pknid, nullptr, nullptr) == 1;
  DrainOpensslErrors();
  if (mdnid == NID_undef) {
    // Pure EdDSA has no separate hash.
    if (known && (pknid == NID_ED25519 || pknid == NID_ED448)) return "";
    return "unknown-signature-" + pos;
  }
  if (StrongHash(mdnid) || (mdnid == NID_sha1 && rules.allow_sha1)) return "";
  return "weak-signature-" + pos + "-" + Token(OBJ_nid2sn(mdnid));
}

int CurveNid(EVP_PKEY* key, std::string* name) {
  char buf[80] = "";
  size_t len = 0;
  if (EVP_PKEY_get_group_name(key, buf, sizeof buf, &len) != 1) {
    DrainOpensslErrors();
    *name = "explicit";  // explicit parameters: no named curve
    return NID_undef;
  }
  int nid = OBJ_sn2nid(buf);
  if (nid == NID_undef) nid = EC_curve_nist2nid(buf);
  *name = nid != NID_undef ? OBJ_nid2sn(nid) : buf;
  return nid;
}

}  // namespace

std::string KeyProblem(EVP_PKEY* key, const AlgorithmRules& rules, const std::string& position) {
  if (!key) return "key-type-" + position + "-unknown";
  if (EVP_PKEY_is_a(key, "RSA") || EVP_PKEY_is_a(key, "RSA-PSS")) {
    const int bits = EVP_PKEY_get_bits(key);
    if (bits < rules.min_rsa_bits) return "weak-key-" + position + "-rsa-" + std::to_string(bits);
    return "";
  }
  if (EVP_PKEY_is_a(key, "EC")) {
    std::string curve;
    const int nid = CurveNid(key, &curve);
    if (nid == NID_X9_62_prime256v1 || nid == NID_secp384r1 || nid == NID_secp521r1) return "";
    // A small curve is weak; a strong one we do not accept (brainpool,
    // secp256k1) is named as such, not called weak.
    return (EVP_PKEY_get_bits(key) < 256 ? "weak-curve-" : "curve-not-allowed-") + position + "-" +
           Token(curve.c_str());
  }
  if (EVP_PKEY_is_a(key, "ED25519") || EVP_PKEY_is_a(key, "ED448")) return "";
  const char* type = EVP_PKEY_get0_type_name(key);
  if (!type) type = OBJ_nid2sn(EVP_PKEY_get_base_id(key));
  return "key-type-" + position + "-" + Token(type);
}

std::string PathAlgorithmProblem(STACK_OF(X509) * verified_chain, const AlgorithmRules& rules) {
  const int n = verified_chain ? sk_X509_num(verified_chain) : 0;
  if (n == 0) return "key-type-leaf-unknown";
  for (int i = 0; i < n; ++i) {
    X509* cert = sk_X509_value(verified_chain, i);
    const bool anchor = i == n - 1;
    const std::string pos = i == 0 ? "leaf" : anchor ? "anchor" : "intermediate";
    if (!anchor) {
      std::string sig = SignatureProblem(cert, rules, pos);
      if (!sig.empty()) return sig;
    }
    std::string key = KeyProblem(X509_get0_pubkey(cert), rules, pos);
    DrainOpensslErrors();
    if (!key.empty()) return key;
    if (i > 0) {
      const uint32_t xku = X509_get_extended_key_usage(cert);  // UINT32_MAX when absent
      if (xku != UINT32_MAX && !(xku & (XKU_SMIME | XKU_ANYEKU)))
        return "ca-eku-lacks-emailprotection";
    }
  }
  return "";
}

}  // namespace smime
