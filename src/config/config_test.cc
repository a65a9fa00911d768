// Unit tests for config/: syntax, types, bounds and file:line errors.
#include "config/config.h"

#include <string>

#include "base/defaults.h"
#include "base/testing.h"

using smime::Config;
using smime::Status;

namespace {

// Parses text; returns "" on success, else the error message.
std::string ParseError(const std::string& text) {
  Config c;
  Status st = c.Parse(text, "t.conf");
  return st.ok() ? "" : st.message();
}

void TestDefaults(void**) {
  Config c = Config::Defaults();
  assert_int_equal(c.Int("max_signers"), 4);
  assert_false(c.Bool("allow_sha1"));
  assert_string_equal(c.Get("state_dir").origin.c_str(), "default");
}

void TestTableSortedAndDefaultsValid(void**) {
  const auto& table = smime::ParamTable();
  for (size_t i = 1; i < table.size(); ++i)
    assert_true(strcmp(table[i - 1].name, table[i].name) < 0);
  Config c = Config::Defaults();  // throws (test crash) if a default does not parse
  assert_string_equal(c.Str("internal_error_action").c_str(), "tempfail");
  // Paths follow the configure-time folders (base/defaults.h), one location
  // everywhere: the built-in -c default's folder holds the other files.
  const std::string conf_dir(SMIME_DEFAULT_CONFIG);
  const std::string folder = conf_dir.substr(0, conf_dir.rfind('/'));
  assert_string_equal(folder.c_str(), SMIME_CONFDIR);
  assert_string_equal(c.Str("policy_dir").c_str(), (folder + "/policies").c_str());
  assert_string_equal(c.Str("signing_identities").c_str(), (folder + "/identities").c_str());
  assert_string_equal(c.Str("signing_users").c_str(), (folder + "/signing-users").c_str());
  assert_string_equal(c.Str("trust_anchors").c_str(), (folder + "/trust-anchors.pem").c_str());
  assert_string_equal(c.Str("state_dir").c_str(), SMIME_STATEDIR);
}

void TestValuesCommentsContinuations(void**) {
  Config c;
  Status st = c.Parse(
      "# comment\n"
      "authserv_id = mx.example.net\n"
      "\n"
      "  # indented comment\n"
      "internal_hosts = 10.0.0.0/8,\n"
      "    192.168.1.0/24   ::1\n"
      "max_message_size = 10M\r\n"
      "allow_sha1 = yes\n",
      "t.conf");
  assert_true(st.ok());
  assert_string_equal(c.Str("authserv_id").c_str(), "mx.example.net");
  assert_int_equal(c.List("internal_hosts").size(), 3);
  assert_string_equal(c.List("internal_hosts")[1].c_str(), "192.168.1.0/24");
  assert_int_equal(c.Int("max_message_size"), 10 * 1024 * 1024);
  assert_true(c.Bool("allow_sha1"));
  assert_string_equal(c.Get("max_message_size").origin.c_str(), "t.conf:7");
}

void TestErrorsNameFileAndLine(void**) {
  assert_string_equal(ParseError("\nbogus = 1\n").c_str(), "t.conf:2: unknown parameter 'bogus'");
  assert_string_equal(ParseError("allow_sha1 = maybe\n").c_str(),
                      "t.conf:1: allow_sha1: 'maybe' is not yes or no");
  assert_string_equal(ParseError("max_signers = 0\n").c_str(),
                      "t.conf:1: max_signers: '0' is out of range 1..64");
  assert_string_equal(ParseError("max_signers = 4x\n").c_str(),
                      "t.conf:1: max_signers: '4x' is not a number");
  assert_string_equal(ParseError("state_dir = relative\n").c_str(),
                      "t.conf:1: state_dir: 'relative' is not an absolute path");
  assert_string_equal(ParseError("  leading = 1\n").c_str(),
                      "t.conf:1: continuation line without a parameter before it");
  assert_string_equal(ParseError("just words\n").c_str(), "t.conf:1: expected 'name = value'");
  assert_string_equal(ParseError("max_message_size = 99999999999G\n").c_str(),
                      "t.conf:1: max_message_size: '99999999999G' is too large");
}

// Postfix's habit: a repeated parameter warns (both places) and the last wins.
void TestRepeatedParameterWarnsLastWins(void**) {
  Config c;
  assert_true(c.Parse("max_signers = 2\nallow_sha1 = yes\nmax_signers = 3\n", "t.conf").ok());
  assert_int_equal(c.Int("max_signers"), 3);
  assert_string_equal(c.Get("max_signers").origin.c_str(), "t.conf:3");
  assert_int_equal(c.Warnings().size(), 1);
  assert_string_equal(c.Warnings()[0].c_str(),
                      "t.conf:3: 'max_signers' is also set at t.conf:1; the last one counts");
  // A clean parse forgets the warnings of the last one.
  assert_true(c.Parse("max_signers = 2\n", "t.conf").ok());
  assert_int_equal(c.Warnings().size(), 0);
  // A policy file is short: a repeat there is a mistake.
  Config p;
  Status st = p.ApplyPolicy("allow_sha1 = yes\nallow_sha1 = no\n", "d.conf");
  assert_false(st.ok());
  assert_string_equal(st.message().c_str(), "d.conf:2: 'allow_sha1' is already set at line 1");
}

void TestSocketSpec(void**) {
  for (const char* good : {"unix:/run/smime-milter/smime-milter.sock", "local:/x.sock", "/x.sock",
                           "inet:8895", "inet:8895@127.0.0.1", "inet6:1@[::1]", "inet:65535@h"})
    assert_true(smime::CheckSocketSpec(good).ok());
  assert_string_equal(smime::CheckSocketSpec("tcp:8895").message().c_str(),
                      "'tcp:8895': unknown scheme 'tcp': use unix:/path, local:/path, "
                      "inet:PORT@HOST or inet6:PORT@HOST");
  assert_string_equal(smime::CheckSocketSpec("inet:99999@127.0.0.1").message().c_str(),
                      "'inet:99999@127.0.0.1': port '99999' is not a number 1..65535");
  assert_true(smime::CheckSocketSpec("inet:0@127.0.0.1").ok());  // the system picks (tests)
  assert_false(smime::CheckSocketSpec("inet:smtp@127.0.0.1").ok());
  assert_false(smime::CheckSocketSpec("inet:@127.0.0.1").ok());
  assert_false(smime::CheckSocketSpec("inet:8895@").ok());
  assert_false(smime::CheckSocketSpec("unix:relative.sock").ok());
  assert_false(smime::CheckSocketSpec("relative.sock").ok());
  assert_false(smime::CheckSocketSpec("unix:/" + std::string(107, 'x')).ok());
  assert_true(smime::CheckSocketSpec("unix:/" + std::string(106, 'x')).ok());
}

void TestFailedParseLeavesConfigUnchanged(void**) {
  Config c;
  assert_true(c.Parse("max_signers = 7\n", "a").ok());
  assert_false(c.Parse("max_signers = 9\nbogus = 1\n", "b").ok());
  assert_int_equal(c.Int("max_signers"), 7);
}

void TestMissingFile(void**) {
  Config c;
  Status st = c.Load("/nonexistent/smime.conf");
  assert_false(st.ok());
  assert_non_null(strstr(st.message().c_str(), "/nonexistent/smime.conf: cannot open"));
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(TestDefaults),
      cmocka_unit_test(TestTableSortedAndDefaultsValid),
      cmocka_unit_test(TestValuesCommentsContinuations),
      cmocka_unit_test(TestErrorsNameFileAndLine),
      cmocka_unit_test(TestRepeatedParameterWarnsLastWins),
      cmocka_unit_test(TestSocketSpec),
      cmocka_unit_test(TestFailedParseLeavesConfigUnchanged),
      cmocka_unit_test(TestMissingFile),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
