// cms/decrypt: see decrypt.h.
#include "cms/decrypt.h"

#include <openssl/asn1.h>
#include <openssl/cms.h>
#include <openssl/objects.h>

#include <cctype>
#include <memory>
#include <mutex>

#include "cms/sign.h"

namespace smime {

namespace {

Status Fail(const std::string& reason) {
  std::string detail = DrainOpensslErrors();
  return Status::InvalidInput(reason + (detail.empty() ? "" : ": " + detail));
}

// Steps into the next DER element at *p (bounded by end): its tag, class and
// content span. False on a malformed or indefinite-length element (the walk
// reads DER only).
struct Element {
  const unsigned char* content = nullptr;
  long length = 0;
  int tag = 0;
  int cls = 0;
};

bool Next(const unsigned char** p, const unsigned char* end, Element* e) {
  if (*p >= end) return false;
  const unsigned char* q = *p;
  long len = 0;
  int tag = 0, cls = 0;
  const int r = ASN1_get_object(&q, &len, &tag, &cls, end - *p);
  if (r & 0x80) return false;
  if (r & 0x01) return false;  // indefinite length
  if (len > end - q) return false;
  e->content = q;
  e->length = len;
  e->tag = tag;
  e->cls = cls;
  *p = q + len;
  return true;
}

// The content cipher OID's NID and the count of RecipientInfos of the
// (Auth)EnvelopedData in der, by walking the DER: ContentInfo { type,
// [0] { version, [0] originatorInfo OPTIONAL, recipientInfos SET,
// encryptedContentInfo { contentType, contentEncryptionAlgorithm { OID ...
bool CipherOf(const std::string& der, int* nid, int* recipients) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  const unsigned char* end = p + der.size();
  Element ci, type, explicit0, env, e;
  if (!Next(&p, end, &ci) || ci.tag != V_ASN1_SEQUENCE) return false;
  p = ci.content;
  end = ci.content + ci.length;
  if (!Next(&p, end, &type) || !Next(&p, end, &explicit0) ||
      explicit0.cls != V_ASN1_CONTEXT_SPECIFIC)
    return false;
  p = explicit0.content;
  end = explicit0.content + explicit0.length;
  if (!Next(&p, end, &env) || env.tag != V_ASN1_SEQUENCE) return false;
  p = env.content;
  end = env.content + env.length;
  if (!Next(&p, end, &e) || e.tag != V_ASN1_INTEGER) return false;  // version
  if (!Next(&p, end, &e)) return false;
  if (e.cls == V_ASN1_CONTEXT_SPECIFIC && !Next(&p, end, &e)) return false;  // originatorInfo
  if (e.tag != V_ASN1_SET) return false;
  *recipients = 0;
  for (const unsigned char* r = e.content; r < e.content + e.length; ++*recipients) {
    Element ri;
    if (!Next(&r, e.content + e.length, &ri)) return false;
  }
  Element eci, content_type, alg, oid;
  if (!Next(&p, end, &eci) || eci.tag != V_ASN1_SEQUENCE) return false;
  p = eci.content;
  end = eci.content + eci.length;
  if (!Next(&p, end, &content_type) || !Next(&p, end, &alg) || alg.tag != V_ASN1_SEQUENCE)
    return false;
  const unsigned char* a = alg.content;
  const unsigned char* oid_start = a;
  if (!Next(&a, alg.content + alg.length, &oid) || oid.tag != V_ASN1_OBJECT) return false;
  const unsigned char* q = oid_start;
  std::unique_ptr<ASN1_OBJECT, OsslDeleter<ASN1_OBJECT, ASN1_OBJECT_free>> obj(
      d2i_ASN1_OBJECT(nullptr, &q, a - oid_start));
  if (!obj) return false;
  *nid = OBJ_obj2nid(obj.get());
  return true;
}

bool Accepted(int nid, bool authenticated) {
  switch (nid) {
    case NID_aes_128_gcm:
    case NID_aes_192_gcm:
    case NID_aes_256_gcm: return authenticated;
    case NID_aes_128_cbc:
    case NID_aes_192_cbc:
    case NID_aes_256_cbc:
    case NID_des_ede3_cbc: return !authenticated;
    default: return false;
  }
}

Status Parse(const std::string& der, CmsPtr* out, bool* authenticated) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  const unsigned char* end = p + der.size();
  CmsPtr cms(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(der.size())));
  if (!cms) return Fail("malformed-envelope");
  if (p != end) return Fail("malformed-envelope: bytes after the DER");
  const int nid = OBJ_obj2nid(CMS_get0_type(cms.get()));
  if (nid != NID_pkcs7_enveloped && nid != NID_id_smime_ct_authEnvelopedData)
    return Fail("not-enveloped");
  *authenticated = nid == NID_id_smime_ct_authEnvelopedData;
  *out = std::move(cms);
  return Status::Ok();
}

}  // namespace

Status ReadEnvelope(const std::string& der, EnvelopeFacts* facts) {
  CmsPtr cms;
  bool authenticated = false;
  Status st = Parse(der, &cms, &authenticated);
  if (!st.ok()) return st;
  // Other implementations send BER (indefinite lengths: gpgsm, NSS); the
  // walk reads OpenSSL's DER re-encoding of what it parsed.
  unsigned char* enc = nullptr;
  const int enc_len = i2d_CMS_ContentInfo(cms.get(), &enc);
  std::string reencoded;
  if (enc_len > 0) reencoded.assign(reinterpret_cast<char*>(enc), static_cast<size_t>(enc_len));
  OPENSSL_free(enc);
  int nid = NID_undef, recipients = 0;
  if (!CipherOf(reencoded, &nid, &recipients))
    return Fail("malformed-envelope: cannot read the cipher");
  if (!Accepted(nid, authenticated))
    return Status::InvalidInput(std::string("unsupported-content-cipher: ") +
                                (nid == NID_undef ? "unknown" : OBJ_nid2sn(nid)));
  facts->authenticated = authenticated;
  facts->cipher = OBJ_nid2ln(nid);
  for (char& c : facts->cipher) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  facts->recipients = recipients;
  return Status::Ok();
}

bool EnvelopeNames(const std::string& der, X509* cert) {
  CmsPtr cms;
  bool authenticated = false;
  if (!Parse(der, &cms, &authenticated).ok()) return false;
  STACK_OF(CMS_RecipientInfo)* ris = CMS_get0_RecipientInfos(cms.get());
  bool found = false;
  for (int i = 0; i < sk_CMS_RecipientInfo_num(ris) && !found; ++i) {
    CMS_RecipientInfo* ri = sk_CMS_RecipientInfo_value(ris, i);
    const int type = CMS_RecipientInfo_type(ri);
    if (type == CMS_RECIPINFO_TRANS) {
      found = CMS_RecipientInfo_ktri_cert_cmp(ri, cert) == 0;
    } else if (type == CMS_RECIPINFO_AGREE) {
      STACK_OF(CMS_RecipientEncryptedKey)* reks = CMS_RecipientInfo_kari_get0_reks(ri);
      for (int j = 0; j < sk_CMS_RecipientEncryptedKey_num(reks) && !found; ++j)
        found = CMS_RecipientEncryptedKey_cert_cmp(sk_CMS_RecipientEncryptedKey_value(reks, j),
                                                   cert) == 0;
    }
  }
  DrainOpensslErrors();
  return found;
}

bool SignedDataContent(const std::string& der, std::string* content) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  CmsPtr cms(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(der.size())));
  bool ok = false;
  if (cms && OBJ_obj2nid(CMS_get0_type(cms.get())) == NID_pkcs7_signed) {
    ASN1_OCTET_STRING** pos = CMS_get0_content(cms.get());
    if (pos && *pos) {
      content->assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(*pos)),
                      static_cast<size_t>(ASN1_STRING_length(*pos)));
      ok = true;
    }
  }
  DrainOpensslErrors();
  return ok;
}

Status DecryptEnvelope(const std::string& der, X509* cert, EVP_PKEY* key, std::string* plaintext) {
  EnvelopeFacts facts;
  Status st = ReadEnvelope(der, &facts);
  if (!st.ok()) return st;
  if (!EnvelopeNames(der, cert)) return Status::InvalidInput("no-matching-recipient");
  CmsPtr cms;
  bool authenticated = false;
  st = Parse(der, &cms, &authenticated);
  if (!st.ok()) return st;
  BioPtr out(BIO_new(BIO_s_mem()));
  if (!out) return Fail("decryption-failed: out of memory");
  int ok = 0;
  {
    // Token keys are used by one thread at a time (certdir/token_key.h).
    std::mutex* mu = SerialLockOf(key);
    std::unique_lock<std::mutex> serial;
    if (mu) serial = std::unique_lock<std::mutex>(*mu);
    // With the certificate given, OpenSSL tries only the RecipientInfos for
    // it and reports a key failure instead of decrypting with a random key.
    // CMS_dataFinal inside checks the GCM tag and the CBC padding; on any
    // failure the bytes already in out are thrown away below.
    ok = CMS_decrypt(cms.get(), key, cert, nullptr, out.get(), CMS_BINARY);
  }
  BUF_MEM* mem = nullptr;
  BIO_get_mem_ptr(out.get(), &mem);
  if (ok != 1) {
    // Whatever was decrypted before the failure is wiped, never handed out.
    if (mem && mem->data) OPENSSL_cleanse(mem->data, mem->length);
    return Fail("decryption-failed");
  }
  DrainOpensslErrors();
  if (mem && mem->data) {
    plaintext->assign(mem->data, mem->length);
    OPENSSL_cleanse(mem->data, mem->length);
  } else {
    plaintext->clear();
  }
  return Status::Ok();
}

}  // namespace smime
