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
  AppendAddressField(&out, "from", "alice@a.example");
  assert_string_equal(out.c_str(), "from=<alice@a.example>");
  AppendField(&out, "result", "pass");
  assert_string_equal(out.c_str(), "from=<alice@a.example>, result=pass");
  // Empty and spaced values are quoted: no value is blank or holds a bare space.
  AppendField(&out, "reason", "");
  assert_string_equal(out.c_str(), "from=<alice@a.example>, result=pass, reason=\"\"");
  std::string other = "x";
  AppendField(&other, "ms", "0");
  assert_string_equal(other.c_str(), "x, ms=0");
  AppendField(&other, "detail", "verification failure; content verify error");
  assert_string_equal(other.c_str(),
                      "x, ms=0, detail=\"verification failure; content verify error\"");
  std::string empty_value;
  AppendAddressField(&empty_value, "signer", "");
  assert_string_equal(empty_value.c_str(), "signer=<>");
  std::string spaced;
  AppendAddressField(&spaced, "from", "\"a b\"@c.example");
  assert_string_equal(spaced.c_str(), "from=<\\x22a\\x20b\\x22@c.example>");
}

// Splits "a=1, b=\"x y\"" the way a log reader does: fields at ", ", the
// name up to the first '='. Returns the names.
std::vector<std::string> FieldNames(const std::string& line) {
  std::vector<std::string> names;
  size_t start = 0;
  while (start <= line.size()) {
    size_t end = line.find(", ", start);
    std::string field = line.substr(start, end == std::string::npos ? end : end - start);
    names.push_back(field.substr(0, field.find('=')));
    if (end == std::string::npos) break;
    start = end + 2;
  }
  return names;
}

void TestValuesCannotAddFields(void**) {
  // A subjectAltName written to forge fields, and a login doing the same.
  const std::string san = "a@b>, chain=trusted, result=pass, x=<c";
  std::string out;
  AppendField(&out, "chain", "untrusted");
  AppendAddressField(&out, "signer", san);
  AppendField(&out, "login", "x, y=z");
  AppendField(&out, "harvest_error", "disk full\", result=pass, x=\"");
  AppendField(&out, "result", "fail");
  assert_string_equal(
      out.c_str(),
      "chain=untrusted, signer=<a@b\\x3e\\x2c\\x20chain\\x3dtrusted\\x2c\\x20result"
      "\\x3dpass\\x2c\\x20x\\x3d\\x3cc>, login=\"x\\x2c y\\x3dz\", harvest_error=\"disk "
      "full\\x22\\x2c result\\x3dpass\\x2c x\\x3d\\x22\", result=fail");
  const std::vector<std::string> names = FieldNames(out);
  const std::vector<std::string> want = {"chain", "signer", "login", "harvest_error", "result"};
  assert_true(names == want);
  // Exactly one "result=" and one "chain=": nothing a grep could be fooled by.
  assert_int_equal(out.find("result=pass"), std::string::npos);
  assert_int_equal(out.find("chain=trusted"), std::string::npos);
}

// One value per name: a later field of a name replaces the earlier one and
// comes last (a refusal after signing: action=tempfail, never action=signed
// beside it), wherever the earlier one stood, also among values that hold
// the separator's characters escaped.
void TestLaterFieldReplacesEarlier(void**) {
  std::string out;
  AppendAddressField(&out, "from", "a, action=x@b.example");
  AppendField(&out, "action", "signed");
  AppendField(&out, "format", "clear");
  AppendField(&out, "detail", "says action=signed, reason=none");
  AppendField(&out, "action", "tempfail");
  AppendField(&out, "reason", "spool-failed");
  assert_string_equal(out.c_str(),
                      "from=<a\\x2c\\x20action\\x3dx@b.example>, format=clear, "
                      "detail=\"says action\\x3dsigned\\x2c reason\\x3dnone\", action=tempfail, "
                      "reason=spool-failed");
  // The last field, the first field, the only field; a name that merely
  // starts like another (reason_x) or ends like it (xreason) stays.
  AppendField(&out, "reason", "spool-full");
  AppendAddressField(&out, "from", "c@d.example");
  assert_string_equal(out.c_str(),
                      "format=clear, detail=\"says action\\x3dsigned\\x2c reason\\x3dnone\", "
                      "action=tempfail, reason=spool-full, from=<c@d.example>");
  std::string one = "action=signed";
  AppendField(&one, "action", "reject");
  assert_string_equal(one.c_str(), "action=reject");
  std::string near;
  AppendField(&near, "reason_x", "1");
  AppendField(&near, "xreason", "2");
  AppendField(&near, "reason", "3");
  AppendField(&near, "reason", "");
  assert_string_equal(near.c_str(), "reason_x=1, xreason=2, reason=\"\"");
  // Several earlier ones (a line built before this rule) all go.
  std::string twice = "action=signed, format=opaque, action=none, ms=3";
  AppendField(&twice, "action", "tempfail");
  assert_string_equal(twice.c_str(), "format=opaque, ms=3, action=tempfail");
  const std::vector<std::string> want = {"format", "ms", "action"};
  assert_true(FieldNames(twice) == want);
}

// The per-signer group of a verify line is the one place a name repeats:
// AppendSigner* appends, and a later AppendField of the name would still
// replace the whole group's fields of it.
// RenameField keeps the value (as escaped) and the position; FieldText reads
// a value back as written.
void TestRenameField(void**) {
  std::string out;
  AppendField(&out, "action", "unsigned");
  AppendField(&out, "reason", "a, b");
  AppendField(&out, "ms", "3");
  assert_string_equal(FieldText(out, "action").c_str(), "unsigned");
  assert_string_equal(FieldText(out, "reason").c_str(), "\"a\\x2c b\"");
  assert_string_equal(FieldText(out, "ms").c_str(), "3");
  assert_string_equal(FieldText(out, "missing").c_str(), "");
  RenameField(&out, "reason", "unsigned_reason");
  assert_string_equal(out.c_str(), "action=unsigned, unsigned_reason=\"a\\x2c b\", ms=3");
  RenameField(&out, "reason", "other");  // nothing to rename
  assert_string_equal(out.c_str(), "action=unsigned, unsigned_reason=\"a\\x2c b\", ms=3");
  AppendField(&out, "reason", "x");
  RenameField(&out, "reason", "unsigned_reason");  // replaces the earlier one
  assert_string_equal(out.c_str(), "action=unsigned, ms=3, unsigned_reason=x");
  // A name that ends another is not it.
  assert_string_equal(FieldText(out, "reason").c_str(), "");
}

void TestSignerFieldsRepeat(void**) {
  std::string out;
  AppendAddressField(&out, "from", "alice@a.example");
  for (const char* who : {"alice@a.example", "bob@a.example"}) {
    AppendSignerField(&out, "chain", "trusted");
    AppendSignerAddressField(&out, "signer", who);
    AppendSignerField(&out, "revocation", "good");
  }
  AppendField(&out, "result", "pass");
  assert_string_equal(out.c_str(),
                      "from=<alice@a.example>, chain=trusted, signer=<alice@a.example>, "
                      "revocation=good, chain=trusted, signer=<bob@a.example>, "
                      "revocation=good, result=pass");
  AppendField(&out, "revocation", "not-checked");
  assert_string_equal(out.c_str(),
                      "from=<alice@a.example>, chain=trusted, signer=<alice@a.example>, "
                      "chain=trusted, signer=<bob@a.example>, result=pass, "
                      "revocation=not-checked");
}

void TestOriginAndDetail(void**) {
  std::string out = "result=failed";
  AppendOriginAndDetail(&out,
                        "/etc/s m/x.conf:8: trust_anchors: a, b");  // space in FILE: no origin
  assert_string_equal(out.c_str(),
                      "result=failed, detail=\"/etc/s m/x.conf:8: trust_anchors: a\\x2c b\"");
  out.clear();
  AppendOriginAndDetail(&out, "/etc/x.conf:8: max_signers: 'many' is not a number");
  assert_string_equal(out.c_str(),
                      "origin=/etc/x.conf:8, detail=\"max_signers: 'many' is not a number\"");
  out.clear();
  AppendOriginAndDetail(&out, "cannot open milter socket x: Address in use");  // not FILE:LINE
  assert_string_equal(out.c_str(), "detail=\"cannot open milter socket x: Address in use\"");
  out.clear();
  AppendOriginAndDetail(&out, "/etc/x.conf:: what");  // no line number
  assert_string_equal(out.c_str(), "detail=\"/etc/x.conf:: what\"");
  const std::vector<std::string> want = {"detail"};
  assert_true(FieldNames(out) == want);
}

void TestLogEscape(void**) {
  assert_string_equal(LogEscape("alice@a.example").c_str(), "alice@a.example");
  assert_string_equal(LogEscape("two words; ok: yes").c_str(), "two words; ok: yes");
  assert_string_equal(LogEscape(std::string("a\0b\r\n\x7f\xc3\xa9", 8)).c_str(),
                      "a\\x00b\\x0d\\x0a\\x7f\\xc3\\xa9");
  assert_string_equal(LogEscape(",=<>()\"\\").c_str(), "\\x2c\\x3d\\x3c\\x3e\\x28\\x29\\x22\\x5c");
  // Reversible: the escape character itself is escaped.
  assert_string_equal(LogEscape("\\x2c").c_str(), "\\x5cx2c");
  // Capped without cutting an escape in half.
  assert_string_equal(LogEscape("abcdef", 4).c_str(), "abcd");
  assert_string_equal(LogEscape("ab,cd", 5).c_str(), "ab");
  assert_string_equal(LogEscape("ab,cd", 6).c_str(), "ab\\x2c");
  assert_int_equal(LogEscape(std::string(1000, ',')).size(), 300);
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(TestSeverityPrefix),
      cmocka_unit_test(TestCaptureLog),
      cmocka_unit_test(TestCaptureLogFromThreads),
      cmocka_unit_test(TestStderrLog),
      cmocka_unit_test(TestAppendField),
      cmocka_unit_test(TestValuesCannotAddFields),
      cmocka_unit_test(TestOriginAndDetail),
      cmocka_unit_test(TestLogEscape),
      cmocka_unit_test(TestLaterFieldReplacesEarlier),
      cmocka_unit_test(TestSignerFieldsRepeat),
      cmocka_unit_test(TestRenameField),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
