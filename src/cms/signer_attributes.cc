// cms/signer_attributes: see signer_attributes.h.
#include "cms/signer_attributes.h"

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "base/ossl.h"
#include "trust/cert_info.h"

namespace smime {

namespace {

void FreeAlgors(STACK_OF(X509_ALGOR) * s) { sk_X509_ALGOR_pop_free(s, X509_ALGOR_free); }
using AlgorStackPtr =
    std::unique_ptr<STACK_OF(X509_ALGOR), OsslDeleter<STACK_OF(X509_ALGOR), FreeAlgors>>;

// The value of the first signed attribute nid, or nullptr.
ASN1_TYPE* SignedAttribute(CMS_SignerInfo* si, int nid) {
  if (!si) return nullptr;
  const int idx = CMS_signed_get_attr_by_NID(si, nid, -1);
  if (idx < 0) return nullptr;
  return X509_ATTRIBUTE_get0_type(CMS_signed_get_attr(si, idx), 0);
}

}  // namespace

namespace {

struct CapabilityMemo {
  std::mutex mu;
  std::unordered_map<std::string, std::vector<int>> map;  // value DER -> NIDs
};

// The capabilities in one SMIMECapabilities value (its DER).
std::vector<int> ParseCapabilities(const unsigned char* der, long len) {
  std::vector<int> out;
  const unsigned char* p = der;
  AlgorStackPtr algs(d2i_X509_ALGORS(nullptr, &p, len));
  for (int i = 0; algs && i < sk_X509_ALGOR_num(algs.get()); ++i) {
    const int nid = OBJ_obj2nid(sk_X509_ALGOR_value(algs.get(), i)->algorithm);
    if (nid == NID_undef) continue;
    const EVP_CIPHER* cipher = EVP_get_cipherbynid(nid);
    if (!cipher || EVP_CIPHER_get_mode(cipher) == EVP_CIPH_WRAP_MODE) continue;
    if (std::find(out.begin(), out.end(), nid) == out.end()) out.push_back(nid);
  }
  return out;
}

}  // namespace

std::vector<int> CapabilitiesOf(CMS_SignerInfo* si) {
  std::vector<int> out;
  ASN1_TYPE* t = SignedAttribute(si, NID_SMIMECapabilities);
  if (t && t->type == V_ASN1_SEQUENCE && t->value.sequence) {
    // A correspondent announces the same value in every message: the
    // answer, a function of its bytes alone, is remembered (256 values,
    // all forgotten when full).
    static CapabilityMemo& m = *new CapabilityMemo;  // never destroyed: used until exit
    const std::string key(reinterpret_cast<const char*>(t->value.sequence->data),
                          static_cast<size_t>(std::max(0, t->value.sequence->length)));
    bool found = false;
    {
      std::lock_guard<std::mutex> lock(m.mu);
      auto it = m.map.find(key);
      found = it != m.map.end();
      if (found) out = it->second;
    }
    if (found) {  // an empty answer too (nothing we know announced)
      DrainOpensslErrors();
      return out;
    }
    out = ParseCapabilities(t->value.sequence->data, t->value.sequence->length);
    std::lock_guard<std::mutex> lock(m.mu);
    if (m.map.size() >= 256) m.map.clear();
    m.map.emplace(key, out);
  }
  DrainOpensslErrors();
  return out;
}

std::time_t SigningTimeOf(CMS_SignerInfo* si) {
  ASN1_TYPE* t = SignedAttribute(si, NID_pkcs9_signingTime);
  std::time_t out = 0;
  if (t && t->type == V_ASN1_UTCTIME) out = ToTimeT(t->value.utctime);
  if (t && t->type == V_ASN1_GENERALIZEDTIME) out = ToTimeT(t->value.generalizedtime);
  DrainOpensslErrors();
  return out;
}

}  // namespace smime
