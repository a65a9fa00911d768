// Unit tests for milter/metrics: counting and the Prometheus text format;
// the fetchers' gauges (revocation, AIA, LDAP) and the per-certificate
// expiry gauges on real certificates (testing/test_pki) at the pinned clock.
#include "milter/metrics.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "base/testing.h"
#include "certdir/ldap_source.h"
#include "engine/processor.h"
#include "engine/runtime.h"
#include "testing/test_pki.h"

using namespace smime;
using namespace smime::testpki;

namespace {

bool Has(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

void TestCountsAndFormat(void**) {
  Metrics m;
  Outcome pass;
  pass.direction = Direction::kInbound;
  pass.verdict = AuthResult::kPass;
  pass.fields =
      "from=<a@b>, chain=trusted, signer=<a@b>, revocation=good, revocation_source=cache, "
      "chain=trusted, signer=<c@d>, revocation=not-checked, result=pass, ms=3";
  m.CountMessage(pass);
  m.CountMessage(pass);
  Outcome signed_out;
  signed_out.direction = Direction::kOutbound;
  m.CountMessage(signed_out);
  Outcome refused;
  refused.direction = Direction::kOutbound;
  refused.disposition = Disposition::kTempFail;
  refused.fields =
      "from=<a@b>, login=\"x\\x2c reason\\x3dforged\", action=tempfail, "
      "reason=sender-not-authorized, ms=1";
  m.CountMessage(refused);
  Outcome first_field;
  first_field.disposition = Disposition::kReject;
  first_field.fields = "reason=message-too-large";
  m.CountMessage(first_field);
  Outcome panic = InternalErrorOutcome(false, "boom");
  m.CountMessage(panic);
  m.CountRcpt(Disposition::kReject);
  m.CountReload(true);
  m.CountReload(false);
  m.CountReload(false);
  const std::string text = m.Render(nullptr, 1780272000);
  assert_true(Has(text, "# TYPE smime_milter_messages_total counter"));
  assert_true(Has(text,
                  "smime_milter_messages_total{direction=\"inbound\",result=\"pass\","
                  "disposition=\"accept\"} 2"));
  assert_true(Has(text,
                  "smime_milter_messages_total{direction=\"outbound\",result=\"-\","
                  "disposition=\"accept\"} 1"));
  assert_true(Has(text,
                  "smime_milter_messages_total{direction=\"outbound\",result=\"-\","
                  "disposition=\"tempfail\"} 1"));
  assert_true(Has(text, "smime_milter_panics_total 1"));
  // By the reason= field; an escaped "reason=" inside a value is not one.
  assert_true(Has(text, "smime_milter_refusals_total{reason=\"sender-not-authorized\"} 1"));
  assert_true(Has(text, "smime_milter_refusals_total{reason=\"message-too-large\"} 1"));
  assert_int_equal(text.find("forged"), std::string::npos);
  // Two signers per message, two messages.
  assert_true(
      Has(text, "smime_milter_revocation_checks_total{status=\"good\",source=\"cache\"} 2"));
  assert_true(Has(text,
                  "smime_milter_revocation_checks_total{status=\"not-checked\",source=\"-\"} "
                  "2"));
  assert_true(Has(text, "smime_milter_rcpt_total{disposition=\"reject\"} 1"));
  assert_true(Has(text, "smime_milter_reloads_total{result=\"failed\"} 2"));
  assert_true(Has(text, "smime_milter_reloads_total{result=\"ok\"} 1"));
  assert_true(Has(text, "smime_milter_metrics_written_seconds 1780272000"));
  // One TYPE line per metric, before its samples.
  size_t at = 0;
  int types = 0;
  while ((at = text.find("# TYPE smime_milter_messages_total", at)) != std::string::npos) {
    ++types;
    ++at;
  }
  assert_int_equal(types, 1);
  assert_true(text.find("# TYPE smime_milter_messages_total") <
              text.find("smime_milter_messages_total{"));
  // Every line ends in a newline (the textfile collector needs it).
  assert_true(!text.empty() && text.back() == '\n');
}

void TestCountsFromThreads(void**) {
  Metrics m;
  {
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&m] {
        for (int i = 0; i < 500; ++i) m.CountRcpt(Disposition::kAccept);
      });
    for (std::thread& th : threads) th.join();
  }
  assert_true(Has(m.Render(nullptr, 0), "smime_milter_rcpt_total{disposition=\"accept\"} 2000"));
}

// A checker with fixed fetch and breaker counts.
class CountingChecker final : public RevocationChecker {
 public:
  ChainRevocation Check(STACK_OF(X509) *, STACK_OF(X509_CRL) *, std::time_t,
                        const Deadline&) override {
    return {};
  }
  RevocationStats Stats(std::time_t) const override {
    RevocationStats s;
    s.ocsp_fetch_failures = 7;
    s.crl_fetch_failures = 2;
    s.breaker_refusals = 12;
    s.breakers_open = 1;
    s.breakers_half_open = 3;
    s.breaker_opens = 4;
    return s;
  }
};

// The runtime's gauges: revocation fetches and breakers, LDAP lookups and
// the search latency histogram (cumulative buckets, +Inf = count).
void TestFetcherGauges(void**) {
  Runtime rt;
  rt.revocation = std::make_unique<CountingChecker>();
  LdapOptions o;
  o.uris = {"ldap://127.0.0.1:1"};
  o.base = "dc=test";
  o.breaker_cooldown = 0;
  std::unique_ptr<LdapSource> ldap;
  assert_true(
      LdapSource::Create(o, &ldap, nullptr, [](const std::string&, long, LdapSearchResult*) {
        return Status::Ok();
      }).ok());
  std::vector<CertCandidate> found;
  assert_true(ldap->Find("a@x", Deadline(), &found).ok());
  assert_true(ldap->Find("b@x", Deadline(), &found).ok());
  assert_true(ldap->Find("a@x", Deadline(), &found).ok());  // cached: not searched
  rt.ldap = ldap.get();
  const std::string text = Metrics().Render(&rt, 1780272000);
  assert_true(Has(text, "smime_milter_revocation_fetch_failures_total{method=\"ocsp\"} 7"));
  assert_true(Has(text, "smime_milter_revocation_fetch_failures_total{method=\"crl\"} 2"));
  assert_true(Has(text, "smime_milter_breaker_refusals_total{component=\"revocation\"} 12"));
  assert_true(Has(text, "smime_milter_breaker_refusals_total{component=\"ldap\"} 0"));
  assert_true(Has(text, "smime_milter_breaker_opens_total{component=\"revocation\"} 4"));
  assert_true(Has(text, "smime_milter_breakers{component=\"revocation\",state=\"open\"} 1"));
  assert_true(Has(text, "smime_milter_breakers{component=\"revocation\",state=\"half_open\"} 3"));
  assert_true(Has(text, "smime_milter_breakers{component=\"ldap\",state=\"open\"} 0"));
  assert_true(Has(text, "smime_milter_ldap_lookups_total{result=\"search\"} 2"));
  assert_true(Has(text, "smime_milter_ldap_lookups_total{result=\"negative_hit\"} 1"));
  assert_true(Has(text, "# TYPE smime_milter_ldap_search_duration_seconds histogram"));
  assert_true(Has(text, "smime_milter_ldap_search_duration_seconds_bucket{le=\"+Inf\"} 2"));
  assert_true(Has(text, "smime_milter_ldap_search_duration_seconds_count 2"));
  assert_true(text.find("smime_milter_ldap_search_duration_seconds_bucket{le=\"0.005\"} ") !=
              std::string::npos);
  assert_true(text.find("smime_milter_ldap_search_duration_seconds_sum ") != std::string::npos);
  // No store: no store gauges.
  assert_int_equal(text.find("smime_milter_certificates_stored"), std::string::npos);
  // Without LDAP, no LDAP lines.
  rt.ldap = nullptr;
  assert_int_equal(Metrics().Render(&rt, 0).find("ldap"), std::string::npos);
}

// Answers every AIA request with the issuer's DER, or fails.
class IssuerFetcher final : public HttpFetcher {
 public:
  std::string body;
  bool fail = false;
  Status Fetch(const HttpRequest&, std::string* out) override {
    if (fail) return Status::Io("HTTP 503");
    *out = body;
    return Status::Ok();
  }
};

// The AIA fetcher's counters and breaker, beside the other components'.
void TestAiaGauges(void**) {
  Issued root = MakeCa("AIA Metrics Root");
  Issued inter = MakeSubCa("AIA Metrics Inter", root);
  CertSpec spec = SmimeSpec("a@a.example");
  spec.ca_issuers_urls = {"http://ca.test/inter.der"};
  Issued leaf = MakeLeaf(spec, inter);
  spec = SmimeSpec("b@a.example");
  spec.ca_issuers_urls = {"http://ca.test/down.der"};
  Issued down = MakeLeaf(spec, inter);
  AiaOptions o;
  o.breaker_threshold = 2;
  o.breaker_cooldown = 60;
  auto fetcher = std::make_unique<IssuerFetcher>();
  IssuerFetcher* f = fetcher.get();
  f->body = ToDer(inter.cert.get());
  Runtime rt;
  rt.aia = std::make_unique<AiaFetcher>(o, std::move(fetcher));
  int budget = 9;
  rt.aia->IssuersOf(leaf.cert.get(), kNow, Deadline(), &budget);  // fetched
  rt.aia->IssuersOf(leaf.cert.get(), kNow, Deadline(), &budget);  // cached
  f->fail = true;
  for (int i = 0; i < 3; ++i)  // failed, failed (opens), breaker-open
    rt.aia->IssuersOf(down.cert.get(), kNow, Deadline(), &budget);
  std::string text = Metrics().Render(&rt, kNow + 1);
  assert_true(Has(text, "# TYPE smime_milter_aia_fetches_total counter"));
  assert_true(Has(text, "smime_milter_aia_fetches_total 3"));
  assert_true(Has(text, "smime_milter_aia_fetch_failures_total{outcome=\"failed\"} 2"));
  assert_true(Has(text, "smime_milter_aia_fetch_failures_total{outcome=\"no-issuer\"} 0"));
  assert_true(Has(text, "smime_milter_aia_cache_hits_total 1"));
  assert_true(Has(text, "smime_milter_breaker_refusals_total{component=\"aia\"} 1"));
  assert_true(Has(text, "smime_milter_breaker_opens_total{component=\"aia\"} 1"));
  assert_true(Has(text, "smime_milter_breakers{component=\"aia\",state=\"open\"} 1"));
  assert_true(Has(text, "smime_milter_breakers{component=\"aia\",state=\"half_open\"} 0"));
  // No revocation checker, no LDAP: none of their lines.
  assert_int_equal(text.find("component=\"revocation\""), std::string::npos);
  assert_int_equal(text.find("ldap"), std::string::npos);
  // Cooled down: the breaker lets the next request probe.
  text = Metrics().Render(&rt, kNow + 61);
  assert_true(Has(text, "smime_milter_breakers{component=\"aia\",state=\"open\"} 0"));
  assert_true(Has(text, "smime_milter_breakers{component=\"aia\",state=\"half_open\"} 1"));
  // One TYPE line per family, even with several components.
  rt.revocation = std::make_unique<CountingChecker>();
  text = Metrics().Render(&rt, kNow + 61);
  size_t at = 0;
  int types = 0;
  while ((at = text.find("# TYPE smime_milter_breakers ", at)) != std::string::npos) {
    ++types;
    ++at;
  }
  assert_int_equal(types, 1);
  assert_true(Has(text, "smime_milter_breakers{component=\"revocation\",state=\"open\"} 1"));
}

std::string Fp16(X509* cert) { return CertFingerprint(cert).substr(0, 16); }

// Per-certificate expiry gauges: every identity and anchor, the soonest
// kRecipientExpirySeries added recipient certificates, and the counts under
// each threshold, from a real store.
void TestCertExpiryGauges(void**) {
  const char* tmp = getenv("TMPDIR");
  std::string dir = std::string(tmp && *tmp ? tmp : "/tmp") + "/metrics_test.XXXXXX";
  assert_non_null(mkdtemp(&dir[0]));
  Issued root = MakeCa("Metrics Root");
  const std::string anchors = dir + "/anchors.pem";
  std::ofstream(anchors) << ToPem(root.cert.get());
  Runtime rt;
  assert_true(rt.trust.Load(anchors).ok());
  CertSpec spec = SmimeSpec("alice@a.example");
  spec.not_after = kNow + 10 * 86400 + 3600;
  Issued alice = MakeLeaf(spec, root);
  Identity id;
  id.address = "alice@a.example";
  id.origin = "/etc/smime-milter/identities:1";
  id.cert = std::move(alice.cert);
  X509* alice_cert = id.cert.get();
  assert_true(rt.identities.Add(std::move(id)).ok());
  std::shared_ptr<CertStore> store;
  assert_true(CertStore::Open(dir + "/certificates.db", &store).ok());
  // r0 expired a second ago, then one every 10 days; r99 harvested.
  const size_t n = Metrics::kRecipientExpirySeries + 5;
  std::vector<Issued> recipients;
  for (size_t i = 0; i < n; ++i) {
    CertSpec r = SmimeSpec("r" + std::to_string(i) + "@b.example");
    r.not_after = kNow + static_cast<std::time_t>(i) * 10 * 86400 - 1;
    recipients.push_back(MakeLeaf(r, root));
    assert_true(store
                    ->Add("r" + std::to_string(i) + "@b.example", recipients.back().cert.get(),
                          "/root/r.pem", kNow)
                    .ok());
  }
  CertSpec h = SmimeSpec("r99@b.example");
  h.not_after = kNow + 86400;
  Issued harvested = MakeLeaf(h, root);
  assert_true(store->Harvest("r99@b.example", harvested.cert.get(), {}, kNow, "q1", kNow).ok());
  rt.cert_store = store;
  const std::string text = Metrics().Render(&rt, kNow);
  assert_true(Has(text, "# TYPE smime_milter_certificate_expiry_days gauge"));
  assert_true(Has(text,
                  "smime_milter_certificate_expiry_days{kind=\"identity\",name=\"alice@a.example\","
                  "fingerprint=\"" +
                      Fp16(alice_cert) + "\"} 10"));
  assert_true(Has(text,
                  "smime_milter_certificate_expiry_days{kind=\"trust_anchor\",name=\"CN=Metrics "
                  "Root,O=Test PKI\",fingerprint=\"" +
                      Fp16(root.cert.get()) + "\"} 214"));
  assert_true(Has(text,
                  "smime_milter_certificate_expiry_days{kind=\"recipient_certificate\","
                  "name=\"r0@b.example\",fingerprint=\"" +
                      Fp16(recipients[0].cert.get()) + "\"} -1"));
  assert_true(Has(text,
                  "smime_milter_certificate_expiry_days{kind=\"recipient_certificate\","
                  "name=\"r3@b.example\",fingerprint=\"" +
                      Fp16(recipients[3].cert.get()) + "\"} 29"));
  // The soonest kRecipientExpirySeries only; never the harvested one.
  size_t series = 0;
  for (size_t at = 0;
       (at = text.find("{kind=\"recipient_certificate\",name=", at)) != std::string::npos; ++at)
    ++series;
  assert_int_equal(series, Metrics::kRecipientExpirySeries);
  const std::string last = "r" + std::to_string(Metrics::kRecipientExpirySeries - 1) + "@";
  const std::string first_left_out = "r" + std::to_string(Metrics::kRecipientExpirySeries) + "@";
  assert_true(text.find("name=\"" + last) != std::string::npos);
  assert_int_equal(text.find("name=\"" + first_left_out), std::string::npos);
  assert_int_equal(text.find("r99@"), std::string::npos);
  // Counted, all of them: expired; within 7, 30, 90 days.
  assert_true(Has(text,
                  "smime_milter_certificates_expiring{kind=\"recipient_certificate\","
                  "within_days=\"0\"} 1"));
  assert_true(Has(text,
                  "smime_milter_certificates_expiring{kind=\"recipient_certificate\","
                  "within_days=\"7\"} 1"));
  assert_true(Has(text,
                  "smime_milter_certificates_expiring{kind=\"recipient_certificate\","
                  "within_days=\"30\"} 4"));
  assert_true(Has(text,
                  "smime_milter_certificates_expiring{kind=\"recipient_certificate\","
                  "within_days=\"90\"} 10"));
  assert_true(
      Has(text, "smime_milter_certificates_expiring{kind=\"identity\",within_days=\"30\"} 1"));
  assert_true(
      Has(text, "smime_milter_certificates_expiring{kind=\"identity\",within_days=\"7\"} 0"));
  assert_true(
      Has(text, "smime_milter_certificates_expiring{kind=\"trust_anchor\",within_days=\"90\"} 0"));
  // The existing aggregate agrees with the per-certificate series.
  assert_true(Has(text, "smime_milter_expiry_days_min{kind=\"recipient_certificate\"} -1"));
  store.reset();
  rt.cert_store.reset();
  for (const char* f : {"/certificates.db", "/certificates.db-wal", "/certificates.db-shm",
                        "/certificates.db-journal", "/anchors.pem"})
    unlink((dir + f).c_str());
  rmdir(dir.c_str());
}

// Label values as the text format wants them: \\, \" and \n escaped, valid
// UTF-8 only (anything else and control characters become U+FFFD), capped.
void TestLabelValues(void**) {
  assert_string_equal(PromLabelValue("a\"b\\c\nd").c_str(), "a\\\"b\\\\c\\nd");
  assert_string_equal(PromLabelValue("CN=J\xc3\xbcrgen,O=x").c_str(), "CN=J\xc3\xbcrgen,O=x");
  assert_string_equal(PromLabelValue("a\xff"
                                     "b")
                          .c_str(),
                      "a\xef\xbf\xbd"
                      "b");
  assert_string_equal(PromLabelValue("a\x01"
                                     "b\x7f")
                          .c_str(),
                      "a\xef\xbf\xbd"
                      "b\xef\xbf\xbd");
  // Overlong '/' and a lone surrogate are not UTF-8.
  assert_string_equal(PromLabelValue("\xc0\xaf").c_str(), "\xef\xbf\xbd\xef\xbf\xbd");
  assert_string_equal(PromLabelValue("\xed\xa0\x80").c_str(),
                      "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
  assert_string_equal(PromLabelValue("\xf0\x9f\x98\x80").c_str(), "\xf0\x9f\x98\x80");
  assert_int_equal(PromLabelValue(std::string(1000, 'x')).size(), Metrics::kMaxLabelBytes);
  // A sequence cut by the cap is not kept half.
  std::string cut(Metrics::kMaxLabelBytes - 1, 'x');
  cut += "\xc3\xbc";
  assert_string_equal(PromLabelValue(cut).substr(Metrics::kMaxLabelBytes - 1).c_str(),
                      "\xef\xbf\xbd");
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(TestCountsAndFormat),  cmocka_unit_test(TestCountsFromThreads),
      cmocka_unit_test(TestFetcherGauges),    cmocka_unit_test(TestAiaGauges),
      cmocka_unit_test(TestCertExpiryGauges), cmocka_unit_test(TestLabelValues),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
