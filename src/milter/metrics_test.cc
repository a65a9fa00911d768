// Unit tests for milter/metrics: counting and the Prometheus text format.
#include "milter/metrics.h"

#include <string>
#include <thread>
#include <vector>

#include "base/testing.h"
#include "engine/processor.h"

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

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(TestCountsAndFormat),
      cmocka_unit_test(TestCountsFromThreads),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
