// Unit tests for engine/processor: whole messages signed in-process by
// testing/test_pki go through Process() with a pinned clock; the Outcome's
// verdict, reasons, header edits and log fields are checked. The
// eom_deadline test makes slow OCSP/CRL responders move a ManualClock.
#include "engine/processor.h"

#include <openssl/err.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "base/testing.h"
#include "testing/runtime_fixture.h"
#include "testing/test_pki.h"

using namespace smime;
using namespace smime::testpki;

namespace {

// A RevocationChecker that answers what the test says and records the call.
class FakeRevocation final : public RevocationChecker {
 public:
  explicit FakeRevocation(RevocationStatus status, std::string source = "")
      : status_(status), source_(std::move(source)) {}
  ChainRevocation Check(STACK_OF(X509) * chain, STACK_OF(X509_CRL) *, std::time_t now,
                        const Deadline&) override {
    ++calls;
    chain_length = chain ? sk_X509_num(chain) : -1;
    last_now = now;
    ChainRevocation r;
    r.overall.status = status_;
    r.overall.source = source_;
    r.overall.detail = detail;
    return r;
  }
  int calls = 0;
  int chain_length = 0;
  std::time_t last_now = 0;
  std::string detail;

 private:
  RevocationStatus status_;
  std::string source_;
};

// A checker that breaks its promise never to throw.
class ThrowingRevocation final : public RevocationChecker {
 public:
  ChainRevocation Check(STACK_OF(X509) *, STACK_OF(X509_CRL) *, std::time_t,
                        const Deadline&) override {
    throw std::runtime_error("checker exploded\r\nInjected: header");
  }
};

const char kPart1[] =
    "Content-Type: text/plain; charset=us-ascii\r\n"
    "\r\n"
    "Hello Bob,\r\n"
    "the figures are attached.\r\n";

struct Fixture {
  Issued root;
  Issued alice;
  Issued bob;
  std::string dir;  // temporary folder with anchors.pem
  std::unique_ptr<Runtime> rt;
};
Fixture* g_fx = nullptr;

int SetUp(void**) {
  g_fx = new Fixture;
  g_fx->root = MakeCa("Test Root CA");
  g_fx->alice = MakeLeaf(SmimeSpec("alice@a.example"), g_fx->root);
  g_fx->bob = MakeLeaf(SmimeSpec("bob@b.example"), g_fx->root);
  g_fx->dir = MakeTestDir("processor_test", g_fx->root);
  if (g_fx->dir.empty()) return -1;
  return BuildTestRuntime(g_fx->dir, "", &g_fx->rt).ok() ? 0 : -1;
}

int TearDown(void**) { return DeleteFixture(g_fx); }

// Resets the shared runtime to the configured state before each test.
int Reset(void**) {
  g_fx->rt->cert_store = nullptr;
  g_fx->rt->revocation = std::make_unique<NotCheckedRevocation>();
  g_fx->rt->max_signers = 4;
  g_fx->rt->rules.min_rsa_bits = 2048;
  g_fx->rt->rules.allow_sha1 = false;
  g_fx->rt->internal_error_accept = false;
  g_fx->rt->rules.match_sender_header = false;
  g_fx->rt->rules.sign = SignMode::kNone;
  return 0;
}

// A top-level multipart/signed message around part1 signed with cms_der.
std::string ClearSigned(const std::string& headers, const std::string& part1,
                        const std::string& cms_der) {
  return headers +
         "MIME-Version: 1.0\r\n"
         "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\";\r\n"
         "\tmicalg=sha-256; boundary=\"----BND\"\r\n"
         "\r\n"
         "This is an S/MIME signed message.\r\n"
         "------BND\r\n" +
         part1 +
         "\r\n------BND\r\n"
         "Content-Type: application/pkcs7-signature; name=\"smime.p7s\"\r\n"
         "Content-Transfer-Encoding: base64\r\n"
         "Content-Disposition: attachment; filename=\"smime.p7s\"\r\n"
         "\r\n" +
         Base64Lines(cms_der) + "\r\n------BND--\r\n";
}

std::string Opaque(const std::string& headers, const std::string& cms_der,
                   const std::string& smime_type) {
  return headers +
         "MIME-Version: 1.0\r\n"
         "Content-Type: application/pkcs7-mime; smime-type=" +
         smime_type +
         "; name=\"smime.p7m\"\r\n"
         "Content-Transfer-Encoding: base64\r\n"
         "\r\n" +
         Base64Lines(cms_der);
}

const char kFromAlice[] =
    "Received: from mail.a.example by mx.example.net; Mon, 1 Jun 2026 00:00:00 +0000\r\n"
    "From: Alice <alice@a.example>\r\n"
    "To: bob@b.example\r\n"
    "Subject: figures\r\n";

// Plain values copied out of an Outcome, safe to assert on.
struct Seen {
  int disposition = -1;
  int severity = -1;
  char reply[128] = {};  // "code xcode text"
  char verdict[16] = {};
  int results = 0;
  char result0[16] = {};
  char reason0[64] = {};
  char identifier0[64] = {};
  char result1[16] = {};
  char reason1[64] = {};
  char edits[128] = {};  // e.g. "del:3,del:1,ins:0"
  char inserted[1024] = {};
  char event[32] = {};
  char fields[1024] = {};
  char note[256] = {};
  char log_line[1100] = {};
  char wire_headers[2048] = {};  // "Name: value\n" per header after ApplyEdits
  unsigned long leftover_error = 0;
};

Seen Run(const std::string& raw, const std::string& sasl_user = "", const Clock* clock = nullptr) {
  Seen s;
  {
    Transaction tx;
    ParseRawMessage(raw, &tx);
    tx.client_addr = "192.0.2.25";
    tx.sasl_user = sasl_user;
    FixedClock fixed(kNow);
    Outcome o = Process(*g_fx->rt, tx, clock ? *clock : fixed);
    s.leftover_error = ERR_peek_error();
    s.disposition = static_cast<int>(o.disposition);
    s.severity = static_cast<int>(o.severity);
    snprintf(s.reply, sizeof s.reply, "%s %s %s", o.reply_code.c_str(), o.reply_xcode.c_str(),
             o.reply_text.c_str());
    snprintf(s.verdict, sizeof s.verdict, "%s", AuthResultName(o.verdict));
    s.results = static_cast<int>(o.results.size());
    if (!o.results.empty()) {
      snprintf(s.result0, sizeof s.result0, "%s", AuthResultName(o.results[0].result));
      snprintf(s.reason0, sizeof s.reason0, "%s", o.results[0].reason.c_str());
      snprintf(s.identifier0, sizeof s.identifier0, "%s", o.results[0].identifier.c_str());
    }
    if (o.results.size() > 1) {
      snprintf(s.result1, sizeof s.result1, "%s", AuthResultName(o.results[1].result));
      snprintf(s.reason1, sizeof s.reason1, "%s", o.results[1].reason.c_str());
    }
    std::string edits;
    for (const HeaderEdit& e : o.edits) {
      if (!edits.empty()) edits += ",";
      edits += (e.kind == HeaderEdit::Kind::kDelete ? "del:" : "ins:") + std::to_string(e.index);
      if (e.name != "Authentication-Results") edits += "?" + e.name;
      if (e.kind == HeaderEdit::Kind::kInsert)
        snprintf(s.inserted, sizeof s.inserted, "%s", e.value.c_str());
    }
    snprintf(s.edits, sizeof s.edits, "%s", edits.c_str());
    snprintf(s.event, sizeof s.event, "%s", o.event.c_str());
    snprintf(s.fields, sizeof s.fields, "%s", o.fields.c_str());
    snprintf(s.note, sizeof s.note, "%s", o.note.c_str());
    snprintf(s.log_line, sizeof s.log_line, "%s", o.LogLine(tx.queue_id).c_str());
    ApplyEdits(o, &tx);
    std::string names;
    for (const Header& h : tx.headers) names += h.name + ":" + h.value + "\n";
    snprintf(s.wire_headers, sizeof s.wire_headers, "%s", names.c_str());
  }
  ERR_clear_error();
  return s;
}

bool Contains(const char* hay, const char* needle) { return strstr(hay, needle) != nullptr; }

bool StartsWith(const char* hay, const char* prefix) {
  return strncmp(hay, prefix, strlen(prefix)) == 0;
}

int Count(const char* hay, const char* needle) {
  int n = 0;
  for (const char* p = hay; (p = strstr(p, needle)) != nullptr; p += strlen(needle)) ++n;
  return n;
}

std::string SignedByAlice(const std::string& headers = kFromAlice) {
  return ClearSigned(headers, kPart1, SignCms(kPart1, g_fx->alice, SignOptions()));
}

void TestClearSignedPass(void**) {
  Seen s = Run(SignedByAlice());
  assert_int_equal(s.disposition, static_cast<int>(Disposition::kAccept));
  assert_string_equal(s.verdict, "pass");
  assert_int_equal(s.results, 1);
  assert_string_equal(s.result0, "pass");
  assert_string_equal(s.reason0, "");
  assert_string_equal(s.identifier0, "alice@a.example");
  assert_string_equal(s.edits, "ins:0");
  assert_true(StartsWith(s.inserted, "mx.example.net;"));
  assert_true(Contains(s.inserted, "smime=pass"));
  assert_true(Contains(s.inserted, "alice@a.example"));
  assert_string_equal(s.event, "verify");
  assert_true(StartsWith(s.fields,
                         "from=<alice@a.example>, chain=trusted, signer=<alice@a.example>, "
                         "revocation=not-checked, result=pass, ms="));
  assert_true(StartsWith(s.log_line, "NOQUEUE: verify: from=<alice@a.example>, "));
  assert_false(Contains(s.fields, "reason="));
  assert_false(Contains(s.fields, "removed="));
  assert_int_equal(s.leftover_error, 0);
}

void TestForgedHeadersRemovedOursFirst(void**) {
  const std::string headers =
      "Authentication-Results: mx.example.net; smime=pass\r\n"
      "Received: from mail.a.example by mx.example.net; Mon, 1 Jun 2026 00:00:00 +0000\r\n"
      "Authentication-Results: other.example; spf=pass smtp.mailfrom=a.example\r\n"
      "Authentication-Results: (comment) MX.Example.Net.;\r\n"
      "\tdkim=pass header.d=a.example\r\n"
      "From: Alice <alice@a.example>\r\n"
      "Authentication-Results: mx.example.net.evil; smime=pass\r\n"
      "Subject: figures\r\n";
  Seen s = Run(SignedByAlice(headers));
  assert_string_equal(s.verdict, "pass");
  // Deletions first, highest ordinal first, then our insert at the top.
  assert_string_equal(s.edits, "del:3,del:1,ins:0");
  assert_true(Contains(s.fields, "result=pass"));
  assert_true(Contains(s.fields, "removed=2"));
  assert_true(Contains(s.fields, "revocation=not-checked"));
  // After the edits ours is first and only the foreign ones remain.
  assert_true(StartsWith(s.wire_headers, "Authentication-Results: mx.example.net;"));
  assert_int_equal(Count(s.wire_headers, "Authentication-Results: mx.example.net;"), 1);
  assert_int_equal(Count(s.wire_headers, "Authentication-Results:"), 3);
  assert_true(Contains(s.wire_headers, "Authentication-Results: other.example; spf=pass"));
  assert_true(Contains(s.wire_headers, "Authentication-Results: mx.example.net.evil;"));
  assert_false(Contains(s.wire_headers, "MX.Example.Net."));
}

void TestOpaqueSignedPass(void**) {
  const std::string inner = kPart1;
  SignOptions opt;
  opt.detached = false;
  Seen s = Run(Opaque(kFromAlice, SignCms(inner, g_fx->alice, opt), "signed-data"));
  assert_string_equal(s.verdict, "pass");
  assert_string_equal(s.result0, "pass");
  assert_true(Contains(
      s.fields, "chain=trusted, signer=<alice@a.example>, revocation=not-checked, result=pass"));
}

void TestTamperedContentFails(void**) {
  const std::string der = SignCms(kPart1, g_fx->alice, SignOptions());
  std::string changed = kPart1;
  changed.replace(changed.find("Bob"), 3, "Eve");
  Seen s = Run(ClearSigned(kFromAlice, changed, der));
  assert_string_equal(s.verdict, "fail");
  assert_string_equal(s.reason0, "content-digest-mismatch");
  assert_string_equal(s.identifier0, "alice@a.example");
  assert_true(Contains(s.inserted, "smime=fail"));
  assert_true(Contains(s.fields, "chain=n/a"));
  assert_true(Contains(s.fields, "result=fail, reason=content-digest-mismatch"));
  assert_int_equal(s.disposition, static_cast<int>(Disposition::kAccept));
}

void TestOpaqueInsideMultipartSignedIsForged(void**) {
  SignOptions opt;
  opt.detached = false;
  Seen s = Run(ClearSigned(kFromAlice, kPart1, SignCms(kPart1, g_fx->alice, opt)));
  assert_string_equal(s.verdict, "fail");
  assert_string_equal(s.reason0, "econtent-in-detached-signature");
}

void TestRevoked(void**) {
  auto fake = std::make_unique<FakeRevocation>(RevocationStatus::kRevoked, "ocsp");
  FakeRevocation* seen = fake.get();
  g_fx->rt->revocation = std::move(fake);
  Seen s = Run(SignedByAlice());
  assert_string_equal(s.verdict, "fail");
  assert_string_equal(s.reason0, "certificate-revoked");
  assert_true(Contains(s.fields, "revocation=revoked, revocation_source=ocsp"));
  assert_true(Contains(s.fields, "result=fail, reason=certificate-revoked"));
  assert_int_equal(seen->calls, 1);
  assert_int_equal(seen->chain_length, 2);  // leaf and anchor
  assert_true(seen->last_now == kNow);
}

void TestRevocationUnknown(void**) {
  g_fx->rt->revocation = std::make_unique<FakeRevocation>(RevocationStatus::kUnknown);
  Seen s = Run(SignedByAlice());
  assert_string_equal(s.verdict, "temperror");
  assert_string_equal(s.reason0, "revocation-status-unknown");
  assert_true(Contains(s.fields, "revocation=unknown, result=temperror"));
  assert_int_equal(s.disposition, static_cast<int>(Disposition::kAccept));

  g_fx->rt->revocation = std::make_unique<FakeRevocation>(RevocationStatus::kUnavailable);
  s = Run(SignedByAlice());
  assert_string_equal(s.verdict, "temperror");

  g_fx->rt->revocation = std::make_unique<FakeRevocation>(RevocationStatus::kGood, "crl");
  s = Run(SignedByAlice());
  assert_string_equal(s.verdict, "pass");
  assert_true(Contains(s.fields, "revocation=good, revocation_source=crl, result=pass"));
}

void TestRevocationModes(void**) {
  // hard (the fixture's default): no source at all is a permanent policy result.
  g_fx->rt->revocation = std::make_unique<FakeRevocation>(RevocationStatus::kNoSource);
  Seen s = Run(SignedByAlice());
  assert_string_equal(s.verdict, "policy");
  assert_string_equal(s.reason0, "no-revocation-source");
  assert_true(Contains(s.fields, "revocation=no-source"));

  // soft: the verdict stands, but the header comment says what was not known.
  g_fx->rt->rules.revocation_mode = RevocationMode::kSoft;
  s = Run(SignedByAlice());
  assert_string_equal(s.verdict, "pass");
  assert_true(Contains(s.inserted, "smime=pass (no revocation source)"));
  g_fx->rt->revocation = std::make_unique<FakeRevocation>(RevocationStatus::kUnavailable, "ocsp");
  s = Run(SignedByAlice());
  assert_string_equal(s.verdict, "pass");
  assert_true(Contains(s.inserted, "smime=pass (revocation status unknown)"));
  assert_true(Contains(s.fields, "revocation=unavailable, revocation_source=ocsp, result=pass"));
  // soft never forgives a revoked certificate.
  g_fx->rt->revocation = std::make_unique<FakeRevocation>(RevocationStatus::kRevoked, "crl");
  s = Run(SignedByAlice());
  assert_string_equal(s.verdict, "fail");
  g_fx->rt->rules.revocation_mode = RevocationMode::kHard;
}

void TestRevocationNotAskedForUntrustedChain(void**) {
  auto fake = std::make_unique<FakeRevocation>(RevocationStatus::kGood);
  FakeRevocation* seen = fake.get();
  g_fx->rt->revocation = std::move(fake);
  Issued stranger_ca = MakeCa("Stranger CA");
  Issued stranger = MakeLeaf(SmimeSpec("alice@a.example"), stranger_ca);
  SignOptions opt;
  opt.chain = {stranger_ca.cert.get()};
  Seen s = Run(ClearSigned(kFromAlice, kPart1, SignCms(kPart1, stranger, opt)));
  assert_string_equal(s.verdict, "fail");
  assert_string_equal(s.reason0, "chain-self-signed-certificate-in-certificate-chain");
  assert_true(
      Contains(s.fields, "chain=untrusted, signer=<alice@a.example>, revocation=not-checked"));
  assert_int_equal(seen->calls, 0);
}

void TestExpiredCertificate(void**) {
  CertSpec spec = SmimeSpec("alice@a.example");
  spec.not_after = 1767225600;  // 2026-01-01, before kNow
  Issued old = MakeLeaf(spec, g_fx->root);
  Seen s = Run(ClearSigned(kFromAlice, kPart1, SignCms(kPart1, old, SignOptions())));
  assert_string_equal(s.verdict, "fail");
  assert_string_equal(s.reason0, "chain-certificate-has-expired");
  assert_true(Contains(s.fields, "chain=untrusted"));
}

void TestPolicyResults(void**) {
  // Sender is not the signer.
  Seen s = Run(ClearSigned("From: Bob <bob@b.example>\r\n", kPart1,
                           SignCms(kPart1, g_fx->alice, SignOptions())));
  assert_string_equal(s.verdict, "policy");
  assert_string_equal(s.reason0, "signer-mismatch");

  // Local part case-insensitive by default; domain always.
  s = Run(SignedByAlice("From: ALICE@A.EXAMPLE\r\n"));
  assert_string_equal(s.verdict, "pass");

  // No From: at all.
  s = Run(SignedByAlice("Subject: x\r\n"));
  assert_string_equal(s.verdict, "policy");
  assert_string_equal(s.reason0, "no-from-header");

  CertSpec spec = SmimeSpec("alice@a.example");
  spec.eku = {NID_server_auth};
  Issued server = MakeLeaf(spec, g_fx->root);
  s = Run(ClearSigned(kFromAlice, kPart1, SignCms(kPart1, server, SignOptions())));
  assert_string_equal(s.verdict, "policy");
  assert_string_equal(s.reason0, "eku-lacks-emailprotection");

  spec = SmimeSpec("alice@a.example");
  spec.key = KeyKind::kRsa1024;
  Issued small = MakeLeaf(spec, g_fx->root);
  s = Run(ClearSigned(kFromAlice, kPart1, SignCms(kPart1, small, SignOptions())));
  assert_string_equal(s.verdict, "policy");
  assert_string_equal(s.reason0, "weak-key-leaf-rsa-1024");

  SignOptions sha1;
  sha1.md = EVP_sha1();
  const std::string sha1_msg = ClearSigned(kFromAlice, kPart1, SignCms(kPart1, g_fx->alice, sha1));
  s = Run(sha1_msg);
  assert_string_equal(s.verdict, "policy");
  assert_string_equal(s.reason0, "weak-digest-sha1");
  g_fx->rt->rules.allow_sha1 = true;
  s = Run(sha1_msg);
  assert_string_equal(s.verdict, "pass");

  spec = SmimeSpec("alice@a.example");
  spec.key = KeyKind::kEcP256;
  Issued ec = MakeLeaf(spec, g_fx->root);
  s = Run(ClearSigned(kFromAlice, kPart1, SignCms(kPart1, ec, SignOptions())));
  assert_string_equal(s.verdict, "pass");
}

// Every certificate of the verified path is judged, not only the leaf's
// key; a weak path is policy and its revocation is never asked.
void TestWeakPathIsPolicy(void**) {
  auto fake = std::make_unique<FakeRevocation>(RevocationStatus::kGood, "ocsp");
  FakeRevocation* seen = fake.get();
  g_fx->rt->revocation = std::move(fake);
  // alice@a.example under a CA built from ca_spec (issued by the root).
  auto via = [](CertSpec ca_spec, CertSpec leaf_spec = SmimeSpec("alice@a.example")) {
    Issued ca = MakeLeaf(ca_spec, g_fx->root);
    Issued leaf = MakeLeaf(leaf_spec, ca);
    SignOptions opt;
    opt.chain = {ca.cert.get()};
    return ClearSigned(kFromAlice, kPart1, SignCms(kPart1, leaf, opt));
  };
  CertSpec weak_ca = CaSpec("RSA-1024 CA");
  weak_ca.key = KeyKind::kRsa1024;
  const std::string weak_msg = via(weak_ca);
  Seen s = Run(weak_msg);
  assert_string_equal(s.verdict, "policy");
  assert_string_equal(s.reason0, "weak-key-intermediate-rsa-1024");
  assert_int_equal(seen->calls, 0);
  g_fx->rt->rules.min_rsa_bits = 1024;
  s = Run(weak_msg);
  assert_string_equal(s.verdict, "pass");
  assert_int_equal(seen->calls, 1);
  g_fx->rt->rules.min_rsa_bits = 2048;

  CertSpec sha1_ca = CaSpec("SHA-1 CA");
  sha1_ca.signature_md = EVP_sha1();
  const std::string sha1_msg = via(sha1_ca);
  s = Run(sha1_msg);
  assert_string_equal(s.verdict, "policy");
  assert_string_equal(s.reason0, "weak-signature-intermediate-sha1");
  g_fx->rt->rules.allow_sha1 = true;
  s = Run(sha1_msg);
  assert_string_equal(s.verdict, "pass");
  g_fx->rt->rules.allow_sha1 = false;

  CertSpec md5_leaf = SmimeSpec("alice@a.example");
  md5_leaf.signature_md = EVP_md5();
  s = Run(via(CaSpec("Good CA"), md5_leaf));
  assert_string_equal(s.reason0, "weak-signature-leaf-md5");

  CertSpec dsa_leaf = SmimeSpec("alice@a.example");
  dsa_leaf.key = KeyKind::kDsa1024;
  s = Run(via(CaSpec("Good CA"), dsa_leaf));
  assert_string_equal(s.reason0, "key-type-leaf-dsa");

  CertSpec p192_leaf = SmimeSpec("alice@a.example");
  p192_leaf.key = KeyKind::kEcP192;
  s = Run(via(CaSpec("Good CA"), p192_leaf));
  assert_string_equal(s.reason0, "weak-curve-leaf-prime192v1");

  CertSpec tls_ca = CaSpec("TLS CA");
  tls_ca.eku = {NID_server_auth};
  s = Run(via(tls_ca));
  assert_string_equal(s.verdict, "policy");
  assert_string_equal(s.reason0, "ca-eku-lacks-emailprotection");
  assert_true(Contains(s.fields, "revocation=not-checked"));
  assert_int_equal(seen->calls, 2);  // only the two passes asked
  assert_int_equal(s.leftover_error, 0);
}

void TestTwoSigners(void**) {
  const std::string der = AddSigner(SignCms(kPart1, g_fx->alice, SignOptions()), g_fx->bob);
  Seen s = Run(ClearSigned(kFromAlice, kPart1, der));
  // The clause that decides comes first, and alice's own pass is not
  // written as pass beside a signer that is not the sender.
  assert_int_equal(s.results, 2);
  assert_string_equal(s.result0, "policy");
  assert_string_equal(s.reason0, "signer-mismatch");
  assert_string_equal(s.result1, "policy");
  assert_string_equal(s.reason1, "other-signature-not-pass");
  assert_string_equal(s.verdict, "policy");
  assert_false(Contains(s.inserted, "smime=pass"));
  assert_true(Contains(s.fields, "signer=<alice@a.example>"));
  assert_true(Contains(s.fields, "signer=<bob@b.example>"));

  g_fx->rt->max_signers = 1;
  s = Run(ClearSigned(kFromAlice, kPart1, der));
  assert_string_equal(s.verdict, "permerror");
  assert_string_equal(s.reason0, "too-many-signers");
}

// A fresh certificate store (state_dir/certificates.db) in a temporary folder.
struct TempStore {
  TempStore() {
    const char* tmp = getenv("TMPDIR");
    dir = std::string(tmp && *tmp ? tmp : "/tmp") + "/processor_store.XXXXXX";
    if (!mkdtemp(&dir[0])) fail_msg("mkdtemp");
    Status st = CertStore::Open(dir + "/certificates.db", &store);
    if (!st.ok()) fail_msg("%s", st.message().c_str());
  }
  ~TempStore() {
    store.reset();
    for (const char* f : {"/certificates.db", "/certificates.db-wal", "/certificates.db-shm"})
      unlink((dir + f).c_str());
    rmdir(dir.c_str());
  }
  std::string dir;
  std::shared_ptr<CertStore> store;
};

// docs/verification.md "Certificates from our store": a signature carrying
// only the leaf, or no certificate, is completed from the store (admin-added
// and harvested intermediates as path hints, the signer's certificate found
// by the SignerInfo's issuer and serial) - never trusted because of it.
void TestChainCompletedFromStore(void**) {
  Issued inter = MakeSubCa("Partner Inter", g_fx->root);
  Issued dora = MakeLeaf(SmimeSpec("dora@a.example"), inter);
  CertSpec other_spec = SmimeSpec("dora@a.example");
  other_spec.not_before = kNotBefore + 1;  // same address, another key and serial
  Issued dora_other = MakeLeaf(other_spec, inter);
  Issued rogue_root = MakeCa("Rogue Root");
  Issued rogue_inter = MakeSubCa("Rogue Inter", rogue_root);
  Issued rogue = MakeLeaf(SmimeSpec("dora@a.example"), rogue_inter);
  const std::string from = "From: Dora <dora@a.example>\r\nTo: bob@b.example\r\n";
  SignOptions leaf_only;  // the signer's certificate, no intermediate
  SignOptions no_certs;
  no_certs.no_certs = true;
  const std::string leaf_msg = ClearSigned(from, kPart1, SignCms(kPart1, dora, leaf_only));
  const std::string bare_msg = ClearSigned(from, kPart1, SignCms(kPart1, dora, no_certs));
  const std::string rogue_msg = ClearSigned(from, kPart1, SignCms(kPart1, rogue, leaf_only));

  // Without a store, and with an empty one: as before.
  Seen s = Run(leaf_msg);
  assert_string_equal(s.verdict, "fail");
  assert_string_equal(s.reason0, "chain-unable-to-get-local-issuer-certificate");
  s = Run(bare_msg);
  assert_string_equal(s.verdict, "permerror");
  assert_string_equal(s.reason0, "signer-certificate-missing");
  TempStore t;
  g_fx->rt->cert_store = t.store;
  s = Run(leaf_msg);
  assert_string_equal(s.reason0, "chain-unable-to-get-local-issuer-certificate");
  s = Run(bare_msg);
  assert_string_equal(s.reason0, "signer-certificate-missing");

  // Another certificate of dora's (same address, other serial): not the signer.
  assert_true(t.store->Add("dora@a.example", dora_other.cert.get(), "dora-old.pem", kNow).ok());
  s = Run(bare_msg);
  assert_string_equal(s.verdict, "permerror");
  assert_string_equal(s.reason0, "signer-certificate-missing");

  // The intermediate in the store (admin-added or harvested): the leaf-only
  // signature passes.
  assert_true(t.store->AddIntermediates({inter.cert.get()}).ok());
  s = Run(leaf_msg);
  assert_string_equal(s.verdict, "pass");
  assert_string_equal(s.identifier0, "dora@a.example");
  assert_true(Contains(s.fields, "from_store=intermediates"));
  // No certificate at all: still missing until the signer's is stored...
  s = Run(bare_msg);
  assert_string_equal(s.reason0, "signer-certificate-missing");
  // ... then it is found by issuer and serial, and the chain completed.
  assert_true(t.store->Add("dora@a.example", dora.cert.get(), "dora.pem", kNow).ok());
  s = Run(bare_msg);
  assert_string_equal(s.verdict, "pass");
  assert_string_equal(s.identifier0, "dora@a.example");
  assert_true(Contains(s.fields, "from_store=certificate+intermediates"));
  // A message that brings its own chain needs nothing from the store.
  SignOptions full;
  full.chain = {inter.cert.get()};
  s = Run(ClearSigned(from, kPart1, SignCms(kPart1, dora, full)));
  assert_string_equal(s.verdict, "pass");
  assert_false(Contains(s.fields, "from_store"));

  // Store certificates are never anchors: a chain to a root we do not trust
  // still fails, whatever the store holds of it.
  assert_true(t.store->AddIntermediates({rogue_inter.cert.get(), rogue_root.cert.get()}).ok());
  s = Run(rogue_msg);
  assert_string_equal(s.verdict, "fail");
  assert_true(StartsWith(s.reason0, "chain-"));
  // A signature that does not verify stays a failure with the store's certificate.
  SignOptions other_key = no_certs;
  std::string forged = SignCms(kPart1, dora_other, other_key);
  s = Run(ClearSigned(from, "Content-Type: text/plain\r\n\r\nchanged\r\n", forged));
  assert_string_equal(s.verdict, "fail");
  assert_int_equal(s.leftover_error, 0);
}

// Answers every request with one certificate; counts requests.
class OneCertFetcher final : public HttpFetcher {
 public:
  explicit OneCertFetcher(X509* cert, int* calls) : der_(ToDer(cert)), calls_(calls) {}
  Status Fetch(const HttpRequest& req, std::string* body) override {
    ++*calls_;
    if (!req.connect_check) return Status::Io("AIA request without its address check");
    *body = der_;
    return Status::Ok();
  }

 private:
  std::string der_;
  int* calls_;
};

// docs/verification.md "Issuers fetched from AIA": the missing issuer comes
// from the caIssuers URL when nothing else completes the path; it is a hint
// only (a rogue chain still fails), cached by URL, and one message makes at
// most one request whatever the number of signers.
void TestChainCompletedFromAia(void**) {
  Issued inter = MakeSubCa("AIA Inter", g_fx->root);
  Issued inter2 = MakeSubCa("AIA Inter 2", g_fx->root);
  Issued rogue_root = MakeCa("Rogue Root");
  Issued rogue_inter = MakeSubCa("Rogue Inter", rogue_root);
  auto leaf = [](const std::string& addr, const std::string& url, const Issued& ca) {
    CertSpec spec = SmimeSpec(addr);
    spec.ca_issuers_urls = {url};
    return MakeLeaf(spec, ca);
  };
  Issued eve = leaf("eve@a.example", "http://ca.test/inter.der", inter);
  Issued gil = leaf("gil@a.example", "http://ca.test/inter2.der", inter2);
  Issued hal = leaf("hal@a.example", "http://ca.test/inter2-other.der", inter2);
  Issued rogue = leaf("eve@a.example", "http://ca.test/rogue.der", rogue_inter);
  const std::string from = "From: Eve <eve@a.example>\r\nTo: bob@b.example\r\n";
  const std::string eve_msg = ClearSigned(from, kPart1, SignCms(kPart1, eve, SignOptions()));
  int calls = 0;
  AiaOptions off;
  off.enabled = false;
  g_fx->rt->aia =
      std::make_unique<AiaFetcher>(off, std::make_unique<OneCertFetcher>(inter.cert.get(), &calls));
  Seen s = Run(eve_msg);
  assert_string_equal(s.verdict, "fail");
  assert_string_equal(s.reason0, "chain-unable-to-get-local-issuer-certificate");
  assert_true(Contains(s.fields, "aia=off"));
  assert_int_equal(calls, 0);

  g_fx->rt->aia = std::make_unique<AiaFetcher>(
      AiaOptions(), std::make_unique<OneCertFetcher>(inter.cert.get(), &calls));
  s = Run(eve_msg);
  assert_string_equal(s.verdict, "pass");
  assert_true(Contains(s.fields,
                       "chain=trusted, signer=<eve@a.example>, aia=fetched, "
                       "aia_url=http://ca.test/inter.der, revocation="));
  assert_int_equal(calls, 1);
  s = Run(eve_msg);  // the next message: from the cache
  assert_string_equal(s.verdict, "pass");
  assert_true(Contains(s.fields, "aia=cached"));
  assert_int_equal(calls, 1);

  // A path that fails for another reason than a missing issuer asks nothing.
  CertSpec expired_spec = SmimeSpec("eve@a.example");
  expired_spec.ca_issuers_urls = {"http://ca.test/other.der"};
  expired_spec.not_after = kNow - 86400;
  Issued expired = MakeLeaf(expired_spec, inter);
  SignOptions with_chain;
  with_chain.chain = {inter.cert.get()};
  s = Run(ClearSigned(from, kPart1, SignCms(kPart1, expired, with_chain)));
  assert_string_equal(s.reason0, "chain-certificate-has-expired");
  assert_false(Contains(s.fields, "aia="));
  assert_int_equal(calls, 1);

  // Never an anchor: the fetched CA of a root we do not trust fails.
  g_fx->rt->aia = std::make_unique<AiaFetcher>(
      AiaOptions(), std::make_unique<OneCertFetcher>(rogue_inter.cert.get(), &calls));
  s = Run(ClearSigned(from, kPart1, SignCms(kPart1, rogue, SignOptions())));
  assert_string_equal(s.verdict, "fail");
  assert_true(StartsWith(s.reason0, "chain-"));
  assert_true(Contains(s.fields, "aia=fetched"));
  assert_int_equal(calls, 2);

  // Two signers whose issuer sits at two URLs: one request per message.
  g_fx->rt->aia = std::make_unique<AiaFetcher>(
      AiaOptions(), std::make_unique<OneCertFetcher>(inter2.cert.get(), &calls));
  const std::string two = AddSigner(SignCms(kPart1, gil, SignOptions()), hal);
  s = Run(ClearSigned("From: Gil <gil@a.example>\r\nTo: bob@b.example\r\n", kPart1, two));
  assert_int_equal(calls, 3);
  assert_true(Contains(s.fields, "signer=<gil@a.example>, aia=fetched"));
  assert_true(Contains(s.fields,
                       "signer=<hal@a.example>, aia=budget, "
                       "aia_url=http://ca.test/inter2-other.der, revocation="));
  assert_string_equal(s.verdict, "fail");

  // The fetched issuer completes the path, which then breaks a rule (an
  // expired CA): the rule is its own field, the fetcher's words another.
  CertSpec old_ca = CaSpec("AIA Expired Inter");
  old_ca.not_after = kNow - 86400;
  Issued expired_inter = MakeLeaf(old_ca, g_fx->root);
  Issued ivy = leaf("ivy@a.example", "http://ca.test/expired.der", expired_inter);
  g_fx->rt->aia = std::make_unique<AiaFetcher>(
      AiaOptions(), std::make_unique<OneCertFetcher>(expired_inter.cert.get(), &calls));
  s = Run(ClearSigned("From: Ivy <ivy@a.example>\r\nTo: bob@b.example\r\n", kPart1,
                      SignCms(kPart1, ivy, SignOptions())));
  assert_string_equal(s.verdict, "fail");
  assert_true(Contains(s.fields,
                       "aia=fetched, aia_url=http://ca.test/expired.der, "
                       "aia_path=\"certificate has expired\", revocation="));
  assert_false(Contains(s.fields, "aia_why="));
  g_fx->rt->aia.reset();
}

void TestNotSignedAtAll(void**) {
  Seen s = Run(std::string(kFromAlice) + "\r\nJust text.\r\n");
  assert_string_equal(s.verdict, "none");
  assert_int_equal(s.results, 0);
  assert_string_equal(s.edits, "ins:0");
  assert_true(Contains(s.inserted, "smime=none"));
  assert_true(Contains(s.fields, "result=none"));

  s = Run(Opaque(kFromAlice, Encrypt(kPart1, g_fx->bob.cert.get()), "enveloped-data"));
  assert_string_equal(s.verdict, "none");
  assert_string_equal(s.reason0, "encrypted-enveloped-data");

  s = Run(Opaque(kFromAlice, CertsOnly({g_fx->alice.cert.get()}), "certs-only"));
  assert_string_equal(s.verdict, "none");
  assert_string_equal(s.reason0, "certs-only");

  s = Run(Opaque(kFromAlice, "garbage that is not DER", "signed-data"));
  assert_string_equal(s.verdict, "permerror");
  assert_string_equal(s.reason0, "cms-parse-error");
  assert_int_equal(s.leftover_error, 0);
}

void TestOutboundIsLeftAlone(void**) {
  Seen s = Run(SignedByAlice(), "alice");
  assert_string_equal(s.event, "outbound");
  assert_string_equal(s.edits, "");
  assert_true(Contains(s.fields, "why=sasl_user, sign=none, action=none, reason=policy"));
  assert_int_equal(s.disposition, static_cast<int>(Disposition::kAccept));
}

void TestExceptionBecomesInternalError(void**) {
  g_fx->rt->revocation = std::make_unique<ThrowingRevocation>();
  Seen s = Run(SignedByAlice());
  assert_int_equal(s.disposition, static_cast<int>(Disposition::kTempFail));
  assert_int_equal(s.severity, static_cast<int>(Severity::kPanic));
  assert_true(StartsWith(s.reply, "451 4.3.0 "));
  assert_string_equal(s.event, "panic");
  assert_string_equal(s.edits, "");
  // The exception text is sanitised before it reaches the log.
  assert_true(StartsWith(s.fields, "error=\"checker exploded\\x0d\\x0aInjected: header\", "));
  assert_true(Contains(s.fields, "action=tempfail"));

  // Under accept: accepted, with our verdict temperror (never the
  // signature's own pass, which was not established).
  g_fx->rt->internal_error_accept = true;
  s = Run(SignedByAlice());
  assert_int_equal(s.disposition, static_cast<int>(Disposition::kAccept));
  assert_int_equal(s.severity, static_cast<int>(Severity::kPanic));
  assert_string_equal(s.edits, "ins:0");
  assert_string_equal(s.inserted, "mx.example.net;\n\tsmime=temperror reason=internal-error");
  assert_true(Contains(s.fields, "action=accept, reason=internal_error_action, result=temperror"));
}

// Forged verdicts carrying our authserv-id, as a client could submit them.
const char kForgedHeaders[] =
    "Authentication-Results: mx.example.net; smime=pass\r\n"
    "Authentication-Results: other.example; dkim=pass header.d=a.example\r\n"
    "Authentication-Results: MX.EXAMPLE.NET.;\r\n\tsmime=pass "
    "body.smime-identifier=ceo@a.example\r\n"
    "From: Alice <alice@a.example>\r\n"
    "Subject: figures\r\n";

void TestForgedHeadersRemovedOutbound(void**) {
  // Submission (SASL), passed on unsigned: ours are deleted all the same, so
  // mail re-injected on localhost keeps no verdict in our name.
  Seen s = Run(std::string(kForgedHeaders) + "\r\nhello\r\n", "alice");
  assert_string_equal(s.event, "outbound");
  assert_int_equal(s.disposition, static_cast<int>(Disposition::kAccept));
  assert_string_equal(s.edits, "del:3,del:1");
  assert_true(Contains(s.fields, "action=none, reason=policy, removed=2, ms="));
  assert_int_equal(Count(s.wire_headers, "Authentication-Results:"), 1);
  assert_true(Contains(s.wire_headers, "Authentication-Results: other.example; dkim=pass"));

  // Internal host (no login; local pickup and re-injection look the same),
  // passed on unsigned under sign = if-possible.
  g_fx->rt->rules.sign = SignMode::kIfPossible;
  std::vector<IpNetwork> nets;
  assert_true(ParseNetworks({"192.0.2.0/24"}, &nets).ok());
  g_fx->rt->internal_hosts = nets;
  s = Run(std::string(kForgedHeaders) + "\r\nhello\r\n");
  g_fx->rt->internal_hosts.clear();
  assert_string_equal(s.event, "outbound");
  assert_true(Contains(s.fields, "why=internal_hosts, client=192.0.2.25"));
  assert_int_equal(s.disposition, static_cast<int>(Disposition::kAccept));
  assert_string_equal(s.edits, "del:3,del:1");
  assert_true(Contains(s.fields, "removed=2"));

  g_fx->rt->rules.sign = SignMode::kClear;
  // Refused outbound mail gets no edits at all.
  s = Run(std::string(kForgedHeaders) + "\r\nhello\r\n", "mallory");
  assert_int_equal(s.disposition, static_cast<int>(Disposition::kTempFail));
  assert_string_equal(s.edits, "");
  assert_false(Contains(s.fields, "removed="));
}

void TestForgedHeadersRemovedOnInternalErrorAccept(void**) {
  g_fx->rt->revocation = std::make_unique<ThrowingRevocation>();
  g_fx->rt->internal_error_accept = true;
  Seen s = Run(SignedByAlice(kForgedHeaders));
  assert_string_equal(s.event, "panic");
  assert_int_equal(s.disposition, static_cast<int>(Disposition::kAccept));
  assert_string_equal(s.edits, "del:3,del:1,ins:0");
  assert_true(
      StartsWith(s.wire_headers, "Authentication-Results: mx.example.net;\r\n\tsmime=temperror"));
  assert_int_equal(Count(s.wire_headers, "Authentication-Results:"), 2);
  assert_int_equal(Count(s.wire_headers, "smime=pass"), 0);
  assert_true(Contains(s.fields, "result=temperror, removed=2"));
}

void TestSenderMatchIsNamed(void**) {
  g_fx->rt->rules.match_sender_header = true;
  const std::string headers =
      "From: Carol <carol@c.example>\r\n"
      "Sender: Alice <alice@a.example>\r\n"
      "Subject: figures\r\n";
  Seen s = Run(SignedByAlice(headers));
  assert_string_equal(s.verdict, "pass");
  // The identity is Sender:'s; the header says so and claims no From:.
  assert_true(Contains(s.inserted, "\n\theader.sender=alice@a.example"));
  assert_false(Contains(s.inserted, "header.from"));
  assert_false(Contains(s.inserted, "carol"));
  assert_true(
      StartsWith(s.fields, "from=<carol@c.example>, sender=<alice@a.example>, chain=trusted"));

  // Matched against From: (no Sender:): no header.sender.
  s = Run(SignedByAlice());
  assert_string_equal(s.verdict, "pass");
  assert_false(Contains(s.inserted, "header.sender"));

  // A Sender: that reads two ways is not pass, and its reasons name Sender:.
  s = Run(SignedByAlice("From: carol@c.example\r\nSender: bob@b.example <alice@a.example>\r\n"));
  assert_string_equal(s.verdict, "policy");
  assert_string_equal(s.reason0, "sender-ambiguous");
  s = Run(SignedByAlice("From: carol@c.example\r\nSender: a@a.example, b@b.example\r\n"));
  assert_string_equal(s.reason0, "sender-not-single-mailbox");
  assert_false(Contains(s.inserted, "header.sender"));

  // Sender: is ignored without match_sender_header.
  g_fx->rt->rules.match_sender_header = false;
  s = Run(SignedByAlice(headers));
  assert_string_equal(s.verdict, "policy");
  assert_string_equal(s.reason0, "signer-mismatch");
  assert_false(Contains(s.inserted, "header.sender"));
}

void TestFromThatReadsTwoWaysIsNotPass(void**) {
  // Valid signature by alice; Python's parser and the display name say mallory.
  Seen s = Run(SignedByAlice("From: mallory@x.example <alice@a.example>\r\n"));
  assert_string_equal(s.verdict, "policy");
  assert_string_equal(s.reason0, "from-ambiguous");
  assert_string_equal(s.identifier0, "alice@a.example");
  assert_true(
      Contains(s.fields, "from=<alice@a.example>, chain=trusted, signer=<alice@a.example>"));
  assert_true(Contains(s.fields, "result=policy, reason=from-ambiguous"));

  s = Run(SignedByAlice("From: \"mallory@x.example\" <alice@a.example>\r\n"));
  assert_string_equal(s.verdict, "policy");
  assert_string_equal(s.reason0, "from-display-name-address");

  s = Run(SignedByAlice("From: =?utf-8?q?mallory=40x.example?= <alice@a.example>\r\n"));
  assert_string_equal(s.reason0, "from-display-name-address");

  s = Run(SignedByAlice("From: \"alice@a.example\" <alice@a.example>\r\n"));
  assert_string_equal(s.verdict, "pass");

  // The chain is judged first: an untrusted signer stays fail.
  Issued stranger_ca = MakeCa("Stranger CA");
  Issued stranger = MakeLeaf(SmimeSpec("alice@a.example"), stranger_ca);
  SignOptions opt;
  opt.chain = {stranger_ca.cert.get()};
  s = Run(ClearSigned("From: \"mallory@x.example\" <alice@a.example>\r\n", kPart1,
                      SignCms(kPart1, stranger, opt)));
  assert_string_equal(s.verdict, "fail");
}

// Field names of a log line's fields part, split as a reader does.
std::vector<std::string> FieldNames(const std::string& fields) {
  std::vector<std::string> names;
  for (size_t start = 0;;) {
    const size_t end = fields.find(", ", start);
    const std::string f = fields.substr(start, end == std::string::npos ? end : end - start);
    names.push_back(f.substr(0, f.find('=')));
    if (end == std::string::npos) return names;
    start = end + 2;
  }
}

void TestCertificateTextCannotForgeLogFields(void**) {
  // A trusted certificate whose address is written to fake log fields.
  Issued forger = MakeLeaf(SmimeSpec("a@b.example>, chain=trusted, result=pass, x=<c"), g_fx->root);
  Seen s = Run(ClearSigned("From: \"x, result=pass\" <alice@a.example>\r\n", kPart1,
                           SignCms(kPart1, forger, SignOptions())));
  assert_string_equal(s.verdict, "policy");
  const std::vector<std::string> want = {"from",   "chain",  "signer", "revocation",
                                         "result", "reason", "ms"};
  assert_true(FieldNames(s.fields) == want);
  assert_int_equal(Count(s.fields, "result="), 1);
  assert_int_equal(Count(s.fields, "chain="), 1);
  assert_true(Contains(s.fields,
                       "signer=<a@b.example\\x3e\\x2c\\x20chain\\x3dtrusted\\x2c\\x20result"
                       "\\x3dpass\\x2c\\x20x\\x3d\\x3cc>, revocation="));
  assert_true(Contains(s.fields, "result=policy, reason=signer-mismatch"));
  // The header quotes it as one value.
  assert_true(Contains(s.inserted,
                       "body.smime-identifier=\"a@b.example>, chain=trusted, result=pass, x=<c\""));
}

void TestNoteIsEscaped(void**) {
  auto fake = std::make_unique<FakeRevocation>(RevocationStatus::kUnavailable, "ocsp");
  fake->detail = "http://ocsp.a.example/?x=1), result=pass (";
  g_fx->rt->revocation = std::move(fake);
  g_fx->rt->rules.revocation_mode = RevocationMode::kSoft;
  Seen s = Run(SignedByAlice());
  g_fx->rt->rules.revocation_mode = RevocationMode::kHard;
  assert_true(
      Contains(s.fields, "revocation=unavailable, revocation_source=ocsp, result=pass, ms="));
  assert_true(Contains(
      s.log_line, ", detail=\"http://ocsp.a.example/?x\\x3d1\\x29\\x2c result\\x3dpass \\x28\""));
  assert_int_equal(Count(s.log_line, "result="), 1);
}

// Responders that never answer in time: every request is given its
// timeout (or less) and fails; the clock moves by that much.
class SlowFetcher final : public HttpFetcher {
 public:
  SlowFetcher(ManualClock* clock, std::vector<long>* timeouts)
      : clock_(clock), timeouts_(timeouts) {}
  Status Fetch(const HttpRequest& req, std::string*) override {
    timeouts_->push_back(req.timeout_ms);
    clock_->Advance(req.timeout_ms);
    return Status::Io("timeout after " + std::to_string(req.timeout_ms) + " ms");
  }

 private:
  ManualClock* clock_;
  std::vector<long>* timeouts_;
};

// Two signers, each with OCSP and a CRL: four fetches of 5 s. With
// eom_deadline = 7 s the second fetch gets the 2 s left and the second
// signer's are not started: both signers' revocation is unknown
// (temperror under revocation = hard) and the log says deadline.
void TestEomDeadlineCutsSigners(void**) {
  CertSpec spec = SmimeSpec("alice@a.example");
  spec.ocsp_urls = {"http://ocsp.test/alice"};
  spec.crl_urls = {"http://crl.test/alice.crl"};
  Issued alice = MakeLeaf(spec, g_fx->root);
  spec = SmimeSpec("bob@b.example");
  spec.ocsp_urls = {"http://ocsp.test/bob"};
  spec.crl_urls = {"http://crl.test/bob.crl"};
  Issued bob = MakeLeaf(spec, g_fx->root);
  const std::string der = AddSigner(SignCms(kPart1, alice, SignOptions()), bob);

  ManualClock clock(kNow);
  std::vector<long> timeouts;
  RevocationOptions ro;
  ro.state_dir = "/nonexistent";  // nothing is cached: every answer fails
  std::unique_ptr<OnlineRevocationChecker> checker;
  assert_true(OnlineRevocationChecker::Create(ro, std::make_unique<SlowFetcher>(&clock, &timeouts),
                                              &checker)
                  .ok());
  g_fx->rt->revocation = std::move(checker);
  g_fx->rt->rules.revocation_mode = RevocationMode::kHard;
  g_fx->rt->eom_deadline_ms = 7000;
  Seen s = Run(ClearSigned(kFromAlice, kPart1, der), "", &clock);
  g_fx->rt->eom_deadline_ms = 240000;
  assert_true(timeouts == std::vector<long>({5000, 2000}));
  assert_string_equal(s.verdict, "temperror");
  assert_string_equal(s.result0, "temperror");
  assert_string_equal(s.reason0, "revocation-status-unknown");
  assert_string_equal(s.result1, "temperror");
  assert_string_equal(s.reason1, "revocation-status-unknown");
  assert_int_equal(Count(s.fields, "revocation=unavailable, revocation_source=deadline"), 2);
  assert_true(Contains(s.note, "deadline reached"));
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(TestClearSignedPass, Reset),
      cmocka_unit_test_setup(TestForgedHeadersRemovedOursFirst, Reset),
      cmocka_unit_test_setup(TestOpaqueSignedPass, Reset),
      cmocka_unit_test_setup(TestTamperedContentFails, Reset),
      cmocka_unit_test_setup(TestOpaqueInsideMultipartSignedIsForged, Reset),
      cmocka_unit_test_setup(TestRevoked, Reset),
      cmocka_unit_test_setup(TestRevocationUnknown, Reset),
      cmocka_unit_test_setup(TestRevocationModes, Reset),
      cmocka_unit_test_setup(TestRevocationNotAskedForUntrustedChain, Reset),
      cmocka_unit_test_setup(TestExpiredCertificate, Reset),
      cmocka_unit_test_setup(TestPolicyResults, Reset),
      cmocka_unit_test_setup(TestWeakPathIsPolicy, Reset),
      cmocka_unit_test_setup(TestTwoSigners, Reset),
      cmocka_unit_test_setup(TestChainCompletedFromStore, Reset),
      cmocka_unit_test_setup(TestChainCompletedFromAia, Reset),
      cmocka_unit_test_setup(TestNotSignedAtAll, Reset),
      cmocka_unit_test_setup(TestOutboundIsLeftAlone, Reset),
      cmocka_unit_test_setup(TestExceptionBecomesInternalError, Reset),
      cmocka_unit_test_setup(TestForgedHeadersRemovedOutbound, Reset),
      cmocka_unit_test_setup(TestForgedHeadersRemovedOnInternalErrorAccept, Reset),
      cmocka_unit_test_setup(TestSenderMatchIsNamed, Reset),
      cmocka_unit_test_setup(TestFromThatReadsTwoWaysIsNotPass, Reset),
      cmocka_unit_test_setup(TestCertificateTextCannotForgeLogFields, Reset),
      cmocka_unit_test_setup(TestNoteIsEscaped, Reset),
      cmocka_unit_test_setup(TestEomDeadlineCutsSigners, Reset),
  };
  return cmocka_run_group_tests(tests, SetUp, TearDown);
}
