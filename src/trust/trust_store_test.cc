// Unit tests for trust/: TrustStore loading and chain checks at pinned
// times, the certificate facts of cert_info and the path algorithm rules of
// path_algorithms, on certificates built in-process by testing/test_pki.
#include "trust/trust_store.h"

#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "base/testing.h"
#include "testing/test_pki.h"
#include "trust/cert_info.h"
#include "trust/chain_cache.h"
#include "trust/path_algorithms.h"

using namespace smime;
using namespace smime::testpki;

namespace {

struct Fixture {
  Issued root;
  Issued other_root;  // an unrelated CA, never configured
  Issued look_alike;  // same subject DN as root, different key
  Issued sub;         // intermediate under root
  Issued alice;       // leaf under root
  Issued carol;       // leaf under sub
  Issued mallory;     // leaf under look_alike
  Issued stranger;    // leaf under other_root
  std::string dir;    // scratch folder
  std::vector<std::string> files;
};
Fixture* g_fx = nullptr;

int SetUp(void**) {
  g_fx = new Fixture;
  g_fx->root = MakeCa("Test Root CA");
  g_fx->other_root = MakeCa("Other Root CA");
  g_fx->look_alike = MakeCa("Test Root CA");
  g_fx->sub = MakeSubCa("Test Sub CA", g_fx->root);
  g_fx->alice = MakeLeaf(SmimeSpec("alice@a.example"), g_fx->root);
  g_fx->carol = MakeLeaf(SmimeSpec("carol@c.example"), g_fx->sub);
  g_fx->mallory = MakeLeaf(SmimeSpec("alice@a.example"), g_fx->look_alike);
  g_fx->stranger = MakeLeaf(SmimeSpec("alice@a.example"), g_fx->other_root);
  const char* tmp = getenv("TMPDIR");
  std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/trust_store_test.XXXXXX";
  if (!mkdtemp(&templ[0])) return -1;
  g_fx->dir = templ;
  return 0;
}

int TearDown(void**) {
  for (const std::string& f : g_fx->files) unlink(f.c_str());
  rmdir((g_fx->dir + "/sub").c_str());
  rmdir((g_fx->dir + "/empty").c_str());
  rmdir(g_fx->dir.c_str());
  delete g_fx;
  g_fx = nullptr;
  return 0;
}

// Writes a scratch file (relative to the scratch folder); returns its path.
std::string WriteFile(const std::string& name, const std::string& text) {
  std::string path = g_fx->dir + "/" + name;
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  g_fx->files.push_back(path);
  return path;
}

std::string MakeFolder(const std::string& name) {
  std::string path = g_fx->dir + "/" + name;
  mkdir(path.c_str(), 0700);
  return path;
}

// Loads path into a fresh store; returns "" or the error message.
std::string LoadError(const std::string& path, int* count = nullptr) {
  TrustStore ts;
  Status st = ts.Load(path);
  if (count) *count = ts.anchor_count();
  return st.ok() ? "" : st.message();
}

// Plain values copied out of a ChainResult.
struct Chain {
  bool trusted = false;
  char reason[128] = {};
  int length = 0;
  bool ends_with_root = false;
  unsigned long leftover_error = 0;
};

Chain Verify(const TrustStore& ts, X509* leaf, const std::vector<X509*>& hints, std::time_t now) {
  Chain c;
  {
    X509StackPtr untrusted = Stack(hints);
    ChainResult r = ts.VerifyChain(leaf, untrusted.get(), now);
    c.leftover_error = ERR_peek_error();
    c.trusted = r.trusted;
    snprintf(c.reason, sizeof c.reason, "%s", r.reason.c_str());
    c.length = r.chain ? sk_X509_num(r.chain.get()) : 0;
    if (c.length > 0)
      c.ends_with_root =
          X509_cmp(sk_X509_value(r.chain.get(), c.length - 1), g_fx->root.cert.get()) == 0;
  }
  ERR_clear_error();
  return c;
}

void TestLoadFile(void**) {
  int count = 0;
  std::string err = LoadError(WriteFile("one.pem", ToPem(g_fx->root.cert.get())), &count);
  assert_string_equal(err.c_str(), "");
  assert_int_equal(count, 1);
  // Two anchors, with text and a non-certificate PEM block around them.
  const std::string two = "Root one\n" + ToPem(g_fx->root.cert.get()) +
                          "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n" +
                          ToPem(g_fx->sub.cert.get()) + "trailing words\n";
  err = LoadError(WriteFile("two.pem", two), &count);
  assert_string_equal(err.c_str(), "");
  assert_int_equal(count, 2);
  assert_int_equal(ERR_peek_error(), 0);
}

void TestLoadFolder(void**) {
  std::string folder = MakeFolder("sub");
  WriteFile("sub/a.pem", ToPem(g_fx->root.cert.get()));
  WriteFile("sub/b.crt", ToPem(g_fx->sub.cert.get()));
  WriteFile("sub/notes.txt", "not PEM, and ignored\n");
  WriteFile("sub/c.pem.bak", "ignored too\n");
  int count = 0;
  std::string err = LoadError(folder, &count);
  assert_string_equal(err.c_str(), "");
  assert_int_equal(count, 2);

  TrustStore ts;
  assert_true(ts.Load(folder).ok());
  Chain c = Verify(ts, g_fx->carol.cert.get(), {}, kNow);
  assert_true(c.trusted);

  // A junk *.pem in the folder stops loading and is named.
  std::string junk = WriteFile("sub/z.pem", "junk\n");
  err = LoadError(folder);
  assert_string_equal(err.c_str(), (junk + ": no PEM certificate found").c_str());
}

void TestLoadErrors(void**) {
  const std::string missing = g_fx->dir + "/missing.pem";
  std::string err = LoadError(missing);
  assert_string_equal(err.c_str(),
                      (missing + ": trust anchors: No such file or directory").c_str());

  const std::string empty = WriteFile("empty.pem", "");
  err = LoadError(empty);
  assert_string_equal(err.c_str(), (empty + ": no PEM certificate found").c_str());

  const std::string junk = WriteFile("junk.pem", "hello\nworld\n\x01\x02\x03");
  err = LoadError(junk);
  assert_string_equal(err.c_str(), (junk + ": no PEM certificate found").c_str());

  // A certificate block whose body is damaged.
  const std::string damaged = WriteFile("damaged.pem",
                                        "-----BEGIN CERTIFICATE-----\nMIIB!!!notbase64\n"
                                        "-----END CERTIFICATE-----\n");
  err = LoadError(damaged);
  assert_true(err.find(damaged + ": bad PEM data: ") == 0);

  // A good certificate followed by a damaged one is not half-loaded.
  const std::string half =
      WriteFile("half.pem", ToPem(g_fx->root.cert.get()) +
                                "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
  err = LoadError(half);
  assert_true(err.find(half + ": bad PEM data: ") == 0);

  const std::string empty_folder = MakeFolder("empty");
  err = LoadError(empty_folder);
  assert_string_equal(err.c_str(), (empty_folder + ": no *.pem or *.crt files in folder").c_str());
  assert_int_equal(ERR_peek_error(), 0);
}

void TestFailedLoadLeavesStoreUnchanged(void**) {
  TrustStore ts;
  assert_true(ts.Load(WriteFile("keep.pem", ToPem(g_fx->root.cert.get()))).ok());
  assert_false(ts.Load(g_fx->dir + "/missing.pem").ok());
  assert_false(ts.Load(WriteFile("keep-junk.pem", "junk")).ok());
  assert_int_equal(ts.anchor_count(), 1);
  Chain c = Verify(ts, g_fx->alice.cert.get(), {}, kNow);
  assert_true(c.trusted);
}

// The test root ends 2027-01-01 (kNotAfter), 214 days after kNow.
void TestAnchorExpiryWarnings(void**) {
  TrustStore ts;
  assert_true(ts.Load(WriteFile("expiry.pem", ToPem(g_fx->root.cert.get()))).ok());
  assert_int_equal(ts.ExpiryWarnings(kNow, 213).size(), 0);
  std::vector<std::string> w = ts.ExpiryWarnings(kNow, 214);
  assert_int_equal(w.size(), 1);
  assert_non_null(strstr(w[0].c_str(), "trust anchor "));
  assert_non_null(
      strstr(w[0].c_str(), " expires at 2027-01-01T00:00:00Z, in 214 days: add its successor"));
  w = ts.ExpiryWarnings(kNotAfter + 1, 30);
  assert_int_equal(w.size(), 1);
  assert_non_null(strstr(w[0].c_str(), " expired at 2027-01-01T00:00:00Z"));
}

void TestVerifyChainAtPinnedTimes(void**) {
  TrustStore ts;
  assert_true(ts.Load(WriteFile("root.pem", ToPem(g_fx->root.cert.get()))).ok());

  Chain c = Verify(ts, g_fx->alice.cert.get(), {}, kNow);
  assert_true(c.trusted);
  assert_int_equal(c.length, 2);
  assert_true(c.ends_with_root);
  assert_int_equal(c.leftover_error, 0);

  CertSpec expired = SmimeSpec("old@a.example");
  expired.not_after = 1767225600;  // 2026-01-01, before kNow
  Issued old = MakeLeaf(expired, g_fx->root);
  c = Verify(ts, old.cert.get(), {}, kNow);
  assert_false(c.trusted);
  assert_string_equal(c.reason, "certificate has expired");
  assert_int_equal(c.leftover_error, 0);
  // ... but it was valid at an earlier time of receipt.
  c = Verify(ts, old.cert.get(), {}, 1760000000);
  assert_true(c.trusted);

  CertSpec future = SmimeSpec("new@a.example");
  future.not_before = 1782864000;  // 2026-07-01, after kNow
  Issued young = MakeLeaf(future, g_fx->root);
  c = Verify(ts, young.cert.get(), {}, kNow);
  assert_false(c.trusted);
  assert_string_equal(c.reason, "certificate is not yet valid");
  c = Verify(ts, young.cert.get(), {}, 1783000000);
  assert_true(c.trusted);

  // The whole chain is judged at the pinned time: a good leaf after the
  // root (and the leaf) expired.
  c = Verify(ts, g_fx->alice.cert.get(), {}, kNotAfter + 1);
  assert_false(c.trusted);
  assert_string_equal(c.reason, "certificate has expired");
  c = Verify(ts, g_fx->alice.cert.get(), {}, kNotBefore - 1);
  assert_false(c.trusted);
  assert_string_equal(c.reason, "certificate is not yet valid");
}

void TestUntrustedAndLookAlike(void**) {
  TrustStore ts;
  assert_true(ts.Load(WriteFile("root2.pem", ToPem(g_fx->root.cert.get()))).ok());

  Chain c = Verify(ts, g_fx->stranger.cert.get(), {g_fx->other_root.cert.get()}, kNow);
  assert_false(c.trusted);
  assert_int_equal(c.length, 0);
  assert_string_equal(c.reason, "self-signed certificate in certificate chain");
  assert_int_equal(c.leftover_error, 0);
  c = Verify(ts, g_fx->stranger.cert.get(), {}, kNow);
  assert_false(c.trusted);
  assert_string_equal(c.reason, "unable to get local issuer certificate");

  // Same issuer DN as the anchor, different key: never trusted, with or
  // without the look-alike CA carried as a hint.
  c = Verify(ts, g_fx->mallory.cert.get(), {}, kNow);
  assert_false(c.trusted);
  assert_string_equal(c.reason, "unable to get local issuer certificate");
  c = Verify(ts, g_fx->mallory.cert.get(), {g_fx->look_alike.cert.get()}, kNow);
  assert_false(c.trusted);
  assert_string_equal(c.reason, "self-signed certificate in certificate chain");
  assert_int_equal(c.leftover_error, 0);
  // The look-alike root itself, presented as a leaf, is not the anchor either.
  c = Verify(ts, g_fx->look_alike.cert.get(), {}, kNow);
  assert_false(c.trusted);

  // A leaf naming the real root as issuer (DN and authorityKeyIdentifier)
  // but signed with another key.
  CertSpec spec = SmimeSpec("forged@a.example");
  EvpPkeyPtr key = MakeKey(KeyKind::kEcP256);
  X509Ptr forged = MakeCert(spec, key.get(), g_fx->root.cert.get(), g_fx->look_alike.key.get());
  c = Verify(ts, forged.get(), {}, kNow);
  assert_false(c.trusted);
  assert_string_equal(c.reason, "certificate signature failure");
  assert_int_equal(c.leftover_error, 0);
}

void TestIntermediateAsHintAndAsAnchor(void**) {
  TrustStore ts;
  assert_true(ts.Load(WriteFile("root3.pem", ToPem(g_fx->root.cert.get()))).ok());
  Chain c = Verify(ts, g_fx->carol.cert.get(), {}, kNow);
  assert_false(c.trusted);
  assert_string_equal(c.reason, "unable to get local issuer certificate");
  c = Verify(ts, g_fx->carol.cert.get(), {g_fx->sub.cert.get()}, kNow);
  assert_true(c.trusted);
  assert_int_equal(c.length, 3);
  assert_true(c.ends_with_root);
  // Hints in any order and with unrelated certificates.
  c = Verify(ts, g_fx->carol.cert.get(),
             {g_fx->other_root.cert.get(), g_fx->alice.cert.get(), g_fx->sub.cert.get()}, kNow);
  assert_true(c.trusted);

  // An administrator may pin the intermediate (partial chain).
  TrustStore pinned;
  assert_true(pinned.Load(WriteFile("sub.pem", ToPem(g_fx->sub.cert.get()))).ok());
  c = Verify(pinned, g_fx->carol.cert.get(), {}, kNow);
  assert_true(c.trusted);
  assert_int_equal(c.length, 2);
  c = Verify(pinned, g_fx->alice.cert.get(), {g_fx->root.cert.get()}, kNow);
  assert_false(c.trusted);
}

void TestVerifyWithoutAnchors(void**) {
  TrustStore ts;
  Chain c = Verify(ts, g_fx->alice.cert.get(), {}, kNow);
  assert_false(c.trusted);
  assert_string_equal(c.reason, "no trust anchors");
  assert_true(ts.Load(WriteFile("root4.pem", ToPem(g_fx->root.cert.get()))).ok());
  ChainResult r = ts.VerifyChain(nullptr, nullptr, kNow);
  bool trusted = r.trusted;
  assert_false(trusted);
}

// --- cert_info --------------------------------------------------------------

// Addresses joined with ",".
std::string Addresses(const CertSpec& spec) {
  Issued leaf = MakeLeaf(spec, g_fx->root);
  std::string out;
  for (const std::string& a : CertificateAddresses(leaf.cert.get()))
    out += (out.empty() ? "" : ",") + a;
  return out;
}

void TestCertificateAddresses(void**) {
  CertSpec spec;
  spec.san_emails = {"a@x.example", "b@y.example"};
  spec.subject_email = "dn@z.example";
  assert_string_equal(Addresses(spec).c_str(), "a@x.example,b@y.example");

  spec.san_emails.clear();
  assert_string_equal(Addresses(spec).c_str(), "dn@z.example");

  // A SAN without any rfc822Name does not hide the DN address.
  spec.san_dns = {"host.z.example"};
  assert_string_equal(Addresses(spec).c_str(), "dn@z.example");

  spec.subject_email.clear();
  assert_string_equal(Addresses(spec).c_str(), "");

  spec.san_emails = {"only@x.example"};
  assert_string_equal(Addresses(spec).c_str(), "only@x.example");

  assert_int_equal(CertificateAddresses(nullptr).size(), 0);
  assert_int_equal(ERR_peek_error(), 0);
}

std::string Usage(int key_usage, std::vector<int> eku) {
  CertSpec spec = SmimeSpec("u@a.example");
  spec.key_usage = key_usage;
  spec.eku = std::move(eku);
  Issued leaf = MakeLeaf(spec, g_fx->root);
  return SigningUsageProblem(leaf.cert.get());
}

void TestSigningUsageProblem(void**) {
  const std::string kKu = "keyusage-lacks-digitalsignature";
  const std::string kEku = "eku-lacks-emailprotection";
  // No extensions at all: no restriction.
  assert_string_equal(Usage(-1, {}).c_str(), "");
  assert_string_equal(Usage(KU_DIGITAL_SIGNATURE, {}).c_str(), "");
  assert_string_equal(Usage(KU_NON_REPUDIATION, {}).c_str(), "");
  assert_string_equal(Usage(KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT, {}).c_str(), "");
  assert_string_equal(Usage(KU_KEY_ENCIPHERMENT, {}).c_str(), kKu.c_str());
  assert_string_equal(Usage(KU_KEY_CERT_SIGN | KU_CRL_SIGN, {}).c_str(), kKu.c_str());
  assert_string_equal(Usage(-1, {NID_email_protect}).c_str(), "");
  assert_string_equal(Usage(-1, {NID_anyExtendedKeyUsage}).c_str(), "");
  assert_string_equal(Usage(-1, {NID_client_auth, NID_email_protect}).c_str(), "");
  assert_string_equal(Usage(-1, {NID_server_auth}).c_str(), kEku.c_str());
  assert_string_equal(Usage(-1, {NID_client_auth, NID_code_sign}).c_str(), kEku.c_str());
  assert_string_equal(Usage(KU_DIGITAL_SIGNATURE, {NID_server_auth}).c_str(), kEku.c_str());
  // Both wrong: keyUsage is reported first.
  assert_string_equal(Usage(KU_KEY_ENCIPHERMENT, {NID_server_auth}).c_str(), kKu.c_str());
  assert_int_equal(ERR_peek_error(), 0);
}

std::string Serial(const std::string& hex) {
  CertSpec spec;
  spec.serial_hex = hex;
  Issued leaf = MakeLeaf(spec, g_fx->root);
  return SerialHex(leaf.cert.get());
}

void TestSerialHex(void**) {
  assert_string_equal(Serial("1A2B").c_str(), "1A2B");
  assert_string_equal(Serial("abc").c_str(), "ABC");
  assert_string_equal(Serial("00000F").c_str(), "F");
  assert_string_equal(Serial("0").c_str(), "0");
  assert_string_equal(Serial("0123456789ABCDEF0123456789ABCDEF01").c_str(),
                      "123456789ABCDEF0123456789ABCDEF01");
}

void TestIssuerAndKeyType(void**) {
  std::string issuer = IssuerText(g_fx->alice.cert.get());
  assert_string_equal(issuer.c_str(), "CN=Test Root CA,O=Test PKI");
  issuer = IssuerText(g_fx->carol.cert.get());
  assert_string_equal(issuer.c_str(), "CN=Test Sub CA,O=Test PKI");
  // Again (the text is remembered by the name's DER): each name its own.
  for (int i = 0; i < 2; ++i) {
    assert_string_equal(IssuerText(g_fx->alice.cert.get()).c_str(), "CN=Test Root CA,O=Test PKI");
    assert_string_equal(IssuerText(g_fx->carol.cert.get()).c_str(), "CN=Test Sub CA,O=Test PKI");
  }

  int bits = 0;
  std::string type = KeyType(g_fx->alice.cert.get(), &bits);
  assert_string_equal(type.c_str(), "rsaEncryption");
  assert_int_equal(bits, 2048);
  CertSpec spec;
  spec.key = KeyKind::kEcP256;
  Issued ec = MakeLeaf(spec, g_fx->root);
  type = KeyType(ec.cert.get(), &bits);
  assert_string_equal(type.c_str(), "id-ecPublicKey");
  assert_int_equal(bits, 256);
  spec.key = KeyKind::kRsa1024;
  Issued small = MakeLeaf(spec, g_fx->root);
  type = KeyType(small.cert.get(), &bits);
  assert_int_equal(bits, 1024);
  spec.key = KeyKind::kEd25519;
  Issued ed = MakeLeaf(spec, g_fx->root);
  type = KeyType(ed.cert.get(), &bits);
  assert_string_equal(type.c_str(), "ED25519");
}

void TestSameMailbox(void**) {
  assert_true(SameMailbox("alice@a.example", "alice@a.example", false));
  assert_true(SameMailbox("alice@A.EXAMPLE", "alice@a.example", true));
  assert_true(SameMailbox("Alice@a.example", "alice@a.example", false));
  assert_false(SameMailbox("Alice@a.example", "alice@a.example", true));
  assert_false(SameMailbox("alice@a.example", "alice@b.example", false));
  assert_false(SameMailbox("alice@a.example", "alice@a.example.org", false));
  assert_false(SameMailbox("alice@a.example", "alicea@a.example", false));
  assert_false(SameMailbox("alice", "alice", false));
  assert_false(SameMailbox("", "", false));
  assert_false(SameMailbox("alice@a.example", "", false));
  // The domain is after the last '@' (quoted local parts may contain one).
  assert_true(SameMailbox("\"a@b\"@c.example", "\"a@b\"@C.example", true));
  assert_false(SameMailbox("\"a@b\"@c.example", "a@b.example", false));
  // Domains in one form (IDNA2008 A-labels): a From: in U-labels and an
  // rfc822Name in A-labels are one mailbox, either way round, any case.
  assert_true(SameMailbox("hans@xn--bcher-kva.example", "hans@bücher.example", true));
  assert_true(SameMailbox("hans@BÜCHER.example", "hans@XN--BCHER-KVA.EXAMPLE", false));
  assert_true(SameMailbox("hans@bücher.example.", "hans@bücher.example", true));
  assert_false(SameMailbox("Hans@bücher.example", "hans@xn--bcher-kva.example", true));
  // A look-alike in another script (Cyrillic u) is another domain.
  assert_false(
      SameMailbox("hans@b\xd1\x83"
                  "cher.example",
                  "hans@xn--bcher-kva.example", false));
  assert_false(SameMailbox("hans@bucher.example", "hans@bücher.example", false));
}

// The verdict of PathAlgorithmProblem on the path TrustStore builds from
// leaf to anchor (hints as untrusted certificates), or "untrusted: why".
// Going through VerifyChain proves that OpenSSL lets the weak path through
// and the reason is ours.
std::string PathProblem(X509* anchor, X509* leaf, const std::vector<X509*>& hints,
                        const AlgorithmRules& rules = {}) {
  static int n = 0;
  TrustStore ts;
  if (!ts.Load(WriteFile("anchor" + std::to_string(++n) + ".pem", ToPem(anchor))).ok())
    return "anchor not loaded";
  X509StackPtr untrusted = Stack(hints);
  ChainResult r = ts.VerifyChain(leaf, untrusted.get(), kNow);
  if (!r.trusted) return "untrusted: " + r.reason;
  std::string p = PathAlgorithmProblem(r.chain.get(), rules);
  assert_int_equal(ERR_peek_error(), 0);
  return p;
}

Issued LeafOf(const Issued& ca, KeyKind key, const EVP_MD* md = nullptr) {
  CertSpec spec = SmimeSpec("x@a.example");
  spec.key = key;
  spec.signature_md = md;
  return MakeLeaf(spec, ca);
}

Issued SubCaOf(const Issued& parent, KeyKind key, const EVP_MD* md = nullptr,
               std::vector<int> eku = {}) {
  CertSpec spec = CaSpec("Sub CA");
  spec.key = key;
  spec.signature_md = md;
  spec.eku = std::move(eku);
  return MakeLeaf(spec, parent);
}

void TestPathAlgorithmsAcceptStrongPaths(void**) {
  const Issued& root = g_fx->root;
  assert_string_equal(PathProblem(root.cert.get(), g_fx->alice.cert.get(), {}).c_str(), "");
  assert_string_equal(
      PathProblem(root.cert.get(), g_fx->carol.cert.get(), {g_fx->sub.cert.get()}).c_str(), "");
  for (KeyKind k : {KeyKind::kRsa3072, KeyKind::kRsaPss2048, KeyKind::kEcP256, KeyKind::kEcP384,
                    KeyKind::kEd25519, KeyKind::kEd448}) {
    Issued leaf = LeafOf(root, k);
    assert_string_equal(PathProblem(root.cert.get(), leaf.cert.get(), {}).c_str(), "");
  }
  // EdDSA and EC CAs sign without a weak hash; SHA-512 and SHA-224 are fine.
  Issued ed_ca = MakeCa("Ed448 Root", KeyKind::kEd448);
  Issued ed_leaf = LeafOf(ed_ca, KeyKind::kEcP256);
  assert_string_equal(PathProblem(ed_ca.cert.get(), ed_leaf.cert.get(), {}).c_str(), "");
  Issued ec_sub = SubCaOf(root, KeyKind::kEcP384, EVP_sha512());
  Issued ec_leaf = LeafOf(ec_sub, KeyKind::kEcP256, EVP_sha224());
  assert_string_equal(PathProblem(root.cert.get(), ec_leaf.cert.get(), {ec_sub.cert.get()}).c_str(),
                      "");
  // A CA whose EKU includes emailProtection or anyExtendedKeyUsage is fine.
  Issued smime_sub = SubCaOf(root, KeyKind::kRsa2048, nullptr, {NID_email_protect});
  Issued any_sub =
      SubCaOf(root, KeyKind::kRsa2048, nullptr, {NID_server_auth, NID_anyExtendedKeyUsage});
  for (const Issued* sub : {&smime_sub, &any_sub}) {
    Issued leaf = LeafOf(*sub, KeyKind::kRsa2048);
    assert_string_equal(PathProblem(root.cert.get(), leaf.cert.get(), {sub->cert.get()}).c_str(),
                        "");
  }
}

void TestPathSignatureHashes(void**) {
  const Issued& root = g_fx->root;
  Issued md5_leaf = LeafOf(root, KeyKind::kRsa2048, EVP_md5());
  Issued sha1_leaf = LeafOf(root, KeyKind::kRsa2048, EVP_sha1());
  AlgorithmRules sha1_ok;
  sha1_ok.allow_sha1 = true;
  assert_string_equal(PathProblem(root.cert.get(), md5_leaf.cert.get(), {}).c_str(),
                      "weak-signature-leaf-md5");
  assert_string_equal(PathProblem(root.cert.get(), md5_leaf.cert.get(), {}, sha1_ok).c_str(),
                      "weak-signature-leaf-md5");
  assert_string_equal(PathProblem(root.cert.get(), sha1_leaf.cert.get(), {}).c_str(),
                      "weak-signature-leaf-sha1");
  assert_string_equal(PathProblem(root.cert.get(), sha1_leaf.cert.get(), {}, sha1_ok).c_str(), "");

  // The intermediate's own signature (made by the anchor) is judged.
  Issued sha1_sub = SubCaOf(root, KeyKind::kRsa2048, EVP_sha1());
  Issued md5_sub = SubCaOf(root, KeyKind::kRsa2048, EVP_md5());
  Issued under_sha1 = LeafOf(sha1_sub, KeyKind::kRsa2048);
  Issued under_md5 = LeafOf(md5_sub, KeyKind::kRsa2048);
  assert_string_equal(
      PathProblem(root.cert.get(), under_sha1.cert.get(), {sha1_sub.cert.get()}).c_str(),
      "weak-signature-intermediate-sha1");
  assert_string_equal(
      PathProblem(root.cert.get(), under_sha1.cert.get(), {sha1_sub.cert.get()}, sha1_ok).c_str(),
      "");
  assert_string_equal(
      PathProblem(root.cert.get(), under_md5.cert.get(), {md5_sub.cert.get()}, sha1_ok).c_str(),
      "weak-signature-intermediate-md5");

  // The anchor's self-signature is not judged, whatever its hash.
  CertSpec spec = CaSpec("MD5 Root");
  spec.signature_md = EVP_md5();
  Issued md5_root;
  md5_root.key = MakeKey(KeyKind::kRsa2048);
  md5_root.cert = MakeCert(spec, md5_root.key.get(), nullptr, md5_root.key.get());
  Issued under_md5_root = LeafOf(md5_root, KeyKind::kRsa2048);
  assert_string_equal(PathProblem(md5_root.cert.get(), under_md5_root.cert.get(), {}).c_str(), "");
  // Nor is a pinned leaf's own signature: the leaf is the anchor.
  assert_string_equal(PathProblem(md5_leaf.cert.get(), md5_leaf.cert.get(), {}).c_str(), "");
}

void TestPathKeys(void**) {
  const Issued& root = g_fx->root;
  struct {
    KeyKind key;
    const char* leaf_reason;
  } cases[] = {
      {KeyKind::kRsa1024, "weak-key-leaf-rsa-1024"},
      {KeyKind::kDsa1024, "key-type-leaf-dsa"},
      {KeyKind::kEcP192, "weak-curve-leaf-prime192v1"},
      {KeyKind::kEcSecp160r1, "weak-curve-leaf-secp160r1"},
      {KeyKind::kEcBrainpool256, "curve-not-allowed-leaf-brainpoolp256r1"},
  };
  for (const auto& c : cases) {
    Issued leaf = LeafOf(root, c.key);
    assert_string_equal(PathProblem(root.cert.get(), leaf.cert.get(), {}).c_str(), c.leaf_reason);
  }
  AlgorithmRules rsa1024_ok, rsa3072;
  rsa1024_ok.min_rsa_bits = 1024;
  rsa3072.min_rsa_bits = 3072;
  Issued weak = LeafOf(root, KeyKind::kRsa1024);
  assert_string_equal(PathProblem(root.cert.get(), weak.cert.get(), {}, rsa1024_ok).c_str(), "");
  Issued pss = LeafOf(root, KeyKind::kRsaPss2048);
  assert_string_equal(PathProblem(root.cert.get(), pss.cert.get(), {}, rsa3072).c_str(),
                      "weak-key-leaf-rsa-2048");

  // A weak intermediate key, and a DSA intermediate, under a strong root.
  Issued weak_sub = SubCaOf(root, KeyKind::kRsa1024);
  Issued under_weak = LeafOf(weak_sub, KeyKind::kRsa2048);
  assert_string_equal(
      PathProblem(root.cert.get(), under_weak.cert.get(), {weak_sub.cert.get()}).c_str(),
      "weak-key-intermediate-rsa-1024");
  assert_string_equal(
      PathProblem(root.cert.get(), under_weak.cert.get(), {weak_sub.cert.get()}, rsa1024_ok)
          .c_str(),
      "");
  Issued dsa_sub = SubCaOf(root, KeyKind::kDsa1024);
  Issued under_dsa = LeafOf(dsa_sub, KeyKind::kRsa2048);
  assert_string_equal(
      PathProblem(root.cert.get(), under_dsa.cert.get(), {dsa_sub.cert.get()}).c_str(),
      "key-type-intermediate-dsa");
  // The anchor's key signed the next certificate: it is judged.
  Issued weak_root = MakeCa("Weak Root", KeyKind::kRsa1024);
  Issued under_weak_root = LeafOf(weak_root, KeyKind::kRsa2048);
  assert_string_equal(PathProblem(weak_root.cert.get(), under_weak_root.cert.get(), {}).c_str(),
                      "weak-key-anchor-rsa-1024");
  // ... also when the anchor is a pinned intermediate.
  assert_string_equal(PathProblem(weak_sub.cert.get(), under_weak.cert.get(), {}).c_str(),
                      "weak-key-anchor-rsa-1024");
  // A pinned leaf is the leaf.
  assert_string_equal(PathProblem(weak.cert.get(), weak.cert.get(), {}).c_str(),
                      "weak-key-leaf-rsa-1024");

  assert_string_equal(KeyProblem(nullptr, {}, "leaf").c_str(), "key-type-leaf-unknown");
  EvpPkeyPtr x25519(EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519"));
  assert_string_equal(KeyProblem(x25519.get(), {}, "leaf").c_str(), "key-type-leaf-x25519");
  X509StackPtr empty = Stack({});
  assert_string_equal(PathAlgorithmProblem(empty.get(), {}).c_str(), "key-type-leaf-unknown");
}

void TestPathCaExtendedKeyUsage(void**) {
  const Issued& root = g_fx->root;
  Issued tls_sub = SubCaOf(root, KeyKind::kRsa2048, nullptr, {NID_server_auth});
  Issued leaf = LeafOf(tls_sub, KeyKind::kRsa2048);
  assert_string_equal(PathProblem(root.cert.get(), leaf.cert.get(), {tls_sub.cert.get()}).c_str(),
                      "ca-eku-lacks-emailprotection");
  // The same CA as the (pinned) anchor.
  assert_string_equal(PathProblem(tls_sub.cert.get(), leaf.cert.get(), {}).c_str(),
                      "ca-eku-lacks-emailprotection");
  // A TLS-only root.
  CertSpec spec = CaSpec("TLS Root");
  spec.eku = {NID_server_auth, NID_client_auth};
  Issued tls_root;
  tls_root.key = MakeKey(KeyKind::kRsa2048);
  tls_root.cert = MakeCert(spec, tls_root.key.get(), nullptr, tls_root.key.get());
  Issued under_tls_root = LeafOf(tls_root, KeyKind::kRsa2048);
  assert_string_equal(PathProblem(tls_root.cert.get(), under_tls_root.cert.get(), {}).c_str(),
                      "ca-eku-lacks-emailprotection");
  // The leaf's own EKU is SigningUsageProblem's business, not the path's.
  CertSpec noeku = SmimeSpec("x@a.example");
  noeku.eku = {NID_server_auth};
  Issued tls_leaf = MakeLeaf(noeku, root);
  assert_string_equal(PathProblem(root.cert.get(), tls_leaf.cert.get(), {}).c_str(), "");
}

// A path is reused only while every certificate in it is valid: an
// intermediate that expires before the leaf ends the reuse at its notAfter.
void TestChainReuseEndsWithAnyCertificate(void**) {
  TrustStore ts;
  assert_true(ts.Load(WriteFile("root-cache.pem", ToPem(g_fx->root.cert.get()))).ok());
  CertSpec ca_spec = CaSpec("Short Sub CA");
  ca_spec.not_after = kNow + 100;
  Issued short_sub = MakeLeaf(ca_spec, g_fx->root);
  Issued leaf = MakeLeaf(SmimeSpec("dave@a.example"), short_sub);
  for (int i = 0; i < 2; ++i) {  // the second time from the cache
    Chain c = Verify(ts, leaf.cert.get(), {short_sub.cert.get()}, kNow);
    assert_true(c.trusted);
    assert_int_equal(c.length, 3);
    c = Verify(ts, leaf.cert.get(), {short_sub.cert.get()}, kNow + 99);
    assert_true(c.trusted);
    c = Verify(ts, leaf.cert.get(), {short_sub.cert.get()}, kNow + 100);
    assert_false(c.trusted);
    assert_string_equal(c.reason, "certificate has expired");
    c = Verify(ts, leaf.cert.get(), {short_sub.cert.get()}, kNotBefore - 1);
    assert_false(c.trusted);
    assert_string_equal(c.reason, "certificate is not yet valid");
  }
  // Other hints are another key: without the intermediate, no path.
  Chain c = Verify(ts, leaf.cert.get(), {}, kNow);
  assert_false(c.trusted);
  assert_string_equal(c.reason, "unable to get local issuer certificate");
  // A reload (new anchors) forgets the paths to the old ones.
  assert_true(ts.Load(WriteFile("other-cache.pem", ToPem(g_fx->other_root.cert.get()))).ok());
  c = Verify(ts, leaf.cert.get(), {short_sub.cert.get()}, kNow);
  assert_false(c.trusted);
}

// ChainCache itself: window edges, keys, bounds and threads.
void TestChainCacheDirectly(void**) {
  ChainCache cache(2);
  X509StackPtr chain = Stack({g_fx->carol.cert.get(), g_fx->sub.cert.get(), g_fx->root.cert.get()});
  X509StackPtr hints = Stack({g_fx->sub.cert.get()});
  X509StackPtr other_hints = Stack({g_fx->sub.cert.get(), g_fx->alice.cert.get()});
  const std::string key = ChainCache::KeyOf(g_fx->carol.cert.get(), hints.get());
  const std::string other = ChainCache::KeyOf(g_fx->carol.cert.get(), other_hints.get());
  const std::string bare = ChainCache::KeyOf(g_fx->carol.cert.get(), nullptr);
  assert_int_equal(key.size(), 64);
  assert_true(key != other);
  assert_true(key != bare);
  assert_true(key == ChainCache::KeyOf(g_fx->carol.cert.get(), hints.get()));
  bool before_store = cache.Find(key, kNow) != nullptr;
  assert_false(before_store);
  cache.Store(key, chain.get());
  int n = 0;
  bool same_objects = false;
  {
    X509StackPtr got = cache.Find(key, kNow);
    n = got ? sk_X509_num(got.get()) : 0;
    same_objects = got && sk_X509_value(got.get(), 1) == g_fx->sub.cert.get();
  }
  assert_int_equal(n, 3);
  assert_true(same_objects);
  // The window: every certificate here runs kNotBefore..kNotAfter.
  bool at_from = cache.Find(key, kNotBefore) != nullptr;
  bool before = cache.Find(key, kNotBefore - 1) != nullptr;
  bool last = cache.Find(key, kNotAfter - 1) != nullptr;
  bool at_until = cache.Find(key, kNotAfter) != nullptr;
  bool other_key = cache.Find(other, kNow) != nullptr;
  assert_true(at_from);
  assert_false(before);
  assert_true(last);
  assert_false(at_until);
  assert_false(other_key);
  // Bounded: a third entry evicts the oldest.
  cache.Store(other, chain.get());
  cache.Store(bare, chain.get());
  assert_int_equal(cache.size(), 2);
  bool first_gone = cache.Find(key, kNow) == nullptr;
  bool last_there = cache.Find(bare, kNow) != nullptr;
  assert_true(first_gone);
  assert_true(last_there);
  // Threads storing and finding at once (TSan in CI watches).
  ChainCache shared(3);
  std::vector<std::thread> threads;
  std::vector<int> bad(4, 0);
  const std::vector<std::string> keys = {key, other, bare, std::string(64, 'x')};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t]() {
      for (int i = 0; i < 300; ++i) {
        const std::string& k = keys[static_cast<size_t>((i + t) % 4)];
        shared.Store(k, chain.get());
        X509StackPtr got = shared.Find(k, kNow);
        if (got && sk_X509_num(got.get()) != 3) ++bad[static_cast<size_t>(t)];
      }
    });
  }
  for (std::thread& th : threads) th.join();
  for (int b : bad) assert_int_equal(b, 0);
  assert_true(shared.size() <= 3);
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(TestLoadFile),
      cmocka_unit_test(TestLoadFolder),
      cmocka_unit_test(TestLoadErrors),
      cmocka_unit_test(TestFailedLoadLeavesStoreUnchanged),
      cmocka_unit_test(TestAnchorExpiryWarnings),
      cmocka_unit_test(TestVerifyChainAtPinnedTimes),
      cmocka_unit_test(TestChainReuseEndsWithAnyCertificate),
      cmocka_unit_test(TestChainCacheDirectly),
      cmocka_unit_test(TestUntrustedAndLookAlike),
      cmocka_unit_test(TestIntermediateAsHintAndAsAnchor),
      cmocka_unit_test(TestVerifyWithoutAnchors),
      cmocka_unit_test(TestCertificateAddresses),
      cmocka_unit_test(TestSigningUsageProblem),
      cmocka_unit_test(TestSerialHex),
      cmocka_unit_test(TestIssuerAndKeyType),
      cmocka_unit_test(TestSameMailbox),
      cmocka_unit_test(TestPathAlgorithmsAcceptStrongPaths),
      cmocka_unit_test(TestPathSignatureHashes),
      cmocka_unit_test(TestPathKeys),
      cmocka_unit_test(TestPathCaExtendedKeyUsage),
  };
  return cmocka_run_group_tests(tests, SetUp, TearDown);
}
