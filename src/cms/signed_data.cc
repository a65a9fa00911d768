// cms/signed_data: see signed_data.h.
#include "cms/signed_data.h"

#include <openssl/cmserr.h>
#include <openssl/err.h>
#include <openssl/evperr.h>
#include <openssl/objects.h>
#include <openssl/proverr.h>

#include <algorithm>
#include <cstring>

#include "cms/cert_cache.h"
#include "cms/signer_attributes.h"

namespace smime {

namespace {

using Outcome = CmsCheck::Outcome;

CmsCheck Fail(Outcome o, std::string reason) {
  CmsCheck c;
  c.outcome = o;
  c.reason = std::move(reason);
  c.detail = DrainOpensslErrors();
  return c;
}

// Classifies the error queue after a failed CMS_verify and drains it.
Outcome ClassifyVerifyError(std::string* reason, std::string* detail) {
  Outcome o = Outcome::kBadSignature;
  *reason = "signature-invalid";
  unsigned long e;
  std::string text;
  while ((e = ERR_get_error()) != 0) {
    int lib = ERR_GET_LIB(e), r = ERR_GET_REASON(e);
    const char* rs = ERR_reason_error_string(e);
    if (!text.empty()) text += "; ";
    text += rs ? rs : "unknown error";
    if (lib == ERR_LIB_CMS && r == CMS_R_CONTENT_VERIFY_ERROR) {
      *reason = "content-digest-mismatch";
    } else if (lib == ERR_LIB_CMS && r == CMS_R_SIGNER_CERTIFICATE_NOT_FOUND) {
      o = Outcome::kMalformed;
      *reason = "signer-certificate-missing";
    } else if ((lib == ERR_LIB_PROV && r == PROV_R_INVALID_DIGEST) ||  // Ed25519 on 3.0
               (lib == ERR_LIB_EVP && (r == EVP_R_UNSUPPORTED_ALGORITHM ||
                                       r == EVP_R_OPERATION_NOT_SUPPORTED_FOR_THIS_KEYTYPE ||
                                       r == EVP_R_UNSUPPORTED_PRIVATE_KEY_ALGORITHM)) ||
               (lib == ERR_LIB_CMS &&
                (r == CMS_R_UNKNOWN_DIGEST_ALGORITHM || r == CMS_R_UNSUPPORTED_TYPE ||
                 r == CMS_R_NOT_SUPPORTED_FOR_THIS_KEY_TYPE))) {
      o = Outcome::kUnsupported;
      *reason = "unsupported-algorithm";
    }
  }
  *detail = text;
  return o;
}

// One DER element: tag (low-tag-number form only), header size, content size.
struct Tlv {
  unsigned char tag = 0;
  size_t header = 0;
  size_t length = 0;
  size_t size() const { return header + length; }
};

// Reads a DER header at p[0..avail): single-byte tag, definite length in
// its shortest form, content within avail. Anything else (BER indefinite
// lengths, non-minimal lengths, high tag numbers) is left to OpenSSL's
// full parse, which then decides exactly as it always has.
bool ReadTlv(const unsigned char* p, size_t avail, Tlv* t) {
  if (avail < 2 || (p[0] & 0x1f) == 0x1f) return false;
  t->tag = p[0];
  unsigned char l = p[1];
  size_t len = 0, hdr = 2;
  if (l < 0x80) {
    len = l;
  } else {
    size_t n = l & 0x7f;
    if (n == 0 || n > 4 || avail < 2 + n || p[2] == 0) return false;
    for (size_t i = 0; i < n; ++i) len = (len << 8) | p[2 + i];
    if (len < 0x80 || (n > 1 && len < (size_t{1} << (8 * (n - 1))))) return false;
    hdr += n;
  }
  if (len > avail - hdr) return false;
  t->header = hdr;
  t->length = len;
  return true;
}

void AppendHeader(unsigned char tag, size_t len, std::string* out) {
  out->push_back(static_cast<char>(tag));
  if (len < 0x80) {
    out->push_back(static_cast<char>(len));
    return;
  }
  int n = 0;
  for (size_t v = len; v > 0; v >>= 8) ++n;
  out->push_back(static_cast<char>(0x80 | n));
  for (int i = n - 1; i >= 0; --i) out->push_back(static_cast<char>((len >> (8 * i)) & 0xff));
}

// Messages this large are opaque signatures whose size is the content: a
// copy would cost more than the certificates' parse saves.
constexpr size_t kSharedParseMax = 256 * 1024;
constexpr int kSharedParseMaxCerts = 64;

// Parses a SignedData ContentInfo with its certificates taken from
// CertCache::Shared() (so their public keys are decoded once per process,
// not once per message): the certificates [0] field is cut out of the DER,
// the rest parsed by OpenSSL, and the shared X509 objects added to the
// structure in their order. Null whenever the message is not plain DER of
// that shape (the caller then parses it whole, with the same result as
// before); the outcome of every later check is the same either way.
CmsPtr ParseWithSharedCerts(const std::string& der) {
  if (der.size() > kSharedParseMax) return nullptr;
  const auto* base = reinterpret_cast<const unsigned char*>(der.data());
  Tlv ci, oid, explicit0, sd;
  if (!ReadTlv(base, der.size(), &ci) || ci.tag != 0x30 || ci.size() != der.size()) return nullptr;
  const unsigned char* p = base + ci.header;
  static const unsigned char kSignedDataOid[] = {0x2a, 0x86, 0x48, 0x86, 0xf7,
                                                 0x0d, 0x01, 0x07, 0x02};
  if (!ReadTlv(p, ci.length, &oid) || oid.tag != 0x06 || oid.length != sizeof kSignedDataOid ||
      std::memcmp(p + oid.header, kSignedDataOid, sizeof kSignedDataOid) != 0)
    return nullptr;
  p += oid.size();
  if (!ReadTlv(p, ci.length - oid.size(), &explicit0) || explicit0.tag != 0xa0 ||
      oid.size() + explicit0.size() != ci.length)
    return nullptr;
  p += explicit0.header;
  if (!ReadTlv(p, explicit0.length, &sd) || sd.tag != 0x30 || sd.size() != explicit0.length)
    return nullptr;
  const unsigned char* sd_begin = p + sd.header;
  const unsigned char* sd_end = sd_begin + sd.length;
  // version, digestAlgorithms, encapContentInfo, then certificates [0].
  const unsigned char* q = sd_begin;
  static const unsigned char kLeading[] = {0x02, 0x31, 0x30};
  for (unsigned char want : kLeading) {
    Tlv t;
    if (!ReadTlv(q, static_cast<size_t>(sd_end - q), &t) || t.tag != want) return nullptr;
    q += t.size();
  }
  Tlv certs;
  if (!ReadTlv(q, static_cast<size_t>(sd_end - q), &certs) || certs.tag != 0xa0) return nullptr;
  const unsigned char* certs_begin = q;
  const unsigned char* c = q + certs.header;
  const unsigned char* const certs_end = c + certs.length;
  std::vector<X509Ptr> parsed;
  while (c < certs_end) {
    Tlv t;
    if (!ReadTlv(c, static_cast<size_t>(certs_end - c), &t) || t.tag != 0x30 ||
        parsed.size() >= kSharedParseMaxCerts)
      return nullptr;
    X509Ptr x = CertCache::Shared().Parse(c, t.size());
    if (!x) return nullptr;
    parsed.push_back(std::move(x));
    c += t.size();
  }
  // The same structure without the certificates field.
  const size_t sd_len = sd.length - certs.size();
  std::string sd_der;
  AppendHeader(0x30, sd_len, &sd_der);
  sd_der.append(reinterpret_cast<const char*>(sd_begin),
                static_cast<size_t>(certs_begin - sd_begin));
  sd_der.append(reinterpret_cast<const char*>(certs_begin + certs.size()),
                static_cast<size_t>(sd_end - certs_begin - certs.size()));
  std::string wrapped;
  AppendHeader(0xa0, sd_der.size(), &wrapped);
  wrapped += sd_der;
  std::string rest;
  AppendHeader(0x30, oid.size() + wrapped.size(), &rest);
  rest.append(reinterpret_cast<const char*>(base + ci.header), oid.size());
  rest += wrapped;
  const auto* r = reinterpret_cast<const unsigned char*>(rest.data());
  CmsPtr cms(d2i_CMS_ContentInfo(nullptr, &r, static_cast<long>(rest.size())));
  if (!cms || r != reinterpret_cast<const unsigned char*>(rest.data()) + rest.size() ||
      OBJ_obj2nid(CMS_get0_type(cms.get())) != NID_pkcs7_signed) {
    ERR_clear_error();
    return nullptr;
  }
  for (X509Ptr& x : parsed) {
    // A certificate twice: OpenSSL's own parse keeps both; leave it to that.
    if (CMS_add1_cert(cms.get(), x.get()) != 1) {
      ERR_clear_error();
      return nullptr;
    }
  }
  return cms;
}

}  // namespace

CmsCheck VerifySignedData(const std::string& der, const std::string_view* detached, int max_signers,
                          STACK_OF(X509) * signer_candidates) {
  ERR_clear_error();
  if (der.empty()) return Fail(Outcome::kMalformed, "empty-cms");
  if (der.size() > kMaxCmsLength || (detached && detached->size() > kMaxCmsLength))
    return Fail(Outcome::kMalformed, "cms-too-large");
  // Exactly one DER object: bytes after it are a second reading that other
  // decoders might take for the signature.
  CmsPtr cms = ParseWithSharedCerts(der);
  if (!cms) {
    const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
    const unsigned char* const end = p + der.size();
    cms.reset(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(der.size())));
    if (!cms) return Fail(Outcome::kMalformed, "cms-parse-error");
    if (p != end) return Fail(Outcome::kMalformed, "cms-trailing-data");
  }

  const ASN1_OBJECT* type = CMS_get0_type(cms.get());
  if (OBJ_obj2nid(type) != NID_pkcs7_signed) {
    CmsCheck c = Fail(Outcome::kNotSignedData, "");
    int nid = OBJ_obj2nid(type);
    c.reason = nid == NID_pkcs7_enveloped                 ? "enveloped-data"
               : nid == NID_id_smime_ct_authEnvelopedData ? "auth-enveloped-data"
                                                          : "not-signed-data";
    return c;
  }

  STACK_OF(CMS_SignerInfo)* infos = CMS_get0_SignerInfos(cms.get());
  int n = infos ? sk_CMS_SignerInfo_num(infos) : 0;
  if (n == 0) return Fail(Outcome::kNoSigners, "no-signerinfos");
  if (n > max_signers) return Fail(Outcome::kTooManySigners, "too-many-signers");

  // Mail is id-data (RFC 8551 3.1); a TSTInfo or nested SignedData is not a
  // signature over a message.
  if (OBJ_obj2nid(CMS_get0_eContentType(cms.get())) != NID_pkcs7_data)
    return Fail(Outcome::kMalformed, "econtent-type-not-data");
  ASN1_OCTET_STRING** econtent = CMS_get0_content(cms.get());
  bool has_econtent = econtent && *econtent;
  if (detached && has_econtent) return Fail(Outcome::kForged, "econtent-in-detached-signature");
  if (!detached && !has_econtent) return Fail(Outcome::kMalformed, "no-econtent");

  CmsCheck result;
  result.certs.reset(CMS_get1_certs(cms.get()));
  result.crls.reset(CMS_get1_crls(cms.get()),
                    [](STACK_OF(X509_CRL) * s) { sk_X509_CRL_pop_free(s, X509_CRL_free); });
  // Associate certificates with SignerInfos so facts are known even when the
  // signature fails; a missing certificate is reported by CMS_verify below.
  CMS_set1_signers_certs(cms.get(), nullptr, 0);
  std::vector<bool> from_message(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    X509* cert = nullptr;
    CMS_SignerInfo_get0_algs(sk_CMS_SignerInfo_value(infos, i), nullptr, &cert, nullptr, nullptr);
    from_message[static_cast<size_t>(i)] = cert != nullptr;
  }
  // Only SignerInfos still without a certificate look at the candidates.
  if (signer_candidates) CMS_set1_signers_certs(cms.get(), signer_candidates, CMS_NOINTERN);
  ERR_clear_error();
  const ASN1_OBJECT* etype = CMS_get0_eContentType(cms.get());
  for (int i = 0; i < n; ++i) {
    CMS_SignerInfo* si = sk_CMS_SignerInfo_value(infos, i);
    SignerFacts f;
    X509* cert = nullptr;
    X509_ALGOR* dig = nullptr;
    CMS_SignerInfo_get0_algs(si, nullptr, &cert, &dig, nullptr);
    if (cert) {
      X509_up_ref(cert);
      f.cert.reset(cert);
      f.cert_from_candidates = !from_message[static_cast<size_t>(i)];
    }
    if (dig) {
      const ASN1_OBJECT* obj = nullptr;
      X509_ALGOR_get0(&obj, nullptr, nullptr, dig);
      f.digest_nid = OBJ_obj2nid(obj);
      const char* sn = OBJ_nid2sn(f.digest_nid);
      f.digest_name = sn ? sn : "unknown";
    }
    f.capabilities = CapabilitiesOf(si);
    f.signing_time = SigningTimeOf(si);
    result.signers.push_back(std::move(f));
    if (CMS_signed_get_attr_count(si) <= 0) {
      CmsCheck c = Fail(Outcome::kMalformed, "no-signed-attributes");
      c.signers = std::move(result.signers);
      return c;
    }
    const ASN1_OBJECT* ct = static_cast<const ASN1_OBJECT*>(
        CMS_signed_get0_data_by_OBJ(si, OBJ_nid2obj(NID_pkcs9_contentType), -3, V_ASN1_OBJECT));
    if (!ct || !etype || OBJ_cmp(ct, etype) != 0) {
      CmsCheck c = Fail(Outcome::kMalformed, "content-type-attribute-mismatch");
      c.signers = std::move(result.signers);
      return c;
    }
  }

  BioPtr content;
  if (detached) {
    // OpenSSL 3.0's CMS_verify copies a memory BIO and leaks the copy when
    // the digest BIOs cannot be set up (e.g. an empty digestAlgorithms
    // set); behind a pass-through filter it reads our BIO directly.
    BioPtr mem(BIO_new_mem_buf(detached->data(), static_cast<int>(detached->size())));
    content.reset(BIO_new(BIO_f_null()));
    if (!mem || !content) return Fail(Outcome::kMalformed, "out-of-memory");
    BIO_push(content.get(), mem.release());
  }
  BioPtr sink(BIO_new(BIO_s_null()));
  int ok = CMS_verify(cms.get(), nullptr, nullptr, content.get(), sink.get(),
                      CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY);
  if (ok != 1) {
    result.outcome = ClassifyVerifyError(&result.reason, &result.detail);
    return result;
  }
  result.outcome = Outcome::kVerified;
  if (!detached) {
    constexpr int kHeadMax = 256 * 1024;
    const int head = std::min(ASN1_STRING_length(*econtent), kHeadMax);
    result.content_head.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(*econtent)),
                               static_cast<size_t>(head));
  }
  ERR_clear_error();
  return result;
}

}  // namespace smime
