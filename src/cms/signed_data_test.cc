// Unit tests for cms/signed_data: VerifySignedData on real CMS structures
// built in-process by testing/test_pki.
#include "cms/signed_data.h"

#include <openssl/err.h>
#include <openssl/opensslv.h>

#include <string>
#include <vector>

#include "base/testing.h"
#include "cms/cert_cache.h"
#include "testing/test_pki.h"
#include "trust/cert_info.h"

using namespace smime;
using namespace smime::testpki;

namespace {

using Out = CmsCheck::Outcome;

const char kContent[] = "Content-Type: text/plain\r\n\r\nHello, world.\r\n";

// Shared fixture: one CA and two S/MIME signers, built once per program.
struct Fixture {
  Issued ca;
  Issued alice;
  Issued bob;
};
Fixture* g_fx = nullptr;

int SetUp(void**) {
  g_fx = new Fixture;
  g_fx->ca = MakeCa("Test Root CA");
  g_fx->alice = MakeLeaf(SmimeSpec("alice@a.example"), g_fx->ca);
  g_fx->bob = MakeLeaf(SmimeSpec("bob@b.example"), g_fx->ca);
  return 0;
}

int TearDown(void**) {
  delete g_fx;
  g_fx = nullptr;
  return 0;
}

// Plain values copied out of a CmsCheck, safe to assert on.
struct Seen {
  Out outcome = Out::kMalformed;
  char reason[64] = {};
  int signers = 0;
  bool first_cert = false;
  bool first_cert_is_alice = false;
  int first_digest_nid = 0;
  char first_digest[32] = {};
  int certs = 0;
  unsigned long leftover_error = 0;
};

Seen Check(const std::string& der, const std::string* detached, int max_signers = 4,
           STACK_OF(X509) * candidates = nullptr, bool* from_candidates = nullptr) {
  Seen s;
  {
    const std::string_view view = detached ? std::string_view(*detached) : std::string_view();
    CmsCheck c = VerifySignedData(der, detached ? &view : nullptr, max_signers, candidates);
    if (from_candidates) *from_candidates = !c.signers.empty() && c.signers[0].cert_from_candidates;
    s.leftover_error = ERR_peek_error();
    s.outcome = c.outcome;
    snprintf(s.reason, sizeof s.reason, "%s", c.reason.c_str());
    s.signers = static_cast<int>(c.signers.size());
    if (!c.signers.empty()) {
      X509* cert = c.signers[0].cert.get();
      s.first_cert = cert != nullptr;
      s.first_cert_is_alice = cert && X509_cmp(cert, g_fx->alice.cert.get()) == 0;
      s.first_digest_nid = c.signers[0].digest_nid;
      snprintf(s.first_digest, sizeof s.first_digest, "%s", c.signers[0].digest_name.c_str());
    }
    s.certs = c.certs ? sk_X509_num(c.certs.get()) : 0;
  }
  ERR_clear_error();
  return s;
}

void AssertOutcome(const Seen& s, Out want, const char* reason) {
  assert_int_equal(static_cast<int>(s.outcome), static_cast<int>(want));
  assert_string_equal(s.reason, reason);
  assert_int_equal(s.leftover_error, 0);
}

void TestDetachedGood(void**) {
  const std::string content = kContent;
  const std::string der = SignCms(content, g_fx->alice, SignOptions());
  Seen s = Check(der, &content);
  AssertOutcome(s, Out::kVerified, "");
  assert_int_equal(s.signers, 1);
  assert_true(s.first_cert);
  assert_true(s.first_cert_is_alice);
  assert_int_equal(s.first_digest_nid, NID_sha256);
  assert_string_equal(s.first_digest, "SHA256");
  assert_int_equal(s.certs, 1);
}

void TestDetachedWrongContent(void**) {
  const std::string content = kContent;
  const std::string der = SignCms(content, g_fx->alice, SignOptions());
  const std::string other = "Content-Type: text/plain\r\n\r\nHello, world!\r\n";
  Seen s = Check(der, &other);
  AssertOutcome(s, Out::kBadSignature, "content-digest-mismatch");
  assert_true(s.first_cert_is_alice);
  // One byte more (a trailing CRLF the MIME layer should have cut) also fails.
  const std::string longer = content + "\r\n";
  AssertOutcome(Check(der, &longer), Out::kBadSignature, "content-digest-mismatch");
}

void TestOpaqueGood(void**) {
  SignOptions opt;
  opt.detached = false;
  const std::string der = SignCms(kContent, g_fx->alice, opt);
  Seen s = Check(der, nullptr);
  AssertOutcome(s, Out::kVerified, "");
  assert_int_equal(s.signers, 1);
  assert_true(s.first_cert_is_alice);
}

void TestOpaquePassedAsDetached(void**) {
  SignOptions opt;
  opt.detached = false;
  const std::string content = kContent;
  const std::string der = SignCms(content, g_fx->alice, opt);
  // Even with the very bytes that were signed: eContent in a detached
  // signature is the eContent-confusion attack.
  AssertOutcome(Check(der, &content), Out::kForged, "econtent-in-detached-signature");
  const std::string other = "something else";
  AssertOutcome(Check(der, &other), Out::kForged, "econtent-in-detached-signature");
}

void TestDetachedPassedAsOpaque(void**) {
  const std::string der = SignCms(kContent, g_fx->alice, SignOptions());
  AssertOutcome(Check(der, nullptr), Out::kMalformed, "no-econtent");
}

void TestGarbageNeverCrashes(void**) {
  const std::string content = kContent;
  AssertOutcome(Check("", &content), Out::kMalformed, "empty-cms");
  AssertOutcome(Check("", nullptr), Out::kMalformed, "empty-cms");
  AssertOutcome(Check("not DER at all", &content), Out::kMalformed, "cms-parse-error");
  AssertOutcome(Check(std::string(1, '\x30'), nullptr), Out::kMalformed, "cms-parse-error");
  AssertOutcome(Check(std::string("\x30\x80\x00\x00", 4), nullptr), Out::kMalformed,
                "cms-parse-error");
  // A certificate is DER but not a ContentInfo.
  AssertOutcome(Check(ToDer(g_fx->alice.cert.get()), &content), Out::kMalformed, "cms-parse-error");
}

void TestTruncatedNeverCrashes(void**) {
  const std::string content = kContent;
  const std::string der = SignCms(content, g_fx->alice, SignOptions());
  for (size_t len = 1; len < der.size(); len += (len < 64 ? 1 : 7)) {
    Seen s = Check(der.substr(0, len), &content);
    if (s.outcome != Out::kMalformed || s.leftover_error != 0)
      fail_msg("prefix of %zu bytes: outcome %d reason %s", len, static_cast<int>(s.outcome),
               s.reason);
  }
  // Flipping single bytes must never crash or leave errors queued. (Some
  // flips legitimately still verify, e.g. inside the certificate's own
  // signature, which CMS verification does not judge.)
  int verified = 0;
  for (size_t i = 0; i < der.size(); i += 3) {
    std::string bad = der;
    bad[i] = static_cast<char>(bad[i] ^ 0x5A);
    Seen s = Check(bad, &content);
    if (s.outcome == Out::kVerified) ++verified;
    if (s.leftover_error != 0) fail_msg("flip at %zu left an OpenSSL error queued", i);
  }
  assert_true(verified < static_cast<int>(der.size() / 3 / 2));
}

void TestCertsOnlyHasNoSigners(void**) {
  const std::string der = CertsOnly({g_fx->alice.cert.get(), g_fx->ca.cert.get()});
  const std::string content = kContent;
  AssertOutcome(Check(der, nullptr), Out::kNoSigners, "no-signerinfos");
  AssertOutcome(Check(der, &content), Out::kNoSigners, "no-signerinfos");
}

void TestTooManySigners(void**) {
  const std::string content = kContent;
  const std::string der = AddSigner(SignCms(content, g_fx->alice, SignOptions()), g_fx->bob);
  AssertOutcome(Check(der, &content, 1), Out::kTooManySigners, "too-many-signers");
  Seen s = Check(der, &content, 2);
  AssertOutcome(s, Out::kVerified, "");
  assert_int_equal(s.signers, 2);
  assert_int_equal(s.certs, 2);
}

void TestSecondSignerOverOtherContentFails(void**) {
  const std::string content = kContent;
  const std::string other = "tampered";
  const std::string der = AddSigner(SignCms(content, g_fx->alice, SignOptions()), g_fx->bob);
  Seen s = Check(der, &other);
  AssertOutcome(s, Out::kBadSignature, "content-digest-mismatch");
  assert_int_equal(s.signers, 2);
}

void TestNoSignedAttributes(void**) {
  const std::string content = kContent;
  SignOptions opt;
  opt.no_attributes = true;
  Seen s = Check(SignCms(content, g_fx->alice, opt), &content);
  AssertOutcome(s, Out::kMalformed, "no-signed-attributes");
  assert_true(s.first_cert_is_alice);
}

// eContentType is not signed by itself; the content-type attribute binds it.
// Relabelling the eContentType after signing must be caught structurally.
void TestContentTypeAttributeMismatch(void**) {
  const std::string content = kContent;
  std::string der = SignCms(content, g_fx->alice, SignOptions());
  {
    BioPtr in(BIO_new_mem_buf(der.data(), static_cast<int>(der.size())));
    CmsPtr cms(d2i_CMS_bio(in.get(), nullptr));
    if (!cms || CMS_set1_eContentType(cms.get(), OBJ_nid2obj(NID_id_smime_ct_TSTInfo)) != 1)
      fail_msg("cannot relabel eContentType");
    BioPtr out(BIO_new(BIO_s_mem()));
    if (i2d_CMS_bio(out.get(), cms.get()) != 1) fail_msg("i2d failed");
    char* data = nullptr;
    long len = BIO_get_mem_data(out.get(), &data);
    der.assign(data, static_cast<size_t>(len));
  }
  // A TSTInfo (or any type but id-data) is never a signature over mail.
  Seen s = Check(der, &content);
  AssertOutcome(s, Out::kMalformed, "econtent-type-not-data");
}

void TestTrailingBytesAfterCms(void**) {
  const std::string content = kContent;
  const std::string der = SignCms(content, g_fx->alice, SignOptions());
  AssertOutcome(Check(der, &content), Out::kVerified, "");
  AssertOutcome(Check(der + std::string("\0", 1), &content), Out::kMalformed, "cms-trailing-data");
  AssertOutcome(Check(der + der, &content), Out::kMalformed, "cms-trailing-data");
}

void TestSignerCertificateMissing(void**) {
  const std::string content = kContent;
  SignOptions opt;
  opt.no_certs = true;
  Seen s = Check(SignCms(content, g_fx->alice, opt), &content);
  AssertOutcome(s, Out::kMalformed, "signer-certificate-missing");
  assert_int_equal(s.signers, 1);
  assert_false(s.first_cert);
}

void TestDigestsReported(void**) {
  const std::string content = kContent;
  SignOptions opt;
  opt.md = EVP_sha384();
  Seen s = Check(SignCms(content, g_fx->alice, opt), &content);
  AssertOutcome(s, Out::kVerified, "");
  assert_int_equal(s.first_digest_nid, NID_sha384);
  opt.md = EVP_sha1();
  s = Check(SignCms(content, g_fx->alice, opt), &content);
  AssertOutcome(s, Out::kVerified, "");  // weak digests are the engine's policy, not a CMS fault
  assert_int_equal(s.first_digest_nid, NID_sha1);
  assert_string_equal(s.first_digest, "SHA1");
}

void TestEcSigner(void**) {
  CertSpec spec = SmimeSpec("ec@a.example");
  spec.key = KeyKind::kEcP256;
  Issued ec = MakeLeaf(spec, g_fx->ca);
  const std::string content = kContent;
  AssertOutcome(Check(SignCms(content, ec, SignOptions()), &content), Out::kVerified, "");
  const std::string other = "x";
  AssertOutcome(Check(SignCms(content, ec, SignOptions()), &other), Out::kBadSignature,
                "content-digest-mismatch");
}

void TestEnvelopedData(void**) {
  const std::string der = Encrypt(kContent, g_fx->alice.cert.get());
  const std::string content = kContent;
  Seen s = Check(der, nullptr);
  AssertOutcome(s, Out::kNotSignedData, "enveloped-data");
  AssertOutcome(Check(der, &content), Out::kNotSignedData, "enveloped-data");
}

void TestErrorQueueClearedOnEntry(void**) {
  // A stale error from an unrelated caller must not turn into this
  // message's diagnostics, nor survive the call.
  ERR_raise(ERR_LIB_CMS, CMS_R_CONTENT_VERIFY_ERROR);
  const std::string content = kContent;
  AssertOutcome(Check(SignCms(content, g_fx->alice, SignOptions()), &content), Out::kVerified, "");
}

// OpenSSL 3.0 cannot produce CMS with Ed25519. Build a syntactically valid
// SignedData whose SignerInfo points at an Ed25519 certificate: sign with an
// RSA key, leave its certificate out, and carry instead an Ed25519
// certificate with the same issuer and serial (so the SignerIdentifier
// matches it), then label the signature algorithm Ed25519.
void TestEd25519SignerDoesNotCrash(void**) {
  CertSpec rsa_spec = SmimeSpec("ed@a.example");
  rsa_spec.serial_hex = "ED25519";
  Issued rsa = MakeLeaf(rsa_spec, g_fx->ca);
  CertSpec ed_spec = rsa_spec;
  ed_spec.key = KeyKind::kEd25519;
  Issued ed = MakeLeaf(ed_spec, g_fx->ca);

  const std::string content = kContent;
  SignOptions opt;
  opt.no_certs = true;
  opt.md = EVP_sha512();  // RFC 8419: Ed25519 signers use SHA-512
  std::string der = SignCms(content, rsa, opt);
  {
    BioPtr in(BIO_new_mem_buf(der.data(), static_cast<int>(der.size())));
    CmsPtr cms(d2i_CMS_bio(in.get(), nullptr));
    if (!cms || CMS_add1_cert(cms.get(), ed.cert.get()) != 1) fail_msg("rebuild failed");
    CMS_SignerInfo* si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms.get()), 0);
    X509_ALGOR* sig = nullptr;
    CMS_SignerInfo_get0_algs(si, nullptr, nullptr, nullptr, &sig);
    if (!sig || X509_ALGOR_set0(sig, OBJ_nid2obj(NID_ED25519), V_ASN1_UNDEF, nullptr) != 1)
      fail_msg("cannot relabel signature algorithm");
    BioPtr out(BIO_new(BIO_s_mem()));
    if (i2d_CMS_bio(out.get(), cms.get()) != 1) fail_msg("i2d failed");
    char* data = nullptr;
    long len = BIO_get_mem_data(out.get(), &data);
    der.assign(data, static_cast<size_t>(len));
  }
  Seen s = Check(der, &content);
#if OPENSSL_VERSION_NUMBER < 0x30200000L
  // OpenSSL before 3.2 cannot verify Ed25519 in CMS ("invalid digest" from
  // its EdDSA provider): that must be reported as unsupported, not as a
  // forged signature.
  assert_int_equal(static_cast<int>(s.outcome), static_cast<int>(Out::kUnsupported));
#else
  // Newer OpenSSL verifies Ed25519: the relabelled RSA signature is then bad.
  assert_int_equal(static_cast<int>(s.outcome), static_cast<int>(Out::kBadSignature));
#endif
  assert_int_equal(s.leftover_error, 0);
  assert_true(s.first_cert);
  assert_int_equal(s.first_digest_nid, NID_sha512);
}

// signer_candidates: used only for a SignerInfo whose certificate the
// message lacks, matched by sid (issuerAndSerialNumber or
// subjectKeyIdentifier); the message's own certificate comes first.
void TestSignerCandidates(void**) {
  const std::string content = kContent;
  SignOptions bare;
  bare.no_certs = true;
  const std::string by_serial = SignCms(content, g_fx->alice, bare);
  bare.key_id = true;
  const std::string by_ski = SignCms(content, g_fx->alice, bare);
  X509StackPtr alice_and_bob = Stack({g_fx->bob.cert.get(), g_fx->alice.cert.get()});
  X509StackPtr bob_only = Stack({g_fx->bob.cert.get()});
  bool from = false;
  for (const std::string* der : {&by_serial, &by_ski}) {
    Seen s = Check(*der, &content);
    AssertOutcome(s, Out::kMalformed, "signer-certificate-missing");
    s = Check(*der, &content, 4, bob_only.get(), &from);  // no match: still missing
    AssertOutcome(s, Out::kMalformed, "signer-certificate-missing");
    s = Check(*der, &content, 4, alice_and_bob.get(), &from);
    AssertOutcome(s, Out::kVerified, "");
    assert_true(s.first_cert_is_alice);
    assert_true(from);
    assert_int_equal(s.certs, 0);  // the message's certificates: none
  }
  // The message carries alice's certificate: a candidate never replaces it.
  const std::string with_cert = SignCms(content, g_fx->alice, SignOptions());
  Seen s = Check(with_cert, &content, 4, alice_and_bob.get(), &from);
  AssertOutcome(s, Out::kVerified, "");
  assert_false(from);
  // A candidate with the right sid but the wrong key does not verify.
  CertSpec twin = SmimeSpec("alice@a.example");
  twin.serial_hex = SerialHex(g_fx->alice.cert.get());
  Issued impostor = MakeLeaf(twin, g_fx->ca);
  X509StackPtr impostor_only = Stack({impostor.cert.get()});
  s = Check(by_serial, &content, 4, impostor_only.get(), &from);
  assert_int_equal(static_cast<int>(s.outcome), static_cast<int>(Out::kBadSignature));
  assert_int_equal(s.leftover_error, 0);
}

// The certificates of a message in order, as OpenSSL's own full parse of
// the DER gives them (the reference the shared parse must equal).
std::vector<std::string> ReferenceCerts(const std::string& der) {
  std::vector<std::string> out;
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  CmsPtr cms(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(der.size())));
  X509StackPtr certs(cms ? CMS_get1_certs(cms.get()) : nullptr);
  for (int i = 0; certs && i < sk_X509_num(certs.get()); ++i) {
    unsigned char* d = nullptr;
    int n = i2d_X509(sk_X509_value(certs.get(), i), &d);
    out.emplace_back(reinterpret_cast<char*>(d), static_cast<size_t>(n > 0 ? n : 0));
    OPENSSL_free(d);
  }
  ERR_clear_error();
  return out;
}

struct Parsed {
  Out outcome = Out::kMalformed;
  std::vector<std::string> certs;  // DER, in the order VerifySignedData gives them
  std::vector<X509*> objects;      // compared by address only (never dereferenced after)
  X509* signer = nullptr;
};

Parsed Verify(const std::string& der, const std::string& content) {
  Parsed r;
  const std::string_view view(content);
  CmsCheck c = VerifySignedData(der, &view, 4);
  r.outcome = c.outcome;
  for (int i = 0; c.certs && i < sk_X509_num(c.certs.get()); ++i) {
    X509* x = sk_X509_value(c.certs.get(), i);
    unsigned char* d = nullptr;
    int n = i2d_X509(x, &d);
    r.certs.emplace_back(reinterpret_cast<char*>(d), static_cast<size_t>(n > 0 ? n : 0));
    OPENSSL_free(d);
    r.objects.push_back(x);
  }
  if (!c.signers.empty()) r.signer = c.signers[0].cert.get();
  return r;
}

// A message's certificates come from the process-wide cache: the second
// message carrying the same certificates gets the same X509 objects (their
// public keys decoded once), in the message's order, and verifies the same.
void TestCertificatesShared(void**) {
  const std::string content = kContent;
  SignOptions opt;
  opt.chain = {g_fx->ca.cert.get()};
  const std::string der = SignCms(content, g_fx->alice, opt);
  const size_t hits_before = CertCache::Shared().hits();
  Parsed a = Verify(der, content);
  Parsed b = Verify(der, content);
  const std::vector<std::string> want = ReferenceCerts(der);
  assert_int_equal(static_cast<int>(a.outcome), static_cast<int>(Out::kVerified));
  assert_int_equal(static_cast<int>(b.outcome), static_cast<int>(Out::kVerified));
  assert_int_equal(want.size(), 2);
  assert_true(a.certs == want);
  assert_true(b.certs == want);
  assert_true(a.objects == b.objects);
  assert_non_null(a.signer);
  assert_ptr_equal(a.signer, b.signer);
  assert_true(CertCache::Shared().hits() >= hits_before + 2);
  // Opaque and key-identifier forms too.
  opt.detached = false;
  opt.key_id = true;
  const std::string opaque = SignCms(content, g_fx->alice, opt);
  const std::string_view* none = nullptr;
  CmsCheck c = VerifySignedData(opaque, none, 4);
  int outcome = static_cast<int>(c.outcome);
  int n = c.certs ? sk_X509_num(c.certs.get()) : 0;
  bool same_signer = !c.signers.empty() && c.signers[0].cert.get() == a.signer;
  c = CmsCheck();
  assert_int_equal(outcome, static_cast<int>(Out::kVerified));
  assert_int_equal(n, 2);
  assert_true(same_signer);
}

// A certificate differing in one byte (inside its signature, so it still
// parses) is its own object, never the cached one of the original.
void TestChangedCertificateNotConfused(void**) {
  const std::string content = kContent;
  const std::string der = SignCms(content, g_fx->alice, SignOptions());
  std::vector<std::string> certs = ReferenceCerts(der);
  assert_int_equal(certs.size(), 1);
  const size_t at = der.find(certs[0]);
  assert_true(at != std::string::npos);
  std::string changed = der;
  changed[at + certs[0].size() - 5] ^= 0x01;  // last bytes: the certificate's signature value
  Parsed a = Verify(der, content);
  Parsed b = Verify(changed, content);
  // The content signature does not cover the certificate: still verified;
  // the chain (judged later) sees the changed certificate, not alice's.
  assert_int_equal(static_cast<int>(b.outcome), static_cast<int>(Out::kVerified));
  assert_int_equal(b.certs.size(), 1);
  assert_true(b.certs[0] == changed.substr(at, certs[0].size()));
  assert_true(a.signer != b.signer);
  assert_true(b.certs == ReferenceCerts(changed));
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(TestDetachedGood),
      cmocka_unit_test(TestDetachedWrongContent),
      cmocka_unit_test(TestOpaqueGood),
      cmocka_unit_test(TestOpaquePassedAsDetached),
      cmocka_unit_test(TestDetachedPassedAsOpaque),
      cmocka_unit_test(TestGarbageNeverCrashes),
      cmocka_unit_test(TestTruncatedNeverCrashes),
      cmocka_unit_test(TestCertsOnlyHasNoSigners),
      cmocka_unit_test(TestTooManySigners),
      cmocka_unit_test(TestSecondSignerOverOtherContentFails),
      cmocka_unit_test(TestNoSignedAttributes),
      cmocka_unit_test(TestContentTypeAttributeMismatch),
      cmocka_unit_test(TestTrailingBytesAfterCms),
      cmocka_unit_test(TestSignerCertificateMissing),
      cmocka_unit_test(TestDigestsReported),
      cmocka_unit_test(TestEcSigner),
      cmocka_unit_test(TestEnvelopedData),
      cmocka_unit_test(TestErrorQueueClearedOnEntry),
      cmocka_unit_test(TestEd25519SignerDoesNotCrash),
      cmocka_unit_test(TestSignerCandidates),
      cmocka_unit_test(TestCertificatesShared),
      cmocka_unit_test(TestChangedCertificateNotConfused),
  };
  return cmocka_run_group_tests(tests, SetUp, TearDown);
}
