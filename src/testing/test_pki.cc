// testing/test_pki: see test_pki.h.
#include "testing/test_pki.h"

#include <openssl/bn.h>
#include <openssl/dsa.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <cstdio>
#include <memory>

#include "base/testing.h"

namespace smime {
namespace testpki {

namespace {

using X509NamePtr = std::unique_ptr<X509_NAME, OsslDeleter<X509_NAME, X509_NAME_free>>;
using BignumPtr = std::unique_ptr<BIGNUM, OsslDeleter<BIGNUM, BN_free>>;
using GeneralNamesPtr =
    std::unique_ptr<GENERAL_NAMES, OsslDeleter<GENERAL_NAMES, GENERAL_NAMES_free>>;
using BitStringPtr =
    std::unique_ptr<ASN1_BIT_STRING, OsslDeleter<ASN1_BIT_STRING, ASN1_BIT_STRING_free>>;
using BasicConstraintsPtr =
    std::unique_ptr<BASIC_CONSTRAINTS, OsslDeleter<BASIC_CONSTRAINTS, BASIC_CONSTRAINTS_free>>;
using EkuPtr =
    std::unique_ptr<EXTENDED_KEY_USAGE, OsslDeleter<EXTENDED_KEY_USAGE, EXTENDED_KEY_USAGE_free>>;
using ExtensionPtr =
    std::unique_ptr<X509_EXTENSION, OsslDeleter<X509_EXTENSION, X509_EXTENSION_free>>;

// A fixture that OpenSSL refuses is a test bug: stop the test loudly.
void Require(bool ok, const char* what) {
  if (ok) return;
  std::string err = DrainOpensslErrors();
  fail_msg("test PKI: %s failed: %s", what, err.c_str());
}

std::string BioContents(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return std::string(data ? data : "", len > 0 ? static_cast<size_t>(len) : 0);
}

std::string CmsToDer(CMS_ContentInfo* cms) {
  BioPtr out(BIO_new(BIO_s_mem()));
  Require(out && i2d_CMS_bio(out.get(), cms) == 1, "i2d_CMS_bio");
  return BioContents(out.get());
}

CmsPtr CmsFromDer(const std::string& der) {
  BioPtr in(BIO_new_mem_buf(der.data(), static_cast<int>(der.size())));
  CmsPtr cms(d2i_CMS_bio(in.get(), nullptr));
  Require(cms != nullptr, "d2i_CMS_bio");
  return cms;
}

void AddNameEntry(X509_NAME* name, int nid, int type, const std::string& value) {
  if (value.empty()) return;
  Require(X509_NAME_add_entry_by_NID(name, nid, type,
                                     reinterpret_cast<const unsigned char*>(value.data()),
                                     static_cast<int>(value.size()), -1, 0) == 1,
          "X509_NAME_add_entry_by_NID");
}

void AddGeneralName(GENERAL_NAMES* names, int type, const std::string& value) {
  ASN1_IA5STRING* s = ASN1_IA5STRING_new();
  Require(s && ASN1_STRING_set(s, value.data(), static_cast<int>(value.size())) == 1,
          "ASN1_STRING_set");
  GENERAL_NAME* gn = GENERAL_NAME_new();
  Require(gn != nullptr, "GENERAL_NAME_new");
  GENERAL_NAME_set0_value(gn, type, s);
  Require(sk_GENERAL_NAME_push(names, gn) > 0, "sk_GENERAL_NAME_push");
}

// keyUsage bit i of the DER BIT STRING for a KU_* mask from x509v3.h.
BitStringPtr KeyUsageBits(int mask) {
  BitStringPtr bits(ASN1_BIT_STRING_new());
  Require(bits != nullptr, "ASN1_BIT_STRING_new");
  for (int i = 0; i < 8; ++i)
    if (mask & (0x80 >> i)) Require(ASN1_BIT_STRING_set_bit(bits.get(), i, 1) == 1, "set_bit");
  if (mask & KU_DECIPHER_ONLY) Require(ASN1_BIT_STRING_set_bit(bits.get(), 8, 1) == 1, "set_bit");
  return bits;
}

void AddConfExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer ? issuer : cert, cert, nullptr, nullptr, 0);
  ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  Require(ext != nullptr, "X509V3_EXT_conf_nid");
  Require(X509_add_ext(cert, ext.get(), -1) == 1, "X509_add_ext");
}

std::string NextSerial() {
  static unsigned counter = 0x1000;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%X", counter++);
  return buf;
}

const EVP_MD* SigningDigest(EVP_PKEY* key) {
  return EVP_PKEY_is_a(key, "ED25519") || EVP_PKEY_is_a(key, "ED448") ? nullptr : EVP_sha256();
}

// EVP_PKEY_Q_keygen knows the size parameter of "RSA" only.
EVP_PKEY* RsaPssKey(int bits) {
  std::unique_ptr<EVP_PKEY_CTX, OsslDeleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>> ctx(
      EVP_PKEY_CTX_new_from_name(nullptr, "RSA-PSS", nullptr));
  EVP_PKEY* key = nullptr;
  Require(ctx && EVP_PKEY_keygen_init(ctx.get()) == 1 &&
              EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), bits) == 1 &&
              EVP_PKEY_keygen(ctx.get(), &key) == 1,
          "RSA-PSS key");
  return key;
}

EVP_PKEY* DsaKey(int bits) {
  std::unique_ptr<EVP_PKEY_CTX, OsslDeleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>> pctx(
      EVP_PKEY_CTX_new_from_name(nullptr, "DSA", nullptr));
  EVP_PKEY* params = nullptr;
  Require(pctx && EVP_PKEY_paramgen_init(pctx.get()) == 1 &&
              EVP_PKEY_CTX_set_dsa_paramgen_bits(pctx.get(), bits) == 1 &&
              EVP_PKEY_paramgen(pctx.get(), &params) == 1,
          "DSA parameters");
  EvpPkeyPtr owned_params(params);
  std::unique_ptr<EVP_PKEY_CTX, OsslDeleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>> kctx(
      EVP_PKEY_CTX_new_from_pkey(nullptr, params, nullptr));
  EVP_PKEY* key = nullptr;
  Require(kctx && EVP_PKEY_keygen_init(kctx.get()) == 1 && EVP_PKEY_keygen(kctx.get(), &key) == 1,
          "DSA key");
  return key;
}

}  // namespace

EvpPkeyPtr MakeKey(KeyKind kind) {
  EVP_PKEY* key = nullptr;
  switch (kind) {
    case KeyKind::kRsa1024: key = EVP_RSA_gen(1024); break;
    case KeyKind::kRsa2048: key = EVP_RSA_gen(2048); break;
    case KeyKind::kRsa3072: key = EVP_RSA_gen(3072); break;
    case KeyKind::kRsaPss2048: key = RsaPssKey(2048); break;
    case KeyKind::kEcP256: key = EVP_EC_gen("P-256"); break;
    case KeyKind::kEcP384: key = EVP_EC_gen("P-384"); break;
    case KeyKind::kEcP192: key = EVP_EC_gen("prime192v1"); break;
    case KeyKind::kEcSecp160r1: key = EVP_EC_gen("secp160r1"); break;
    case KeyKind::kEcBrainpool256: key = EVP_EC_gen("brainpoolP256r1"); break;
    case KeyKind::kEd25519: key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"); break;
    case KeyKind::kEd448: key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED448"); break;
    case KeyKind::kDsa1024: key = DsaKey(1024); break;
  }
  Require(key != nullptr, "key generation");
  return EvpPkeyPtr(key);
}

X509Ptr MakeCert(const CertSpec& spec, EVP_PKEY* subject_key, X509* issuer, EVP_PKEY* issuer_key) {
  X509Ptr cert(X509_new());
  Require(cert != nullptr, "X509_new");
  X509* x = cert.get();
  Require(X509_set_version(x, X509_VERSION_3) == 1, "X509_set_version");

  BIGNUM* raw_bn = nullptr;
  std::string serial = spec.serial_hex.empty() ? NextSerial() : spec.serial_hex;
  Require(BN_hex2bn(&raw_bn, serial.c_str()) > 0, "BN_hex2bn");
  BignumPtr bn(raw_bn);
  Require(BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(x)) != nullptr, "serial");

  X509NamePtr name(X509_NAME_new());
  Require(name != nullptr, "X509_NAME_new");
  AddNameEntry(name.get(), NID_organizationName, MBSTRING_UTF8, spec.organization);
  AddNameEntry(name.get(), NID_commonName, MBSTRING_UTF8, spec.common_name);
  AddNameEntry(name.get(), NID_pkcs9_emailAddress, V_ASN1_IA5STRING, spec.subject_email);
  Require(X509_set_subject_name(x, name.get()) == 1, "X509_set_subject_name");
  Require(X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name.get()) == 1,
          "X509_set_issuer_name");

  Require(ASN1_TIME_set(X509_getm_notBefore(x), spec.not_before) != nullptr, "notBefore");
  Require(ASN1_TIME_set(X509_getm_notAfter(x), spec.not_after) != nullptr, "notAfter");
  Require(X509_set_pubkey(x, subject_key) == 1, "X509_set_pubkey");

  if (spec.ca) {
    BasicConstraintsPtr bc(BASIC_CONSTRAINTS_new());
    Require(bc != nullptr, "BASIC_CONSTRAINTS_new");
    bc->ca = 0xFF;
    Require(X509_add1_ext_i2d(x, NID_basic_constraints, bc.get(), 1, X509V3_ADD_REPLACE) == 1,
            "basicConstraints");
  }
  if (spec.key_usage >= 0) {
    BitStringPtr bits = KeyUsageBits(spec.key_usage);
    Require(X509_add1_ext_i2d(x, NID_key_usage, bits.get(), 1, X509V3_ADD_REPLACE) == 1,
            "keyUsage");
  }
  if (!spec.eku.empty()) {
    EkuPtr eku(sk_ASN1_OBJECT_new_null());
    Require(eku != nullptr, "sk_ASN1_OBJECT_new_null");
    for (int nid : spec.eku) {
      ASN1_OBJECT* obj = OBJ_nid2obj(nid);
      Require(obj != nullptr && sk_ASN1_OBJECT_push(eku.get(), obj) > 0, "EKU OID");
    }
    Require(X509_add1_ext_i2d(x, NID_ext_key_usage, eku.get(), 0, X509V3_ADD_REPLACE) == 1, "EKU");
  }
  if (!spec.san_emails.empty() || !spec.san_dns.empty()) {
    GeneralNamesPtr names(GENERAL_NAMES_new());
    Require(names != nullptr, "GENERAL_NAMES_new");
    for (const std::string& e : spec.san_emails) AddGeneralName(names.get(), GEN_EMAIL, e);
    for (const std::string& d : spec.san_dns) AddGeneralName(names.get(), GEN_DNS, d);
    Require(X509_add1_ext_i2d(x, NID_subject_alt_name, names.get(), 0, X509V3_ADD_REPLACE) == 1,
            "subjectAltName");
  }
  for (const std::string& u : spec.crl_urls)
    AddConfExtension(x, issuer, NID_crl_distribution_points, ("URI:" + u).c_str());
  // One authorityInfoAccess extension for every OCSP and caIssuers URI.
  std::string aia;
  for (const std::string& u : spec.ocsp_urls) aia += (aia.empty() ? "" : ",") + ("OCSP;URI:" + u);
  for (const std::string& u : spec.ca_issuers_urls)
    aia += (aia.empty() ? "" : ",") + ("caIssuers;URI:" + u);
  if (!aia.empty()) AddConfExtension(x, issuer, NID_info_access, aia.c_str());
  AddConfExtension(x, issuer, NID_subject_key_identifier, "hash");
  if (issuer) AddConfExtension(x, issuer, NID_authority_key_identifier, "keyid:always");

  const EVP_MD* md = spec.signature_md ? spec.signature_md : SigningDigest(issuer_key);
  Require(X509_sign(x, issuer_key, md) > 0, "X509_sign");
  return cert;
}

Issued MakeCa(const std::string& common_name, KeyKind key, std::time_t not_before,
              std::time_t not_after) {
  CertSpec spec;
  spec.common_name = common_name;
  spec.ca = true;
  spec.key_usage = KU_KEY_CERT_SIGN | KU_CRL_SIGN;
  spec.not_before = not_before;
  spec.not_after = not_after;
  spec.key = key;
  Issued ca;
  ca.key = MakeKey(key);
  ca.cert = MakeCert(spec, ca.key.get(), nullptr, ca.key.get());
  return ca;
}

CertSpec CaSpec(const std::string& common_name) {
  CertSpec spec;
  spec.common_name = common_name;
  spec.ca = true;
  spec.key_usage = KU_KEY_CERT_SIGN | KU_CRL_SIGN;
  return spec;
}

Issued MakeSubCa(const std::string& common_name, const Issued& parent) {
  return MakeLeaf(CaSpec(common_name), parent);
}

Issued MakeLeaf(const CertSpec& spec, const Issued& ca) {
  Issued leaf;
  leaf.key = MakeKey(spec.key);
  leaf.cert = MakeCert(spec, leaf.key.get(), ca.cert.get(), ca.key.get());
  return leaf;
}

CertSpec SmimeSpec(const std::string& address) {
  CertSpec spec;
  spec.common_name = address;
  spec.san_emails = {address};
  spec.key_usage = KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION;
  spec.eku = {NID_email_protect};
  return spec;
}

std::string SignCms(const std::string& content, const Issued& signer, const SignOptions& opt) {
  unsigned int flags = CMS_PARTIAL | CMS_BINARY;
  if (opt.detached) flags |= CMS_DETACHED;
  CmsPtr cms(CMS_sign(nullptr, nullptr, nullptr, nullptr, flags));
  Require(cms != nullptr, "CMS_sign");
  unsigned int signer_flags = CMS_BINARY;
  if (opt.no_attributes) signer_flags |= CMS_NOATTR;
  if (opt.no_certs) signer_flags |= CMS_NOCERTS;
  if (opt.key_id) signer_flags |= CMS_USE_KEYID;
  const EVP_MD* md = opt.md ? opt.md : EVP_sha256();
  Require(
      CMS_add1_signer(cms.get(), signer.cert.get(), signer.key.get(), md, signer_flags) != nullptr,
      "CMS_add1_signer");
  for (X509* c : opt.chain) Require(CMS_add1_cert(cms.get(), c) == 1, "CMS_add1_cert");
  BioPtr data(BIO_new_mem_buf(content.data(), static_cast<int>(content.size())));
  Require(CMS_final(cms.get(), data.get(), nullptr, CMS_BINARY) == 1, "CMS_final");
  return CmsToDer(cms.get());
}

std::string AddSigner(const std::string& der, const Issued& signer, const EVP_MD* md) {
  CmsPtr cms = CmsFromDer(der);
  Require(CMS_add1_signer(cms.get(), signer.cert.get(), signer.key.get(), md ? md : EVP_sha256(),
                          CMS_REUSE_DIGEST | CMS_BINARY) != nullptr,
          "CMS_add1_signer (reuse digest)");
  return CmsToDer(cms.get());
}

std::string CertsOnly(const std::vector<X509*>& certs) {
  X509StackPtr stack = Stack(certs);
  CmsPtr cms(CMS_sign(nullptr, nullptr, stack.get(), nullptr, CMS_PARTIAL | CMS_BINARY));
  Require(cms != nullptr, "CMS_sign (certs-only)");
  return CmsToDer(cms.get());
}

std::string Encrypt(const std::string& content, X509* recipient) {
  X509StackPtr recips = Stack({recipient});
  BioPtr data(BIO_new_mem_buf(content.data(), static_cast<int>(content.size())));
  CmsPtr cms(CMS_encrypt(recips.get(), data.get(), EVP_aes_128_cbc(), CMS_BINARY));
  Require(cms != nullptr, "CMS_encrypt");
  return CmsToDer(cms.get());
}

std::string MakeCrl(const CrlSpec& spec, const Issued& issuer) {
  std::unique_ptr<X509_CRL, OsslDeleter<X509_CRL, X509_CRL_free>> crl(X509_CRL_new());
  Require(crl != nullptr, "X509_CRL_new");
  X509_CRL* c = crl.get();
  Require(X509_CRL_set_version(c, X509_CRL_VERSION_2) == 1, "X509_CRL_set_version");
  Require(X509_CRL_set_issuer_name(c, X509_get_subject_name(issuer.cert.get())) == 1,
          "X509_CRL_set_issuer_name");
  std::unique_ptr<ASN1_TIME, OsslDeleter<ASN1_TIME, ASN1_TIME_free>> t(
      ASN1_TIME_set(nullptr, spec.last_update));
  Require(t && X509_CRL_set1_lastUpdate(c, t.get()) == 1, "lastUpdate");
  t.reset(ASN1_TIME_set(nullptr, spec.next_update));
  Require(t && X509_CRL_set1_nextUpdate(c, t.get()) == 1, "nextUpdate");
  auto private_ext = [](const char* oid) {
    std::unique_ptr<ASN1_OBJECT, OsslDeleter<ASN1_OBJECT, ASN1_OBJECT_free>> obj(
        OBJ_txt2obj(oid, 1));
    std::unique_ptr<ASN1_OCTET_STRING, OsslDeleter<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free>>
        value(ASN1_OCTET_STRING_new());
    static const unsigned char kNull[] = {0x05, 0x00};
    Require(obj && value && ASN1_OCTET_STRING_set(value.get(), kNull, 2) == 1, "private ext");
    ExtensionPtr ext(X509_EXTENSION_create_by_OBJ(nullptr, obj.get(), 1, value.get()));
    Require(ext != nullptr, "X509_EXTENSION_create_by_OBJ");
    return ext;
  };
  for (X509* cert : spec.revoked) {
    X509_REVOKED* rev = X509_REVOKED_new();
    Require(rev != nullptr, "X509_REVOKED_new");
    t.reset(ASN1_TIME_set(nullptr, spec.last_update - 60));
    Require(t && X509_REVOKED_set_serialNumber(rev, X509_get_serialNumber(cert)) == 1 &&
                X509_REVOKED_set_revocationDate(rev, t.get()) == 1,
            "X509_REVOKED fields");
    if (spec.entry_unknown_critical_ext)
      Require(X509_REVOKED_add_ext(rev, private_ext("1.3.6.1.4.1.55555.1.2").get(), -1) == 1,
              "X509_REVOKED_add_ext");
    Require(X509_CRL_add0_revoked(c, rev) == 1, "X509_CRL_add0_revoked");
  }
  if (spec.number >= 0) {
    std::unique_ptr<ASN1_INTEGER, OsslDeleter<ASN1_INTEGER, ASN1_INTEGER_free>> n(
        ASN1_INTEGER_new());
    Require(n && ASN1_INTEGER_set(n.get(), spec.number) == 1 &&
                X509_CRL_add1_ext_i2d(c, NID_crl_number, n.get(), 0, 0) == 1,
            "cRLNumber");
  }
  if (!spec.idp_urls.empty() || spec.only_user || spec.only_ca || spec.only_attr || spec.indirect ||
      spec.only_some_reasons) {
    std::unique_ptr<ISSUING_DIST_POINT, OsslDeleter<ISSUING_DIST_POINT, ISSUING_DIST_POINT_free>>
        idp(ISSUING_DIST_POINT_new());
    Require(idp != nullptr, "ISSUING_DIST_POINT_new");
    if (!spec.idp_urls.empty()) {
      idp->distpoint = DIST_POINT_NAME_new();
      Require(idp->distpoint != nullptr, "DIST_POINT_NAME_new");
      idp->distpoint->type = 0;
      idp->distpoint->name.fullname = GENERAL_NAMES_new();
      Require(idp->distpoint->name.fullname != nullptr, "GENERAL_NAMES_new");
      for (const std::string& u : spec.idp_urls)
        AddGeneralName(idp->distpoint->name.fullname, GEN_URI, u);
    }
    idp->onlyuser = spec.only_user ? 0xFF : 0;
    idp->onlyCA = spec.only_ca ? 0xFF : 0;
    idp->onlyattr = spec.only_attr ? 0xFF : 0;
    idp->indirectCRL = spec.indirect ? 0xFF : 0;
    if (spec.only_some_reasons) {
      idp->onlysomereasons = ASN1_BIT_STRING_new();
      Require(idp->onlysomereasons != nullptr, "ASN1_BIT_STRING_new");
      for (int i = 0; i < 9; ++i)
        if (spec.only_some_reasons & (1 << i))
          Require(ASN1_BIT_STRING_set_bit(idp->onlysomereasons, i, 1) == 1, "set_bit");
    }
    Require(X509_CRL_add1_ext_i2d(c, NID_issuing_distribution_point, idp.get(), 1, 0) == 1,
            "issuingDistributionPoint");
  }
  if (spec.malformed_idp)
    Require(X509_CRL_add_ext(c, private_ext("2.5.29.28").get(), -1) == 1, "X509_CRL_add_ext");
  if (spec.unknown_critical_ext)
    Require(X509_CRL_add_ext(c, private_ext("1.3.6.1.4.1.55555.1.1").get(), -1) == 1,
            "X509_CRL_add_ext");
  Require(X509_CRL_sort(c) == 1, "X509_CRL_sort");
  Require(X509_CRL_sign(c, issuer.key.get(), EVP_sha256()) > 0, "X509_CRL_sign");
  unsigned char* buf = nullptr;
  int len = i2d_X509_CRL(c, &buf);
  Require(len > 0, "i2d_X509_CRL");
  std::string der(reinterpret_cast<const char*>(buf), static_cast<size_t>(len));
  OPENSSL_free(buf);
  return der;
}

std::string MakeOcspResponse(X509* cert, const Issued& issuer, const OcspSpec& spec) {
  std::unique_ptr<OCSP_CERTID, OsslDeleter<OCSP_CERTID, OCSP_CERTID_free>> id(
      OCSP_cert_to_id(EVP_sha1(), cert, issuer.cert.get()));
  std::unique_ptr<OCSP_BASICRESP, OsslDeleter<OCSP_BASICRESP, OCSP_BASICRESP_free>> bs(
      OCSP_BASICRESP_new());
  Require(id && bs, "OCSP_cert_to_id");
  using GtPtr = std::unique_ptr<ASN1_GENERALIZEDTIME,
                                OsslDeleter<ASN1_GENERALIZEDTIME, ASN1_GENERALIZEDTIME_free>>;
  GtPtr this_upd(ASN1_GENERALIZEDTIME_set(nullptr, spec.this_update));
  GtPtr next_upd(spec.next_update ? ASN1_GENERALIZEDTIME_set(nullptr, spec.next_update) : nullptr);
  GtPtr rev_time(ASN1_GENERALIZEDTIME_set(nullptr, spec.this_update - 60));
  Require(this_upd && rev_time && (next_upd || !spec.next_update), "OCSP times");
  Require(OCSP_basic_add1_status(bs.get(), id.get(), spec.status, OCSP_REVOKED_STATUS_UNSPECIFIED,
                                 rev_time.get(), this_upd.get(), next_upd.get()) != nullptr,
          "OCSP_basic_add1_status");
  Require(
      OCSP_basic_sign(bs.get(), issuer.cert.get(), issuer.key.get(), EVP_sha256(), nullptr, 0) == 1,
      "OCSP_basic_sign");
  std::unique_ptr<OCSP_RESPONSE, OsslDeleter<OCSP_RESPONSE, OCSP_RESPONSE_free>> resp(
      OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs.get()));
  Require(resp != nullptr, "OCSP_response_create");
  unsigned char* buf = nullptr;
  int len = i2d_OCSP_RESPONSE(resp.get(), &buf);
  Require(len > 0, "i2d_OCSP_RESPONSE");
  std::string der(reinterpret_cast<const char*>(buf), static_cast<size_t>(len));
  OPENSSL_free(buf);
  return der;
}

CmsPtr ParseExactCms(const std::string& der) {
  const unsigned char* q = reinterpret_cast<const unsigned char*>(der.data());
  CmsPtr cms(d2i_CMS_ContentInfo(nullptr, &q, static_cast<long>(der.size())));
  assert_non_null(cms.get());
  assert_ptr_equal(q, reinterpret_cast<const unsigned char*>(der.data()) + der.size());
  unsigned char* again = nullptr;
  const int len = i2d_CMS_ContentInfo(cms.get(), &again);
  assert_int_equal(len, der.size());
  assert_memory_equal(again, der.data(), der.size());
  OPENSSL_free(again);
  return cms;
}

std::string ToPem(X509* cert) {
  BioPtr out(BIO_new(BIO_s_mem()));
  Require(out && PEM_write_bio_X509(out.get(), cert) == 1, "PEM_write_bio_X509");
  return BioContents(out.get());
}

std::string ToDer(X509* cert) {
  unsigned char* buf = nullptr;
  int len = i2d_X509(cert, &buf);
  Require(len > 0, "i2d_X509");
  std::string der(reinterpret_cast<const char*>(buf), static_cast<size_t>(len));
  OPENSSL_free(buf);
  return der;
}

std::string Base64Lines(const std::string& bytes) {
  std::string flat(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(&flat[0]),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  flat.resize(n > 0 ? static_cast<size_t>(n) : 0);
  std::string out;
  for (size_t i = 0; i < flat.size(); i += 76) out += flat.substr(i, 76) + "\r\n";
  return out;
}

X509StackPtr Stack(const std::vector<X509*>& certs) {
  X509StackPtr stack(sk_X509_new_null());
  Require(stack != nullptr, "sk_X509_new_null");
  for (X509* c : certs) {
    Require(X509_up_ref(c) == 1, "X509_up_ref");
    Require(sk_X509_push(stack.get(), c) > 0, "sk_X509_push");
  }
  return stack;
}

}  // namespace testpki
}  // namespace smime
