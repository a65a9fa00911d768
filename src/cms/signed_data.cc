// cms/signed_data: see signed_data.h.
#include "cms/signed_data.h"

#include <openssl/cmserr.h>
#include <openssl/err.h>
#include <openssl/evperr.h>
#include <openssl/objects.h>
#include <openssl/proverr.h>

#include <algorithm>

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

}  // namespace

CmsCheck VerifySignedData(const std::string& der, const std::string_view* detached, int max_signers,
                          STACK_OF(X509) * signer_candidates) {
  ERR_clear_error();
  if (der.empty()) return Fail(Outcome::kMalformed, "empty-cms");
  if (der.size() > kMaxCmsLength || (detached && detached->size() > kMaxCmsLength))
    return Fail(Outcome::kMalformed, "cms-too-large");
  // Exactly one DER object: bytes after it are a second reading that other
  // decoders might take for the signature.
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  const unsigned char* const end = p + der.size();
  CmsPtr cms(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(der.size())));
  if (!cms) return Fail(Outcome::kMalformed, "cms-parse-error");
  if (p != end) return Fail(Outcome::kMalformed, "cms-trailing-data");

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
