// Unit tests for engine/encryption and the encryption half of
// engine/outbound: RCPT-time decisions (refusal, 452 for mixed treatment),
// certificate choice (expired, untrusted, unfit, weak algorithms along the
// path, strongest then newest wins, trust level), the algorithm rule, that
// the enveloped result decrypts with the recipient's key to the signed
// original, that encryption applies in every direction (pickup, relays from
// outside), that "already encrypted" means exactly one envelope, and that
// every RCPT spelling (comments, whitespace, U-label and A-label domains)
// ends encrypted or refused, and that one deadline per step (rcpt_deadline,
// eom_deadline) bounds the chain of slow LDAP and OCSP/CRL waits with 451
// for a required recipient. Certificates come from an in-memory source (or
// LdapSource over a fake search); the clock is pinned, and slow fakes move
// a ManualClock instead of waiting.
#include "engine/encryption.h"

#include <dirent.h>
#include <stdlib.h>
#include <strings.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "base/testing.h"
#include "certdir/cert_store.h"
#include "certdir/ldap_source.h"
#include "cms/encrypt.h"
#include "engine/processor.h"
#include "mime/smime_locator.h"
#include "testing/runtime_fixture.h"
#include "testing/test_pki.h"

using namespace smime;
using namespace smime::testpki;

namespace {

// Says "revoked" for one serial, "good" for the rest.
class RevokeOne final : public RevocationChecker {
 public:
  explicit RevokeOne(X509* revoked) : revoked_(revoked) {}
  ChainRevocation Check(STACK_OF(X509) * chain, STACK_OF(X509_CRL) *, std::time_t,
                        const Deadline&) override {
    ChainRevocation r;
    r.overall.status = X509_cmp(sk_X509_value(chain, 0), revoked_) == 0 ? RevocationStatus::kRevoked
                                                                        : RevocationStatus::kGood;
    return r;
  }

 private:
  X509* revoked_;
};

// A source that answers from a fixed list, or fails when told to.
class FakeSource final : public CertSource {
 public:
  struct Entry {
    std::string address;
    X509* cert;
    CertTrust trust;
    std::vector<int> caps;
  };
  const char* Name() const override { return "fake"; }
  Status Find(const std::string& address, const Deadline&,
              std::vector<CertCandidate>* out) const override {
    if (down) return Status::Io("timeout");
    for (const Entry& e : entries) {
      if (strcasecmp(e.address.c_str(), address.c_str()) != 0) continue;  // as sources must
      CertCandidate c;
      X509_up_ref(e.cert);
      c.cert.reset(e.cert);
      c.trust = e.trust;
      c.source = "fake";
      c.capabilities = e.caps;
      for (X509* i : chain) {
        X509_up_ref(i);
        c.chain.emplace_back(i);
      }
      out->push_back(std::move(c));
    }
    return Status::Ok();
  }
  std::vector<Entry> entries;
  std::vector<X509*> chain;
  bool down = false;
};

// A network where every request "takes" delay_ms: the clock moves by that
// much, or by the request's timeout, which then fails, when it is longer.
class SlowFetcher final : public HttpFetcher {
 public:
  SlowFetcher(ManualClock* clock, long delay_ms, std::vector<long>* timeouts)
      : clock_(clock), delay_ms_(delay_ms), timeouts_(timeouts) {}
  Status Fetch(const HttpRequest& req, std::string*) override {
    timeouts_->push_back(req.timeout_ms);
    clock_->Advance(std::min(delay_ms_, req.timeout_ms));
    return Status::Io("timeout after " + std::to_string(req.timeout_ms) + " ms");
  }

 private:
  ManualClock* clock_;
  long delay_ms_;
  std::vector<long>* timeouts_;
};

CertSpec EncSpec(const std::string& address) {
  CertSpec s = SmimeSpec(address);
  s.key_usage = KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT;
  return s;
}

struct Fixture {
  Issued root, inter, alice, carol, carol_old, carol_expired, dave_ec, erin_signonly, other_root,
      frank_untrusted, carol_idn, hans_ulabel;
  Issued gina_rsa1024, gina_rsa2048, gina_p384;  // newest to oldest
  Issued weak_inter, hank_under_weak;            // RSA-1024 intermediate
  Issued online_inter, ivan_online;              // both with OCSP and a CRL distribution point
  Issued kim_aes128, lea_gcm, max_aes192;        // announced AES-128-CBC / all four / AES-192-CBC
  std::string dir;
  std::unique_ptr<Runtime> rt;
  FakeSource* source = nullptr;  // owned by rt->directory
};
Fixture* g = nullptr;

int SetUp(void**) {
  g = new Fixture;
  g->root = MakeCa("Root");
  g->inter = MakeSubCa("Inter", g->root);
  g->alice = MakeLeaf(EncSpec("alice@a.example"), g->inter);
  CertSpec carol = EncSpec("carol@b.example");
  g->carol = MakeLeaf(carol, g->inter);
  carol.not_before = kNotBefore - 86400 * 30;
  g->carol_old = MakeLeaf(carol, g->inter);
  carol.not_before = kNotBefore - 86400 * 400;
  carol.not_after = kNow - 86400;
  g->carol_expired = MakeLeaf(carol, g->inter);
  CertSpec dave = EncSpec("dave@b.example");
  dave.key = KeyKind::kEcP256;
  dave.key_usage = KU_DIGITAL_SIGNATURE | KU_KEY_AGREEMENT;
  g->dave_ec = MakeLeaf(dave, g->inter);
  CertSpec erin = SmimeSpec("erin@b.example");
  erin.key_usage = KU_DIGITAL_SIGNATURE;  // signing only
  g->erin_signonly = MakeLeaf(erin, g->inter);
  g->other_root = MakeCa("Other Root");
  g->frank_untrusted = MakeLeaf(EncSpec("frank@b.example"), g->other_root);
  CertSpec gina = EncSpec("gina@b.example");
  gina.key = KeyKind::kRsa1024;
  g->gina_rsa1024 = MakeLeaf(gina, g->inter);
  gina.key = KeyKind::kRsa2048;
  gina.not_before = kNotBefore - 86400 * 10;
  g->gina_rsa2048 = MakeLeaf(gina, g->inter);
  gina.key = KeyKind::kEcP384;
  gina.key_usage = KU_DIGITAL_SIGNATURE | KU_KEY_AGREEMENT;
  gina.not_before = kNotBefore - 86400 * 20;
  g->gina_p384 = MakeLeaf(gina, g->inter);
  CertSpec weak_ca = CaSpec("Weak Inter");
  weak_ca.key = KeyKind::kRsa1024;
  g->weak_inter = MakeLeaf(weak_ca, g->root);
  g->hank_under_weak = MakeLeaf(EncSpec("hank@b.example"), g->weak_inter);
  g->carol_idn = MakeLeaf(EncSpec("carol@xn--bcher-kva.example"), g->inter);
  CertSpec online_ca = CaSpec("Online Inter");
  online_ca.ocsp_urls = {"http://ocsp.test/inter"};
  online_ca.crl_urls = {"http://crl.test/inter.crl"};
  g->online_inter = MakeLeaf(online_ca, g->root);
  CertSpec ivan = EncSpec("ivan@b.example");
  ivan.ocsp_urls = {"http://ocsp.test/ivan"};
  ivan.crl_urls = {"http://crl.test/ivan.crl"};
  g->ivan_online = MakeLeaf(ivan, g->online_inter);
  // An rfc822Name with the U-labels (not what RFC 5280 allows, but issued).
  g->hans_ulabel = MakeLeaf(EncSpec("hans@bücher.example"), g->inter);
  g->kim_aes128 = MakeLeaf(EncSpec("kim@b.example"), g->inter);
  g->lea_gcm = MakeLeaf(EncSpec("lea@b.example"), g->inter);
  g->max_aes192 = MakeLeaf(EncSpec("max@b.example"), g->inter);

  g->dir = MakeTestDir("encryption_test", g->root);
  if (g->dir.empty()) return -1;
  Status st = BuildTestRuntime(
      g->dir, "state_dir = " + g->dir + "\nrevocation = off\ncertificate_sources = local\n",
      &g->rt);
  if (!st.ok()) return -1;
  auto source = std::make_unique<FakeSource>();
  g->source = source.get();
  g->rt->directory = RecipientDirectory();
  g->rt->directory.AddSource(std::move(source));
  return 0;
}

int TearDown(void**) { return DeleteFixture(g); }

int Reset(void**) {
  Runtime& rt = *g->rt;
  auto source = std::make_unique<FakeSource>();
  g->source = source.get();
  rt.directory = RecipientDirectory();
  rt.directory.AddSource(std::move(source));
  rt.rcpt_deadline_ms = 20000;
  rt.eom_deadline_ms = 240000;
  rt.rules = DomainRules();
  rt.rules.revocation_mode = RevocationMode::kOff;
  rt.domain_rules.clear();
  DomainRules b = rt.rules;
  b.encrypt = EncryptMode::kRequired;
  rt.domain_rules["b.example"] = b;
  rt.domain_rules["xn--bcher-kva.example"] = b;  // as PolicySet names bücher.example.conf
  rt.any_encryption = true;
  rt.revocation = std::make_unique<NotCheckedRevocation>();
  g->source->entries = {
      {"carol@b.example", g->carol.cert.get(), CertTrust::kAdmin, {}},
      {"carol@b.example", g->carol_old.cert.get(), CertTrust::kAdmin, {}},
      {"carol@b.example", g->carol_expired.cert.get(), CertTrust::kAdmin, {}},
      {"dave@b.example",
       g->dave_ec.cert.get(),
       CertTrust::kHarvested,
       {NID_aes_256_gcm, NID_aes_256_cbc}},
      {"erin@b.example", g->erin_signonly.cert.get(), CertTrust::kAdmin, {}},
      {"frank@b.example", g->frank_untrusted.cert.get(), CertTrust::kAdmin, {}},
      {"gina@b.example", g->gina_rsa1024.cert.get(), CertTrust::kAdmin, {}},
      {"gina@b.example", g->gina_rsa2048.cert.get(), CertTrust::kAdmin, {}},
      {"gina@b.example", g->gina_p384.cert.get(), CertTrust::kAdmin, {}},
      {"hank@b.example", g->hank_under_weak.cert.get(), CertTrust::kAdmin, {}},
      {"carol@xn--bcher-kva.example", g->carol_idn.cert.get(), CertTrust::kAdmin, {}},
      {"ivan@b.example", g->ivan_online.cert.get(), CertTrust::kAdmin, {}},
      {"hans@xn--bcher-kva.example", g->hans_ulabel.cert.get(), CertTrust::kAdmin, {}},
      {"kim@b.example", g->kim_aes128.cert.get(), CertTrust::kHarvested, {NID_aes_128_cbc}},
      {"lea@b.example",
       g->lea_gcm.cert.get(),
       CertTrust::kHarvested,
       {NID_aes_256_gcm, NID_aes_128_gcm, NID_aes_256_cbc, NID_aes_128_cbc}},
      {"max@b.example",
       g->max_aes192.cert.get(),
       CertTrust::kHarvested,
       {NID_aes_192_cbc, NID_aes_128_cbc, NID_des_ede3_cbc}},
  };
  g->source->chain = {g->inter.cert.get(), g->weak_inter.cert.get(), g->online_inter.cert.get()};
  g->source->down = false;
  return 0;
}

struct Verdict {
  char disposition[16] = "";
  char reply[200] = "";
  int cls = -1;
};

Verdict Rcpt(const std::vector<std::string>& before, const std::string& rcpt) {
  Transaction tx;
  tx.direction = Direction::kOutbound;
  FixedClock clock(kNow);
  for (const std::string& r : before) {
    RcptVerdict v = DecideRecipient(*g->rt, tx, r, clock);
    tx.rcpts.push_back(r);
    tx.rcpt_classes.push_back(v.cls);
  }
  RcptVerdict v = DecideRecipient(*g->rt, tx, rcpt, clock);
  Verdict out;
  std::snprintf(out.disposition, sizeof out.disposition, "%s", DispositionName(v.disposition));
  std::snprintf(out.reply, sizeof out.reply, "%s %s %s", v.reply_code.c_str(),
                v.reply_xcode.c_str(), v.reply_text.c_str());
  out.cls = static_cast<int>(v.cls);
  return out;
}

void TestRequiredRecipientWithoutCertificateRefused(void**) {
  Verdict v = Rcpt({}, "nobody@b.example");
  assert_string_equal(v.disposition, "reject");
  assert_true(std::strstr(v.reply, "550 5.7.1 No usable S/MIME certificate for nobody@b.example"));
  g->rt->domain_rules["b.example"].missing_certificate_reject = false;
  v = Rcpt({}, "nobody@b.example");
  assert_string_equal(v.disposition, "tempfail");
  assert_true(std::strstr(v.reply, "450 4.7.1"));
  // Unfit, untrusted: as good as none.
  g->rt->domain_rules["b.example"].missing_certificate_reject = true;
  assert_string_equal(Rcpt({}, "erin@b.example").disposition, "reject");
  assert_string_equal(Rcpt({}, "frank@b.example").disposition, "reject");
  // A source that cannot answer: try again later, never "no certificate".
  g->source->down = true;
  v = Rcpt({}, "carol@b.example");
  assert_string_equal(v.disposition, "tempfail");
  assert_true(std::strstr(v.reply, "451 4.7.1 Certificate directory unavailable"));
}

void TestAddressFormsGetTheSameTreatment(void**) {
  // What the MTA delivers to carol@b.example must be treated like it.
  for (const char* form : {"<carol@b.example>", "carol@b.example.", "<Carol@B.Example.>"}) {
    Verdict v = Rcpt({}, form);
    assert_string_equal(v.disposition, "accept");
    assert_int_equal(v.cls, static_cast<int>(RcptClass::kEncrypt));
  }
  assert_string_equal(Rcpt({}, "nobody@b.example.").disposition, "reject");
  assert_string_equal(EnvelopeAddress("<a@b.example.>").c_str(), "a@b.example");
  assert_string_equal(DomainOf("a@B.Example..").c_str(), "b.example");
}

void TestMixedTreatmentDeferred(void**) {
  // carol needs encryption; x@c.example (never) needs clear: one transaction
  // cannot serve both, whichever comes first.
  Verdict v = Rcpt({"carol@b.example"}, "x@c.example");
  assert_string_equal(v.disposition, "tempfail");
  assert_true(std::strstr(v.reply, "452 4.5.3"));
  v = Rcpt({"x@c.example"}, "carol@b.example");
  assert_true(std::strstr(v.reply, "452 4.5.3"));
  // Opportunistic with a certificate fits either.
  g->rt->domain_rules["b.example"].encrypt = EncryptMode::kOpportunistic;
  assert_string_equal(Rcpt({"x@c.example"}, "carol@b.example").disposition, "accept");
}

// Runs a whole outbound message to rcpts; decrypts with key when given.
struct Sent {
  char disposition[16] = "";
  char fields[600] = "";
  char media_type[80] = "";
  bool decrypted = false;
  bool plain_ok = false;
  char cipher[40] = "";  // CMS content type: pkcs7-envelopedData or id-smime-ct-authEnvelopedData
  int content_alg = 0;  // NID of the AES content cipher whose OID the CMS carries (0: none/several)
  int kari_alg = 0;     // first KeyAgreeRecipientInfo: keyEncryptionAlgorithm NID
  int kari_wrap = 0;    // and the key wrap in its parameters
  bool ar_first = false;  // our Authentication-Results is the first header
  char plain[400] = "";   // the decrypted entity, its start
};

const char kPlainMessage[] =
    "From: alice@a.example\r\nTo: carol@b.example\r\nSubject: s\r\n"
    "Content-Type: text/plain; charset=us-ascii\r\n\r\nthe secret\r\n";

// Which AES content cipher's OID the DER carries: exactly one of them, or 0.
// (Key wraps have OIDs of their own, so an EC recipient does not count.)
int ContentAlgorithm(const std::string& der) {
  int found = 0;
  for (int nid :
       {NID_aes_256_gcm, NID_aes_128_gcm, NID_aes_256_cbc, NID_aes_192_cbc, NID_aes_128_cbc}) {
    unsigned char* enc = nullptr;
    const int len = i2d_ASN1_OBJECT(OBJ_nid2obj(nid), &enc);
    const bool has =
        len > 0 && der.find(std::string(reinterpret_cast<char*>(enc), static_cast<size_t>(len))) !=
                       std::string::npos;
    OPENSSL_free(enc);
    if (has) found = found ? -1 : nid;
  }
  return found < 0 ? 0 : found;
}

// The whole path as the milter runs it: AddRecipient for each RCPT (the
// refused ones are left out, as the MTA does), then Process. tx_setup
// shapes the transaction (direction, client, daemon name).
template <typename Setup>
Sent SendVia(Setup tx_setup, const std::vector<std::string>& rcpts, const Issued* reader,
             const std::string& msg = kPlainMessage, int* refused = nullptr) {
  Transaction tx;
  ParseRawMessage(msg, &tx);
  tx_setup(&tx);
  FixedClock clock(kNow);
  for (const std::string& r : rcpts) {
    RcptVerdict v = AddRecipient(*g->rt, r, clock, &tx);
    if (v.disposition != Disposition::kAccept && refused) ++*refused;
  }
  Outcome o = Process(*g->rt, tx, clock);
  Sent s;
  std::snprintf(s.disposition, sizeof s.disposition, "%s", DispositionName(o.disposition));
  std::snprintf(s.fields, sizeof s.fields, "%s", o.fields.c_str());
  if (!o.replace_body) return s;
  ApplyEdits(o, &tx);
  for (const Header& h : tx.headers)
    if (h.name == "Content-Type")
      std::snprintf(s.media_type, sizeof s.media_type, "%s", h.value.c_str() + 1);
  if (!reader) return s;
  SmimeLayout layout;
  const std::string wire = WireMessage(tx);
  if (!LocateSmime(wire, MimeLimits(), &layout).ok()) return s;
  const unsigned char* p = reinterpret_cast<const unsigned char*>(layout.cms_der.data());
  CmsPtr cms(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(layout.cms_der.size())));
  if (!cms) return s;
  std::snprintf(s.cipher, sizeof s.cipher, "%s", OBJ_nid2sn(OBJ_obj2nid(CMS_get0_type(cms.get()))));
  s.content_alg = ContentAlgorithm(layout.cms_der);
  STACK_OF(CMS_RecipientInfo)* ris = CMS_get0_RecipientInfos(cms.get());
  for (int i = 0; i < sk_CMS_RecipientInfo_num(ris); ++i) {
    CMS_RecipientInfo* ri = sk_CMS_RecipientInfo_value(ris, i);
    X509_ALGOR* alg = nullptr;
    ASN1_OCTET_STRING* ukm = nullptr;
    if (CMS_RecipientInfo_type(ri) != CMS_RECIPINFO_AGREE ||
        CMS_RecipientInfo_kari_get0_alg(ri, &alg, &ukm) != 1)
      continue;
    s.kari_alg = OBJ_obj2nid(alg->algorithm);
    const ASN1_TYPE* param = alg->parameter;
    if (param && param->type == V_ASN1_SEQUENCE) {
      const unsigned char* q = param->value.sequence->data;
      X509_ALGOR* wrap = d2i_X509_ALGOR(nullptr, &q, param->value.sequence->length);
      if (wrap) s.kari_wrap = OBJ_obj2nid(wrap->algorithm);
      X509_ALGOR_free(wrap);
    }
    break;
  }
  BioPtr out(BIO_new(BIO_s_mem()));
  s.decrypted =
      CMS_decrypt(cms.get(), reader->key.get(), reader->cert.get(), nullptr, out.get(), 0) == 1;
  char* data = nullptr;
  long len = BIO_get_mem_data(out.get(), &data);
  std::string plain(data ? data : "", static_cast<size_t>(len > 0 ? len : 0));
  s.plain_ok = plain.find("the secret") != std::string::npos;
  std::snprintf(s.plain, sizeof s.plain, "%s", plain.c_str());
  s.ar_first = !tx.headers.empty() && tx.headers[0].name == "Authentication-Results";
  DrainOpensslErrors();
  return s;
}

Sent Send(const std::vector<std::string>& rcpts, const Issued* reader,
          const std::string& msg = kPlainMessage) {
  return SendVia(
      [](Transaction* tx) {
        tx->direction = Direction::kOutbound;
        tx->sasl_user = "alice";
      },
      rcpts, reader, msg);
}

void TestRequiredEncryptsNewestValidCertificate(void**) {
  Sent s = Send({"carol@b.example"}, &g->carol);
  assert_string_equal(s.disposition, "accept");
  assert_true(std::strstr(s.media_type, "application/pkcs7-mime; smime-type=enveloped-data"));
  assert_true(s.decrypted);  // the newest of carol's certificates
  assert_true(s.plain_ok);
  assert_string_equal(s.cipher, "pkcs7-envelopedData");
  assert_true(std::strstr(s.fields, "encryption=aes256-cbc, recipients=1, encrypt_why=required"));
  s = Send({"carol@b.example"}, &g->carol_old);
  assert_false(s.decrypted);
}

// Issue: encrypt-only wrapped an 8-bit body as charset=us-ascii without a
// transfer encoding. The entity builder of the signing path labels it.
void TestEncryptOnlyLabelsEightBitBody(void**) {
  const std::string msg =
      "From: alice@a.example\r\nTo: carol@b.example\r\nSubject: s\r\n\r\n"
      "Gr\xc3\xbc\xc3\x9f"
      "e, the secret is safe with us\r\nFrom here on all is well\r\n";
  Sent s = Send({"carol@b.example"}, &g->carol, msg);
  assert_string_equal(s.disposition, "accept");
  assert_true(s.decrypted);
  assert_true(s.plain_ok);
  assert_true(std::strstr(s.plain, "Content-Type: text/plain; charset=utf-8\r\n"));
  assert_true(std::strstr(s.plain, "Content-Transfer-Encoding: quoted-printable\r\n"));
  assert_true(std::strstr(s.plain, "\r\nGr=C3=BC=C3=9Fe, the secret"));
  assert_true(std::strstr(s.plain, "\r\n=46rom here on"));
  assert_true(std::strstr(s.fields, "reencoded=8bit-to-qp+from-armour, encryption=aes256-cbc"));
  // 7-bit text keeps its own labels, byte for byte.
  s = Send({"carol@b.example"}, &g->carol);
  assert_true(std::strstr(s.plain, "Content-Type: text/plain; charset=us-ascii\r\n\r\nthe secret"));
  assert_true(std::strstr(s.fields, "reencoded=no, encryption="));
  // Beyond the MIME limits: encrypted as it came, and the log says why.
  const std::string parts =
      "From: alice@a.example\r\nTo: carol@b.example\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nthe secret\r\n"
      "--b\r\n\r\nK\xc3\xb6ln\r\n--b--\r\n";
  const MimeLimits saved = g->rt->limits;
  g->rt->limits.max_parts = 1;
  s = Send({"carol@b.example"}, &g->carol, parts);
  g->rt->limits = saved;
  assert_true(s.plain_ok);
  assert_true(std::strstr(s.plain, "\r\nK\xc3\xb6ln\r\n"));
  assert_true(std::strstr(s.fields, "reencoded=no, reencoded_why=mime-parts-limit, encryption="));
}

int FilesIn(const std::string& dir) {
  int n = 0;
  DIR* d = opendir(dir.c_str());
  if (!d) return -1;
  while (struct dirent* e = readdir(d))
    if (e->d_name[0] != '.') ++n;
  closedir(d);
  return n;
}

// An 8-bit message to carol, body about 240 KB.
std::string LargeEightBitMessage() {
  std::string msg =
      "From: alice@a.example\r\nTo: carol@b.example\r\nSubject: s\r\n\r\nthe secret\r\n";
  for (int i = 0; i < 4000; ++i)
    msg += "line " + std::to_string(i) +
           ": gr\xc3\xbc\xc3\x9f"
           "e, the quick brown fox jumps over the lazy dog\r\n";
  return msg;
}

Outcome ProcessForCarol(const std::string& msg) {
  Transaction tx;
  ParseRawMessage(msg, &tx);
  tx.direction = Direction::kOutbound;
  tx.sasl_user = "alice";
  tx.message_size = msg.size();
  FixedClock clock(kNow);
  AddRecipient(*g->rt, "carol@b.example", clock, &tx);
  return Process(*g->rt, tx, clock);
}

// Issue 11: an envelope larger than spool_memory_limit. Its ciphertext and
// the new body go to state_dir (files unlinked as soon as they are made:
// the folder shows nothing) and are read back in 64 KB slices; joined,
// they are exactly the body, an envelope carol decrypts to the whole
// re-encoded entity.
void TestLargeEnvelopeIsSpooled(void**) {
  const int files = FilesIn(g->dir);
  const std::string msg = LargeEightBitMessage();
  const size_t saved = g->rt->spool_memory_limit;
  g->rt->spool_memory_limit = 4096;
  Outcome o = ProcessForCarol(msg);
  g->rt->spool_memory_limit = saved;
  assert_string_equal(DispositionName(o.disposition), "accept");
  assert_true(o.replace_body);
  assert_true(o.body.on_disk());
  assert_true(o.body.size() > msg.size());
  assert_int_equal(FilesIn(g->dir), files);
  size_t slices = 0;
  std::string joined;
  assert_true(o.body
                  .ForEachSlice(65536,
                                [&](std::string_view s) {
                                  ++slices;
                                  joined.append(s);
                                  return true;
                                })
                  .ok());
  assert_true(slices >= 5);
  assert_int_equal(joined.size(), o.body.size());
  const std::string mime =
      "Content-Type: application/pkcs7-mime; smime-type=enveloped-data\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\n" +
      joined;
  BioPtr in(BIO_new_mem_buf(mime.data(), static_cast<int>(mime.size())));
  CmsPtr cms(SMIME_read_CMS(in.get(), nullptr));
  assert_non_null(cms.get());
  BioPtr out(BIO_new(BIO_s_mem()));
  assert_int_equal(
      CMS_decrypt(cms.get(), g->carol.key.get(), g->carol.cert.get(), nullptr, out.get(), 0), 1);
  char* data = nullptr;
  const long len = BIO_get_mem_data(out.get(), &data);
  const std::string plain(data, static_cast<size_t>(len));
  assert_true(plain.find("Content-Transfer-Encoding: quoted-printable\r\n") != std::string::npos);
  assert_true(plain.find("\r\n\r\nthe secret\r\nline 0: gr=C3=BC=C3=9Fe, the quick") !=
              std::string::npos);
  assert_true(plain.find("\r\nline 3999: gr=C3=BC=C3=9Fe, the quick brown fox jumps over the "
                         "lazy dog\r\n") != std::string::npos);
  DrainOpensslErrors();
}

// The spool cannot be written (state_dir gone): a tempfail with the reason,
// decided by the engine, so the MTA gets no body at all.
void TestEnvelopeSpoolFailureIsTempfail(void**) {
  const std::string saved_dir = g->rt->spool_dir;
  const size_t saved = g->rt->spool_memory_limit;
  g->rt->spool_dir = "/nonexistent/smime-spool";
  g->rt->spool_memory_limit = 4096;
  Outcome o = ProcessForCarol(LargeEightBitMessage());
  g->rt->spool_dir = saved_dir;
  g->rt->spool_memory_limit = saved;
  assert_string_equal(DispositionName(o.disposition), "tempfail");
  assert_false(o.replace_body);
  assert_string_equal((o.reply_code + " " + o.reply_xcode + " " + o.reply_text).c_str(),
                      "451 4.3.0 Internal error in the S/MIME filter, try again later");
  assert_true(o.fields.find("action=tempfail, reason=spool-failed") != std::string::npos);
  // One action, one reason: the refusal's replace the signing step's
  // action=none, reason=policy (docs/logging.md, "A later step replaces a
  // field").
  std::vector<std::string> names;
  for (size_t start = 0; start < o.fields.size();) {
    const size_t end = std::min(o.fields.find(", ", start), o.fields.size());
    names.push_back(o.fields.substr(start, o.fields.find('=', start) - start));
    start = end + 2;
  }
  assert_int_equal(std::count(names.begin(), names.end(), "action"), 1);
  assert_int_equal(std::count(names.begin(), names.end(), "reason"), 1);
  assert_int_equal(std::count(names.begin(), names.end(), "sign"), 1);
  assert_true(o.fields.find("action=none") == std::string::npos);
  assert_string_equal(o.note.c_str(),
                      "cannot create spool file in /nonexistent/smime-spool: No such file or "
                      "directory");
}

// Signed, then the envelope's ciphertext cannot be spooled: one action,
// tempfail, with the spool's reason; signing's format and digest stay
// (docs/logging.md, "A later step replaces a field").
void TestEnvelopeSpoolFailureAfterSigningLogsOneAction(void**) {
  Runtime& rt = *g->rt;
  IdentityStore saved_ids = std::move(rt.identities);
  rt.identities = IdentityStore();
  assert_true(rt.identities.Add(TestIdentity("alice@a.example", g->alice, g->inter)).ok());
  const SignMode saved_sign = rt.rules.sign;
  rt.rules.sign = SignMode::kOpaque;
  assert_true(ParseNetworks({"198.51.100.7/32"}, &rt.signing_relays).ok());
  const std::string saved_dir = rt.spool_dir;
  const size_t saved = rt.spool_memory_limit;
  const std::string msg = LargeEightBitMessage();
  Transaction tx;
  ParseRawMessage(msg, &tx);
  tx.direction = Direction::kOutbound;
  tx.client_addr = "198.51.100.7";
  tx.message_size = msg.size();
  FixedClock clock(kNow);
  AddRecipient(rt, "carol@b.example", clock, &tx);
  rt.spool_dir = "/nonexistent/smime-spool";
  rt.spool_memory_limit = 4096;
  Outcome o = Process(rt, tx, clock);
  rt.spool_dir = saved_dir;
  rt.spool_memory_limit = saved;
  rt.signing_relays.clear();
  rt.rules.sign = saved_sign;
  rt.identities = std::move(saved_ids);
  assert_string_equal(DispositionName(o.disposition), "tempfail");
  assert_false(o.replace_body);
  const std::string line = o.LogLine("NOQUEUE");
  assert_non_null(std::strstr(line.c_str(),
                              "identity=alice@a.example, format=opaque, "
                              "digest=sha256, reencoded=8bit-to-qp, "
                              "action=tempfail, reason=spool-failed, ms="));
  assert_null(std::strstr(line.c_str(), "action=signed"));
  size_t actions = 0;
  for (size_t at = line.find(", action="); at != std::string::npos;
       at = line.find(", action=", at + 1))
    ++actions;
  assert_int_equal(actions, 1);
}

// An if-possible message left unsigned (alice may not sign: no signing
// relay, no login mapping), then refused because its envelope cannot be
// spooled: the line keeps why it was unsigned as unsigned_reason beside the
// refusal's action and reason, and the spool's words in detail
// (docs/logging.md, "A later step replaces a field").
void TestRefusalAfterUnsignedKeepsWhy(void**) {
  Runtime& rt = *g->rt;
  const SignMode saved_sign = rt.rules.sign;
  rt.rules.sign = SignMode::kIfPossible;
  const std::string saved_dir = rt.spool_dir;
  const size_t saved = rt.spool_memory_limit;
  rt.spool_dir = "/nonexistent/smime-spool";
  rt.spool_memory_limit = 4096;
  Outcome o = ProcessForCarol(LargeEightBitMessage());
  rt.spool_dir = saved_dir;
  rt.spool_memory_limit = saved;
  rt.rules.sign = saved_sign;
  assert_string_equal(DispositionName(o.disposition), "tempfail");
  const std::string line = o.LogLine("NOQUEUE");
  assert_non_null(
      std::strstr(line.c_str(), "sign=if-possible, unsigned_reason=sender-not-authorized, "));
  assert_non_null(std::strstr(line.c_str(), ", action=tempfail, reason=spool-failed, "));
  assert_non_null(
      std::strstr(line.c_str(),
                  ", detail=\"cannot create spool file in /nonexistent/smime-spool: No such file "
                  "or directory\""));
  assert_null(std::strstr(line.c_str(), "action=unsigned"));
  assert_null(std::strstr(line.c_str(), ", reason=sender-not-authorized"));
  // Without the refusal the same message logs the unsigned reason as reason.
  rt.rules.sign = SignMode::kIfPossible;
  Outcome ok = ProcessForCarol(LargeEightBitMessage());
  rt.rules.sign = saved_sign;
  assert_string_equal(DispositionName(ok.disposition), "accept");
  assert_non_null(std::strstr(ok.fields.c_str(), "action=unsigned, reason=sender-not-authorized"));
  assert_null(std::strstr(ok.fields.c_str(), "unsigned_reason"));
}

void TestGcmOnlyWhenEveryoneAnnouncedIt(void**) {
  // dave (EC) announced AES-256-GCM: AuthEnvelopedData; with carol (no
  // capabilities) in the same message: CBC for both.
  Sent s = Send({"dave@b.example"}, &g->dave_ec);
  assert_true(s.decrypted);
  assert_true(std::strstr(s.media_type, "smime-type=authEnveloped-data"));
  assert_string_equal(s.cipher, "id-smime-ct-authEnvelopedData");
  s = Send({"dave@b.example", "carol@b.example"}, &g->carol);
  assert_true(s.decrypted);
  assert_string_equal(s.cipher, "pkcs7-envelopedData");
  assert_true(std::strstr(s.fields, "encryption=aes256-cbc, recipients=2"));
}

void TestCipherPerAnnouncedCapabilities(void**) {
  // RFC 8551 2.7.1: the strongest every recipient announced, one content
  // encryption for all of them.
  struct Case {
    std::vector<std::string> rcpts;
    const Issued* reader;
    int nid;
    const char* log;
  } cases[] = {
      {{"lea@b.example"}, &g->lea_gcm, NID_aes_256_gcm, "encryption=aes256-gcm"},  // all GCM
      {{"lea@b.example", "dave@b.example"}, &g->lea_gcm, NID_aes_256_gcm, "encryption=aes256-gcm"},
      {{"kim@b.example"},
       &g->kim_aes128,
       NID_aes_128_cbc,
       "encryption=aes128-cbc"},  // AES-128 only
      // mixed: lea reads everything, kim only AES-128-CBC: AES-128-CBC for both
      {{"lea@b.example", "kim@b.example"}, &g->lea_gcm, NID_aes_128_cbc, "encryption=aes128-cbc"},
      // AES-192-CBC announced (3DES ignored: we never produce it)
      {{"max@b.example"}, &g->max_aes192, NID_aes_192_cbc, "encryption=aes192-cbc"},
      {{"max@b.example", "kim@b.example"},
       &g->kim_aes128,
       NID_aes_128_cbc,
       "encryption=aes128-cbc"},
      // none announced: AES-256-CBC, and it wins over GCM for the others too
      {{"carol@b.example"}, &g->carol, NID_aes_256_cbc, "encryption=aes256-cbc"},
      {{"lea@b.example", "carol@b.example"}, &g->carol, NID_aes_256_cbc, "encryption=aes256-cbc"},
      // no cipher in common (kim: AES-128-CBC only, carol: AES-256-CBC by default)
      {{"kim@b.example", "carol@b.example"},
       &g->kim_aes128,
       NID_aes_256_cbc,
       "encryption=aes256-cbc"},
  };
  for (const Case& c : cases) {
    Sent s = Send(c.rcpts, c.reader);
    if (!s.decrypted || s.content_alg != c.nid || !std::strstr(s.fields, c.log))
      fail_msg("%s...: decrypted=%d alg=%s fields=%s", c.rcpts[0].c_str(), s.decrypted,
               OBJ_nid2sn(s.content_alg), s.fields);
  }
  // The policy's minimum raises a weaker common choice (never the other way).
  g->rt->domain_rules["b.example"].min_cipher = ContentCipher::kAes256Cbc;
  Sent s = Send({"kim@b.example"}, &g->kim_aes128);
  assert_int_equal(s.content_alg, NID_aes_256_cbc);
  s = Send({"lea@b.example"}, &g->lea_gcm);
  assert_int_equal(s.content_alg, NID_aes_256_gcm);
  g->rt->domain_rules["b.example"].min_cipher = ContentCipher::kAes192Cbc;
  s = Send({"kim@b.example"}, &g->kim_aes128);
  assert_int_equal(s.content_alg, NID_aes_192_cbc);
  // A fixed cipher is what the domain's recipients accept, whatever they announced.
  g->rt->domain_rules["b.example"].min_cipher = ContentCipher::kAes128Cbc;
  g->rt->domain_rules["b.example"].cipher_auto = false;
  g->rt->domain_rules["b.example"].cipher = ContentCipher::kAes256Cbc;
  s = Send({"lea@b.example"}, &g->lea_gcm);
  assert_int_equal(s.content_alg, NID_aes_256_cbc);
}

void TestCommonCipherRules(void**) {
  using C = ContentCipher;
  DomainRules autorules;
  assert_true(AcceptableCiphers(autorules, {}) == std::vector<C>({C::kAes256Cbc}));
  assert_true(AcceptableCiphers(autorules, {NID_des_ede3_cbc}) == std::vector<C>({C::kAes256Cbc}));
  assert_true(AcceptableCiphers(autorules, {NID_aes_128_cbc, NID_aes_256_gcm}) ==
              std::vector<C>({C::kAes256Gcm, C::kAes128Cbc}));
  DomainRules fixed;
  fixed.cipher_auto = false;
  fixed.cipher = C::kAes128Gcm;
  assert_true(AcceptableCiphers(fixed, {NID_aes_256_gcm}) == std::vector<C>({C::kAes128Gcm}));
  // AES-128-GCM only when it is what everyone accepts; AES-256-GCM beats CBC.
  assert_int_equal(static_cast<int>(CommonCipher({{C::kAes128Gcm}, {C::kAes128Gcm}}, 0)),
                   static_cast<int>(C::kAes128Gcm));
  assert_int_equal(static_cast<int>(CommonCipher(
                       {{C::kAes128Gcm, C::kAes128Cbc}, {C::kAes128Gcm, C::kAes128Cbc}}, 0)),
                   static_cast<int>(C::kAes128Cbc));
  assert_int_equal(static_cast<int>(CommonCipher({{C::kAes256Gcm, C::kAes256Cbc}}, 0)),
                   static_cast<int>(C::kAes256Gcm));
  assert_int_equal(static_cast<int>(CommonCipher({{C::kAes128Cbc}, {C::kAes192Cbc}}, 0)),
                   static_cast<int>(C::kAes256Cbc));
  assert_int_equal(static_cast<int>(CommonCipher({{C::kAes128Gcm}}, 256)),
                   static_cast<int>(C::kAes256Cbc));
}

void TestEcdhUsesSha256Kdf(void**) {
  // RFC 5753 / RFC 8551 2.7: dhSinglePass-stdDH-sha256kdf-scheme, with the
  // key wrap of the content key's size.
  Sent s = Send({"dave@b.example"}, &g->dave_ec);  // AES-256-GCM
  assert_true(s.decrypted);
  assert_int_equal(s.kari_alg, NID_dhSinglePass_stdDH_sha256kdf_scheme);
  assert_int_equal(s.kari_wrap, NID_id_aes256_wrap);
  g->rt->domain_rules["b.example"].cipher_auto = false;  // AES-128-CBC by policy
  g->rt->domain_rules["b.example"].cipher = ContentCipher::kAes128Cbc;
  s = Send({"dave@b.example"}, &g->dave_ec);
  assert_true(s.decrypted);
  assert_int_equal(s.content_alg, NID_aes_128_cbc);
  assert_int_equal(s.kari_alg, NID_dhSinglePass_stdDH_sha256kdf_scheme);
  assert_int_equal(s.kari_wrap, NID_id_aes128_wrap);
  s = Send({"gina@b.example"}, &g->gina_p384);  // P-384 (the newest valid is EC)
  assert_int_equal(s.kari_alg, NID_dhSinglePass_stdDH_sha256kdf_scheme);
}

void TestOpportunisticAndNever(void**) {
  g->rt->domain_rules["b.example"].encrypt = EncryptMode::kOpportunistic;
  Sent s = Send({"carol@b.example"}, &g->carol);
  assert_true(s.decrypted);
  assert_true(std::strstr(s.fields, "encrypt_why=opportunistic"));
  s = Send({"carol@b.example", "nobody@b.example"}, nullptr);  // one without: clear
  assert_string_equal(s.disposition, "accept");
  assert_true(std::strstr(s.fields, "encryption=none, encrypt_why=clear"));
}

void TestTrustLevelAndRevocation(void**) {
  DomainRules& b = g->rt->domain_rules["b.example"];
  b.min_trust = CertTrust::kAdmin;
  assert_string_equal(Rcpt({}, "dave@b.example").disposition, "reject");  // harvested only
  b.min_trust = CertTrust::kHarvested;
  assert_string_equal(Rcpt({}, "dave@b.example").disposition, "accept");

  // carol's newest certificate revoked: the older valid one is used; never
  // the revoked one.
  b.revocation_mode = RevocationMode::kHard;
  g->rt->revocation = std::make_unique<RevokeOne>(g->carol.cert.get());
  Sent s = Send({"carol@b.example"}, &g->carol);
  assert_false(s.decrypted);
  s = Send({"carol@b.example"}, &g->carol_old);
  assert_true(s.decrypted);
  g->rt->revocation = std::make_unique<RevokeOne>(g->dave_ec.cert.get());
  assert_string_equal(Rcpt({}, "dave@b.example").disposition, "reject");
  g->rt->revocation = std::make_unique<NotCheckedRevocation>();
}

// Recipient certificates meet the signers' algorithm rules along their path
// (those of the recipient domain), and the strongest usable one wins over
// newer weaker ones.
void TestRecipientAlgorithmRules(void**) {
  Sent s = Send({"gina@b.example"}, &g->gina_p384);
  assert_true(s.decrypted);
  assert_true(s.plain_ok);
  s = Send({"gina@b.example"}, &g->gina_rsa2048);
  assert_false(s.decrypted);
  s = Send({"gina@b.example"}, &g->gina_rsa1024);
  assert_false(s.decrypted);

  ChoiceRules cr;  // min_rsa_bits 2048, no SHA-1
  RecipientChoice c = g->rt->directory.Choose("gina@b.example", cr, g->rt->trust, nullptr, kNow);
  assert_true(c.found);
  assert_int_equal(X509_cmp(c.chosen.cert.get(), g->gina_p384.cert.get()), 0);
  assert_int_equal(c.rejected.size(), 1);
  assert_non_null(std::strstr(c.rejected[0].c_str(), ": weak-key-leaf-rsa-1024"));
  // Without the P-384 one: RSA-2048, not the newer RSA-1024 one.
  g->source->entries.erase(g->source->entries.begin() + 8);
  c = g->rt->directory.Choose("gina@b.example", cr, g->rt->trust, nullptr, kNow);
  assert_int_equal(X509_cmp(c.chosen.cert.get(), g->gina_rsa2048.cert.get()), 0);
  // Allowed, the RSA-1024 one is usable but still not the strongest.
  cr.algorithms.min_rsa_bits = 1024;
  c = g->rt->directory.Choose("gina@b.example", cr, g->rt->trust, nullptr, kNow);
  assert_int_equal(c.rejected.size(), 0);
  assert_int_equal(X509_cmp(c.chosen.cert.get(), g->gina_rsa2048.cert.get()), 0);

  // The intermediate's key counts: hank is refused at RCPT time (encrypt =
  // required), unless his domain accepts RSA-1024.
  assert_string_equal(Rcpt({}, "hank@b.example").disposition, "reject");
  g->rt->domain_rules["b.example"].min_rsa_bits = 1024;
  assert_string_equal(Rcpt({}, "hank@b.example").disposition, "accept");
}

// Recipient certificates are matched with the domain in one form: the
// A-label RCPT finds the certificate that names the U-labels, and a lookup
// typed with the U-labels (smimectl cert lookup) finds the A-label one.
void TestCertificateDomainInOneForm(void**) {
  Verdict v = Rcpt({}, "<hans@bücher.example>");
  assert_string_equal(v.disposition, "accept");
  assert_int_equal(v.cls, static_cast<int>(RcptClass::kEncrypt));
  Sent s = Send({"hans@xn--bcher-kva.example"}, &g->hans_ulabel);
  assert_true(s.decrypted);
  assert_true(s.plain_ok);
  ChoiceRules cr;
  RecipientChoice c =
      g->rt->directory.Choose("carol@BÜCHER.example.", cr, g->rt->trust, nullptr, kNow);
  assert_true(c.found);
  assert_int_equal(X509_cmp(c.chosen.cert.get(), g->carol_idn.cert.get()), 0);
  // A look-alike domain (Cyrillic u) is another recipient.
  assert_string_equal(Rcpt({},
                           "<hans@b\xd1\x83"
                           "cher.example>")
                          .disposition,
                      "accept");
  c = g->rt->directory.Choose(
      "hans@b\xd1\x83"
      "cher.example",
      cr, g->rt->trust, nullptr, kNow);
  assert_false(c.found);
}

void TestLabelAloneIsNotEncryption(void**) {
  // Claims to be enveloped-data, is not: must still be encrypted.
  const std::string fake =
      "From: alice@a.example\r\nContent-Type: application/pkcs7-mime; "
      "smime-type=enveloped-data\r\nContent-Transfer-Encoding: base64\r\n\r\n"
      "dGhlIHNlY3JldA==\r\n";
  Sent s = Send({"carol@b.example"}, &g->carol, fake);
  assert_true(s.decrypted);
  assert_true(std::strstr(s.fields, "encryption=aes256-cbc"));
}

void TestRevocationOutageIsTemporary(void**) {
  // No answer from OCSP/CRL under revocation = hard: 451, not "no certificate".
  class Unavailable final : public RevocationChecker {
   public:
    ChainRevocation Check(STACK_OF(X509) *, STACK_OF(X509_CRL) *, std::time_t,
                          const Deadline&) override {
      ChainRevocation r;
      r.overall.status = RevocationStatus::kUnavailable;
      return r;
    }
  };
  g->rt->domain_rules["b.example"].revocation_mode = RevocationMode::kHard;
  g->rt->revocation = std::make_unique<Unavailable>();
  Verdict v = Rcpt({}, "carol@b.example");
  assert_string_equal(v.disposition, "tempfail");
  assert_true(std::strstr(v.reply, "451 4.7.1"));
}

void TestAcceptOnInternalErrorRefusedWithEncryption(void**) {
  Config config;
  assert_true(config
                  .Parse("authserv_id = mx\ntrust_anchors = " + g->dir +
                             "/anchors.pem\nstate_dir = " + g->dir +
                             "\nencrypt = required\ninternal_error_action = accept\n",
                         "t.conf")
                  .ok());
  std::unique_ptr<Runtime> rt;
  Status st = BuildRuntime(config, &rt);
  assert_false(st.ok());
  assert_true(std::strstr(st.message().c_str(), "t.conf:5: internal_error_action = accept"));
}

// Encryption follows the recipient's domain whatever the direction: mail
// submitted with the sendmail command (Postfix pickup: no client address,
// {daemon_name} not in originating_daemons) or relayed from outside is
// "inbound", and must still never reach a required domain in clear.
void TestEveryDirectionEncrypts(void**) {
  auto pickup = [](Transaction* tx) { tx->daemon_name = "pickup"; };
  auto outside = [](Transaction* tx) { tx->client_addr = "192.0.2.99"; };
  auto forced = [](Transaction* tx) { tx->direction = Direction::kInbound; };
  for (int i = 0; i < 3; ++i) {
    Sent s = i == 0   ? SendVia(pickup, {"<carol@b.example>"}, &g->carol)
             : i == 1 ? SendVia(outside, {"<carol@b.example>"}, &g->carol)
                      : SendVia(forced, {"<carol@b.example>"}, &g->carol);
    assert_string_equal(s.disposition, "accept");
    assert_true(std::strstr(s.media_type, "application/pkcs7-mime; smime-type=enveloped-data"));
    assert_true(s.decrypted);
    assert_true(s.plain_ok);
    // Verified first: the verdict (none: unsigned) stays in the outer header.
    assert_true(s.ar_first);
    assert_true(std::strstr(s.fields, "result=none"));
    assert_true(std::strstr(s.fields, "encryption=aes256-cbc, recipients=1, encrypt_why=required"));
  }
  // No certificate: refused at RCPT, and at end of data when no RCPT step
  // ran (Process on its own re-judges the recipients), never clear.
  int refused = 0;
  Sent s = SendVia(pickup, {"<nobody@b.example>"}, nullptr, kPlainMessage, &refused);
  assert_int_equal(refused, 1);
  Transaction tx;
  ParseRawMessage(kPlainMessage, &tx);
  tx.client_addr = "192.0.2.99";
  tx.rcpts = {"nobody@b.example"};
  FixedClock clock(kNow);
  Outcome o = Process(*g->rt, tx, clock);
  assert_string_equal(DispositionName(o.disposition), "reject");
  assert_false(o.replace_body);
  assert_string_equal(o.reply_code.c_str(), "550");
  // Inbound mail to a domain that does not encrypt is only verified.
  s = SendVia(outside, {"<x@c.example>"}, nullptr);
  assert_string_equal(s.disposition, "accept");
  assert_true(std::strstr(s.fields, "encryption=none, encrypt_why=clear"));
  assert_string_equal(s.media_type, "");
}

std::string EnvelopeFor(const Issued& reader) {
  EncryptParams p;
  p.recipients.push_back({reader.cert.get(), RsaKeyTransport::kPkcs1});
  std::string der;
  if (!EncryptContent("Content-Type: text/plain\r\n\r\nold secret\r\n", p, &der).ok()) return "";
  return der;
}

const char kEnvelopeHeaders[] =
    "From: alice@a.example\r\nTo: carol@b.example\r\nSubject: s\r\nMIME-Version: 1.0\r\n"
    "Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m\r\n"
    "Content-Transfer-Encoding: base64\r\n";

// "Already encrypted" is exactly one EnvelopedData and nothing else.
void TestAlreadyEncryptedMeansExactly(void**) {
  const std::string der = EnvelopeFor(g->carol);
  assert_false(der.empty());
  Sent s =
      Send({"carol@b.example"}, nullptr, kEnvelopeHeaders + ("\r\n" + testpki::Base64Lines(der)));
  assert_true(std::strstr(s.fields, "encryption=none, encrypt_why=already-encrypted"));
  assert_false(s.decrypted);
  // Bytes after the DER (inside the base64): encrypted again, all of it.
  const std::string trailing = der + "PS: the secret in clear";
  s = Send({"carol@b.example"}, &g->carol,
           kEnvelopeHeaders + ("\r\n" + testpki::Base64Lines(trailing)));
  assert_true(std::strstr(s.fields, "encryption=aes256-cbc"));
  assert_true(s.decrypted);  // carol's new envelope around the whole content
  // Text after the base64, or a second Content-Type: not exactly one envelope either.
  s = Send({"carol@b.example"}, &g->carol,
           kEnvelopeHeaders + ("\r\n" + testpki::Base64Lines(der) + "\r\nthe secret\r\n"));
  assert_true(std::strstr(s.fields, "encryption=aes256-cbc"));
  assert_true(s.plain_ok);
  s = Send({"carol@b.example"}, &g->carol,
           kEnvelopeHeaders + ("Content-Type: text/plain\r\n\r\n" + testpki::Base64Lines(der)));
  assert_true(std::strstr(s.fields, "encryption=aes256-cbc"));
  // Padding in the middle (two base64 blobs glued): refused as base64.
  s = Send(
      {"carol@b.example"}, &g->carol,
      kEnvelopeHeaders + ("\r\n" + testpki::Base64Lines(der) + testpki::Base64Lines("the secret")));
  assert_true(std::strstr(s.fields, "encryption=aes256-cbc"));
  assert_true(s.decrypted);
}

struct RcptLog {
  char disposition[16] = "";
  char reply[200] = "";
  char fields[300] = "";
  char added[100] = "";
};

RcptLog AddOne(const std::string& arg) {
  Transaction tx;
  tx.client_addr = "192.0.2.99";  // inbound: recipients are judged all the same
  FixedClock clock(kNow);
  RcptVerdict v = AddRecipient(*g->rt, arg, clock, &tx);
  RcptLog out;
  std::snprintf(out.disposition, sizeof out.disposition, "%s", DispositionName(v.disposition));
  std::snprintf(out.reply, sizeof out.reply, "%s %s %s", v.reply_code.c_str(),
                v.reply_xcode.c_str(), v.reply_text.c_str());
  std::snprintf(out.fields, sizeof out.fields, "%s", v.fields.c_str());
  if (!tx.rcpts.empty()) std::snprintf(out.added, sizeof out.added, "%s", tx.rcpts[0].c_str());
  return out;
}

// Each spelling Postfix would deliver to carol@b.example (or to carol's
// IDN domain) ends encrypted or refused, never judged under another domain.
void TestRcptSpellingsEncryptedOrRefused(void**) {
  for (const char* bad : {"<carol@b.example (x)>", "<carol@ b.example>", "<carol@(x)b.example>",
                          "<carol @b.example>", "<carol%b.example@c.example>",
                          "<b.example!carol@c.example>", "<carol@c.example@b.example>"}) {
    RcptLog r = AddOne(bad);
    assert_string_equal(r.disposition, "reject");
    assert_true(std::strstr(r.reply, "550 5.1.3 Bad recipient address syntax"));
    assert_true(std::strstr(r.fields, "syntax="));
    assert_true(std::strstr(r.fields, "action=reject"));
    assert_string_equal(r.added, "");
  }
  RcptLog r = AddOne("<carol@b.example (x)>");
  assert_string_equal(r.fields,
                      "to=<carol@b.example\\x20\\x28x\\x29>, syntax=whitespace, action=reject");
  // Clean spellings reduce to the address the MTA delivers to.
  r = AddOne("<@relay.example:carol@B.Example.>");
  assert_string_equal(r.disposition, "accept");
  assert_string_equal(r.added, "carol@b.example");
  assert_true(std::strstr(r.fields,
                          "to=<carol@b.example>, domain=b.example, encrypt=required, "
                          "cert=fake, serial="));
  assert_true(std::strstr(r.fields, ", action=accept"));
  // U-labels and A-labels: one domain, one policy, one certificate.
  for (const char* idn : {"<carol@b\xc3\xbc"
                          "cher.example>",
                          "<carol@XN--BCHER-KVA.example.>",
                          "<carol@B\xc3\x9c"
                          "CHER.example>"}) {
    r = AddOne(idn);
    assert_string_equal(r.disposition, "accept");
    assert_string_equal(r.added, "carol@xn--bcher-kva.example");
    assert_true(std::strstr(r.fields, "domain=xn--bcher-kva.example, encrypt=required"));
  }
  r = AddOne(
      "<nobody@b\xc3\xbc"
      "cher.example>");
  assert_string_equal(r.disposition, "reject");
  assert_true(std::strstr(r.reply, "550 5.7.1 No usable S/MIME certificate"));
  Sent s = SendVia([](Transaction* tx) { tx->client_addr = "192.0.2.99"; },
                   {"<carol@b\xc3\xbc"
                    "cher.example>"},
                   &g->carol_idn);
  assert_true(s.decrypted);
  assert_true(s.plain_ok);
  // Nothing encrypts: every RCPT still gets its log line; bad syntax still refused.
  g->rt->any_encryption = false;
  r = AddOne("<carol@B.example>");
  assert_string_equal(r.fields,
                      "to=<carol@b.example>, domain=b.example, encrypt=never, action=accept");
  assert_string_equal(AddOne("<carol@ b.example>").disposition, "reject");
}

// Online revocation for b.example (hard) over responders that never answer
// in time: every fetch is given its revocation_timeout of 5 s, or less.
std::vector<long>* UseSlowResponders(ManualClock* clock) {
  static std::vector<long> timeouts;
  timeouts.clear();
  RevocationOptions ro;
  ro.state_dir = g->dir;
  std::unique_ptr<OnlineRevocationChecker> checker;
  if (!OnlineRevocationChecker::Create(ro, std::make_unique<SlowFetcher>(clock, 60000, &timeouts),
                                       &checker)
           .ok())
    fail_msg("OnlineRevocationChecker::Create");
  g->rt->revocation = std::move(checker);
  g->rt->domain_rules["b.example"].revocation_mode = RevocationMode::kHard;
  return &timeouts;
}

struct RcptResult {
  char disposition[16] = "";
  char reply[200] = "";
  char fields[600] = "";
};

// One RCPT as the milter runs it (AddRecipient creates the step's deadline).
RcptResult AddRcpt(const std::string& rcpt, const Clock& clock) {
  RcptResult out;
  Transaction tx;
  tx.direction = Direction::kOutbound;
  RcptVerdict v = AddRecipient(*g->rt, rcpt, clock, &tx);
  std::snprintf(out.disposition, sizeof out.disposition, "%s", DispositionName(v.disposition));
  std::snprintf(out.reply, sizeof out.reply, "%s %s", v.reply_code.c_str(), v.reply_xcode.c_str());
  std::snprintf(out.fields, sizeof out.fields, "%s", v.fields.c_str());
  return out;
}

// The certificate's chain has four fetches (OCSP and CRL for ivan and for
// its intermediate): 20 s of waiting. rcpt_deadline = 12 s cuts the third
// to the 2 s left and starts no fourth; the RCPT is 451, never accepted
// for clear text, and the log says deadline.
void TestRcptDeadlineCutsRevocationChain(void**) {
  ManualClock clock(kNow);
  std::vector<long>* timeouts = UseSlowResponders(&clock);
  g->rt->rcpt_deadline_ms = 60000;  // room for all four: not the deadline's doing
  RcptResult r = AddRcpt("ivan@b.example", clock);
  assert_string_equal(r.disposition, "tempfail");
  assert_string_equal(r.reply, "451 4.7.1");
  assert_true(*timeouts == std::vector<long>({5000, 5000, 5000, 5000}));
  assert_null(std::strstr(r.fields, "deadline"));

  timeouts = UseSlowResponders(&clock);  // fresh breakers
  g->rt->rcpt_deadline_ms = 12000;
  const auto start = clock.Monotonic();
  r = AddRcpt("ivan@b.example", clock);
  assert_string_equal(r.disposition, "tempfail");
  assert_string_equal(r.reply, "451 4.7.1");
  assert_true(*timeouts == std::vector<long>({5000, 5000, 2000}));
  assert_int_equal(
      std::chrono::duration_cast<std::chrono::milliseconds>(clock.Monotonic() - start).count(),
      12000);
  if (!std::strstr(r.fields, "revocation status unknown: deadline reached\", reason"))
    fail_msg("%s", r.fields);
  assert_non_null(std::strstr(r.fields, "reason=deadline, action=tempfail"));
}

// LDAP as the certificate source, a directory that never answers in time
// (ldap_timeout 5 s) and rcpt_deadline = 3 s: the search is given 3 s, the
// required recipient gets 451 and the log says deadline. Each RCPT has a
// deadline of its own: the next one gets the full 3 s again.
void TestRcptDeadlineCutsLdap(void**) {
  ManualClock clock(kNow);
  std::vector<long> timeouts;
  LdapSearchFn slow = [&](const std::string&, long timeout_ms, LdapSearchResult*) {
    timeouts.push_back(timeout_ms);
    clock.Advance(timeout_ms);
    return Status::Io("ldap: search: no answer within the deadline of " +
                      std::to_string(timeout_ms) + " ms");
  };
  LdapOptions o;
  o.uris = {"ldap://127.0.0.1:1"};
  o.base = "dc=test";
  std::unique_ptr<LdapSource> ldap;
  assert_true(LdapSource::Create(o, &ldap, &clock, slow).ok());
  g->rt->directory = RecipientDirectory();
  g->rt->directory.AddSource(std::move(ldap));
  g->rt->rcpt_deadline_ms = 3000;
  for (const char* rcpt : {"carol@b.example", "dave@b.example"}) {
    RcptResult r = AddRcpt(rcpt, clock);
    assert_string_equal(r.disposition, "tempfail");
    assert_string_equal(r.reply, "451 4.7.1");
    if (!std::strstr(r.fields,
                     "cert=none, cert_why=\"ldap: deadline reached: search: no answer within"))
      fail_msg("%s", r.fields);
    assert_non_null(std::strstr(r.fields, "reason=deadline"));
  }
  assert_true(timeouts == std::vector<long>({3000, 3000}));
}

// End of data: the recipient was accepted at RCPT time; at end of data its
// certificate's revocation is asked again and the responders hang. The
// eom_deadline (7 s) ends it: 451, never sent in clear, reason=deadline.
// The certificate store (SQLite) through a source that counts lookups.
class CountingSource final : public CertSource {
 public:
  CountingSource(std::shared_ptr<const CertStore> store, int* finds)
      : inner_(std::move(store)), finds_(finds) {}
  const char* Name() const override { return "local"; }
  Status Find(const std::string& address, const Deadline& deadline,
              std::vector<CertCandidate>* out) const override {
    ++*finds_;
    return inner_.Find(address, deadline, out);
  }
  bool ChangeCount(uint64_t* out) const override { return inner_.ChangeCount(out); }

 private:
  LocalCerts inner_;
  int* finds_;
};

// One choice per message: end of data reuses the RCPT-time certificate
// while the store is unchanged, and never uses one that another process
// (smimectl cert remove: a second connection) removed in between.
void TestChoiceReusedUnlessStoreChanged(void**) {
  const std::string db = g->dir + "/reuse.db";
  std::shared_ptr<CertStore> store;
  assert_true(CertStore::Open(db, &store).ok());
  assert_true(store->Add("carol@b.example", g->carol.cert.get(), "carol.pem", kNow).ok());
  assert_true(store->Add("carol@b.example", g->carol_old.cert.get(), "old.pem", kNow).ok());
  assert_true(store->AddIntermediates({g->inter.cert.get()}).ok());
  int finds = 0;
  Runtime& rt = *g->rt;
  rt.directory = RecipientDirectory();
  rt.directory.AddSource(std::make_unique<CountingSource>(store, &finds));
  rt.directory.SetChainHints(store);
  FixedClock clock(kNow);

  // Unchanged store: one lookup for the whole message.
  Transaction tx;
  tx.direction = Direction::kOutbound;
  RcptVerdict v = AddRecipient(rt, "<carol@b.example>", clock, &tx);
  assert_int_equal(static_cast<int>(v.disposition), static_cast<int>(Disposition::kAccept));
  assert_int_equal(finds, 1);
  EncryptionPlan plan = PlanEncryption(rt, tx, clock);
  assert_true(plan.encrypt);
  assert_false(plan.refuse);
  assert_int_equal(plan.reused, 1);
  assert_int_equal(finds, 1);
  assert_int_equal(X509_cmp(plan.certs[0].cert.get(), g->carol.cert.get()), 0);

  // The chosen certificate removed between RCPT and end of data by another
  // connection: chosen again, the remaining one.
  Transaction tx2;
  tx2.direction = Direction::kOutbound;
  v = AddRecipient(rt, "<carol@b.example>", clock, &tx2);
  assert_int_equal(static_cast<int>(v.disposition), static_cast<int>(Disposition::kAccept));
  assert_int_equal(finds, 2);
  {
    std::shared_ptr<CertStore> other;
    assert_true(CertStore::Open(db, &other).ok());
    int removed = 0;
    assert_true(
        other->Remove("carol@b.example", CertFingerprint(g->carol.cert.get()), &removed).ok());
    assert_int_equal(removed, 1);
  }
  plan = PlanEncryption(rt, tx2, clock);
  assert_true(plan.encrypt);
  assert_false(plan.refuse);
  assert_int_equal(plan.reused, 0);
  assert_int_equal(finds, 3);
  assert_int_equal(X509_cmp(plan.certs[0].cert.get(), g->carol_old.cert.get()), 0);

  // The last one removed too: the message is refused (451), never
  // encrypted to a removed certificate.
  Transaction tx3;
  tx3.direction = Direction::kOutbound;
  v = AddRecipient(rt, "<carol@b.example>", clock, &tx3);
  assert_int_equal(static_cast<int>(v.disposition), static_cast<int>(Disposition::kAccept));
  {
    std::shared_ptr<CertStore> other;
    assert_true(CertStore::Open(db, &other).ok());
    int removed = 0;
    assert_true(other->Remove("carol@b.example", "", &removed).ok());
    assert_int_equal(removed, 1);
  }
  plan = PlanEncryption(rt, tx3, clock);
  assert_true(plan.refuse);
  assert_string_equal(plan.reply_code.c_str(), "451");
  assert_string_equal(plan.reason.c_str(), "certificate-lost");
  assert_int_equal(plan.certs.size(), 0);

  // A choice from a source that cannot tell its changes (the fake, like
  // LDAP) is always made again.
  Reset(nullptr);
  Transaction tx4;
  tx4.direction = Direction::kOutbound;
  v = AddRecipient(*g->rt, "<carol@b.example>", clock, &tx4);
  plan = PlanEncryption(*g->rt, tx4, clock);
  assert_true(plan.encrypt);
  assert_int_equal(plan.reused, 0);
  store.reset();
  for (const char* f : {"/reuse.db", "/reuse.db-wal", "/reuse.db-shm"})
    std::remove((g->dir + f).c_str());
}

// An opt-in source (like DANE SMIMEA) that finds nothing and cannot tell
// its changes.
class OptInSource final : public CertSource {
 public:
  const char* Name() const override { return "smimea"; }
  bool OptIn() const override { return true; }
  Status Find(const std::string&, const Deadline&, std::vector<CertCandidate>*) const override {
    return Status::Ok();
  }
};

// A DANE SMIMEA source bars reuse only for domains that ask it (smimea on):
// there the choice is made again at end of data; elsewhere it is not asked
// and the store's unchanged counter lets the RCPT choice stand.
void TestChoiceNotReusedWithSmimea(void**) {
  const std::string db = g->dir + "/optin.db";
  std::shared_ptr<CertStore> store;
  assert_true(CertStore::Open(db, &store).ok());
  assert_true(store->Add("carol@b.example", g->carol.cert.get(), "carol.pem", kNow).ok());
  assert_true(store->AddIntermediates({g->inter.cert.get()}).ok());
  int finds = 0;
  Runtime& rt = *g->rt;
  rt.directory = RecipientDirectory();
  rt.directory.AddSource(std::make_unique<CountingSource>(store, &finds));
  rt.directory.AddSource(std::make_unique<OptInSource>());
  rt.directory.SetChainHints(store);
  FixedClock clock(kNow);
  for (bool smimea : {false, true}) {
    rt.domain_rules["b.example"].smimea = smimea;
    finds = 0;
    Transaction tx;
    tx.direction = Direction::kOutbound;
    RcptVerdict v = AddRecipient(rt, "<carol@b.example>", clock, &tx);
    assert_int_equal(static_cast<int>(v.disposition), static_cast<int>(Disposition::kAccept));
    EncryptionPlan plan = PlanEncryption(rt, tx, clock);
    assert_true(plan.encrypt);
    assert_int_equal(plan.reused, smimea ? 0 : 1);
    assert_int_equal(finds, smimea ? 2 : 1);
    assert_int_equal(X509_cmp(plan.certs[0].cert.get(), g->carol.cert.get()), 0);
  }
  rt.domain_rules["b.example"].smimea = false;
  store.reset();
  for (const char* f : {"/optin.db", "/optin.db-wal", "/optin.db-shm"})
    std::remove((g->dir + f).c_str());
}

void TestEomDeadlineRefusesEncryption(void**) {
  ManualClock clock(kNow);
  std::vector<long>* timeouts = UseSlowResponders(&clock);
  g->rt->eom_deadline_ms = 7000;
  Transaction tx;
  ParseRawMessage(kPlainMessage, &tx);
  tx.direction = Direction::kOutbound;
  tx.sasl_user = "alice";
  tx.rcpts = {"ivan@b.example"};
  tx.rcpt_classes = {RcptClass::kEncrypt};
  Outcome o = Process(*g->rt, tx, clock);
  assert_int_equal(static_cast<int>(o.disposition), static_cast<int>(Disposition::kTempFail));
  assert_string_equal(o.reply_code.c_str(), "451");
  assert_false(o.replace_body);
  assert_true(*timeouts == std::vector<long>({5000, 2000}));
  assert_non_null(std::strstr(o.fields.c_str(), "reason=deadline"));
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(TestRequiredRecipientWithoutCertificateRefused, Reset),
      cmocka_unit_test_setup(TestAddressFormsGetTheSameTreatment, Reset),
      cmocka_unit_test_setup(TestMixedTreatmentDeferred, Reset),
      cmocka_unit_test_setup(TestRequiredEncryptsNewestValidCertificate, Reset),
      cmocka_unit_test_setup(TestRecipientAlgorithmRules, Reset),
      cmocka_unit_test_setup(TestEncryptOnlyLabelsEightBitBody, Reset),
      cmocka_unit_test_setup(TestLargeEnvelopeIsSpooled, Reset),
      cmocka_unit_test_setup(TestEnvelopeSpoolFailureIsTempfail, Reset),
      cmocka_unit_test_setup(TestEnvelopeSpoolFailureAfterSigningLogsOneAction, Reset),
      cmocka_unit_test_setup(TestRefusalAfterUnsignedKeepsWhy, Reset),
      cmocka_unit_test_setup(TestGcmOnlyWhenEveryoneAnnouncedIt, Reset),
      cmocka_unit_test_setup(TestCipherPerAnnouncedCapabilities, Reset),
      cmocka_unit_test(TestCommonCipherRules),
      cmocka_unit_test_setup(TestEcdhUsesSha256Kdf, Reset),
      cmocka_unit_test_setup(TestOpportunisticAndNever, Reset),
      cmocka_unit_test_setup(TestTrustLevelAndRevocation, Reset),
      cmocka_unit_test_setup(TestCertificateDomainInOneForm, Reset),
      cmocka_unit_test_setup(TestLabelAloneIsNotEncryption, Reset),
      cmocka_unit_test_setup(TestRevocationOutageIsTemporary, Reset),
      cmocka_unit_test_setup(TestAcceptOnInternalErrorRefusedWithEncryption, Reset),
      cmocka_unit_test_setup(TestEveryDirectionEncrypts, Reset),
      cmocka_unit_test_setup(TestAlreadyEncryptedMeansExactly, Reset),
      cmocka_unit_test_setup(TestRcptSpellingsEncryptedOrRefused, Reset),
      cmocka_unit_test_setup(TestRcptDeadlineCutsRevocationChain, Reset),
      cmocka_unit_test_setup(TestRcptDeadlineCutsLdap, Reset),
      cmocka_unit_test_setup(TestEomDeadlineRefusesEncryption, Reset),
      cmocka_unit_test_setup(TestChoiceReusedUnlessStoreChanged, Reset),
      cmocka_unit_test_setup(TestChoiceNotReusedWithSmimea, Reset),
  };
  return cmocka_run_group_tests(tests, SetUp, TearDown);
}
