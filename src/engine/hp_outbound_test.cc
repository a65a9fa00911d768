// Header protection (RFC 9788) end to end through Process(): outbound
// signing with hp="clear" (clear and opaque) read back with OpenSSL's own
// S/MIME parser and CMS_verify (what `openssl cms -verify` does), encryption
// with hp="cipher" opened with CMS_decrypt (`openssl cms -decrypt`), and
// inbound verification of what we produce and of an attacker's payload
// whose protected From: differs from the outer one.
#include <openssl/cms.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <strings.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "base/testing.h"
#include "cms/sign.h"
#include "engine/processor.h"
#include "mime/header_protection.h"
#include "testing/runtime_fixture.h"
#include "testing/test_pki.h"

using namespace smime;
using namespace smime::testpki;

namespace {

// Recipient certificates from a fixed list.
class ListSource final : public CertSource {
 public:
  const char* Name() const override { return "list"; }
  Status Find(const std::string& address, const Deadline&,
              std::vector<CertCandidate>* out) const override {
    if (strcasecmp(address.c_str(), "carol@b.example") != 0) return Status::Ok();
    CertCandidate c;
    X509_up_ref(cert);
    c.cert.reset(cert);
    c.trust = CertTrust::kAdmin;
    c.source = "list";
    X509_up_ref(inter);
    c.chain.emplace_back(inter);
    out->push_back(std::move(c));
    return Status::Ok();
  }
  X509* cert = nullptr;
  X509* inter = nullptr;
};

struct Fixture {
  Issued root, inter, alice, carol;
  std::string dir;
  std::unique_ptr<Runtime> rt;
};
Fixture* g = nullptr;

CertSpec Both(const std::string& address) {
  CertSpec s = SmimeSpec(address);
  s.key_usage = KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT;
  return s;
}

int SetUp(void**) {
  g = new Fixture;
  g->root = MakeCa("HP Root");
  g->inter = MakeSubCa("HP Inter", g->root);
  g->alice = MakeLeaf(Both("alice@a.example"), g->inter);
  g->carol = MakeLeaf(Both("carol@b.example"), g->inter);
  g->dir = MakeTestDir("hp_outbound_test", g->root);
  if (g->dir.empty()) return -1;
  std::ofstream(g->dir + "/users") << "alice alice@a.example\n";
  Status st = BuildTestRuntime(
      g->dir,
      "signing_users = " + g->dir + "/users\nrevocation = off\nheader_protection_subject = [...]\n",
      &g->rt);
  if (!st.ok()) return -1;
  return g->rt->identities.Add(TestIdentity("alice@a.example", g->alice, g->inter)).ok() ? 0 : -1;
}

int TearDown(void**) { return DeleteFixture(g); }

// b.example asks for hp (mode) and, with encrypt, for encryption.
void Policy(SignMode sign, HpMode hp, bool encrypt) {
  Runtime& rt = *g->rt;
  rt.rules = DomainRules();
  rt.rules.sign = sign;
  rt.rules.revocation_mode = RevocationMode::kOff;
  rt.domain_rules.clear();
  DomainRules b = rt.rules;
  b.header_protection = hp;
  b.encrypt = encrypt ? EncryptMode::kRequired : EncryptMode::kNever;
  rt.domain_rules["b.example"] = b;
  rt.any_encryption = encrypt;
  auto source = std::make_unique<ListSource>();
  source->cert = g->carol.cert.get();
  source->inter = g->inter.cert.get();
  rt.directory = RecipientDirectory();
  rt.directory.AddSource(std::move(source));
  rt.revocation = std::make_unique<NotCheckedRevocation>();
}

int Reset(void**) {
  Policy(SignMode::kClear, HpMode::kClear, false);
  return 0;
}

const char kMessage[] =
    "From: Alice <alice@a.example>\r\n"
    "To: Carol <carol@b.example>\r\n"
    "Subject: figures for Q4\r\n"
    "Keywords: finance\r\n"
    "Date: Mon, 7 Dec 2026 10:00:00 +0000\r\n"
    "Message-ID: <hp1@a.example>\r\n"
    "Content-Type: text/plain; charset=us-ascii\r\n"
    "\r\n"
    "Hello Carol,\r\n"
    "the figures are attached.\r\n";

// Plain values copied out (cmocka asserts skip destructors).
struct Out {
  char disposition[16] = "";
  char fields[800] = "";
  char wire[16384] = "";    // the message as delivered
  char payload[8192] = "";  // what OpenSSL verified or decrypted
  char inner[8192] = "";    // for sign+encrypt: the signed content inside
  bool verified = false;    // OpenSSL CMS_verify against our root
  char verdict[16] = "";    // our inbound verdict on the delivered message
  char ar[1024] = "";       // our Authentication-Results on it
};

void Copy(char* dst, size_t n, const std::string& s) { std::snprintf(dst, n, "%s", s.c_str()); }

std::string BioText(BIO* b) {
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : std::string();
}

// OpenSSL's S/MIME reading and verification of a signed message; the
// content verified, or "" when it does not verify.
std::string OpensslVerify(const std::string& wire) {
  BioPtr in(BIO_new_mem_buf(wire.data(), static_cast<int>(wire.size())));
  BIO* bcont = nullptr;
  CmsPtr cms(SMIME_read_CMS(in.get(), &bcont));
  BioPtr content(bcont);
  if (!cms) return "";
  X509StorePtr store(X509_STORE_new());
  X509_STORE_add_cert(store.get(), g->root.cert.get());
  X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(store.get()), kNow);
  BioPtr out(BIO_new(BIO_s_mem()));
  const int ok = CMS_verify(cms.get(), nullptr, store.get(), content.get(), out.get(), CMS_BINARY);
  DrainOpensslErrors();
  return ok == 1 ? BioText(out.get()) : "";
}

std::string OpensslDecrypt(const std::string& wire) {
  BioPtr in(BIO_new_mem_buf(wire.data(), static_cast<int>(wire.size())));
  CmsPtr cms(SMIME_read_CMS(in.get(), nullptr));
  if (!cms) return "";
  BioPtr out(BIO_new(BIO_s_mem()));
  const int ok = CMS_decrypt(cms.get(), g->carol.key.get(), g->carol.cert.get(), nullptr, out.get(),
                             CMS_BINARY);
  DrainOpensslErrors();
  return ok == 1 ? BioText(out.get()) : "";
}

Out Inbound(const std::string& wire) {
  Out s;
  Transaction back;
  ParseRawMessage(wire, &back);
  back.direction = Direction::kInbound;
  back.message_size = wire.size();
  back.rcpts.push_back("carol@b.example");
  FixedClock clock(kNow);
  Outcome v = Process(*g->rt, back, clock);
  Copy(s.verdict, sizeof s.verdict, AuthResultName(v.verdict));
  Copy(s.fields, sizeof s.fields, v.fields);
  for (const HeaderEdit& e : v.edits)
    if (e.name == "Authentication-Results") Copy(s.ar, sizeof s.ar, e.value);
  return s;
}

Out Run(const std::string& msg, const std::vector<std::string>& rcpts = {"carol@b.example"}) {
  Transaction tx;
  ParseRawMessage(msg, &tx);
  tx.direction = Direction::kOutbound;
  tx.sasl_user = "alice";
  tx.client_addr = "198.51.100.7";
  tx.rcpts = rcpts;
  tx.message_size = msg.size();
  FixedClock clock(kNow);
  Outcome o = Process(*g->rt, tx, clock);
  Out s;
  Copy(s.disposition, sizeof s.disposition, DispositionName(o.disposition));
  Copy(s.fields, sizeof s.fields, o.fields);
  if (o.disposition != Disposition::kAccept) return s;
  ApplyEdits(o, &tx);
  const std::string wire = WireMessage(tx);
  Copy(s.wire, sizeof s.wire, wire);
  std::string payload = OpensslVerify(wire);
  s.verified = !payload.empty();
  if (payload.empty()) {
    payload = OpensslDecrypt(wire);
    const std::string inner = OpensslVerify(payload);
    s.verified = !inner.empty();
    Copy(s.inner, sizeof s.inner, inner);
  }
  Copy(s.payload, sizeof s.payload, payload);
  Out in = Inbound(wire);
  Copy(s.verdict, sizeof s.verdict, in.verdict);
  Copy(s.ar, sizeof s.ar, in.ar);
  return s;
}

bool Has(const char* hay, const char* needle) { return std::strstr(hay, needle) != nullptr; }

int Count(const char* hay, const char* needle) {
  int n = 0;
  for (const char* p = std::strstr(hay, needle); p; p = std::strstr(p + 1, needle)) ++n;
  return n;
}

void TestClearSignedCarriesProtectedHeaders(void**) {
  Out s = Run(kMessage);
  assert_string_equal(s.disposition, "accept");
  assert_true(Has(s.fields, "hp=clear"));
  assert_true(s.verified);
  // The signed entity: hp on its Content-Type, the author's fields inside.
  assert_true(Has(s.payload, "Content-Type: text/plain; charset=us-ascii; hp=\"clear\"\r\n"));
  assert_true(Has(s.payload, "\r\nFrom: Alice <alice@a.example>\r\n"));
  assert_true(Has(s.payload, "\r\nTo: Carol <carol@b.example>\r\n"));
  assert_true(Has(s.payload, "\r\nSubject: figures for Q4\r\n"));
  assert_true(Has(s.payload, "\r\nMessage-ID: <hp1@a.example>\r\n"));
  assert_true(Has(s.payload, "\r\nKeywords: finance\r\n"));
  assert_false(Has(s.payload, "HP-Outer"));
  assert_true(Has(s.payload, "\r\n\r\nHello Carol,\r\n"));
  // Signed only: the outer header is not touched.
  assert_true(Has(s.wire, "\r\nSubject: figures for Q4\r\n"));
  assert_true(Has(s.wire, "\r\nKeywords: finance\r\n"));
  // Our own inbound side recognises it and says what was protected.
  assert_string_equal(s.verdict, "pass");
  assert_true(Has(s.ar, "smime=pass (hp=clear protects From To Subject Keywords Date Message-ID)"));
}

void TestOpaqueSignedCarriesProtectedHeaders(void**) {
  Policy(SignMode::kOpaque, HpMode::kClear, false);
  Out s = Run(kMessage);
  assert_true(Has(s.wire, "Content-Type: application/pkcs7-mime; smime-type=signed-data"));
  assert_true(s.verified);
  assert_true(Has(s.payload, "hp=\"clear\"\r\n"));
  assert_true(Has(s.payload, "\r\nSubject: figures for Q4\r\n"));
  assert_string_equal(s.verdict, "pass");
  assert_true(Has(s.ar, "hp=clear protects From To Subject"));
}

void TestNoneLeavesTheEntityAlone(void**) {
  Policy(SignMode::kClear, HpMode::kNone, false);
  Out s = Run(kMessage);
  assert_true(s.verified);
  assert_false(Has(s.payload, "hp="));
  assert_false(Has(s.payload, "Subject:"));
  assert_false(Has(s.fields, "hp="));
  assert_false(Has(s.ar, "hp="));
  // The lowest level among the recipients' domains: one whose domain says
  // none (c.example, the defaults) turns it off for the message.
  Policy(SignMode::kClear, HpMode::kClear, false);
  s = Run(kMessage, {"carol@b.example", "dan@c.example"});
  assert_true(s.verified);
  assert_false(Has(s.payload, "hp="));
  assert_false(Has(s.fields, "hp="));
  // cipher for mail that is not encrypted: clear.
  Policy(SignMode::kClear, HpMode::kCipher, false);
  s = Run(kMessage);
  assert_true(Has(s.fields, "hp=clear"));
  assert_true(Has(s.payload, "hp=\"clear\""));
}

// 8-bit content is re-encoded by GMime: its header block comes out of the
// re-encoded entity and still gets hp and the protected fields.
void TestReencodedEntity(void**) {
  const std::string msg =
      "From: alice@a.example\r\nTo: carol@b.example\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n"
      "Content-Type: text/plain; charset=utf-8\r\n\r\n"
      "Gr\xc3\xbc\xc3\x9f"
      "e aus K\xc3\xb6ln\r\n";
  Out s = Run(msg);
  assert_true(Has(s.fields, "reencoded=8bit-to-"));
  assert_true(Has(s.fields, "hp=clear"));
  assert_true(s.verified);
  assert_true(Has(s.payload, "hp=\"clear\""));
  assert_true(Has(s.payload,
                  "Content-Type: text/plain; charset=utf-8; hp=\"clear\"\r\n"
                  "Content-Transfer-Encoding: base64\r\nFrom: alice@a.example\r\n"));
  assert_true(Has(s.payload, "\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n"));
  assert_string_equal(s.verdict, "pass");
  assert_true(Has(s.ar, "hp=clear protects From To Subject"));
}

void TestCipherSignedAndEncrypted(void**) {
  Policy(SignMode::kClear, HpMode::kCipher, true);
  // A trace field added on the way and a field the author's program wrote.
  Out s = Run(std::string("Received: from mua.a.example by mx.a.example\r\n"
                          "User-Agent: Sample MUA 1.0\r\n") +
              kMessage);
  assert_string_equal(s.disposition, "accept");
  assert_true(Has(s.fields, "hp=cipher"));
  assert_true(Has(s.fields, "hp_legacy_display=added"));
  assert_true(Has(s.fields, "encryption="));
  // Outside: Subject obscured, Keywords gone, the real ones nowhere.
  assert_true(Has(s.wire, "\r\nSubject: [...]\r\n"));
  assert_false(Has(s.wire, "figures"));
  assert_false(Has(s.wire, "Keywords"));
  assert_false(Has(s.wire, "finance"));
  assert_true(Has(s.wire, "From: Alice <alice@a.example>\r\n"));
  // Inside the encryption: a signature over the payload root, which has
  // hp="cipher", the real fields and the HP-Outer record.
  assert_true(Has(s.payload, "multipart/signed"));
  assert_true(s.verified);
  assert_true(Has(s.inner,
                  "Content-Type: text/plain; charset=us-ascii; hp=\"cipher\"; "
                  "hp-legacy-display=\"1\"\r\n"));
  assert_true(Has(s.inner, "\r\nSubject: figures for Q4\r\n"));
  assert_true(Has(s.inner, "\r\nKeywords: finance\r\n"));
  assert_true(Has(s.inner, "\r\nHP-Outer: Subject: [...]\r\n"));
  assert_true(Has(s.inner, "\r\nHP-Outer: From: Alice <alice@a.example>\r\n"));
  assert_false(Has(s.inner, "HP-Outer: Keywords"));
  // Every field the author composed is copied and, kept outside, recorded
  // (RFC 9788 section 2.2); the trace field is neither.
  assert_true(Has(s.inner, "\r\nUser-Agent: Sample MUA 1.0\r\n"));
  assert_true(Has(s.inner, "\r\nHP-Outer: User-Agent: Sample MUA 1.0\r\n"));
  assert_true(Has(s.wire, "User-Agent: Sample MUA 1.0\r\n"));
  assert_false(Has(s.inner, "Received"));
  // The Legacy Display Element (RFC 9788 section 5.2.2): a reader without
  // header protection sees the real Subject above the text.
  assert_true(Has(s.inner, "\r\n\r\nSubject: figures for Q4\r\n\r\nHello Carol,\r\n"));
  // What a decrypting gateway would restore from it.
  HpInbound in;
  assert_true(ParseProtectedHeaders(s.inner, &in).ok());
  std::vector<MimeHeader> restore = HeadersToRestore(in);
  const bool two = restore.size() == 2;
  const std::string first = two ? restore[0].name + ":" + restore[0].value : "";
  assert_true(two);
  assert_string_equal(first.c_str(), "Subject: figures for Q4");
}

// header_protection = clear on mail that is encrypted: hp="cipher" (the
// payload is encrypted) with nothing hidden, every field in HP-Outer.
void TestClearLevelOnEncryptedMail(void**) {
  Policy(SignMode::kClear, HpMode::kClear, true);
  Out s = Run(kMessage);
  assert_true(Has(s.fields, "hp=cipher"));
  assert_true(Has(s.wire, "\r\nSubject: figures for Q4\r\n"));
  assert_true(Has(s.wire, "\r\nKeywords: finance\r\n"));
  assert_true(s.verified);
  assert_true(Has(s.inner, "hp=\"cipher\"\r\n"));
  assert_true(Has(s.inner, "\r\nHP-Outer: Subject: figures for Q4\r\n"));
  assert_true(Has(s.inner, "\r\nHP-Outer: Keywords: finance\r\n"));
  HpInbound in;
  assert_true(ParseProtectedHeaders(s.inner, &in).ok());
  assert_int_equal(HeadersToRestore(in).size(), 0);
}

// A payload that already has hp is not protected again, and then nothing
// may be hidden: the outer Subject stays.
void TestAlreadyProtectedHidesNothing(void**) {
  Policy(SignMode::kNone, HpMode::kCipher, true);
  std::string msg = kMessage;
  const std::string ct = "Content-Type: text/plain; charset=us-ascii";
  msg.replace(msg.find(ct), ct.size(), ct + "; hp=\"cipher\"");
  Out s = Run(msg);
  assert_string_equal(s.disposition, "accept");
  assert_true(Has(s.fields, "hp=none, hp_why=hp-already-present"));
  assert_true(Has(s.wire, "\r\nSubject: figures for Q4\r\n"));
  assert_true(Has(s.wire, "\r\nKeywords: finance\r\n"));
  assert_false(Has(s.payload, "HP-Outer"));
}

void TestCipherEncryptOnly(void**) {
  Policy(SignMode::kNone, HpMode::kCipher, true);
  Out s = Run(kMessage);
  assert_string_equal(s.disposition, "accept");
  assert_true(Has(s.wire, "\r\nSubject: [...]\r\n"));
  assert_false(Has(s.wire, "figures"));
  assert_true(Has(s.payload,
                  "Content-Type: text/plain; charset=us-ascii; hp=\"cipher\"; "
                  "hp-legacy-display=\"1\"\r\n"));
  assert_true(Has(s.payload, "\r\nSubject: figures for Q4\r\n"));
  assert_true(Has(s.payload, "\r\nHP-Outer: Subject: [...]\r\n"));
  assert_true(Has(s.payload, "\r\n\r\nSubject: figures for Q4\r\n\r\nHello Carol,\r\n"));
}

// header_protection_subject: what the outer Subject becomes; printable
// ASCII only (start-up refuses anything else).
void TestSubjectPlaceholder(void**) {
  Policy(SignMode::kClear, HpMode::kCipher, true);
  g->rt->hp_subject = "Encrypted message";
  Out s = Run(kMessage);
  g->rt->hp_subject = "[...]";
  assert_true(Has(s.wire, "\r\nSubject: Encrypted message\r\n"));
  assert_true(Has(s.inner, "\r\nHP-Outer: Subject: Encrypted message\r\n"));
  Config config;
  bool parsed = config
                    .Parse("authserv_id = mx.example.net\ntrust_anchors = " + g->dir +
                               "/anchors.pem\nheader_protection_subject = caf\xc3\xa9\n",
                           "t.conf")
                    .ok();
  assert_true(parsed);
  std::unique_ptr<Runtime> rt;
  const std::string error = BuildRuntime(config, &rt).message();
  assert_non_null(std::strstr(error.c_str(), "header_protection_subject: printable ASCII only"));
}

// A payload signed by alice whose protected fields say something else.
std::string SignedPayload(const std::string& outer, const std::string& payload) {
  SignParams p;
  p.cert = g->alice.cert.get();
  p.key = g->alice.key.get();
  p.chain = {g->inter.cert.get()};
  p.signing_time = kNow;
  std::string der;
  if (!SignContent(payload, p, &der).ok()) return "";
  const std::string boundary = NewBoundary(payload);
  return outer +
         "MIME-Version: 1.0\r\nContent-Type: " + ClearSignedContentType("sha-256", boundary) +
         "\r\n\r\n" + ClearSignedBody(payload, der, boundary);
}

void TestProtectedFromMismatchIsNotPass(void**) {
  const std::string outer = "From: alice@a.example\r\nTo: carol@b.example\r\nSubject: hello\r\n";
  // Control: the same structure with the same From passes.
  Out ok = Inbound(SignedPayload(outer,
                                 "Content-Type: text/plain; hp=\"clear\"\r\n"
                                 "From: alice@a.example\r\nSubject: hello\r\n\r\nhi\r\n"));
  assert_string_equal(ok.verdict, "pass");
  assert_true(Has(ok.ar, "hp=clear protects From Subject"));
  // An hp reader shows the protected From: which the signer was not judged
  // against. Never pass.
  Out bad = Inbound(SignedPayload(outer,
                                  "Content-Type: text/plain; hp=\"clear\"\r\n"
                                  "From: CEO <ceo@bank.example>\r\nSubject: pay\r\n\r\nhi\r\n"));
  assert_string_equal(bad.verdict, "policy");
  assert_true(Has(bad.ar, "reason=protected-from-mismatch"));
  assert_false(Has(bad.ar, "smime=pass"));
  assert_false(Has(bad.ar, "ceo@bank.example"));
  assert_true(Has(bad.fields, "hp=clear:protected-from-mismatch"));
  // Hidden as a second From:, or unparseable: the same.
  Out two = Inbound(SignedPayload(outer,
                                  "Content-Type: text/plain; hp=clear\r\n"
                                  "From: alice@a.example\r\nFrom: ceo@bank.example\r\n\r\nhi\r\n"));
  assert_string_equal(two.verdict, "policy");
  // A protected Subject that differs is named, the verdict stands.
  Out subj = Inbound(SignedPayload(outer,
                                   "Content-Type: text/plain; hp=clear\r\n"
                                   "From: alice@a.example\r\nSubject: other\r\n\r\nhi\r\n"));
  assert_string_equal(subj.verdict, "pass");
  assert_true(Has(subj.ar, "differs: Subject"));
  // Field names outside our list are counted, never written: the comment
  // must not carry an attacker's "smime=pass".
  Out named =
      Inbound(SignedPayload(outer,
                            "Content-Type: text/plain; hp=clear\r\n"
                            "From: alice@a.example\r\nsmime=pass: x\r\nX-A: y\r\n\r\nhi\r\n"));
  assert_string_equal(named.verdict, "pass");
  assert_true(Has(named.ar, "smime=pass (hp=clear protects From and 2 other fields)"));
  assert_int_equal(Count(named.ar, "smime=pass"), 1);
  // An unknown hp value is no header protection at all.
  Out odd = Inbound(SignedPayload(outer,
                                  "Content-Type: text/plain; hp=maybe\r\n"
                                  "From: alice@a.example\r\n\r\nhi\r\n"));
  assert_string_equal(odd.verdict, "pass");
  assert_false(Has(odd.ar, "hp="));
  assert_true(Has(odd.fields, "hp=ignored:hp-unknown-value"));
}

// Ways to show a reader a protected From: that we would not see as one:
// all policy, never pass.
void TestHiddenProtectedFromIsNotPass(void**) {
  const std::string outer = "From: alice@a.example\r\nTo: carol@b.example\r\nSubject: hello\r\n";
  struct Case {
    const char* payload;
    const char* reason;
    const char* log;
  };
  const Case cases[] = {
      // No hp we can read (an unknown value, none at all): the From: is
      // still judged, a reader might find hp where we do not.
      {"Content-Type: text/plain; hp=maybe\r\nFrom: ceo@bank.example\r\n\r\nhi\r\n",
       "protected-from-mismatch", "hp=ignored:hp-unknown-value:protected-from-mismatch"},
      {"Content-Type: text/plain\r\nFrom: ceo@bank.example\r\n\r\nhi\r\n",
       "protected-from-mismatch", "hp=none:protected-from-mismatch"},
      // hp in RFC 2231 form: readers decode it differently.
      {"Content-Type: text/plain; hp*=''clear\r\nFrom: ceo@bank.example\r\n\r\nhi\r\n",
       "protected-headers-ambiguous",
       "hp=ignored:hp-parameter-encoded:protected-headers-ambiguous"},
      // A From: behind a bare CR, which some readers take as a line end.
      {"Content-Type: text/plain; hp=clear\r\nX-A: a\rFrom: ceo@bank.example\r\n"
       "From: alice@a.example\r\n\r\nhi\r\n",
       "protected-headers-ambiguous", "protected-headers-ambiguous"},
      // Two hp parameters: which one wins depends on the reader.
      {"Content-Type: text/plain; hp=clear; hp=cipher\r\nFrom: ceo@bank.example\r\n\r\nhi\r\n",
       "protected-headers-ambiguous", "protected-headers-ambiguous"},
  };
  for (const Case& c : cases) {
    Out s = Inbound(SignedPayload(outer, c.payload));
    assert_string_equal(s.verdict, "policy");
    assert_true(Has(s.ar, (std::string("reason=") + c.reason).c_str()));
    assert_false(Has(s.ar, "smime=pass"));
    assert_true(Has(s.fields, c.log));
  }
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(TestClearSignedCarriesProtectedHeaders, Reset),
      cmocka_unit_test_setup(TestOpaqueSignedCarriesProtectedHeaders, Reset),
      cmocka_unit_test_setup(TestNoneLeavesTheEntityAlone, Reset),
      cmocka_unit_test_setup(TestReencodedEntity, Reset),
      cmocka_unit_test_setup(TestCipherSignedAndEncrypted, Reset),
      cmocka_unit_test_setup(TestCipherEncryptOnly, Reset),
      cmocka_unit_test_setup(TestClearLevelOnEncryptedMail, Reset),
      cmocka_unit_test_setup(TestSubjectPlaceholder, Reset),
      cmocka_unit_test_setup(TestAlreadyProtectedHidesNothing, Reset),
      cmocka_unit_test_setup(TestProtectedFromMismatchIsNotPass, Reset),
      cmocka_unit_test_setup(TestHiddenProtectedFromIsNotPass, Reset),
  };
  return cmocka_run_group_tests(tests, SetUp, TearDown);
}
