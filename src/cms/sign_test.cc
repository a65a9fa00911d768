// Unit tests for cms/sign: the SignedData we produce carries the signed
// attributes RFC 8551 asks for (with our clock's signingTime), our chain,
// our capabilities only (GCM first), SMIMEEncryptionKeyPreference and
// Microsoft's twin naming the encryption certificate, the chosen RSA
// scheme, and verifies with cms/signed_data over exactly the bytes given.
// An opaque signature over content in pieces is spliced around it
// (cms/der_splice) into exactly the DER OpenSSL would write, for every
// length form.
#include "cms/sign.h"

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "base/testing.h"
#include "cms/signed_data.h"
#include "cms/signer_attributes.h"
#include "testing/test_pki.h"

using namespace smime;
using namespace smime::testpki;

namespace {

struct Facts {
  bool ok = false;
  char error[300] = "";
  bool detached = false;
  int certs = 0;
  long signing_time = 0;
  bool has_caps = false;
  bool caps_weak = false;  // DES or RC2 advertised
  bool has_signing_cert_v2 = false;
  std::vector<int> caps;  // SMIMECapabilities NIDs in order, as written
  // The certificate each key preference attribute names (null: absent or
  // not an IssuerAndSerialNumber with the expected tag).
  X509* key_pref = nullptr;
  X509* ms_key_pref = nullptr;
  // DER of the certificate the signature itself carries that the
  // SMIMEEncryptionKeyPreference names ("" when it carries none).
  std::string key_pref_carried;
  int sig_nid = 0;
  int verify_outcome = -1;
};

// Which of candidates the IssuerAndSerialNumber in attribute value t names,
// read with the outer tag `tag` (0xA0: [0] IMPLICIT, 0x30: SEQUENCE).
X509* NamedCert(ASN1_TYPE* t, int type, unsigned char tag, const std::vector<X509*>& candidates) {
  if (!t || t->type != type) return nullptr;
  const ASN1_STRING* s = t->value.asn1_string;
  const unsigned char* p = ASN1_STRING_get0_data(s);
  const unsigned char* const end = p + ASN1_STRING_length(s);
  if (ASN1_STRING_length(s) < 2 || p[0] != tag) return nullptr;
  long len = 0;
  int inner_tag = 0, xclass = 0;
  if (ASN1_get_object(&p, &len, &inner_tag, &xclass, end - p) & 0x80) return nullptr;
  if (p + len != end) return nullptr;  // exactly one value, nothing after it
  std::unique_ptr<X509_NAME, OsslDeleter<X509_NAME, X509_NAME_free>> name(
      d2i_X509_NAME(nullptr, &p, end - p));
  std::unique_ptr<ASN1_INTEGER, OsslDeleter<ASN1_INTEGER, ASN1_INTEGER_free>> serial(
      d2i_ASN1_INTEGER(nullptr, &p, end - p));
  if (!name || !serial || p != end) return nullptr;
  for (X509* c : candidates)
    if (X509_NAME_cmp(name.get(), X509_get_issuer_name(c)) == 0 &&
        ASN1_INTEGER_cmp(serial.get(), X509_get0_serialNumber(c)) == 0)
      return c;
  return nullptr;
}

ASN1_TYPE* Attribute(CMS_SignerInfo* si, const ASN1_OBJECT* obj) {
  const int idx = CMS_signed_get_attr_by_OBJ(si, obj, -1);
  if (idx < 0 || CMS_signed_get_attr_by_OBJ(si, obj, idx) >= 0) return nullptr;  // exactly one
  return X509_ATTRIBUTE_get0_type(CMS_signed_get_attr(si, idx), 0);
}

Facts SignAndInspect(const std::string& content, const Issued& leaf, const Issued& inter,
                     bool detached, RsaPadding pad = RsaPadding::kPkcs1,
                     X509* encryption_cert = nullptr, std::vector<X509*> named = {},
                     SignMemo* memo = nullptr) {
  Facts f;
  SignParams p;
  p.memo = memo;
  p.encryption_cert = encryption_cert;
  p.cert = leaf.cert.get();
  p.key = leaf.key.get();
  p.chain.push_back(inter.cert.get());
  p.detached = detached;
  p.rsa_padding = pad;
  p.signing_time = kNow;
  std::string der;
  Status st = SignContent(content, p, &der);
  std::snprintf(f.error, sizeof f.error, "%s", st.message().c_str());
  if (!st.ok()) return f;
  f.ok = true;
  const unsigned char* q = reinterpret_cast<const unsigned char*>(der.data());
  CmsPtr cms(d2i_CMS_ContentInfo(nullptr, &q, static_cast<long>(der.size())));
  if (!cms) return f;
  f.detached = CMS_is_detached(cms.get()) == 1;
  X509StackPtr certs(CMS_get1_certs(cms.get()));
  f.certs = certs ? sk_X509_num(certs.get()) : 0;
  CMS_SignerInfo* si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms.get()), 0);
  int idx = CMS_signed_get_attr_by_NID(si, NID_pkcs9_signingTime, -1);
  if (idx >= 0) {
    ASN1_TYPE* t = X509_ATTRIBUTE_get0_type(CMS_signed_get_attr(si, idx), 0);
    if (t && t->type == V_ASN1_UTCTIME) {
      int days = 0, secs = 0;
      ASN1_TIME* base = ASN1_TIME_set(nullptr, 0);
      ASN1_TIME_diff(&days, &secs, base, t->value.utctime);
      ASN1_TIME_free(base);
      f.signing_time = static_cast<long>(days) * 86400 + secs;
    }
  }
  STACK_OF(X509_ALGOR)* caps = nullptr;
  idx = CMS_signed_get_attr_by_NID(si, NID_SMIMECapabilities, -1);
  if (idx >= 0) {
    ASN1_TYPE* t = X509_ATTRIBUTE_get0_type(CMS_signed_get_attr(si, idx), 0);
    if (t && t->type == V_ASN1_SEQUENCE) {
      const unsigned char* c = t->value.sequence->data;
      caps = d2i_X509_ALGORS(nullptr, &c, t->value.sequence->length);
    }
  }
  f.has_caps = caps != nullptr && sk_X509_ALGOR_num(caps) > 0;
  for (int i = 0; caps && i < sk_X509_ALGOR_num(caps); ++i) {
    int nid = OBJ_obj2nid(sk_X509_ALGOR_value(caps, i)->algorithm);
    f.caps.push_back(nid);
    if (nid == NID_des_cbc || nid == NID_des_ede3_cbc || nid == NID_rc2_cbc) f.caps_weak = true;
  }
  sk_X509_ALGOR_pop_free(caps, X509_ALGOR_free);
  f.has_signing_cert_v2 =
      CMS_signed_get_attr_by_NID(si, NID_id_smime_aa_signingCertificateV2, -1) >= 0;
  std::vector<X509*> carried;
  for (int i = 0; certs && i < sk_X509_num(certs.get()); ++i)
    carried.push_back(sk_X509_value(certs.get(), i));
  if (X509* c = NamedCert(Attribute(si, OBJ_nid2obj(NID_id_smime_aa_encrypKeyPref)), V_ASN1_OTHER,
                          0xA0, carried))
    f.key_pref_carried = ToDer(c);
  named.push_back(leaf.cert.get());
  f.key_pref = NamedCert(Attribute(si, OBJ_nid2obj(NID_id_smime_aa_encrypKeyPref)), V_ASN1_OTHER,
                         0xA0, named);
  std::unique_ptr<ASN1_OBJECT, OsslDeleter<ASN1_OBJECT, ASN1_OBJECT_free>> ms(
      OBJ_txt2obj("1.3.6.1.4.1.311.16.4", 1));
  f.ms_key_pref = NamedCert(Attribute(si, ms.get()), V_ASN1_SEQUENCE, 0x30, named);
  X509_ALGOR* sig = nullptr;
  CMS_SignerInfo_get0_algs(si, nullptr, nullptr, nullptr, &sig);
  f.sig_nid = sig ? OBJ_obj2nid(sig->algorithm) : 0;
  const std::string_view view(content);
  CmsCheck c = VerifySignedData(der, detached ? &view : nullptr, 4);
  f.verify_outcome = static_cast<int>(c.outcome);
  return f;
}

struct Pki {
  Issued root, inter, rsa, ec, ed, rsa_enc, ec_enc;
  Issued enc_only;  // alice@a.example, keyEncipherment only: a separate encryption certificate
};
Pki* g = nullptr;

int SetUp(void**) {
  g = new Pki;
  g->root = MakeCa("Root");
  g->inter = MakeSubCa("Inter", g->root);
  g->rsa = MakeLeaf(SmimeSpec("alice@a.example"), g->inter);
  CertSpec ec = SmimeSpec("bob@a.example");
  ec.key = KeyKind::kEcP256;
  g->ec = MakeLeaf(ec, g->inter);
  CertSpec ed = SmimeSpec("ed@a.example");
  ed.key = KeyKind::kEd25519;
  g->ed = MakeLeaf(ed, g->inter);
  CertSpec rsa_enc = SmimeSpec("alice@a.example");
  rsa_enc.key_usage = KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT;
  g->rsa_enc = MakeLeaf(rsa_enc, g->inter);
  CertSpec ec_enc = SmimeSpec("bob@a.example");
  ec_enc.key = KeyKind::kEcP256;
  ec_enc.key_usage = KU_DIGITAL_SIGNATURE | KU_KEY_AGREEMENT;
  g->ec_enc = MakeLeaf(ec_enc, g->inter);
  CertSpec enc_only = SmimeSpec("alice@a.example");
  enc_only.key_usage = KU_KEY_ENCIPHERMENT;
  g->enc_only = MakeLeaf(enc_only, g->inter);
  return 0;
}

int TearDown(void**) {
  delete g;
  g = nullptr;
  return 0;
}

const char kEntity[] = "Content-Type: text/plain\r\n\r\nHello\r\n";

void TestDetachedRsaAttributes(void**) {
  Facts f = SignAndInspect(kEntity, g->rsa, g->inter, true);
  assert_true(f.ok);
  assert_true(f.detached);
  assert_int_equal(f.certs, 2);  // signer and intermediate
  assert_int_equal(f.signing_time, kNow);
  assert_true(f.has_caps);
  assert_false(f.caps_weak);
  assert_true(f.has_signing_cert_v2);
  assert_int_equal(f.sig_nid, NID_rsaEncryption);
  assert_int_equal(f.verify_outcome, static_cast<int>(CmsCheck::Outcome::kVerified));
}

void TestOpaqueEcdsaAndPss(void**) {
  Facts f = SignAndInspect(kEntity, g->ec, g->inter, false);
  assert_true(f.ok);
  assert_false(f.detached);
  assert_int_equal(f.verify_outcome, static_cast<int>(CmsCheck::Outcome::kVerified));
  f = SignAndInspect(kEntity, g->rsa, g->inter, true, RsaPadding::kPss);
  assert_true(f.ok);
  assert_int_equal(f.sig_nid, NID_rsassaPss);
  assert_int_equal(f.verify_outcome, static_cast<int>(CmsCheck::Outcome::kVerified));
}

void TestEd25519NeedsNewerOpenssl(void**) {
  Facts f = SignAndInspect(kEntity, g->ed, g->inter, true);
  if (OpenSSL_version_num() >= 0x30200000L) {
    assert_true(f.ok);
    assert_int_equal(f.verify_outcome, static_cast<int>(CmsCheck::Outcome::kVerified));
  } else {
    assert_false(f.ok);  // a Status, not a crash
    assert_true(f.error[0] != '\0');
  }
}

void TestCapabilitiesGcmFirst(void**) {
  // RFC 8551 2.7.1: peers pick from our list in order; GCM first so they
  // answer with AuthEnvelopedData.
  Facts f = SignAndInspect(kEntity, g->rsa, g->inter, true);
  assert_true(f.ok);
  const std::vector<int> want = {NID_aes_256_gcm, NID_aes_128_gcm, NID_aes_256_cbc,
                                 NID_aes_128_cbc};
  assert_true(f.caps == want);
  // What our harvester would store from it: the same list.
  std::string der;
  SignParams p;
  p.cert = g->rsa.cert.get();
  p.key = g->rsa.key.get();
  p.signing_time = kNow;
  assert_true(SignContent(kEntity, p, &der).ok());
  const std::string_view view(kEntity);
  CmsCheck c = VerifySignedData(der, &view, 4);
  assert_int_equal(static_cast<int>(c.outcome), static_cast<int>(CmsCheck::Outcome::kVerified));
  assert_true(c.signers.at(0).capabilities == want);
}

void TestEncryptionKeyPreference(void**) {
  // Signing certificate usable for encryption (RSA keyEncipherment, EC
  // keyAgreement): both attributes name it.
  Facts f = SignAndInspect(kEntity, g->rsa_enc, g->inter, true);
  if (!f.ok) fail_msg("%s", f.error);
  assert_ptr_equal(f.key_pref, g->rsa_enc.cert.get());
  assert_ptr_equal(f.ms_key_pref, g->rsa_enc.cert.get());
  assert_int_equal(f.verify_outcome, static_cast<int>(CmsCheck::Outcome::kVerified));
  f = SignAndInspect(kEntity, g->ec_enc, g->inter, false);
  assert_ptr_equal(f.key_pref, g->ec_enc.cert.get());
  assert_ptr_equal(f.ms_key_pref, g->ec_enc.cert.get());
  // Signing-only certificate: nothing to name, no attribute.
  f = SignAndInspect(kEntity, g->rsa, g->inter, true);
  assert_true(f.ok);
  assert_null(f.key_pref);
  assert_null(f.ms_key_pref);
  // A separate encryption certificate is named instead of the signer's.
  f = SignAndInspect(kEntity, g->rsa, g->inter, true, RsaPadding::kPkcs1, g->rsa_enc.cert.get(),
                     {g->rsa_enc.cert.get()});
  assert_ptr_equal(f.key_pref, g->rsa_enc.cert.get());
  assert_ptr_equal(f.ms_key_pref, g->rsa_enc.cert.get());
  assert_int_equal(f.verify_outcome, static_cast<int>(CmsCheck::Outcome::kVerified));
  // ... and carried beside the signer and its intermediate.
  assert_int_equal(f.certs, 3);
  assert_true(f.key_pref_carried == ToDer(g->rsa_enc.cert.get()));
  // Already in the chain: carried once.
  f = SignAndInspect(kEntity, g->rsa, g->rsa_enc, true, RsaPadding::kPkcs1, g->rsa_enc.cert.get(),
                     {g->rsa_enc.cert.get()});
  assert_true(f.ok);
  assert_int_equal(f.certs, 2);
  // The signer's own encryption-capable certificate is carried once too.
  f = SignAndInspect(kEntity, g->rsa_enc, g->inter, true);
  assert_int_equal(f.certs, 2);
  assert_true(f.key_pref_carried == ToDer(g->rsa_enc.cert.get()));
}

// A reader that follows the key preference finds the separate encryption
// certificate in the signature and encrypts to it; only its key decrypts.
void TestEncryptToPreferredCert(void**) {
  Facts f = SignAndInspect(kEntity, g->rsa, g->inter, true, RsaPadding::kPkcs1,
                           g->enc_only.cert.get(), {g->enc_only.cert.get()});
  if (!f.ok) fail_msg("%s", f.error);
  assert_int_equal(f.verify_outcome, static_cast<int>(CmsCheck::Outcome::kVerified));
  assert_true(f.key_pref_carried == ToDer(g->enc_only.cert.get()));
  const unsigned char* p = reinterpret_cast<const unsigned char*>(f.key_pref_carried.data());
  X509Ptr carried(d2i_X509(nullptr, &p, static_cast<long>(f.key_pref_carried.size())));
  assert_non_null(carried.get());
  const std::string der = Encrypt("reply\r\n", carried.get());
  p = reinterpret_cast<const unsigned char*>(der.data());
  CmsPtr env(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(der.size())));
  assert_non_null(env.get());
  BioPtr out(BIO_new(BIO_s_mem()));
  assert_int_equal(CMS_decrypt(env.get(), g->enc_only.key.get(), g->enc_only.cert.get(), nullptr,
                               out.get(), CMS_BINARY),
                   1);
  char* data = nullptr;
  const long n = BIO_get_mem_data(out.get(), &data);
  assert_string_equal(std::string(data, static_cast<size_t>(n)).c_str(), "reply\r\n");
  // The signing key cannot open it.
  p = reinterpret_cast<const unsigned char*>(der.data());
  CmsPtr again(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(der.size())));
  BioPtr out2(BIO_new(BIO_s_mem()));
  assert_int_not_equal(
      CMS_decrypt(again.get(), g->rsa.key.get(), g->rsa.cert.get(), nullptr, out2.get(), 0), 1);
  ERR_clear_error();
}

// prefix + content + suffix: one ContentInfo, no byte after it, which
// OpenSSL re-encodes to the same bytes (so every length is right), whose
// eContent is the content and whose signature verifies over it.
void TestOpaqueSplicedAtEveryLengthForm(void**) {
  SignParams p;
  p.cert = g->rsa.cert.get();
  p.key = g->rsa.key.get();
  p.chain.push_back(g->inter.cert.get());
  p.detached = false;
  p.signing_time = kNow;
  for (size_t size : {size_t{0}, size_t{1}, size_t{127}, size_t{128}, size_t{255}, size_t{256},
                      size_t{65535}, size_t{65536}, size_t{70001}, (size_t{1} << 24) + 3}) {
    std::string content(size, 'x');
    for (size_t i = 0; i < size; ++i) content[i] = static_cast<char>('a' + i % 26);
    const std::string_view v(content);
    const size_t cut = size / 3;
    std::string prefix, suffix;
    assert_true(SignPieces({v.substr(0, cut), v.substr(cut, 1), v.substr(std::min(size, cut + 1))},
                           p, &prefix, &suffix)
                    .ok());
    const std::string der = prefix + content + suffix;
    CmsPtr cms = ParseExactCms(der);
    ASN1_OCTET_STRING** e = CMS_get0_content(cms.get());
    assert_true(e && *e);
    assert_int_equal(ASN1_STRING_length(*e), size);
    assert_true(size == 0 || std::memcmp(ASN1_STRING_get0_data(*e), content.data(), size) == 0);
    CmsCheck c = VerifySignedData(der, nullptr, 4);
    assert_int_equal(static_cast<int>(c.outcome), static_cast<int>(CmsCheck::Outcome::kVerified));
    // SignContent gives the same structure in one string.
    std::string whole;
    assert_true(SignContent(content, p, &whole).ok());
    assert_int_equal(whole.size(), der.size());
  }
}

// Content produced as it is digested: the same signature structure as
// SignPieces, verifying over the content; a writer that fails, or that
// produces another length than announced, fails the signature (with and
// without a SignMemo).
void TestSignStream(void**) {
  for (bool with_memo : {false, true}) {
    SignMemo memo;
    SignParams p;
    p.cert = g->rsa.cert.get();
    p.key = g->rsa.key.get();
    p.signing_time = kNow;
    if (with_memo) p.memo = &memo;
    const std::string content = "Content-Type: text/plain\r\n\r\nstreamed\r\n";
    auto writer = [&content](const std::function<bool(std::string_view)>& emit) {
      for (size_t at = 0; at < content.size(); at += 7)
        if (!emit(std::string_view(content).substr(at, 7))) return false;
      return true;
    };
    for (bool detached : {true, false}) {
      p.detached = detached;
      std::string prefix, suffix;
      assert_true(SignStream(writer, content.size(), p, &prefix, &suffix).ok());
      const std::string der = detached ? prefix : prefix + content + suffix;
      const std::string_view view(content);
      CmsCheck c = VerifySignedData(der, detached ? &view : nullptr, 4);
      assert_int_equal(static_cast<int>(c.outcome), static_cast<int>(CmsCheck::Outcome::kVerified));
      std::string pre2 = "x", suf2 = "y";
      assert_false(SignStream(writer, content.size() + 1, p, &pre2, &suf2).ok());
      assert_false(SignStream(writer, content.size() - 1, p, &pre2, &suf2).ok());
      assert_false(SignStream([](const std::function<bool(std::string_view)>&) { return false; }, 0,
                              p, &pre2, &suf2)
                       .ok());
      assert_string_equal(pre2.c_str(), "x");
      assert_string_equal(suf2.c_str(), "y");
    }
    assert_int_equal(memo.size(), with_memo ? 1 : 0);
  }
}

std::string Sign(const SignParams& p, const std::string& content) {
  std::string der;
  Status st = SignContent(content, p, &der);
  if (!st.ok()) fail_msg("%s", st.message().c_str());
  const std::string_view view(content);
  if (p.detached) {
    CmsCheck c = VerifySignedData(der, &view, 4);
    assert_int_equal(static_cast<int>(c.outcome), static_cast<int>(CmsCheck::Outcome::kVerified));
  }
  return der;
}

// A SignMemo changes no byte: with RSA PKCS#1 v1.5 (deterministic) the
// signature made from the memo's template is exactly the encoder's, for
// every content size, both time forms (UTCTime, GeneralizedTime from 2050),
// two digests, with and without a separate encryption certificate, and for
// another signer given the same memo (a template is never used for a
// certificate or key it was not made with). PSS signatures (randomised)
// verify and keep their algorithm; opaque and ECDSA signatures do not use
// the memo.
void TestMemoGivesTheEncodersBytes(void**) {
  SignMemo memo;
  const std::string big(70001, 'q');
  size_t expected_templates = 0;
  for (const Issued* leaf : {&g->rsa, &g->rsa_enc}) {
    for (std::time_t t : {std::time_t{kNow}, std::time_t{2600000000}}) {
      for (const EVP_MD* md : {EVP_sha256(), EVP_sha384()}) {
        for (X509* enc : {static_cast<X509*>(nullptr), g->enc_only.cert.get()}) {
          SignParams p;
          p.cert = leaf->cert.get();
          p.key = leaf->key.get();
          p.chain.push_back(g->inter.cert.get());
          p.encryption_cert = enc;
          p.md = md;
          p.signing_time = t;
          ++expected_templates;
          for (const std::string& content : {std::string(), std::string(kEntity), big}) {
            const std::string plain = Sign(p, content);
            p.memo = &memo;
            const std::string first = Sign(p, content);
            const std::string again = Sign(p, content);
            p.memo = nullptr;
            assert_int_equal(first.size(), plain.size());
            assert_memory_equal(first.data(), plain.data(), plain.size());
            assert_int_equal(again.size(), plain.size());
            assert_memory_equal(again.data(), plain.data(), plain.size());
          }
          assert_int_equal(memo.size(), std::min<size_t>(expected_templates, 8));
        }
      }
    }
  }
  // The time and content are the message's, not the template's.
  SignParams p;
  p.cert = g->rsa.cert.get();
  p.key = g->rsa.key.get();
  p.signing_time = kNow;
  p.memo = &memo;
  const std::string a = Sign(p, "one\r\n");
  p.signing_time = kNow + 61;
  const std::string b = Sign(p, "two\r\n");
  p.memo = nullptr;
  const std::string plain_b = Sign(p, "two\r\n");
  assert_true(b == plain_b);
  assert_false(a == b);
  // PSS: random salt, so each signature differs; each verifies as PSS.
  SignMemo pss_memo;
  Facts f =
      SignAndInspect(kEntity, g->rsa, g->inter, true, RsaPadding::kPss, nullptr, {}, &pss_memo);
  assert_true(f.ok);
  assert_int_equal(f.sig_nid, NID_rsassaPss);
  assert_int_equal(f.verify_outcome, static_cast<int>(CmsCheck::Outcome::kVerified));
  f = SignAndInspect(kEntity, g->rsa, g->inter, true, RsaPadding::kPss, nullptr, {}, &pss_memo);
  assert_int_equal(f.sig_nid, NID_rsassaPss);
  assert_int_equal(f.verify_outcome, static_cast<int>(CmsCheck::Outcome::kVerified));
  assert_int_equal(f.signing_time, kNow);
  assert_true(f.has_signing_cert_v2);
  assert_int_equal(pss_memo.size(), 1);
  // Opaque RSA and ECDSA: the encoder, nothing kept.
  SignMemo unused;
  f = SignAndInspect(kEntity, g->rsa, g->inter, false, RsaPadding::kPkcs1, nullptr, {}, &unused);
  assert_int_equal(f.verify_outcome, static_cast<int>(CmsCheck::Outcome::kVerified));
  f = SignAndInspect(kEntity, g->ec, g->inter, true, RsaPadding::kPkcs1, nullptr, {}, &unused);
  assert_int_equal(f.verify_outcome, static_cast<int>(CmsCheck::Outcome::kVerified));
  assert_int_equal(unused.size(), 0);
}

void TestMicalgNames(void**) {
  assert_string_equal(MicalgName(EVP_sha256()).c_str(), "sha-256");
  assert_string_equal(MicalgName(EVP_sha512()).c_str(), "sha-512");
  assert_string_equal(MicalgName(EVP_md5()).c_str(), "");
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(TestDetachedRsaAttributes),
      cmocka_unit_test(TestOpaqueEcdsaAndPss),
      cmocka_unit_test(TestEd25519NeedsNewerOpenssl),
      cmocka_unit_test(TestCapabilitiesGcmFirst),
      cmocka_unit_test(TestEncryptionKeyPreference),
      cmocka_unit_test(TestEncryptToPreferredCert),
      cmocka_unit_test(TestOpaqueSplicedAtEveryLengthForm),
      cmocka_unit_test(TestSignStream),
      cmocka_unit_test(TestMemoGivesTheEncodersBytes),
      cmocka_unit_test(TestMicalgNames),
  };
  return cmocka_run_group_tests(tests, SetUp, TearDown);
}
