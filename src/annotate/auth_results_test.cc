// Unit tests for annotate/: header format, quoting, authserv-id matching.
#include "annotate/auth_results.h"

#include <string>

#include "base/testing.h"

using namespace smime;

namespace {

void TestPassHeader(void**) {
  SignatureResult r;
  r.result = AuthResult::kPass;
  r.identifier = "alice@a.example";
  r.part = "TEXT";
  r.serial = "1001";
  r.issuer = "CN=Test CA,O=x";
  std::string v = BuildAuthResults("mx.example.net", {r});
  assert_string_equal(v.c_str(),
                      "mx.example.net;\n\tsmime=pass\n\tbody.smime-identifier=alice@a.example "
                      "body.smime-part=TEXT\n\tbody.smime-serial=1001\n\t"
                      "body.smime-issuer=\"CN=Test CA,O=x\"");
}

void TestSenderMatchIsNamed(void**) {
  SignatureResult r;
  r.result = AuthResult::kPass;
  r.identifier = "alice@a.example";
  r.part = "TEXT";
  r.sender = "Alice@A.example";
  std::string v = BuildAuthResults("mx.example.net", {r});
  assert_string_equal(v.c_str(),
                      "mx.example.net;\n\tsmime=pass\n\tbody.smime-identifier=alice@a.example "
                      "body.smime-part=TEXT\n\theader.sender=Alice@A.example");
  // Hostile text stays one quoted value.
  r.sender = "a b\r\n@x";
  v = BuildAuthResults("mx", {r});
  assert_non_null(strstr(v.c_str(), "\n\theader.sender=\"a b??@x\""));
}

void TestNoSignature(void**) {
  assert_string_equal(BuildAuthResults("mx", {}).c_str(), "mx; smime=none");
}

void TestHostileCertificateTextIsNeutralised(void**) {
  SignatureResult r;
  r.result = AuthResult::kFail;
  r.reason = "x";
  r.identifier = "evil\r\nX-Injected: yes\"@a.example";
  r.serial = "1";
  r.issuer = std::string("CN=\"q\\\"\x01\xc3\xa9") + std::string(400, 'A');
  std::string v = BuildAuthResults("mx", {r});
  assert_null(strchr(v.c_str(), '\r'));
  assert_null(strstr(v.c_str(), "\nX-Injected"));
  assert_non_null(
      strstr(v.c_str(), "body.smime-identifier=\"evil??X-Injected: yes\\\"@a.example\""));
  assert_non_null(strstr(v.c_str(), "body.smime-issuer=\"CN=\\\"q\\\\\\\"???AAA"));
  assert_true(v.size() < 700);
}

void TestAuthservIdParsing(void**) {
  assert_string_equal(AuthservIdOf(" mx.example.net; smime=pass").c_str(), "mx.example.net");
  assert_string_equal(AuthservIdOf(" (comment (nested)) MX.Example.NET.;dkim=pass").c_str(),
                      "MX.Example.NET.");
  assert_string_equal(AuthservIdOf(" mx.example.net 1; none").c_str(), "mx.example.net");
  assert_string_equal(AuthservIdOf(" \"mx.example.net\"; none").c_str(), "mx.example.net");
  assert_string_equal(AuthservIdOf("").c_str(), "");
  assert_true(SameAuthservId("MX.Example.NET.", "mx.example.net"));
  assert_false(SameAuthservId("mx.example.net.evil", "mx.example.net"));
  assert_false(SameAuthservId("", ""));
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(TestPassHeader),
      cmocka_unit_test(TestSenderMatchIsNamed),
      cmocka_unit_test(TestNoSignature),
      cmocka_unit_test(TestHostileCertificateTextIsNeutralised),
      cmocka_unit_test(TestAuthservIdParsing),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
