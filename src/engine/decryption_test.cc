// Unit tests for inbound decryption (engine/decryption, cms/decrypt,
// certdir/decryption_keys) through Process: envelopes made with OpenSSL's
// CMS (AES-CBC and AES-GCM; RSA PKCS#1 v1.5, RSA-OAEP, ECDH P-256) to our
// users decrypt and the inner signature is judged (sign-then-encrypt passes
// for its signer); CBC without a passing signature stays encrypted unless
// decrypt_unauthenticated = yes; a wrong key, a corrupted ciphertext, a bad
// GCM tag and an unsupported cipher leave the message untouched with a
// reason; the oracle rule (every recipient ours, with a matching key); an
// earlier certificate of a user still opens old mail; triple-wrapped mail
// (outer clear or opaque signature) decrypts with both signatures judged;
// never a sub-part,
// never outbound; RFC 9788 hp="cipher" payloads get their hidden protected
// fields back (never From:/Sender:, nothing when the payload header is
// ambiguous); the key file's load checks. Certificates are generated
// in-process (testing/test_pki), the clock pinned.
#include "engine/decryption.h"

#include <openssl/cms.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>

#include "base/testing.h"
#include "cms/decrypt.h"
#include "cms/encrypt.h"
#include "engine/processor.h"
#include "testing/runtime_fixture.h"
#include "testing/test_pki.h"

using namespace smime;
using namespace smime::testpki;

namespace {

CertSpec EncSpec(const std::string& address, KeyKind key = KeyKind::kRsa2048) {
  CertSpec s = SmimeSpec(address);
  s.key = key;
  const bool ec = key == KeyKind::kEcP256;
  s.key_usage = KU_DIGITAL_SIGNATURE | (ec ? KU_KEY_AGREEMENT : KU_KEY_ENCIPHERMENT);
  return s;
}

struct Fixture {
  Issued root, alice, alice_old, bob_ec, carol, sam, mallory;
  std::string dir;
  std::unique_ptr<Runtime> rt;
};
Fixture* g = nullptr;

Identity KeyOf(const std::string& address, const Issued& who, const char* origin) {
  Identity id;
  id.address = address;
  id.origin = origin;
  X509_up_ref(who.cert.get());
  id.cert.reset(who.cert.get());
  EVP_PKEY_up_ref(who.key.get());
  id.key.reset(who.key.get());
  return id;
}

int SetUp(void**) {
  g = new Fixture;
  g->root = MakeCa("Root");
  g->alice = MakeLeaf(EncSpec("alice@a.example"), g->root);
  g->alice_old = MakeLeaf(EncSpec("alice@a.example"), g->root);
  g->bob_ec = MakeLeaf(EncSpec("bob@a.example", KeyKind::kEcP256), g->root);
  g->carol = MakeLeaf(EncSpec("carol@a.example"), g->root);
  g->sam = MakeLeaf(SmimeSpec("sam@s.example"), g->root);
  g->mallory = MakeLeaf(EncSpec("mallory@x.example"), g->root);
  g->dir = MakeTestDir("decryption_test", g->root);
  if (g->dir.empty()) return -1;
  Status st = BuildTestRuntime(
      g->dir, "state_dir = " + g->dir + "\nrevocation = off\nharvest_certificates = no\n", &g->rt);
  return st.ok() ? 0 : -1;
}

int TearDown(void**) { return DeleteFixture(g); }

// a.example decrypts; carol has no key; alice has a current and an old one.
int Reset(void**) {
  Runtime& rt = *g->rt;
  rt.rules = DomainRules();
  rt.rules.revocation_mode = RevocationMode::kOff;
  rt.domain_rules.clear();
  DomainRules a = rt.rules;
  a.decrypt = true;
  rt.domain_rules["a.example"] = a;
  rt.any_decryption = true;
  rt.decryption_keys = DecryptionKeys();
  rt.decryption_keys.Add(KeyOf("alice@a.example", g->alice, "keys:1"));
  rt.decryption_keys.Add(KeyOf("alice@a.example", g->alice_old, "keys:2"));
  rt.decryption_keys.Add(KeyOf("bob@a.example", g->bob_ec, "keys:3"));
  return 0;
}

const char kInner[] =
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 7bit\r\n"
    "\r\n"
    "The secret text.\r\n";

// kInner clear-signed by sam (multipart/signed), or altered after signing.
std::string SignedInner(bool tamper = false) {
  SignOptions o;
  std::string part = kInner;
  const std::string sig = SignCms(part, g->sam, o);
  if (tamper) part[part.find("secret")] = 'S';
  return "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; "
         "micalg=sha-256; boundary=\"sig\"\r\n\r\n--sig\r\n" +
         part +
         "\r\n--sig\r\nContent-Type: application/pkcs7-signature; name=\"smime.p7s\"\r\n"
         "Content-Transfer-Encoding: base64\r\n\r\n" +
         Base64Lines(sig) + "\r\n--sig--\r\n";
}

std::string Envelope(const std::string& content, const std::vector<const Issued*>& to,
                     ContentCipher cipher, RsaKeyTransport rsa = RsaKeyTransport::kPkcs1) {
  EncryptParams p;
  p.cipher = cipher;
  for (const Issued* i : to) p.recipients.push_back({i->cert.get(), rsa});
  std::string der;
  Status st = EncryptContent(content, p, &der);
  if (!st.ok()) fail_msg("EncryptContent: %s", st.message().c_str());
  return der;
}

std::string Message(const std::string& der, bool gcm) {
  return std::string(
             "From: Sam <sam@s.example>\r\nTo: Alice <alice@a.example>\r\n"
             "Subject: secret\r\nMIME-Version: 1.0\r\n"
             "Content-Type: application/pkcs7-mime; smime-type=") +
         (gcm ? "authEnveloped-data" : "enveloped-data") +
         "; name=\"smime.p7m\"\r\nContent-Transfer-Encoding: base64\r\n"
         "Content-Disposition: attachment; filename=\"smime.p7m\"\r\n\r\n" +
         Base64Lines(der);
}

struct Got {
  char verdict[16] = "";
  bool replaced = false;
  bool secret_delivered = false;  // the plaintext is in what is delivered
  char content_type[200] = "";    // of the delivered message
  char ar[700] = "";
  char fields[700] = "";
  char note[300] = "";
};

Got Run(const std::string& raw, const std::vector<std::string>& rcpts,
        Direction dir = Direction::kInbound) {
  Transaction tx;
  ParseRawMessage(raw, &tx);
  tx.direction = dir;
  tx.message_size = raw.size();
  tx.rcpts = rcpts;
  if (dir == Direction::kOutbound) tx.client_addr = "127.0.0.1";
  FixedClock clock(kNow);
  Outcome o = Process(*g->rt, tx, clock);
  Got got;
  std::snprintf(got.verdict, sizeof got.verdict, "%s", AuthResultName(o.verdict));
  got.replaced = o.replace_body;
  Transaction out = tx;
  ApplyEdits(o, &out);
  const std::string wire = WireMessage(out);
  got.secret_delivered = wire.find("The secret text.") != std::string::npos;
  for (const Header& h : out.headers)
    if (strcasecmp(h.name.c_str(), "Content-Type") == 0)
      std::snprintf(got.content_type, sizeof got.content_type, "%s", h.value.c_str());
  for (const HeaderEdit& e : o.edits)
    if (e.name == "Authentication-Results" && e.kind == HeaderEdit::Kind::kInsert)
      std::snprintf(got.ar, sizeof got.ar, "%s", e.value.c_str());
  std::snprintf(got.fields, sizeof got.fields, "%s", o.fields.c_str());
  std::snprintf(got.note, sizeof got.note, "%s", o.note.c_str());
  return got;
}

void TestGcmDecryptsAndInnerSignaturePasses(void**) {
  // Sign-then-encrypt, AES-256-GCM, RSA PKCS#1 v1.5.
  const std::string der = Envelope(SignedInner(), {&g->alice}, ContentCipher::kAes256Gcm);
  Got r = Run(Message(der, true), {"alice@a.example"});
  assert_string_equal(r.verdict, "pass");
  assert_true(r.replaced);
  assert_true(r.secret_delivered);
  assert_non_null(strstr(r.content_type, "multipart/signed"));
  assert_non_null(strstr(r.ar, "smime=pass (decrypted)"));
  assert_non_null(strstr(r.ar, "sam@s.example"));
  assert_non_null(strstr(r.fields, "decrypted=aes-256-gcm"));
  assert_non_null(strstr(r.fields, "key="));
  assert_non_null(strstr(r.fields, "keys:1, "));
}

void TestUnsignedGcmDecrypts(void**) {
  // AuthEnvelopedData protects integrity: delivered without a signature.
  const std::string der = Envelope(kInner, {&g->alice}, ContentCipher::kAes128Gcm);
  Got r = Run(Message(der, true), {"alice@a.example"});
  assert_string_equal(r.verdict, "none");
  assert_true(r.secret_delivered);
  assert_non_null(strstr(r.content_type, "text/plain; charset=utf-8"));
  assert_non_null(strstr(r.ar, "smime=none (decrypted)"));
  // A bare CR in an inner header value does not reach the outer header.
  const std::string crafted =
      "Content-Type: text/plain; charset=us-ascii\rBcc: evil@x.example\r\n\r\n"
      "The secret text.\r\n";
  r = Run(Message(Envelope(crafted, {&g->alice}, ContentCipher::kAes256Gcm), true),
          {"alice@a.example"});
  assert_true(r.secret_delivered);
  assert_null(strchr(r.content_type, '\r'));
  assert_non_null(strstr(r.content_type, "us-ascii Bcc: evil@x.example"));
}

void TestCbcNeedsPassingSignature(void**) {
  // Signed inside: decrypted, pass.
  std::string der = Envelope(SignedInner(), {&g->alice}, ContentCipher::kAes256Cbc);
  Got r = Run(Message(der, false), {"alice@a.example"});
  assert_string_equal(r.verdict, "pass");
  assert_true(r.secret_delivered);
  assert_non_null(strstr(r.fields, "decrypted=aes-256-cbc"));
  // Unsigned CBC: kept encrypted (EFAIL gadgets), with the reason.
  der = Envelope(kInner, {&g->alice}, ContentCipher::kAes128Cbc);
  r = Run(Message(der, false), {"alice@a.example"});
  assert_false(r.replaced);
  assert_false(r.secret_delivered);
  assert_non_null(strstr(r.ar, "smime=none (not decrypted: unauthenticated-cbc)"));
  assert_non_null(strstr(r.fields, "decrypted=no, decrypt_why=unauthenticated-cbc"));
  // A signature that fails inside: kept too.
  der = Envelope(SignedInner(true), {&g->alice}, ContentCipher::kAes256Cbc);
  r = Run(Message(der, false), {"alice@a.example"});
  assert_false(r.replaced);
  assert_false(r.secret_delivered);
  assert_non_null(strstr(r.fields, "unauthenticated-cbc"));
  assert_non_null(strstr(r.note, "inner signature not pass"));
  // decrypt_unauthenticated = yes for the recipient's domain: delivered.
  g->rt->domain_rules["a.example"].decrypt_unauthenticated = true;
  der = Envelope(kInner, {&g->alice}, ContentCipher::kAes128Cbc);
  r = Run(Message(der, false), {"alice@a.example"});
  assert_true(r.secret_delivered);
  assert_non_null(strstr(r.ar, "(decrypted)"));
}

void TestKeyManagementVariants(void**) {
  g->rt->domain_rules["a.example"].decrypt_unauthenticated = true;
  // RSA-OAEP key transport.
  std::string der =
      Envelope(kInner, {&g->alice}, ContentCipher::kAes256Cbc, RsaKeyTransport::kOaep);
  Got r = Run(Message(der, false), {"alice@a.example"});
  assert_true(r.secret_delivered);
  // ECDH P-256 key agreement, GCM and CBC.
  der = Envelope(kInner, {&g->bob_ec}, ContentCipher::kAes256Gcm);
  r = Run(Message(der, true), {"bob@a.example"});
  assert_true(r.secret_delivered);
  assert_non_null(strstr(r.fields, "keys:3, "));
  der = Envelope(kInner, {&g->bob_ec}, ContentCipher::kAes128Cbc);
  r = Run(Message(der, false), {"bob@a.example"});
  assert_true(r.secret_delivered);
  // Mail to alice's earlier certificate: her second line opens it.
  der = Envelope(kInner, {&g->alice_old}, ContentCipher::kAes256Gcm);
  r = Run(Message(der, true), {"alice@a.example"});
  assert_true(r.secret_delivered);
  assert_non_null(strstr(r.fields, "keys:2, "));
  // Both recipients ours, each with a key: decrypted once for both.
  der = Envelope(kInner, {&g->alice, &g->bob_ec}, ContentCipher::kAes256Gcm);
  r = Run(Message(der, true), {"alice@a.example", "bob@a.example"});
  assert_true(r.secret_delivered);
}

void TestOracleRule(void**) {
  // Encrypted to alice and mallory (someone else's key), sent to alice and
  // carol (ours, without a key): carol must not read alice's mail.
  std::string der = Envelope(kInner, {&g->alice}, ContentCipher::kAes256Gcm);
  Got r = Run(Message(der, true), {"alice@a.example", "carol@a.example"});
  assert_false(r.replaced);
  assert_false(r.secret_delivered);
  assert_non_null(strstr(r.fields, "decrypted=no, decrypt_why=recipient-without-matching-key"));
  assert_non_null(strstr(r.note, "carol@a.example"));
  // A recipient outside our decrypting domains: kept too.
  r = Run(Message(der, true), {"alice@a.example", "mallory@x.example"});
  assert_false(r.secret_delivered);
  assert_non_null(strstr(r.fields, "recipient-domain-does-not-decrypt"));
  // Bob has a key, but the message is not encrypted to it.
  r = Run(Message(der, true), {"alice@a.example", "bob@a.example"});
  assert_false(r.secret_delivered);
  assert_non_null(strstr(r.fields, "recipient-without-matching-key"));
  // A recipient domain that requires encryption keeps it encrypted.
  bool kept = false;
  {
    g->rt->domain_rules["a.example"].encrypt = EncryptMode::kRequired;
    Transaction tx;
    const std::string raw = Message(der, true);
    ParseRawMessage(raw, &tx);
    tx.message_size = raw.size();
    tx.rcpts = {"alice@a.example"};
    const DecryptionAttempt a = TryDecrypt(*g->rt, tx);
    g->rt->domain_rules["a.example"].encrypt = EncryptMode::kNever;
    kept =
        a.state == DecryptionAttempt::State::kKept && a.reason == "recipient-requires-encryption";
  }
  assert_true(kept);
  // Only to a domain that does not decrypt: nothing changes at all.
  r = Run(Message(der, true), {"mallory@x.example"});
  assert_false(r.replaced);
  assert_null(strstr(r.fields, "decrypted="));
  assert_non_null(strstr(r.ar, "smime=none reason=encrypted-auth-enveloped-data"));
}

void TestFailuresLeaveMessageUntouched(void**) {
  // Encrypted to mallory only: alice's keys do not match.
  std::string der = Envelope(kInner, {&g->mallory}, ContentCipher::kAes256Gcm);
  Got r = Run(Message(der, true), {"alice@a.example"});
  assert_false(r.replaced);
  assert_non_null(strstr(r.fields, "recipient-without-matching-key"));
  // Bad GCM tag (the last byte of the DER is the tag's).
  der = Envelope(kInner, {&g->alice}, ContentCipher::kAes256Gcm);
  der.back() = static_cast<char>(der.back() ^ 0x01);
  r = Run(Message(der, true), {"alice@a.example"});
  assert_false(r.replaced);
  assert_false(r.secret_delivered);
  assert_non_null(strstr(r.ar, "not decrypted: decryption-failed"));
  // GCM ciphertext altered (the byte before the 18-byte mac OCTET STRING).
  der = Envelope(kInner, {&g->alice}, ContentCipher::kAes256Gcm);
  der[der.size() - 19] = static_cast<char>(der[der.size() - 19] ^ 0x01);
  r = Run(Message(der, true), {"alice@a.example"});
  assert_false(r.replaced);
  assert_non_null(strstr(r.fields, "decryption-failed"));
  // Above max_message_size: not read, kept with the reason.
  der = Envelope(kInner, {&g->alice}, ContentCipher::kAes256Gcm);
  const size_t limit = g->rt->max_message_size;
  g->rt->max_message_size = 200;
  r = Run(Message(der, true), {"alice@a.example"});
  g->rt->max_message_size = limit;
  assert_false(r.replaced);
  assert_non_null(strstr(r.fields, "decrypted=no, decrypt_why=message-too-large"));
  // CBC ciphertext corrupted so the padding breaks (the penultimate block's
  // last byte flips the last plaintext byte above 16).
  g->rt->domain_rules["a.example"].decrypt_unauthenticated = true;
  der = Envelope(kInner, {&g->alice}, ContentCipher::kAes128Cbc);
  der[der.size() - 17] = static_cast<char>(der[der.size() - 17] ^ 0x80);
  r = Run(Message(der, false), {"alice@a.example"});
  assert_false(r.replaced);
  assert_false(r.secret_delivered);
  assert_non_null(strstr(r.fields, "decryption-failed"));
}

void TestUnsupportedCipher(void**) {
  // Camellia-128-CBC, made with OpenSSL directly: not a cipher we accept.
  X509StackPtr to = Stack({g->alice.cert.get()});
  BioPtr in(BIO_new_mem_buf(kInner, static_cast<int>(strlen(kInner))));
  CmsPtr cms(CMS_encrypt(to.get(), in.get(), EVP_camellia_128_cbc(), CMS_BINARY));
  assert_non_null(cms.get());
  unsigned char* p = nullptr;
  const int n = i2d_CMS_ContentInfo(cms.get(), &p);
  assert_true(n > 0);
  const std::string der(reinterpret_cast<char*>(p), static_cast<size_t>(n));
  OPENSSL_free(p);
  g->rt->domain_rules["a.example"].decrypt_unauthenticated = true;
  Got r = Run(Message(der, false), {"alice@a.example"});
  assert_false(r.replaced);
  assert_non_null(strstr(r.fields, "unsupported-content-cipher"));
}

void TestNeverSubPartOrOutbound(void**) {
  const std::string der = Envelope(kInner, {&g->alice}, ContentCipher::kAes256Gcm);
  // The envelope as the second part of a multipart/mixed next to attacker text.
  std::string raw =
      "From: Sam <sam@s.example>\r\nTo: alice@a.example\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/html\r\n\r\n"
      "<img src=\"http://evil.example/\r\n--b\r\nContent-Type: application/pkcs7-mime; "
      "smime-type=authEnveloped-data\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
      Base64Lines(der) + "--b--\r\n";
  Got r = Run(raw, {"alice@a.example"});
  assert_false(r.replaced);
  assert_false(r.secret_delivered);
  // Clear text after the envelope in the same body: not one envelope.
  r = Run(Message(der, true) + "attacker text\r\n", {"alice@a.example"});
  assert_false(r.replaced);
  assert_false(r.secret_delivered);
  // Outbound mail is never decrypted.
  r = Run(Message(der, true), {"alice@a.example"}, Direction::kOutbound);
  assert_false(r.secret_delivered);
}

// The envelope as a MIME entity (what a triple-wrapped outer signature covers).
std::string EnvelopeEntity(const std::string& der, bool gcm) {
  return std::string("Content-Type: application/pkcs7-mime; smime-type=") +
         (gcm ? "authEnveloped-data" : "enveloped-data") +
         "; name=\"smime.p7m\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + Base64Lines(der);
}

std::string OuterHeaders() {
  return "From: Sam <sam@s.example>\r\nTo: Alice <alice@a.example>\r\nSubject: secret\r\n"
         "MIME-Version: 1.0\r\n";
}

std::string ClearSigned(const std::string& entity) {
  const std::string sig = SignCms(entity, g->sam, SignOptions());
  return OuterHeaders() +
         "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; "
         "micalg=sha-256; boundary=\"outer\"\r\n\r\n--outer\r\n" +
         entity +
         "\r\n--outer\r\nContent-Type: application/pkcs7-signature; name=\"smime.p7s\"\r\n"
         "Content-Transfer-Encoding: base64\r\n\r\n" +
         Base64Lines(sig) + "\r\n--outer--\r\n";
}

void TestTripleWrapped(void**) {
  // RFC 2634: signed, encrypted (CBC), signed again; outer clear-signed.
  const std::string der = Envelope(SignedInner(), {&g->alice}, ContentCipher::kAes256Cbc);
  Got r = Run(ClearSigned(EnvelopeEntity(der, false)), {"alice@a.example"});
  assert_string_equal(r.verdict, "pass");
  assert_true(r.secret_delivered);
  assert_non_null(strstr(r.content_type, "multipart/signed"));
  assert_non_null(strstr(r.fields, "decrypted=aes-256-cbc, wrapped=triple"));
  // Two clauses: the outer and the inner signature, both pass.
  const char* first = strstr(r.ar, "smime=pass");
  assert_non_null(first);
  assert_non_null(strstr(first + 1, "smime=pass"));
  assert_non_null(strstr(r.ar, "(decrypted)"));
  // Outer opaque SignedData around the envelope (GCM).
  const std::string gcm = Envelope(SignedInner(), {&g->alice}, ContentCipher::kAes256Gcm);
  SignOptions opaque;
  opaque.detached = false;
  const std::string outer = SignCms(EnvelopeEntity(gcm, true), g->sam, opaque);
  r = Run(OuterHeaders() +
              "Content-Type: application/pkcs7-mime; smime-type=signed-data; "
              "name=\"smime.p7m\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
              Base64Lines(outer),
          {"alice@a.example"});
  assert_string_equal(r.verdict, "pass");
  assert_true(r.secret_delivered);
  assert_non_null(strstr(r.fields, "wrapped=triple"));
  // The oracle rule holds inside too.
  r = Run(ClearSigned(EnvelopeEntity(der, false)), {"alice@a.example", "carol@a.example"});
  assert_false(r.secret_delivered);
  assert_non_null(strstr(r.fields, "recipient-without-matching-key"));
  // An inner signature that fails keeps CBC encrypted although the outer passes.
  const std::string bad = Envelope(SignedInner(true), {&g->alice}, ContentCipher::kAes256Cbc);
  r = Run(ClearSigned(EnvelopeEntity(bad, false)), {"alice@a.example"});
  assert_false(r.secret_delivered);
  assert_false(r.replaced);
  assert_non_null(strstr(r.fields, "unauthenticated-cbc"));
  // The envelope next to another part under the signature: a sub-part, kept.
  const std::string mixed =
      "Content-Type: multipart/mixed; boundary=\"m\"\r\n\r\n--m\r\nContent-Type: "
      "text/html\r\n\r\n<img src=\"http://evil.example/\r\n--m\r\n" +
      EnvelopeEntity(Envelope(kInner, {&g->alice}, ContentCipher::kAes256Gcm), true) + "--m--\r\n";
  r = Run(ClearSigned(mixed), {"alice@a.example"});
  assert_false(r.replaced);
  assert_false(r.secret_delivered);
}

// RFC 9788 header protection restore (docs/decryption.md).
const char kHpOuter[] =
    "Received: from mx.s.example by mx.example.net\r\n"
    "From: Sam <sam@s.example>\r\nTo: Alice <alice@a.example>\r\n"
    "Subject: [...]\r\nDate: Mon, 7 Dec 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n";

// An hp="cipher" payload as our outbound builds it (hcp_baseline: Subject
// obscured, Keywords removed), with extra lines before the HP-Outer ones.
std::string HpPayload(const std::string& extra, const std::string& subject = "figures for Q4") {
  return "Content-Type: text/plain; charset=utf-8; hp=\"cipher\"\r\n"
         "Content-Transfer-Encoding: 7bit\r\n"
         "From: Sam <sam@s.example>\r\nTo: Alice <alice@a.example>\r\n"
         "Subject: " +
         subject + "\r\nKeywords: finance\r\nDate: Mon, 7 Dec 2026 10:00:00 +0000\r\n" + extra +
         "HP-Outer: From: Sam <sam@s.example>\r\nHP-Outer: To: Alice <alice@a.example>\r\n"
         "HP-Outer: Subject: [...]\r\nHP-Outer: Date: Mon, 7 Dec 2026 10:00:00 +0000\r\n"
         "\r\nThe secret text.\r\n";
}

struct HpGot {
  Outcome o;
  Transaction out;  // tx with the edits applied
};

HpGot RunHp(const std::string& entity, ContentCipher cipher = ContentCipher::kAes256Gcm) {
  const std::string der = Envelope(entity, {&g->alice}, cipher);
  const bool gcm = cipher == ContentCipher::kAes256Gcm;
  const std::string raw =
      std::string(kHpOuter) + "Content-Type: application/pkcs7-mime; smime-type=" +
      (gcm ? "authEnveloped-data" : "enveloped-data") +
      "; name=\"smime.p7m\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + Base64Lines(der);
  Transaction tx;
  ParseRawMessage(raw, &tx);
  tx.direction = Direction::kInbound;
  tx.message_size = raw.size();
  tx.rcpts = {"alice@a.example"};
  FixedClock clock(kNow);
  HpGot got;
  got.o = Process(*g->rt, tx, clock);
  got.out = tx;
  ApplyEdits(got.o, &got.out);
  return got;
}

std::string Values(const Transaction& tx, const char* name) {
  std::string out;
  for (const std::string& v : HeaderValues(tx, name)) out += "[" + v + "]";
  return out;
}

bool Edited(const Outcome& o, const char* name) {
  for (const HeaderEdit& e : o.edits)
    if (strcasecmp(e.name.c_str(), name) == 0) return true;
  return false;
}

void TestHpCipherRestored(void**) {
  HpGot r = RunHp(HpPayload(""));
  assert_true(r.o.replace_body);
  // The real Subject replaces the placeholder; Keywords, removed outside, is back.
  assert_string_equal(Values(r.out, "Subject").c_str(), "[ figures for Q4]");
  assert_string_equal(Values(r.out, "Keywords").c_str(), "[ finance]");
  // Fields whose HP-Outer record equals the protected value are not touched.
  assert_false(Edited(r.o, "To"));
  assert_false(Edited(r.o, "Date"));
  assert_false(Edited(r.o, "From"));
  assert_string_equal(Values(r.out, "From").c_str(), "[ Sam <sam@s.example>]");
  // Our Authentication-Results stays the first header, the trace field next.
  assert_string_equal(r.out.headers[0].name.c_str(), "Authentication-Results");
  assert_non_null(strstr(r.out.headers[0].value.c_str(), "smime=none (decrypted)"));
  assert_string_equal(r.out.headers[1].name.c_str(), "Received");
  assert_non_null(strstr(r.o.fields.c_str(), "hp_restored=Subject+Keywords"));
  // HP-Outer lines are no outer header.
  assert_string_equal(Values(r.out, "HP-Outer").c_str(), "");
  // Without hp: nothing restored, no log field; inner non-Content fields dropped.
  std::string plain = HpPayload("");
  plain.replace(plain.find("; hp=\"cipher\""), 13, "");
  r = RunHp(plain);
  assert_string_equal(Values(r.out, "Subject").c_str(), "[ [...]]");
  assert_null(strstr(r.o.fields.c_str(), "hp_restored"));
  // hp="clear" (signed-only mode) restores nothing either.
  std::string clear = HpPayload("");
  clear.replace(clear.find("cipher"), 6, "clear");
  r = RunHp(clear);
  assert_string_equal(Values(r.out, "Subject").c_str(), "[ [...]]");
  // A long protected Subject comes back folded before blanks, no bare CR.
  std::string longer;
  for (int i = 0; i < 30; ++i) longer += "word" + std::to_string(i) + " ";
  r = RunHp(HpPayload("", longer + "end"));
  const std::string v = Values(r.out, "Subject");
  assert_non_null(strstr(v.c_str(), "\n "));
  // Every line break is a fold (CRLF and a blank), each line within 78.
  for (size_t at = 0, nl; at < v.size(); at = nl + 1) {
    nl = v.find('\n', at);
    if (nl == std::string::npos) nl = v.size();
    const size_t cr = v.find('\r', at);
    if (cr != std::string::npos && cr < nl) assert_int_equal(cr + 1, nl);
    if (nl < v.size()) assert_true(v[nl + 1] == ' ');
    assert_true(nl - at <= 79);
  }
  assert_non_null(strstr(v.c_str(), "word29 end]"));
  // A value that cannot be folded within 998 octets is not restored.
  r = RunHp(HpPayload("", std::string(1200, 'x')));
  assert_string_equal(Values(r.out, "Subject").c_str(), "[ [...]]");
  assert_non_null(
      strstr(r.o.fields.c_str(), "hp_restored=Keywords, hp_restored_why=not-restored:Subject"));
  // Unsigned CBC stays encrypted: nothing of the payload reaches the header.
  r = RunHp(HpPayload(""), ContentCipher::kAes256Cbc);
  assert_false(r.o.replace_body);
  assert_string_equal(Values(r.out, "Subject").c_str(), "[ [...]]");
  assert_string_equal(Values(r.out, "Keywords").c_str(), "");
  assert_null(strstr(r.o.fields.c_str(), "hp_restored"));
}

void TestHpSignedInsideRestored(void**) {
  // Sign-then-encrypt: hp="cipher" sits on the signed entity (the
  // Cryptographic Payload); the signature passes and the Subject comes back.
  const std::string part = HpPayload("");
  const std::string sig = SignCms(part, g->sam, SignOptions());
  const std::string entity =
      "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; "
      "micalg=sha-256; boundary=\"sig\"\r\n\r\n--sig\r\n" +
      part +
      "\r\n--sig\r\nContent-Type: application/pkcs7-signature; name=\"smime.p7s\"\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\n" +
      Base64Lines(sig) + "\r\n--sig--\r\n";
  HpGot r = RunHp(entity);
  assert_int_equal(static_cast<int>(r.o.verdict), static_cast<int>(AuthResult::kPass));
  assert_string_equal(Values(r.out, "Subject").c_str(), "[ figures for Q4]");
  assert_non_null(strstr(r.o.fields.c_str(), "hp=cipher"));
  assert_non_null(strstr(r.o.fields.c_str(), "hp_restored=Subject+Keywords"));
  // The body delivered is still the signed entity (the signature stays valid).
  assert_non_null(strstr(Values(r.out, "Content-Type").c_str(), "multipart/signed"));
}

void TestHpNeverFromOrForeignFields(void**) {
  // An attacker (anyone can encrypt to alice) puts another From:, a Sender:,
  // a forged verdict, a Bcc and a Received inside, none recorded in HP-Outer.
  HpGot r = RunHp(
      HpPayload("From: Boss <boss@a.example>\r\nSender: boss@a.example\r\n"
                "Authentication-Results: mx.example.net; smime=pass\r\nBcc: evil@x.example\r\n"
                "Received: from evil\r\nReply-To: evil@x.example\r\n"));
  assert_string_equal(Values(r.out, "From").c_str(), "[ Sam <sam@s.example>]");
  assert_string_equal(Values(r.out, "Sender").c_str(), "");
  assert_false(Edited(r.o, "From"));
  assert_false(Edited(r.o, "Sender"));
  assert_string_equal(Values(r.out, "Bcc").c_str(), "");
  // One Received (the outer one), one Authentication-Results (ours).
  assert_string_equal(Values(r.out, "Received").c_str(), "[ from mx.s.example by mx.example.net]");
  const std::string ar = Values(r.out, "Authentication-Results");
  assert_non_null(strstr(ar.c_str(), "smime=none (decrypted)"));
  assert_null(strstr(ar.c_str(), "]["));
  // Reply-To is a protected field the sender "removed": it comes back (the
  // sender of the envelope could have written it outside as well).
  assert_string_equal(Values(r.out, "Reply-To").c_str(), "[ evil@x.example]");
  // Two protected Subjects have no single display: neither is restored.
  r = RunHp(HpPayload("Subject: other\r\n"));
  assert_string_equal(Values(r.out, "Subject").c_str(), "[ [...]]");
  assert_non_null(strstr(r.o.fields.c_str(), "hp_restored_why=not-restored:Subject"));
  assert_string_equal(Values(r.out, "Keywords").c_str(), "[ finance]");
}

void TestHpAmbiguousNotRestored(void**) {
  // A bare CR hides a From: from a strict reader: the block has no single
  // reading, so nothing comes back and the log says why.
  HpGot r = RunHp(HpPayload("Comments: x\rFrom: boss@a.example\r\n"));
  assert_true(r.o.replace_body);
  assert_string_equal(Values(r.out, "Subject").c_str(), "[ [...]]");
  assert_string_equal(Values(r.out, "Keywords").c_str(), "");
  // One token, never free text with a space (docs/logging.md).
  assert_non_null(strstr(r.o.fields.c_str(),
                         "hp_restored=no, hp_restored_why=protected-headers-ambiguous:"
                         "header-bare-line-break-or-nul,"));
  // hp in RFC 2231 form reads differently from reader to reader: ambiguous too.
  std::string encoded = HpPayload("");
  encoded.replace(encoded.find("hp=\"cipher\""), 11, "hp*=''cipher");
  r = RunHp(encoded);
  assert_string_equal(Values(r.out, "Subject").c_str(), "[ [...]]");
  assert_non_null(strstr(r.o.fields.c_str(), "hp_restored=no"));
}

void TestKeyFileLoadChecks(void**) {
  const std::string dir = g->dir;
  std::ofstream(dir + "/alice.crt") << ToPem(g->alice.cert.get());
  {
    BioPtr b(BIO_new_file((dir + "/alice.key").c_str(), "w"));
    PEM_write_bio_PrivateKey(b.get(), g->alice.key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  }
  chmod((dir + "/alice.key").c_str(), 0600);
  // A signing-only certificate (no keyEncipherment) is refused.
  Issued sign_only = MakeLeaf(SmimeSpec("alice@a.example"), g->root);
  std::ofstream(dir + "/sign.crt") << ToPem(sign_only.cert.get());
  {
    BioPtr b(BIO_new_file((dir + "/sign.key").c_str(), "w"));
    PEM_write_bio_PrivateKey(b.get(), sign_only.key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  }
  chmod((dir + "/sign.key").c_str(), 0600);
  const std::string keys = dir + "/keys";
  DecryptionKeys k;
  std::ofstream(keys) << "alice@a.example " << dir << "/alice.crt " << dir << "/alice.key\n"
                      << "@a.example " << dir << "/alice.crt " << dir << "/alice.key\n";
  Status st = DecryptionKeys::Load(keys, true, &k);
  assert_true(st.ok());
  assert_int_equal(k.size(), 2);
  assert_int_equal(k.For("Alice@A.example").size(), 2);  // own line, then the domain's
  assert_int_equal(k.For("zed@a.example").size(), 1);
  // The same certificate twice for one address.
  std::ofstream(keys) << "alice@a.example " << dir << "/alice.crt " << dir << "/alice.key\n"
                      << "alice@a.example " << dir << "/alice.crt " << dir << "/alice.key\n";
  st = DecryptionKeys::Load(keys, true, &k);
  assert_false(st.ok());
  assert_non_null(strstr(st.message().c_str(), "keys:2: this certificate is already listed"));
  // A certificate for another address.
  std::ofstream(keys) << "bob@a.example " << dir << "/alice.crt " << dir << "/alice.key\n";
  st = DecryptionKeys::Load(keys, true, &k);
  assert_false(st.ok());
  assert_non_null(strstr(st.message().c_str(), "does not name bob@a.example"));
  // Unfit for encryption.
  std::ofstream(keys) << "alice@a.example " << dir << "/sign.crt " << dir << "/sign.key\n";
  st = DecryptionKeys::Load(keys, true, &k);
  assert_false(st.ok());
  assert_non_null(strstr(st.message().c_str(), "not fit for S/MIME encryption"));
  // A key readable by others (the identities file's rule).
  chmod((dir + "/alice.key").c_str(), 0644);
  std::ofstream(keys) << "alice@a.example " << dir << "/alice.crt " << dir << "/alice.key\n";
  st = DecryptionKeys::Load(keys, true, &k);
  assert_false(st.ok());
  assert_non_null(strstr(st.message().c_str(), "keys:1:"));
  // A key that does not belong to the certificate.
  chmod((dir + "/alice.key").c_str(), 0600);
  std::ofstream(keys) << "alice@a.example " << dir << "/alice.crt " << dir << "/sign.key\n";
  st = DecryptionKeys::Load(keys, true, &k);
  assert_false(st.ok());
  assert_non_null(strstr(st.message().c_str(), "does not belong to the certificate"));
  // Missing file: an error only when the parameter was set.
  assert_true(DecryptionKeys::Load(dir + "/none", false, &k).ok());
  assert_false(DecryptionKeys::Load(dir + "/none", true, &k).ok());
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(TestGcmDecryptsAndInnerSignaturePasses, Reset),
      cmocka_unit_test_setup(TestUnsignedGcmDecrypts, Reset),
      cmocka_unit_test_setup(TestCbcNeedsPassingSignature, Reset),
      cmocka_unit_test_setup(TestKeyManagementVariants, Reset),
      cmocka_unit_test_setup(TestOracleRule, Reset),
      cmocka_unit_test_setup(TestFailuresLeaveMessageUntouched, Reset),
      cmocka_unit_test_setup(TestUnsupportedCipher, Reset),
      cmocka_unit_test_setup(TestNeverSubPartOrOutbound, Reset),
      cmocka_unit_test_setup(TestTripleWrapped, Reset),
      cmocka_unit_test_setup(TestKeyFileLoadChecks, Reset),
      cmocka_unit_test_setup(TestHpCipherRestored, Reset),
      cmocka_unit_test_setup(TestHpSignedInsideRestored, Reset),
      cmocka_unit_test_setup(TestHpNeverFromOrForeignFields, Reset),
      cmocka_unit_test_setup(TestHpAmbiguousNotRestored, Reset),
  };
  return cmocka_run_group_tests(tests, SetUp, TearDown);
}
