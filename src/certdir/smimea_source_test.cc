// Unit tests for certdir/smimea_source without DNS: the RFC 8162 owner name
// (RFC 7929's "hugh" example hash), record matching for every selector and
// matching type, SmimeaSource::Find over a fake resolver (secure, bogus,
// insecure, NXDOMAIN, failure; TTL cache; circuit breaker; the step
// deadline), SmimeaOptionsFromConfig (defaults, bad resolvers) and
// RecipientDirectory's use of DANE (DANE-EE binding without CA, opt-in per
// domain, hash records confirming another source's certificate, PKIX-EE
// still needing the chain, trust level dane against encryption_min_trust).
// The real DNSSEC test (nsd, ldns-signzone, libunbound) is tests/dane/run-dane.sh.
#include "certdir/smimea_source.h"

#include <openssl/x509v3.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "base/testing.h"
#include "certdir/recipient_directory.h"
#include "config/config.h"
#include "testing/runtime_fixture.h"
#include "testing/test_pki.h"

using namespace smime;
using namespace smime::testpki;

namespace {

struct Fixture {
  Issued ca, other_ca, alice, bob_self, carol_untrusted;
  std::string dir;
  TrustStore trust;
};
Fixture* g = nullptr;

CertSpec EncSpec(const std::string& address) {
  CertSpec s = SmimeSpec(address);
  s.key_usage = KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT;
  return s;
}

int Setup(void**) {
  g = new Fixture;
  g->ca = MakeCa("DANE Test CA");
  g->other_ca = MakeCa("Unknown CA");
  g->alice = MakeLeaf(EncSpec("alice@d.example"), g->ca);
  // A certificate no configured CA issued, naming another address: only
  // DANE-EE may bind it.
  g->bob_self = MakeLeaf(EncSpec("someone@elsewhere.example"), g->other_ca);
  g->carol_untrusted = MakeLeaf(EncSpec("carol@d.example"), g->other_ca);
  g->dir = MakeTestDir("smimea_test", g->ca);
  if (g->dir.empty()) return -1;
  if (!g->trust.Load(g->dir + "/anchors.pem").ok()) return -1;
  return 0;
}

int Teardown(void**) { return DeleteFixture(g); }

std::string Rdata(int usage, int selector, int mtype, const std::string& data) {
  std::string r;
  r += static_cast<char>(usage);
  r += static_cast<char>(selector);
  r += static_cast<char>(mtype);
  return r + data;
}

std::string Digest(const std::string& der, const EVP_MD* md) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(der.data(), der.size(), out, &n, md, nullptr);
  return std::string(reinterpret_cast<char*>(out), n);
}

std::string Spki(X509* x) {
  unsigned char* p = nullptr;
  int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &p);
  std::string s(reinterpret_cast<char*>(p), static_cast<size_t>(n));
  OPENSSL_free(p);
  return s;
}

void TestOwnerName(void**) {
  const std::string n = SmimeaOwnerName("hugh@example.com");
  assert_string_equal(n.c_str(),
                      "c93f1e400f26708f98cb19d936620da35eec8f72e57f9eec01c1afd6._smimecert."
                      "example.com");
  // The local part is hashed as given (no case folding); the domain is
  // lowered and in A-label form.
  assert_string_not_equal(SmimeaOwnerName("Hugh@example.com").c_str(), n.c_str());
  assert_string_equal(SmimeaOwnerName("hugh@EXAMPLE.com").c_str(), n.c_str());
  const std::string idn = SmimeaOwnerName("hugh@bücher.example");
  assert_true(idn.find("._smimecert.xn--bcher-kva.example") != std::string::npos);
  assert_string_equal(SmimeaOwnerName("no-at-sign").c_str(), "");
}

void TestMatching(void**) {
  X509* a = g->alice.cert.get();
  X509* b = g->carol_untrusted.cert.get();
  const std::string der = ToDer(a), spki = Spki(a);
  const std::string datas[2][3] = {{der, Digest(der, EVP_sha256()), Digest(der, EVP_sha512())},
                                   {spki, Digest(spki, EVP_sha256()), Digest(spki, EVP_sha512())}};
  for (int sel = 0; sel < 2; ++sel)
    for (int mt = 0; mt < 3; ++mt) {
      DaneRecord r;
      assert_true(ParseSmimeaRdata(Rdata(3, sel, mt, datas[sel][mt]), &r).ok());
      assert_int_equal(r.selector, sel);
      assert_int_equal(r.mtype, mt);
      assert_string_equal(DaneMismatch(r, a).c_str(), "");
      assert_string_not_equal(DaneMismatch(r, b).c_str(), "");
    }
  DaneRecord r;
  assert_false(ParseSmimeaRdata(std::string("\3\0\1", 3), &r).ok());
  assert_true(ParseSmimeaRdata(Rdata(3, 7, 1, datas[0][1]), &r).ok());
  assert_true(DaneMismatch(r, a).find("selector") != std::string::npos);
  assert_true(ParseSmimeaRdata(Rdata(3, 0, 9, datas[0][1]), &r).ok());
  assert_true(DaneMismatch(r, a).find("matching type") != std::string::npos);
}

struct FakeDns {
  int calls = 0;
  long last_timeout_ms = -1;
  std::string last_owner;
  bool fail = false;
  SmimeaAnswer answer;
  SmimeaQueryFn Fn() {
    return [this](const std::string& owner, long timeout_ms, SmimeaAnswer* out) {
      ++calls;
      last_timeout_ms = timeout_ms;
      last_owner = owner;
      if (fail) return Status::Io("dane: fake resolver down");
      *out = answer;
      return Status::Ok();
    };
  }
};

void TestFind(void**) {
  HandClock clock;
  FakeDns dns;
  std::unique_ptr<SmimeaSource> src;
  assert_true(SmimeaSource::Create(SmimeaOptions(), &src, &clock, dns.Fn()).ok());
  dns.answer.ttl = 600;
  dns.answer.rdatas = {Rdata(3, 0, 0, ToDer(g->bob_self.cert.get())),
                       Rdata(3, 1, 1, Digest(Spki(g->alice.cert.get()), EVP_sha256()))};
  std::vector<CertCandidate> out;
  assert_true(src->Find("bob@d.example", Deadline(), &out).ok());
  assert_string_equal(dns.last_owner.c_str(), SmimeaOwnerName("bob@d.example").c_str());
  assert_int_equal(out.size(), 2);
  assert_non_null(out[0].cert.get());
  assert_true(out[0].dane_ee);
  assert_int_equal(static_cast<int>(out[0].trust), static_cast<int>(CertTrust::kDane));
  assert_string_equal(out[0].source.c_str(), "dane");
  assert_null(out[1].cert.get());  // the hash record only confirms
  assert_int_equal(out[1].dane.size(), 1);
  // Cached for the TTL: no second query, then asked again.
  out.clear();
  assert_true(src->Find("bob@d.example", Deadline(), &out).ok());
  assert_int_equal(dns.calls, 1);
  assert_int_equal(out.size(), 2);
  clock.t += 601;
  out.clear();
  assert_true(src->Find("bob@d.example", Deadline(), &out).ok());
  assert_int_equal(dns.calls, 2);

  // Bogus and insecure answers: refused, with the reason.
  dns.answer.kind = SmimeaAnswer::Kind::kBogus;
  dns.answer.why = "bogus DNSSEC answer: signature crypto failed";
  out.clear();
  assert_true(src->Find("b1@d.example", Deadline(), &out).ok());
  assert_int_equal(out.size(), 1);
  assert_null(out[0].cert.get());
  assert_true(out[0].refused.find("bogus") != std::string::npos);
  dns.answer.kind = SmimeaAnswer::Kind::kInsecure;
  dns.answer.why = "insecure DNS answer";
  out.clear();
  assert_true(src->Find("i1@d.example", Deadline(), &out).ok());
  assert_int_equal(out.size(), 1);
  assert_true(out[0].refused.find("insecure") != std::string::npos);

  // NXDOMAIN / no record: nothing found.
  dns.answer = SmimeaAnswer();
  dns.answer.ttl = 60;
  out.clear();
  assert_true(src->Find("nobody@d.example", Deadline(), &out).ok());
  assert_int_equal(out.size(), 0);

  // Failures: not cached, and after three in a row the breaker answers.
  dns.fail = true;
  const int before = dns.calls;
  for (int i = 0; i < 3; ++i) {
    out.clear();
    assert_false(src->Find("x@f.example", Deadline(), &out).ok());
  }
  assert_int_equal(dns.calls, before + 3);
  Status st = src->Find("x@f.example", Deadline(), &out);
  assert_false(st.ok());
  assert_true(st.message().find("not asked again") != std::string::npos);
  assert_int_equal(dns.calls, before + 3);
  clock.t += SmimeaSource::kBreakerCooldown + 1;
  dns.fail = false;
  assert_true(src->Find("x@f.example", Deadline(), &out).ok());
}

// The milter step's deadline: a lookup gets what is left of it (when less
// than dns_timeout), none starts after it, and neither trips the breaker.
void TestDeadline(void**) {
  ManualClock clock(kNow);
  FakeDns dns;
  dns.fail = true;
  std::unique_ptr<SmimeaSource> src;
  SmimeaOptions o;
  o.timeout_ms = 5000;
  assert_true(SmimeaSource::Create(o, &src, &clock, dns.Fn()).ok());
  const Deadline step = Deadline::After(clock, 1500);
  std::vector<CertCandidate> out;
  assert_false(src->Find("a@d.example", step, &out).ok());
  assert_int_equal(dns.last_timeout_ms, 1500);
  assert_false(src->Find("a@d.example", Deadline(), &out).ok());
  assert_int_equal(dns.last_timeout_ms, 5000);
  clock.Advance(2000);
  for (int i = 0; i < 5; ++i) {
    Status st = src->Find("b@d.example", step, &out);
    assert_false(st.ok());
    assert_true(st.message().find("deadline reached") != std::string::npos);
  }
  assert_int_equal(dns.calls, 2);  // none asked after the deadline
  // Two failures only (the deadline ones do not count): still asked.
  dns.fail = false;
  assert_true(src->Find("c@d.example", Deadline(), &out).ok());
  assert_int_equal(dns.calls, 3);
}

// Parameters to options; a resolver that is not ADDR[@PORT] is an error
// naming file:line.
void TestOptions(void**) {
  Config config;
  assert_true(config
                  .Parse("dns_resolver = 127.0.0.1@5353 ::1\ndns_timeout = 7\n"
                         "dnssec_trust_anchor = /etc/anchor.key\n",
                         "t.conf")
                  .ok());
  SmimeaOptions o;
  assert_true(SmimeaOptionsFromConfig(config, &o).ok());
  assert_int_equal(o.resolvers.size(), 2);
  assert_string_equal(o.resolvers[0].c_str(), "127.0.0.1@5353");
  assert_int_equal(o.timeout_ms, 7000);
  assert_string_equal(o.trust_anchor_file.c_str(), "/etc/anchor.key");
  for (const char* bad :
       {"dns.example", "127.0.0.1@0", "127.0.0.1@65536", "127.0.0.1@x", "1.2.3"}) {
    Config c;
    assert_true(c.Parse(std::string("\ndns_resolver = ") + bad + "\n", "t.conf").ok());
    Status st = SmimeaOptionsFromConfig(c, &o);
    assert_false(st.ok());
    assert_true(st.message().find("t.conf:2: dns_resolver:") == 0);
  }
  Config defaults;
  assert_true(defaults.Parse("", "t.conf").ok());
  assert_true(SmimeaOptionsFromConfig(defaults, &o).ok());
  assert_int_equal(o.resolvers.size(), 0);
  assert_string_equal(o.trust_anchor_file.c_str(), "/usr/share/dns/root.key");
}

// A source with fixed candidates (an LDAP stand-in).
class FixedSource final : public CertSource {
 public:
  FixedSource(std::vector<X509*> certs, std::vector<X509*> hints)
      : certs_(std::move(certs)), hints_(std::move(hints)) {}
  const char* Name() const override { return "fixed"; }
  Status Find(const std::string&, const Deadline&, std::vector<CertCandidate>* out) const override {
    for (X509* x : certs_) {
      CertCandidate c;
      X509_up_ref(x);
      c.cert.reset(x);
      c.trust = CertTrust::kDirectory;
      c.source = "fixed";
      for (X509* h : hints_) {
        X509_up_ref(h);
        c.chain.emplace_back(h);
      }
      out->push_back(std::move(c));
    }
    return Status::Ok();
  }

 private:
  std::vector<X509*> certs_, hints_;
};

struct Choice {
  bool found = false;
  std::string source, trust, rejected;
  size_t rejected_count = 0;
};

Choice ChooseWith(const std::vector<std::string>& rdatas, std::vector<X509*> fixed,
                  const std::string& address, bool smimea, CertTrust min_trust,
                  std::vector<X509*> hints = {}) {
  HandClock clock;
  FakeDns dns;
  dns.answer.ttl = 60;
  dns.answer.rdatas = rdatas;
  std::unique_ptr<SmimeaSource> src;
  SmimeaSource::Create(SmimeaOptions(), &src, &clock, dns.Fn());
  RecipientDirectory dir;
  dir.AddSource(std::make_unique<FixedSource>(std::move(fixed), std::move(hints)));
  dir.AddSource(std::move(src));
  ChoiceRules rules;
  rules.revocation = RevocationMode::kOff;
  rules.smimea = smimea;
  rules.min_trust = min_trust;
  RecipientChoice c = dir.Choose(address, rules, g->trust, nullptr, kNow);
  Choice out;
  out.found = c.found;
  if (c.found) {
    out.source = c.chosen.source;
    out.trust = CertTrustName(c.chosen.trust);
  }
  for (const std::string& r : c.rejected) out.rejected += r + "\n";
  out.rejected_count = c.rejected.size();
  return out;
}

void TestDirectory(void**) {
  const std::string bob_der = ToDer(g->bob_self.cert.get());
  // DANE-EE full certificate: used without CA and without name check.
  Choice c = ChooseWith({Rdata(3, 0, 0, bob_der)}, {}, "bob@d.example", true, CertTrust::kDane);
  assert_true(c.found);
  assert_string_equal(c.source.c_str(), "dane");
  assert_string_equal(c.trust.c_str(), "dane");
  // The domain does not turn smimea on: the source is not asked.
  c = ChooseWith({Rdata(3, 0, 0, bob_der)}, {}, "bob@d.example", false, CertTrust::kHarvested);
  assert_false(c.found);
  // encryption_min_trust = admin is above dane.
  c = ChooseWith({Rdata(3, 0, 0, bob_der)}, {}, "bob@d.example", true, CertTrust::kAdmin);
  assert_false(c.found);
  assert_true(c.rejected.find("below admin") != std::string::npos);
  // PKIX-EE with a certificate no anchor vouches for: refused (chain).
  c = ChooseWith({Rdata(1, 0, 0, ToDer(g->carol_untrusted.cert.get()))}, {}, "carol@d.example",
                 true, CertTrust::kHarvested);
  assert_false(c.found);
  assert_true(c.rejected.find("chain") != std::string::npos);
  // ... and one naming another address: refused (PKIX-EE keeps the name check).
  c = ChooseWith({Rdata(1, 0, 0, bob_der)}, {}, "bob@d.example", true, CertTrust::kHarvested);
  assert_false(c.found);
  assert_true(c.rejected.find("does not name") != std::string::npos);
  // PKIX-EE with a chaining certificate naming the address: dane.
  c = ChooseWith({Rdata(1, 0, 0, ToDer(g->alice.cert.get()))}, {}, "alice@d.example", true,
                 CertTrust::kDane);
  assert_true(c.found);
  assert_string_equal(c.trust.c_str(), "dane");
  // A hash record alone supplies nothing.
  const std::string carol_hash = Digest(ToDer(g->carol_untrusted.cert.get()), EVP_sha512());
  c = ChooseWith({Rdata(3, 0, 2, carol_hash)}, {}, "carol@d.example", true, CertTrust::kHarvested);
  assert_false(c.found);
  // ... but confirms another source's certificate: DANE-EE binds it
  // although no configured CA issued it.
  c = ChooseWith({Rdata(3, 0, 2, carol_hash)}, {g->carol_untrusted.cert.get()}, "carol@d.example",
                 true, CertTrust::kDane);
  assert_true(c.found);
  assert_string_equal(c.source.c_str(), "fixed");
  assert_string_equal(c.trust.c_str(), "dane");
  // Without the record the same certificate fails its chain.
  c = ChooseWith({}, {g->carol_untrusted.cert.get()}, "carol@d.example", true,
                 CertTrust::kHarvested);
  assert_false(c.found);
  // PKIX-TA (0) naming the CA (SPKI SHA-256) raises a chaining one to dane.
  const std::string ca_hash = Digest(Spki(g->ca.cert.get()), EVP_sha256());
  c = ChooseWith({Rdata(0, 1, 1, ca_hash)}, {g->alice.cert.get()}, "alice@d.example", true,
                 CertTrust::kDane);
  assert_true(c.found);
  assert_string_equal(c.trust.c_str(), "dane");
  // A record naming another CA does not.
  c = ChooseWith({Rdata(0, 1, 1, Digest(Spki(g->other_ca.cert.get()), EVP_sha256()))},
                 {g->alice.cert.get()}, "alice@d.example", true, CertTrust::kDane);
  assert_false(c.found);
  // DANE-TA (2) with the CA certificate in the record: a certificate no
  // configured anchor vouches for chains to it and gets trust dane.
  X509* carol = g->carol_untrusted.cert.get();
  X509* other = g->other_ca.cert.get();
  c = ChooseWith({Rdata(2, 0, 0, ToDer(other))}, {carol}, "carol@d.example", true,
                 CertTrust::kDane);
  assert_true(c.found);
  assert_string_equal(c.trust.c_str(), "dane");
  // DANE-TA by hash: the CA must come as a path hint of the candidate.
  const std::string other_spki = Digest(Spki(other), EVP_sha256());
  c = ChooseWith({Rdata(2, 1, 1, other_spki)}, {carol}, "carol@d.example", true,
                 CertTrust::kHarvested, {other});
  assert_true(c.found);
  assert_string_equal(c.trust.c_str(), "dane");
  c = ChooseWith({Rdata(2, 1, 1, other_spki)}, {carol}, "carol@d.example", true,
                 CertTrust::kHarvested);
  assert_false(c.found);
  // A DANE-TA record of another CA does not make carol's certificate usable,
  // and DANE-TA keeps the name check.
  c = ChooseWith({Rdata(2, 0, 0, ToDer(g->ca.cert.get()))}, {carol}, "carol@d.example", true,
                 CertTrust::kHarvested);
  assert_false(c.found);
  assert_true(c.rejected.find("chain") != std::string::npos);
  c = ChooseWith({Rdata(2, 0, 0, ToDer(other))}, {carol}, "dave@d.example", true,
                 CertTrust::kHarvested);
  assert_false(c.found);
  assert_true(c.rejected.find("does not name") != std::string::npos);
  // An expired DANE-EE certificate is still refused.
  CertSpec old = EncSpec("old@d.example");
  old.not_after = kNow - 86400;
  old.not_before = kNow - 10 * 86400;
  Issued expired = MakeLeaf(old, g->other_ca);
  c = ChooseWith({Rdata(3, 0, 0, ToDer(expired.cert.get()))}, {}, "old@d.example", true,
                 CertTrust::kHarvested);
  assert_false(c.found);
  assert_true(c.rejected.find("expired") != std::string::npos);
  // A signing-only certificate cannot be encrypted to, DANE or not.
  CertSpec sig = SmimeSpec("sig@d.example");
  sig.key_usage = KU_DIGITAL_SIGNATURE;
  Issued signing = MakeLeaf(sig, g->other_ca);
  c = ChooseWith({Rdata(3, 0, 0, ToDer(signing.cert.get()))}, {}, "sig@d.example", true,
                 CertTrust::kHarvested);
  assert_false(c.found);
  assert_int_equal(c.rejected_count, 1);
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(TestOwnerName), cmocka_unit_test(TestMatching),
      cmocka_unit_test(TestFind),      cmocka_unit_test(TestDeadline),
      cmocka_unit_test(TestOptions),   cmocka_unit_test(TestDirectory),
  };
  return cmocka_run_group_tests(tests, Setup, Teardown);
}
