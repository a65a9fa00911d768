// Unit tests for base/log: severity prefixes, CaptureLog, StderrLog and
// the field formatting of log lines.
#include "base/log.h"

#include <stdio.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "base/testing.h"

using namespace smime;

namespace {

void TestSeverityPrefix(void**) {
  assert_string_equal(SeverityPrefix(Severity::kInfo), "");
  assert_string_equal(SeverityPrefix(Severity::kWarning), "warning: ");
  assert_string_equal(SeverityPrefix(Severity::kError), "error: ");
  assert_string_equal(SeverityPrefix(Severity::kFatal), "fatal: ");
  assert_string_equal(SeverityPrefix(Severity::kPanic), "panic: ");
}

void TestCaptureLog(void**) {
  CaptureLog log;
  assert_int_equal(log.Lines().size(), 0);
  LogSink* sink = &log;
  sink->Write(Severity::kInfo, "NOQUEUE: verify: result=pass");
  sink->Write(Severity::kWarning, "trust anchor expires soon");
  sink->Write(Severity::kError, "cannot read file");
  sink->Write(Severity::kFatal, "bad configuration");
  sink->Write(Severity::kPanic, "ABC123: panic: error=oops");
  sink->Write(Severity::kInfo, "");
  std::vector<std::string> lines = log.Lines();
  assert_int_equal(lines.size(), 6);
  assert_string_equal(lines[0].c_str(), "NOQUEUE: verify: result=pass");
  assert_string_equal(lines[1].c_str(), "warning: trust anchor expires soon");
  assert_string_equal(lines[2].c_str(), "error: cannot read file");
  assert_string_equal(lines[3].c_str(), "fatal: bad configuration");
  assert_string_equal(lines[4].c_str(), "panic: ABC123: panic: error=oops");
  assert_string_equal(lines[5].c_str(), "");
  // Lines() is a copy: later writes do not change it.
  log.Write(Severity::kInfo, "later");
  assert_int_equal(lines.size(), 6);
  assert_int_equal(log.Lines().size(), 7);
}

void TestCaptureLogFromThreads(void**) {
  CaptureLog log;
  {
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&log, t] {
        for (int i = 0; i < 250; ++i)
          log.Write(Severity::kWarning, "t" + std::to_string(t) + " " + std::to_string(i));
      });
    for (std::thread& th : threads) th.join();
  }
  std::vector<std::string> lines = log.Lines();
  size_t n = lines.size();
  size_t prefixed = 0;
  for (const std::string& l : lines)
    if (l.compare(0, 10, "warning: t") == 0) ++prefixed;
  assert_int_equal(n, 1000);
  assert_int_equal(prefixed, 1000);
}

void TestStderrLog(void**) {
  char path[] = "/tmp/log_test.XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  fflush(stderr);
  int saved = dup(2);
  dup2(fd, 2);
  {
    StderrLog log("smimectl");
    log.Write(Severity::kInfo, "NOQUEUE: verify: result=pass");
    log.Write(Severity::kWarning, "something odd");
  }
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  char buf[256] = {};
  ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
  close(fd);
  unlink(path);
  assert_true(n > 0);
  assert_string_equal(buf,
                      "smimectl: NOQUEUE: verify: result=pass\n"
                      "smimectl: warning: something odd\n");
}

void TestAppendField(void**) {
  std::string out;
  AppendField(&out, "from", "<alice@a.example>");
  assert_string_equal(out.c_str(), "from=<alice@a.example>");
  AppendField(&out, "result", "pass");
  assert_string_equal(out.c_str(), "from=<alice@a.example>, result=pass");
  AppendField(&out, "reason", "");
  assert_string_equal(out.c_str(), "from=<alice@a.example>, result=pass, reason=");
  // Values are taken as given (callers sanitise).
  std::string other = "x";
  AppendField(&other, "ms", "0");
  assert_string_equal(other.c_str(), "x, ms=0");
  std::string empty_value;
  AppendField(&empty_value, "signer", "<>");
  assert_string_equal(empty_value.c_str(), "signer=<>");
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(TestSeverityPrefix),        cmocka_unit_test(TestCaptureLog),
      cmocka_unit_test(TestCaptureLogFromThreads), cmocka_unit_test(TestStderrLog),
      cmocka_unit_test(TestAppendField),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
