// Unit tests for milter/metrics: counting and the Prometheus text format.
#include "milter/metrics.h"

#include <string>
#include <thread>
#include <vector>

#include "base/testing.h"
#include "certdir/ldap_source.h"
#include "engine/processor.h"
#include "engine/runtime.h"

using namespace smime;

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

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(TestCountsAndFormat),
      cmocka_unit_test(TestCountsFromThreads),
      cmocka_unit_test(TestFetcherGauges),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
