// trust/cert_info: see cert_info.h.
#include "trust/cert_info.h"

#include <openssl/bn.h>
#include <openssl/x509v3.h>
#include <strings.h>

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "base/ossl.h"
#include "mime/rcpt_address.h"

namespace smime {

std::vector<std::string> CertificateAddresses(X509* cert) {
  std::vector<std::string> out;
  if (!cert) return out;
  std::unique_ptr<GENERAL_NAMES, void (*)(GENERAL_NAMES*)> names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)),
      GENERAL_NAMES_free);
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), i);
    if (gn->type != GEN_EMAIL) continue;
    const ASN1_IA5STRING* s = gn->d.rfc822Name;
    out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     ASN1_STRING_length(s));
  }
  if (!out.empty()) return out;
  X509_NAME* subject = X509_get_subject_name(cert);
  for (int i = -1; (i = X509_NAME_get_index_by_NID(subject, NID_pkcs9_emailAddress, i)) >= 0;) {
    ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i));
    out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     ASN1_STRING_length(s));
  }
  DrainOpensslErrors();
  return out;
}

std::string SigningUsageProblem(X509* cert) {
  uint32_t ku = X509_get_key_usage(cert);  // UINT32_MAX when absent
  if (ku != UINT32_MAX && !(ku & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION)))
    return "keyusage-lacks-digitalsignature";
  uint32_t xku = X509_get_extended_key_usage(cert);
  if (xku != UINT32_MAX && !(xku & (XKU_SMIME | XKU_ANYEKU))) return "eku-lacks-emailprotection";
  DrainOpensslErrors();
  return "";
}

std::string EncryptionUsageProblem(X509* cert) {
  EVP_PKEY* pub = X509_get0_pubkey(cert);
  if (!pub) return "no-public-key";
  // X25519/X448 key agreement in CMS needs OpenSSL 3.2: not offered yet.
  const bool ec = EVP_PKEY_is_a(pub, "EC");
  if (!ec && !EVP_PKEY_is_a(pub, "RSA")) return "key-type-cannot-encrypt";
  uint32_t ku = X509_get_key_usage(cert);  // UINT32_MAX when absent
  if (ku != UINT32_MAX && !(ku & (ec ? KU_KEY_AGREEMENT : KU_KEY_ENCIPHERMENT)))
    return ec ? "keyusage-lacks-keyagreement" : "keyusage-lacks-keyencipherment";
  uint32_t xku = X509_get_extended_key_usage(cert);
  if (xku != UINT32_MAX && !(xku & (XKU_SMIME | XKU_ANYEKU))) return "eku-lacks-emailprotection";
  DrainOpensslErrors();
  return "";
}

std::string SerialHex(X509* cert) {
  std::unique_ptr<BIGNUM, void (*)(BIGNUM*)> bn(
      ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr), BN_free);
  if (!bn) return "0";
  std::unique_ptr<char, void (*)(void*)> hex(BN_bn2hex(bn.get()), [](void* p) { OPENSSL_free(p); });
  std::string s = hex ? hex.get() : "0";
  size_t nz = s.find_first_not_of('0');
  return nz == std::string::npos ? "0" : s.substr(nz);
}

namespace {
std::string PrintName(X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data ? data : "", len > 0 ? static_cast<size_t>(len) : 0);
}

// The text of a name, a function of its DER alone, remembered by the DER
// (the issuers of every message's signer and the store's lookups ask for
// the same few names; printing one costs more than the RSA check of a
// cached path). 1,024 names, all forgotten when full.
struct NameTextMemo {
  std::mutex mu;
  std::unordered_map<std::string, std::string> map;
};

std::string NameText(X509_NAME* name) {
  const unsigned char* der = nullptr;
  size_t len = 0;
  if (!name || X509_NAME_get0_der(name, &der, &len) != 1 || len > 4096) {
    DrainOpensslErrors();
    return PrintName(name);
  }
  static NameTextMemo& m = *new NameTextMemo;  // never destroyed: used until exit
  std::string key(reinterpret_cast<const char*>(der), len);
  {
    std::lock_guard<std::mutex> lock(m.mu);
    auto it = m.map.find(key);
    if (it != m.map.end()) return it->second;
  }
  std::string text = PrintName(name);
  std::lock_guard<std::mutex> lock(m.mu);
  if (m.map.size() >= 1024) m.map.clear();
  m.map.emplace(std::move(key), text);
  return text;
}
}  // namespace

std::string IssuerText(X509* cert) { return NameText(X509_get_issuer_name(cert)); }

std::string SubjectText(X509* cert) { return NameText(X509_get_subject_name(cert)); }

std::string KeyType(X509* cert, int* bits) {
  EVP_PKEY* key = X509_get0_pubkey(cert);
  *bits = key ? EVP_PKEY_get_bits(key) : 0;
  if (!key) {
    DrainOpensslErrors();
    return "unknown";
  }
  const char* name = OBJ_nid2sn(EVP_PKEY_get_base_id(key));
  return name ? name : "unknown";
}

bool SameMailbox(const std::string& a, const std::string& b, bool local_case_sensitive) {
  size_t at_a = a.rfind('@'), at_b = b.rfind('@');
  if (at_a == std::string::npos || at_b == std::string::npos) return false;
  std::string la = a.substr(0, at_a), lb = b.substr(0, at_b);
  // One domain form (IDNA2008 A-label, lower case): a From: in U-labels and
  // an rfc822Name in A-labels (RFC 5280 4.2.1.6) name the same mailbox.
  if (DomainForm(a.substr(at_a + 1)) != DomainForm(b.substr(at_b + 1))) return false;
  if (local_case_sensitive) return la == lb;
  return la.size() == lb.size() && strcasecmp(la.c_str(), lb.c_str()) == 0;
}

std::time_t ToTimeT(const ASN1_TIME* t) {
  struct tm tm = {};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return timegm(&tm);
}

}  // namespace smime
