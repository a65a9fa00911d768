// Unit tests for engine/outbound: messages go through Process() as outbound
// with identities from testing/test_pki and a pinned clock. Signed results
// are fed back through our own inbound verification, which must say pass;
// every refusal is checked for its disposition, reply and log reason.
#include "engine/outbound.h"

#include <dirent.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "base/testing.h"
#include "engine/processor.h"
#include "mime/smime_locator.h"
#include "testing/runtime_fixture.h"
#include "testing/test_pki.h"

using namespace smime;
using namespace smime::testpki;

namespace {

class FakeRevocation final : public RevocationChecker {
 public:
  explicit FakeRevocation(RevocationStatus s) : status_(s) {}
  ChainRevocation Check(STACK_OF(X509) *, STACK_OF(X509_CRL) *, std::time_t,
                        const Deadline&) override {
    ChainRevocation r;
    r.overall.status = status_;
    return r;
  }

 private:
  RevocationStatus status_;
};

struct Fixture {
  Issued root, inter, alice, bob_ec, domain, hans;
  std::string dir;
  std::unique_ptr<Runtime> rt;
};
Fixture* g_fx = nullptr;

Identity MakeIdentity(const std::string& address, const Issued& leaf) {
  return TestIdentity(address, leaf, g_fx->inter);
}

int SetUp(void**) {
  g_fx = new Fixture;
  g_fx->root = MakeCa("Test Root CA");
  g_fx->inter = MakeSubCa("Test Intermediate", g_fx->root);
  g_fx->alice = MakeLeaf(SmimeSpec("alice@a.example"), g_fx->inter);
  CertSpec ec = SmimeSpec("bob@a.example");
  ec.key = KeyKind::kEcP256;
  g_fx->bob_ec = MakeLeaf(ec, g_fx->inter);
  g_fx->domain = MakeLeaf(SmimeSpec("postmaster@d.example"), g_fx->inter);
  // An IDN mailbox: the certificate names it in A-labels (RFC 5280), the
  // signing_users entry and the identity are written in U-labels.
  g_fx->hans = MakeLeaf(SmimeSpec("hans@xn--bcher-kva.example"), g_fx->inter);
  g_fx->dir = MakeTestDir("outbound_test", g_fx->root);
  if (g_fx->dir.empty()) return -1;
  std::ofstream(g_fx->dir + "/users") << "# login  addresses\n"
                                         "alice  alice@a.example\n"
                                         "bob    bob@a.example, @d.example\n"
                                         "hans   @BÜCHER.example\n";
  Status st = BuildTestRuntime(
      g_fx->dir, "signing_users = " + g_fx->dir + "/users\ninternal_hosts = 192.0.2.0/24\n",
      &g_fx->rt);
  if (!st.ok()) return -1;
  Runtime& rt = *g_fx->rt;
  if (!rt.identities.Add(MakeIdentity("alice@a.example", g_fx->alice)).ok()) return -1;
  if (!rt.identities.Add(MakeIdentity("bob@a.example", g_fx->bob_ec)).ok()) return -1;
  if (!rt.identities.Add(MakeIdentity("@d.example", g_fx->domain)).ok()) return -1;
  if (!rt.identities.Add(MakeIdentity("hans@Bücher.example", g_fx->hans)).ok()) return -1;
  return 0;
}

int TearDown(void**) { return DeleteFixture(g_fx); }

int Reset(void**) {
  Runtime& rt = *g_fx->rt;
  rt.rules = DomainRules();
  rt.rules.sign = SignMode::kClear;
  rt.rules.revocation_mode = RevocationMode::kOff;
  rt.domain_rules.clear();
  rt.signing_relays.clear();
  rt.revocation = std::make_unique<NotCheckedRevocation>();
  return 0;
}

const char kPlain[] =
    "From: Alice <alice@a.example>\r\n"
    "To: Carol <carol@c.example>\r\n"
    "Subject: figures\r\n"
    "Content-Type: text/plain; charset=us-ascii\r\n"
    "\r\n"
    "Hello Carol,\r\n"
    "the figures are attached.\r\n";

// Plain values copied out of an Outcome (cmocka asserts skip destructors).
struct Seen {
  char disposition[16] = "";
  char reply[160] = "";
  char fields[600] = "";
  char verdict[16] = "";     // our inbound verdict on the result ("" if not signed)
  char media_type[80] = "";  // Content-Type of the result, up to ';'
  bool replaced = false;
  bool entity_qp = false;  // the signed entity uses quoted-printable
};

void Copy(char* dst, size_t n, const std::string& s) { std::snprintf(dst, n, "%s", s.c_str()); }

Seen Run(const std::string& msg, const std::string& login, std::time_t now = kNow,
         const std::string& client = "198.51.100.7", const std::string& rcpt = "carol@c.example",
         Direction direction = Direction::kOutbound) {
  Transaction tx;
  ParseRawMessage(msg, &tx);
  tx.direction = direction;
  tx.sasl_user = login;
  tx.client_addr = client;
  tx.rcpts.push_back(rcpt);
  tx.message_size = msg.size();
  FixedClock clock(now);
  Outcome o = Process(*g_fx->rt, tx, clock);
  Seen s;
  Copy(s.disposition, sizeof s.disposition, DispositionName(o.disposition));
  Copy(s.reply, sizeof s.reply, o.reply_code + " " + o.reply_xcode + " " + o.reply_text);
  Copy(s.fields, sizeof s.fields, o.fields);
  s.replaced = o.replace_body;
  if (o.disposition != Disposition::kAccept || !o.replace_body) return s;
  ApplyEdits(o, &tx);
  for (const Header& h : tx.headers)
    if (h.name == "Content-Type")
      Copy(s.media_type, sizeof s.media_type, h.value.substr(1, h.value.find(';') - 1));
  s.entity_qp = tx.body.find("Content-Transfer-Encoding: quoted-printable") != std::string::npos;
  Transaction back;
  ParseRawMessage(WireMessage(tx), &back);
  back.direction = Direction::kInbound;
  back.message_size = msg.size();
  Outcome v = Process(*g_fx->rt, back, clock);
  Copy(s.verdict, sizeof s.verdict, AuthResultName(v.verdict));
  return s;
}

bool Has(const char* hay, const char* needle) { return std::strstr(hay, needle) != nullptr; }
bool Has(const char* hay, const std::string& needle) { return Has(hay, needle.c_str()); }

void TestClearSignedVerifies(void**) {
  Seen s = Run(kPlain, "alice");
  assert_string_equal(s.disposition, "accept");
  assert_true(s.replaced);
  assert_string_equal(s.media_type, "multipart/signed");
  assert_string_equal(s.verdict, "pass");
  assert_true(
      Has(s.fields, "identity=alice@a.example, action=signed, format=clear, digest=sha256"));
}

void TestEightBitIsReencoded(void**) {
  const std::string msg =
      "From: alice@a.example\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n\r\n"
      "Gr\xc3\xbc\xc3\x9f"
      "e aus K\xc3\xb6ln\r\n" +
      std::string(1200, 'x') + "\r\n";
  Seen s = Run(msg, "alice");
  assert_string_equal(s.verdict, "pass");
  assert_true(s.entity_qp);
  assert_true(Has(s.fields, "digest=sha256, reencoded=8bit-to-qp+long-lines, ms="));
}

// The log says truthfully what the entity builder changed: "no" for a
// relay-proof message, the list of changes otherwise; the result verifies.
void TestReencodedSaysWhatChanged(void**) {
  Seen s = Run(kPlain, "alice");
  assert_true(Has(s.fields, "reencoded=no"));
  // "From " inside quoted-printable text and in the preamble and epilogue.
  const std::string qp =
      "From: alice@a.example\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
      "From the preamble\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n"
      "Content-Transfer-Encoding: quoted-printable\r\n\r\nHello\r\nFrom here on=2C K=C3=B6ln\r\n"
      "--b--\r\nFrom the epilogue\r\n";
  s = Run(qp, "alice");
  assert_string_equal(s.verdict, "pass");
  assert_true(Has(s.fields, "reencoded=from-armour+preamble-from, ms="));
  // Base64 in one 1400-column line: re-wrapped.
  const std::string b64 =
      "From: alice@a.example\r\nMIME-Version: 1.0\r\nContent-Type: application/octet-stream\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\n" +
      std::string(1400, 'A') + "\r\n";
  s = Run(b64, "alice");
  assert_string_equal(s.verdict, "pass");
  assert_true(Has(s.fields, "reencoded=long-lines, ms="));
}

void TestOpaqueAndRecipientAsksOpaque(void**) {
  g_fx->rt->rules.sign = SignMode::kOpaque;
  Seen s = Run(kPlain, "alice");
  assert_string_equal(s.media_type, "application/pkcs7-mime");
  assert_string_equal(s.verdict, "pass");
  g_fx->rt->rules.sign = SignMode::kClear;
  DomainRules partner = g_fx->rt->rules;
  partner.recipient_opaque = true;
  g_fx->rt->domain_rules["c.example"] = partner;
  s = Run(kPlain, "alice");
  assert_string_equal(s.media_type, "application/pkcs7-mime");
  assert_true(Has(s.fields, "format=opaque"));
}

// Issue 11: a signed body larger than spool_memory_limit is written to a
// spool file in state_dir (unlinked at once) and read back in 64 KB slices
// whose concatenation is byte for byte the body built in memory (RSA
// PKCS #1 v1.5 and the pinned clock make the signature repeatable), and it
// verifies.
void TestLargeSignedBodyIsSpooled(void**) {
  Runtime& rt = *g_fx->rt;
  rt.rules.sign = SignMode::kOpaque;
  std::string msg =
      "From: Alice <alice@a.example>\r\nTo: Carol <carol@c.example>\r\nSubject: big\r\n"
      "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n";
  for (int i = 0; i < 3000; ++i)
    msg += "line " + std::to_string(i) + ": gr\xc3\xbc\xc3\x9f" + "e, the quick brown fox\r\n";
  auto process = [&](size_t limit) {
    Transaction tx;
    ParseRawMessage(msg, &tx);
    tx.direction = Direction::kOutbound;
    tx.sasl_user = "alice";
    tx.client_addr = "198.51.100.7";
    tx.rcpts.push_back("carol@c.example");
    tx.message_size = msg.size();
    FixedClock clock(kNow);
    const std::string saved_dir = rt.spool_dir;
    const size_t saved = rt.spool_memory_limit;
    rt.spool_dir = g_fx->dir;
    rt.spool_memory_limit = limit;
    Outcome o = Process(rt, tx, clock);
    rt.spool_dir = saved_dir;
    rt.spool_memory_limit = saved;
    return o;
  };
  Outcome in_memory = process(size_t{1} << 20);
  assert_true(in_memory.replace_body);
  assert_false(in_memory.body.on_disk());
  std::string expected;
  assert_true(in_memory.body.ReadAll(&expected).ok());
  assert_true(expected.size() > msg.size());

  Outcome spooled = process(4096);
  assert_true(spooled.replace_body);
  assert_true(spooled.body.on_disk());
  size_t slices = 0;
  std::string joined;
  assert_true(spooled.body
                  .ForEachSlice(65536,
                                [&](std::string_view s) {
                                  ++slices;
                                  joined.append(s);
                                  return true;
                                })
                  .ok());
  assert_true(slices >= 3);
  assert_true(joined == expected);
  assert_true(spooled.edits.size() == in_memory.edits.size());
  // Nothing named in the folder: only the fixture's own two files.
  int files = 0;
  if (DIR* d = opendir(g_fx->dir.c_str())) {
    while (struct dirent* e = readdir(d)) files += e->d_name[0] != '.';
    closedir(d);
  }
  assert_int_equal(files, 2);

  // And it verifies (ApplyEdits reads the spool back).
  Transaction tx;
  ParseRawMessage(msg, &tx);
  assert_true(ApplyEdits(spooled, &tx));
  assert_true(tx.body == expected);
  Transaction back;
  ParseRawMessage(WireMessage(tx), &back);
  back.direction = Direction::kInbound;
  back.message_size = msg.size();
  FixedClock clock(kNow);
  Outcome v = Process(rt, back, clock);
  assert_string_equal(AuthResultName(v.verdict), "pass");
}

// The values of field name in a line's fields, in order (split at ", " as a
// log reader does; docs/logging.md).
std::vector<std::string> FieldValues(const std::string& fields, const std::string& name) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < fields.size()) {
    size_t end = fields.find(", ", start);
    if (end == std::string::npos) end = fields.size();
    if (fields.compare(start, name.size() + 1, name + "=") == 0)
      out.push_back(fields.substr(start + name.size() + 1, end - start - name.size() - 1));
    start = end + 2;
  }
  return out;
}

// A refusal after signing (the new body's spool cannot be written: state_dir
// gone) logs one action, tempfail, and the refusal's reason; signing's own
// fields stay (docs/logging.md, "One value per name").
void TestSpoolRefusalAfterSigningLogsOneAction(void**) {
  Runtime& rt = *g_fx->rt;
  rt.rules.sign = SignMode::kOpaque;
  std::string msg =
      "From: Alice <alice@a.example>\r\nTo: Carol <carol@c.example>\r\nSubject: big\r\n\r\n";
  for (int i = 0; i < 2000; ++i) msg += "line " + std::to_string(i) + " the quick brown fox\r\n";
  Transaction tx;
  ParseRawMessage(msg, &tx);
  tx.direction = Direction::kOutbound;
  tx.sasl_user = "alice";
  tx.rcpts.push_back("carol@c.example");
  tx.message_size = msg.size();
  FixedClock clock(kNow);
  const std::string saved_dir = rt.spool_dir;
  const size_t saved = rt.spool_memory_limit;
  rt.spool_dir = "/nonexistent/smime-spool";
  rt.spool_memory_limit = 4096;
  Outcome o = Process(rt, tx, clock);
  rt.spool_dir = saved_dir;
  rt.spool_memory_limit = saved;
  assert_string_equal(DispositionName(o.disposition), "tempfail");
  assert_false(o.replace_body);
  const std::vector<std::string> tempfail = {"tempfail"}, spool = {"spool-failed"},
                                 opaque = {"opaque"};
  assert_true(FieldValues(o.fields, "action") == tempfail);
  assert_true(FieldValues(o.fields, "reason") == spool);
  assert_true(FieldValues(o.fields, "format") == opaque);
  assert_int_equal(FieldValues(o.fields, "digest").size(), 1);
  const std::string line = o.LogLine("NOQUEUE");
  assert_true(Has(line.c_str(),
                  "format=opaque, digest=sha256, reencoded=no, action=tempfail, "
                  "reason=spool-failed, ms="));
  assert_false(Has(line.c_str(), "action=signed"));
}

void TestKeyTypesAndPss(void**) {
  const std::string bob = "From: bob@a.example\r\nSubject: ec\r\n\r\nsigned with P-256\r\n";
  Seen s = Run(bob, "bob");
  assert_string_equal(s.verdict, "pass");
  g_fx->rt->rules.rsa_padding = RsaPadding::kPss;
  g_fx->rt->rules.signing_digest = "sha384";
  s = Run(kPlain, "alice");
  assert_string_equal(s.verdict, "pass");
  assert_true(Has(s.fields, "digest=sha384"));
}

// The note of several steps is one detail, joined: a later step never
// drops what an earlier one noted (docs/logging.md).
void TestNotesAreJoined(void**) {
  Outcome o;
  o.event = "outbound";
  AppendField(&o.fields, "action", "tempfail");
  o.AddNote("");
  assert_string_equal(o.LogLine("Q").c_str(), "Q: outbound: action=tempfail");
  o.AddNote("inner signature not pass");
  o.AddNote("spool write: No space left on device");
  assert_string_equal(o.LogLine("Q").c_str(),
                      "Q: outbound: action=tempfail, detail=\"inner signature not pass; spool "
                      "write: No space left on device\"");
}

void TestUnauthorizedSender(void**) {
  // Logged in as alice, From: bob: not mapped.
  const std::string as_bob = "From: bob@a.example\r\n\r\nhi\r\n";
  Seen s = Run(as_bob, "alice");
  assert_string_equal(s.disposition, "tempfail");
  assert_true(Has(s.reply, "451 4.7.1 login alice may not send signed mail as bob@a.example"));
  assert_true(Has(s.fields, "reason=sender-not-authorized"));
  g_fx->rt->rules.unauthorized = UnauthorizedAction::kReject;
  s = Run(as_bob, "alice");
  assert_string_equal(s.disposition, "reject");
  assert_true(Has(s.reply, "550 5.7.1"));
  g_fx->rt->rules.unauthorized = UnauthorizedAction::kUnsigned;
  s = Run(as_bob, "alice");
  assert_string_equal(s.disposition, "accept");
  assert_false(s.replaced);
  assert_true(Has(s.fields, "action=unsigned, reason=sender-not-authorized"));
  g_fx->rt->rules.unauthorized = UnauthorizedAction::kTempFail;
  g_fx->rt->rules.sign = SignMode::kIfPossible;
  s = Run(as_bob, "alice");
  assert_string_equal(s.disposition, "accept");
  assert_false(s.replaced);
}

void TestInternalHostsOnlyWhenAllowed(void**) {
  Seen s = Run(kPlain, "", kNow, "192.0.2.10");
  assert_string_equal(s.disposition, "tempfail");
  assert_true(ParseNetworks({"192.0.2.10/32"}, &g_fx->rt->signing_relays).ok());
  s = Run(kPlain, "", kNow, "192.0.2.10");
  assert_string_equal(s.verdict, "pass");
  // Not an internal host, no login: never signed, even when forced outbound.
  s = Run(kPlain, "", kNow, "198.51.100.7");
  assert_string_equal(s.disposition, "tempfail");
}

void TestInboundIsNeverSigned(void**) {
  assert_true(ParseNetworks({"198.51.100.0/24"}, &g_fx->rt->signing_relays).ok());
  Seen s = Run(kPlain, "", kNow, "198.51.100.7", "alice@a.example", Direction::kInbound);
  assert_string_equal(s.disposition, "accept");
  assert_false(s.replaced);
  assert_false(Has(s.fields, "action=signed"));
}

void TestDomainIdentity(void**) {
  const std::string msg = "From: sales@d.example\r\n\r\nhi\r\n";
  Seen s = Run(msg, "bob");
  assert_true(s.replaced);
  assert_true(Has(s.fields, "identity=@d.example"));
  // The certificate names postmaster@d.example, so receivers say policy.
  assert_string_equal(s.verdict, "policy");
}

void TestMissingExpiredRevokedIdentity(void**) {
  const std::string carol = "From: carol@a.example\r\n\r\nhi\r\n";
  std::ofstream(g_fx->dir + "/users", std::ios::app) << "carol carol@a.example\n";
  Status st = SigningUsers::Load(g_fx->dir + "/users", true, &g_fx->rt->signing_users);
  assert_true(st.ok());
  Seen s = Run(carol, "carol");
  assert_string_equal(s.disposition, "tempfail");
  assert_true(Has(s.reply, "451 4.7.0 No S/MIME signing identity for carol@a.example"));
  assert_true(Has(s.fields, "reason=no-identity"));
  g_fx->rt->rules.sign = SignMode::kIfPossible;
  s = Run(carol, "carol");
  assert_string_equal(s.disposition, "accept");
  assert_true(Has(s.fields, "action=unsigned, reason=no-identity"));
  g_fx->rt->rules.sign = SignMode::kClear;

  s = Run(kPlain, "alice", kNotAfter + 1);
  assert_string_equal(s.disposition, "tempfail");
  assert_true(Has(s.reply, "has expired"));
  assert_true(Has(s.fields, "reason=identity-expired"));
  s = Run(kPlain, "alice", kNotBefore - 1);
  assert_true(Has(s.fields, "reason=identity-not-yet-valid"));

  g_fx->rt->rules.revocation_mode = RevocationMode::kHard;
  g_fx->rt->revocation = std::make_unique<FakeRevocation>(RevocationStatus::kRevoked);
  s = Run(kPlain, "alice");
  assert_string_equal(s.disposition, "tempfail");
  assert_true(Has(s.fields, "reason=identity-revoked"));
  // Unknown status does not stop signing; the log says what was known.
  g_fx->rt->revocation = std::make_unique<FakeRevocation>(RevocationStatus::kUnavailable);
  s = Run(kPlain, "alice");
  assert_true(s.replaced);
}

void TestAlreadySignedOrEncryptedUntouched(void**) {
  const std::string sig =
      "From: alice@a.example\r\nContent-Type: multipart/signed; boundary=x\r\n\r\n--x--\r\n";
  Seen s = Run(sig, "alice");
  assert_false(s.replaced);
  assert_true(Has(s.fields, "action=none, reason=already-signed"));
  const std::string enc =
      "From: alice@a.example\r\nContent-Type: application/pkcs7-mime; "
      "smime-type=enveloped-data\r\n\r\nAAAA\r\n";
  s = Run(enc, "alice");
  assert_false(s.replaced);
  assert_true(Has(s.fields, "reason=already-encrypted"));
}

void TestBadFrom(void**) {
  const std::string two = "From: alice@a.example, bob@a.example\r\n\r\nhi\r\n";
  Seen s = Run(two, "alice");
  assert_string_equal(s.disposition, "reject");
  assert_true(Has(s.reply, "550 5.7.1"));
}

void TestPerDomainPolicyCannotBeSidesteppedWithTwoFroms(void**) {
  // Only a.example signs; the main configuration does not.
  g_fx->rt->rules.sign = SignMode::kNone;
  DomainRules a = g_fx->rt->rules;
  a.sign = SignMode::kClear;
  g_fx->rt->domain_rules["a.example"] = a;
  Seen s = Run("From: alice@a.example\r\nFrom: x@other.example\r\n\r\nhi\r\n", "alice");
  assert_string_equal(s.disposition, "reject");
  assert_true(Has(s.fields, "sign=clear, action=reject, reason=multiple-from-headers"));
  s = Run("From: x@other.example, alice@a.example\r\n\r\nhi\r\n", "alice");
  assert_string_equal(s.disposition, "reject");
  // Neither domain signs: passed on, as before.
  s = Run("From: x@other.example, y@other.example\r\n\r\nhi\r\n", "alice");
  assert_string_equal(s.disposition, "accept");
  assert_true(Has(s.fields, "action=none, reason=policy"));
}

void TestClaimedSignatureDoesNotBypassAuthorization(void**) {
  // mallory may not use alice's address; declaring the content signed must
  // not let the message through as "already signed".
  const std::string fake =
      "From: alice@a.example\r\nContent-Type: multipart/signed; boundary=x\r\n\r\n--x--\r\n";
  Seen s = Run(fake, "mallory");
  assert_string_equal(s.disposition, "tempfail");
  assert_true(Has(s.fields, "reason=sender-not-authorized"));
}

void TestLoginCannotForgeLogFields(void**) {
  Seen s = Run(kPlain, "evil, action=signed");
  assert_true(Has(s.fields, "login=\"evil\\x2c action\\x3dsigned\", why=forced, sign="));
  assert_false(Has(s.fields, "action=signed"));
  assert_string_equal(s.disposition, "tempfail");
}

void TestNoSignPolicy(void**) {
  g_fx->rt->rules.sign = SignMode::kNone;
  Seen s = Run(kPlain, "alice");
  assert_false(s.replaced);
  assert_true(Has(s.fields, "sign=none, action=none, reason=policy"));
}

// Domains in one form: a From: in U-labels or A-labels finds the identity
// and the signing_users entry whatever spelling they were written in, and
// our own verification matches it against the A-label rfc822Name.
void TestIdnSenderSignsAndVerifies(void**) {
  Seen s = Run("From: hans@bücher.example\r\nSubject: idn\r\n\r\nhallo\r\n", "hans");
  assert_string_equal(s.disposition, "accept");
  assert_true(s.replaced);
  assert_true(Has(s.fields, "identity=hans@xn--bcher-kva.example, action=signed"));
  assert_string_equal(s.verdict, "pass");
  s = Run("From: Hans <hans@XN--BCHER-KVA.example>\r\n\r\nhallo\r\n", "hans");
  assert_true(Has(s.fields, "identity=hans@xn--bcher-kva.example, action=signed"));
  assert_string_equal(s.verdict, "pass");
  // Another domain that only looks alike (Cyrillic u) is not authorised.
  s =
      Run("From: hans@b\xd1\x83"
          "cher.example\r\n\r\nhallo\r\n",
          "hans");
  assert_string_equal(s.disposition, "tempfail");
  assert_true(Has(s.fields, "reason=sender-not-authorized"));
}

// Written here as "local@domain cert key": the identity file keys each
// line on the A-label form, so the two spellings of one mailbox are one
// identity (a duplicate), and a domain that is not a domain name stops
// loading with file:line.
std::string LoadIdentities(const std::string& lines, IdentityStore* store) {
  const std::string path = g_fx->dir + "/identities";
  std::ofstream(path) << lines;
  std::vector<std::string> warnings;
  Status st = IdentityStore::Load(path, true, kNow, store, &warnings);
  unlink(path.c_str());
  return st.ok() ? "" : st.message();
}

void TestIdentityFileIdnForms(void**) {
  const std::string crt = g_fx->dir + "/hans.crt", key = g_fx->dir + "/hans.key";
  std::ofstream(crt) << ToPem(g_fx->hans.cert.get());
  {
    BioPtr bio(BIO_new(BIO_s_mem()));
    assert_int_equal(PEM_write_bio_PrivateKey(bio.get(), g_fx->hans.key.get(), nullptr, nullptr, 0,
                                              nullptr, nullptr),
                     1);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio.get(), &data);
    std::ofstream(key) << std::string(data, static_cast<size_t>(n));
  }
  chmod(key.c_str(), 0600);
  IdentityStore store;
  std::string err = LoadIdentities("Hans@BÜCHER.example. " + crt + " " + key + "\n", &store);
  assert_string_equal(err.c_str(), "");
  const Identity* id = store.Find("hans@xn--bcher-kva.example");
  assert_non_null(id);
  assert_string_equal(id->address.c_str(), "hans@xn--bcher-kva.example");
  assert_ptr_equal(store.Find("HANS@bücher.example"), id);
  assert_null(store.Find("hans@bucher.example"));
  err = LoadIdentities("hans@bücher.example " + crt + " " + key + "\nhans@xn--bcher-kva.example " +
                           crt + " " + key + "\n",
                       &store);
  assert_true(Has(err.c_str(), ":2: hans@xn--bcher-kva.example already defined at "));
  err = LoadIdentities("hans@b_cher.example " + crt + " " + key + "\n", &store);
  assert_true(Has(err.c_str(),
                  ":1: 'hans@b_cher.example': the domain is not a domain name (bad-character)"));
  // signing_users refuses the same way.
  const std::string users = g_fx->dir + "/users-bad";
  std::ofstream(users) << "hans @b_cher.example\n";
  SigningUsers su;
  Status st = SigningUsers::Load(users, true, &su);
  unlink(users.c_str());
  assert_false(st.ok());
  assert_true(Has(st.message().c_str(), "the domain is not a domain name (bad-character)"));
  unlink(crt.c_str());
  unlink(key.c_str());
}

void WriteKey(const std::string& path, EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  assert_int_equal(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr),
                   1);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  std::ofstream(path) << std::string(data, static_cast<size_t>(n));
  chmod(path.c_str(), 0600);
}

// encryption_cert=FILE: loaded when it names the address and allows
// encryption; refused otherwise with file:line; the identity then signs
// with the key preference naming it (cms/sign_test checks the attribute).
void TestIdentityEncryptionCert(void**) {
  const std::string d = g_fx->dir;
  CertSpec enc_spec = SmimeSpec("alice@a.example");
  enc_spec.key_usage = KU_KEY_ENCIPHERMENT;
  Issued enc = MakeLeaf(enc_spec, g_fx->inter);
  CertSpec other_spec = SmimeSpec("bob@a.example");
  other_spec.key_usage = KU_KEY_ENCIPHERMENT;
  Issued other = MakeLeaf(other_spec, g_fx->inter);
  std::ofstream(d + "/alice.crt") << ToPem(g_fx->alice.cert.get()) << ToPem(g_fx->inter.cert.get());
  WriteKey(d + "/alice.key", g_fx->alice.key.get());
  std::ofstream(d + "/enc.crt") << ToPem(enc.cert.get()) << ToPem(g_fx->inter.cert.get());
  std::ofstream(d + "/other.crt") << ToPem(other.cert.get());
  std::ofstream(d + "/signonly.crt") << ToPem(g_fx->alice.cert.get());
  const std::string line = "alice@a.example " + d + "/alice.crt " + d + "/alice.key ";
  IdentityStore store;
  std::string err = LoadIdentities(line + "encryption_cert=" + d + "/enc.crt\n", &store);
  assert_string_equal(err.c_str(), "");
  const Identity* id = store.Find("alice@a.example");
  assert_non_null(id);
  assert_non_null(id->encryption_cert.get());
  assert_int_equal(X509_cmp(id->encryption_cert.get(), enc.cert.get()), 0);
  assert_int_equal(id->chain.size(), 1);  // the shared intermediate once
  // Mail to alice herself can be encrypted to it: a recipient source.
  IdentityEncryptionCerts own(store);
  std::vector<CertCandidate> found;
  assert_true(own.Find("ALICE@A.example", Deadline(), &found).ok());
  assert_int_equal(found.size(), 1);
  assert_int_equal(X509_cmp(found[0].cert.get(), enc.cert.get()), 0);
  assert_string_equal(found[0].source.c_str(), "identity");
  assert_int_equal(static_cast<int>(found[0].trust), static_cast<int>(CertTrust::kAdmin));
  assert_int_equal(found[0].chain.size(), 1);
  found.clear();
  assert_true(own.Find("bob@a.example", Deadline(), &found).ok());
  assert_true(found.empty());
  // The recipient directory accepts it for alice (chain, usage, validity).
  RecipientDirectory dir;
  dir.AddSource(std::make_unique<IdentityEncryptionCerts>(store));
  ChoiceRules rules;
  rules.revocation = RevocationMode::kOff;
  RecipientChoice choice =
      dir.Choose("alice@a.example", rules, g_fx->rt->trust, nullptr, kNow, Deadline());
  assert_true(choice.found);
  assert_int_equal(X509_cmp(choice.chosen.cert.get(), enc.cert.get()), 0);
  err = LoadIdentities(line + "encryption_cert=" + d + "/other.crt\n", &store);
  assert_true(Has(err.c_str(), ":1: encryption certificate " + d +
                                   "/other.crt does not name alice@a.example (it names: "
                                   "bob@a.example)"));
  err = LoadIdentities(line + "encryption_cert=" + d + "/signonly.crt\n", &store);
  assert_true(Has(err.c_str(), "/signonly.crt is not fit for S/MIME encryption: "));
  err = LoadIdentities(line + "encryption_cert=" + d + "/missing.crt\n", &store);
  assert_true(Has(err.c_str(), "cannot read certificate file " + d + "/missing.crt"));
  err = LoadIdentities(line + "encryption_cert=\n", &store);
  assert_true(Has(err.c_str(), "option 'encryption_cert=' needs a value"));
  for (const char* f : {"/alice.crt", "/alice.key", "/enc.crt", "/other.crt", "/signonly.crt"})
    unlink((d + f).c_str());
}

void TestExpiryWarnings(void**) {
  const IdentityStore& ids = g_fx->rt->identities;
  assert_int_equal(ids.ExpiryWarnings(kNow, 30).size(), 0);
  std::vector<std::string> w = ids.ExpiryWarnings(kNotAfter - 10 * 86400, 30);
  assert_int_equal(w.size(), 4);
  assert_true(Has(w[0].c_str(), "expires at 2027-01-01T00:00:00Z, in 10 days"));
  w = ids.ExpiryWarnings(kNotAfter + 1, 30);
  assert_true(Has(w[0].c_str(), "expired at"));
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(TestClearSignedVerifies, Reset),
      cmocka_unit_test_setup(TestIdentityEncryptionCert, Reset),
      cmocka_unit_test_setup(TestEightBitIsReencoded, Reset),
      cmocka_unit_test_setup(TestOpaqueAndRecipientAsksOpaque, Reset),
      cmocka_unit_test_setup(TestLargeSignedBodyIsSpooled, Reset),
      cmocka_unit_test_setup(TestSpoolRefusalAfterSigningLogsOneAction, Reset),
      cmocka_unit_test_setup(TestKeyTypesAndPss, Reset),
      cmocka_unit_test_setup(TestUnauthorizedSender, Reset),
      cmocka_unit_test_setup(TestInternalHostsOnlyWhenAllowed, Reset),
      cmocka_unit_test_setup(TestInboundIsNeverSigned, Reset),
      cmocka_unit_test_setup(TestDomainIdentity, Reset),
      cmocka_unit_test_setup(TestMissingExpiredRevokedIdentity, Reset),
      cmocka_unit_test_setup(TestReencodedSaysWhatChanged, Reset),
      cmocka_unit_test_setup(TestAlreadySignedOrEncryptedUntouched, Reset),
      cmocka_unit_test_setup(TestBadFrom, Reset),
      cmocka_unit_test_setup(TestPerDomainPolicyCannotBeSidesteppedWithTwoFroms, Reset),
      cmocka_unit_test_setup(TestClaimedSignatureDoesNotBypassAuthorization, Reset),
      cmocka_unit_test_setup(TestLoginCannotForgeLogFields, Reset),
      cmocka_unit_test_setup(TestNoSignPolicy, Reset),
      cmocka_unit_test_setup(TestIdnSenderSignsAndVerifies, Reset),
      cmocka_unit_test_setup(TestIdentityFileIdnForms, Reset),
      cmocka_unit_test_setup(TestExpiryWarnings, Reset),
      cmocka_unit_test_setup(TestNotesAreJoined, Reset),
  };
  return cmocka_run_group_tests(tests, SetUp, TearDown);
}
