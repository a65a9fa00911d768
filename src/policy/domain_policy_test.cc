// Unit tests for policy/domain_policy: layering, origins, errors.
#include "policy/domain_policy.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "base/testing.h"

using namespace smime;

namespace {

char g_dir[] = "/tmp/policy-test.XXXXXX";

void Write(const std::string& name, const std::string& text) {
  FILE* f = std::fopen((std::string(g_dir) + "/" + name).c_str(), "w");
  std::fputs(text.c_str(), f);
  std::fclose(f);
}

std::string Load(PolicySet* p) {
  Config main;
  Status st = main.Parse("policy_dir = " + std::string(g_dir) + "\nmin_rsa_bits = 2048\n", "m");
  if (st.ok()) st = PolicySet::Load(main, p);
  return st.ok() ? "" : st.message();
}

void TestLayers(void**) {
  Write("default.conf", "revocation = soft\n");
  Write("example.com.conf", "# partner\nmin_rsa_bits = 3072\nallow_sha1 = yes\n");
  Write("b.example.com.conf", "allow_sha1 = no\n");
  Write("README", "ignored: not a .conf file\n");
  Write("partner.example", "encrypt = required\n");
  Write(".hidden", "x\n");
  mkdir((std::string(g_dir) + "/examples").c_str(), 0755);
  PolicySet p;
  assert_string_equal(Load(&p).c_str(), "");
  // Files that are not read are named (dot files are left alone).
  const std::string d(g_dir);
  assert_int_equal(p.Warnings().size(), 2);
  assert_string_equal(
      p.Warnings()[0].c_str(),
      (d + "/README: ignored: policy files are named DOMAIN.conf or default.conf").c_str());
  assert_string_equal(p.Warnings()[1].c_str(), (d + "/partner.example: ignored: policy files "
                                                    "are named DOMAIN.conf or default.conf")
                                                   .c_str());
  assert_true(p.ForDomain("partner.example").Str("encrypt") == "never");
  std::vector<std::string> files;
  const Config& c = p.ForDomain("A.B.Example.COM", &files);
  assert_int_equal(files.size(), 3);
  assert_string_equal(c.Str("revocation").c_str(), "soft");
  assert_int_equal(c.Int("min_rsa_bits"), 3072);
  assert_false(c.Bool("allow_sha1"));
  assert_string_equal(c.Get("min_rsa_bits").origin.c_str(),
                      (std::string(g_dir) + "/example.com.conf:2").c_str());
  const Config& other = p.ForDomain("other.org", &files);
  assert_int_equal(files.size(), 1);
  assert_int_equal(other.Int("min_rsa_bits"), 2048);
  assert_string_equal(other.Get("min_rsa_bits").origin.c_str(), "m:2");
  assert_true(p.ForDomain("example.com").Bool("allow_sha1"));
  assert_true(p.ForDomain("notexample.com").Str("revocation") == "soft");
}

void TestErrors(void**) {
  PolicySet p;
  Write("bad.org.conf", "socket = unix:/x\n");
  assert_string_equal(Load(&p).c_str(),
                      (std::string(g_dir) +
                       "/bad.org.conf:1: 'socket' can only be set in the main configuration, not "
                       "per domain")
                          .c_str());
  Write("bad.org.conf", "revocation = maybe\n");
  assert_non_null(strstr(Load(&p).c_str(), "bad.org.conf:1: revocation: 'maybe' is not one of"));
  unlink((std::string(g_dir) + "/bad.org.conf").c_str());
  // A file name that is not a domain name: start-up error naming file and reason.
  Write("a_b.org.conf", "revocation = off\n");
  assert_string_equal(Load(&p).c_str(),
                      (std::string(g_dir) + "/a_b.org.conf: a policy file is named DOMAIN.conf or "
                                            "default.conf: 'a_b.org' is not a domain name "
                                            "(bad-character)")
                          .c_str());
  unlink((std::string(g_dir) + "/a_b.org.conf").c_str());
  Write("xn--zz.org.conf", "revocation = off\n");
  assert_non_null(strstr(Load(&p).c_str(), "xn--zz.org.conf: a policy file is named"));
  assert_non_null(strstr(Load(&p).c_str(), "(bad-idna: "));
  unlink((std::string(g_dir) + "/xn--zz.org.conf").c_str());
  Write("trailing.org..conf", "revocation = off\n");
  assert_non_null(strstr(Load(&p).c_str(), "is not a domain name (trailing-dot)"));
  unlink((std::string(g_dir) + "/trailing.org..conf").c_str());
  // One domain in two spellings.
  Write(
      "b\xc3\xbc"
      "cher.example.conf",
      "revocation = off\n");
  Write("xn--bcher-kva.example.conf", "revocation = soft\n");
  const std::string dup = Load(&p);
  assert_non_null(strstr(dup.c_str(), "same domain (xn--bcher-kva.example) as"));
  unlink((std::string(g_dir) + "/xn--bcher-kva.example.conf").c_str());
  unlink((std::string(g_dir) + "/b\xc3\xbc"
                               "cher.example.conf")
             .c_str());
  assert_string_equal(Load(&p).c_str(), "");
}

// header_protection (RFC 9788) is a recipient domain's; its placeholder
// Subject is global.
void TestHeaderProtection(void**) {
  PolicySet p;
  Write("hp.example.conf", "header_protection = cipher\n");
  assert_string_equal(Load(&p).c_str(), "");
  assert_string_equal(p.ForDomain("mx.hp.example").Str("header_protection").c_str(), "cipher");
  assert_string_equal(p.ForDomain("other.example").Str("header_protection").c_str(), "none");
  Write("hp.example.conf", "header_protection = maybe\n");
  assert_non_null(
      strstr(Load(&p).c_str(), "hp.example.conf:1: header_protection: 'maybe' is not one of"));
  Write("hp.example.conf", "header_protection_subject = (hidden)\n");
  assert_non_null(strstr(Load(&p).c_str(),
                         "'header_protection_subject' can only be set in the main configuration"));
  unlink((std::string(g_dir) + "/hp.example.conf").c_str());
  assert_string_equal(Load(&p).c_str(), "");
}

// File names and lookups in one form: letter case, U-labels and A-labels
// all find the same file.
void TestDomainForms(void**) {
  Write("Upper.org.conf", "revocation = off\n");
  Write(
      "b\xc3\xbc"
      "cher.example.conf",
      "min_rsa_bits = 4096\n");
  PolicySet p;
  assert_string_equal(Load(&p).c_str(), "");
  assert_string_equal(p.ForDomain("upper.org").Str("revocation").c_str(), "off");
  assert_string_equal(p.ForDomain("UPPER.ORG.").Str("revocation").c_str(), "off");
  assert_int_equal(p.ForDomain("xn--bcher-kva.example").Int("min_rsa_bits"), 4096);
  assert_int_equal(p.ForDomain("B\xc3\x9c"
                               "CHER.example")
                       .Int("min_rsa_bits"),
                   4096);
  assert_int_equal(p.ForDomain("mail.b\xc3\xbc"
                               "cher.example")
                       .Int("min_rsa_bits"),
                   4096);
  assert_int_equal(p.ForDomain("buecher.example").Int("min_rsa_bits"), 2048);
  const std::vector<std::string> domains = p.Domains();
  assert_int_equal(domains.size(), 4);  // with TestLayers' example.com and b.example.com
  assert_string_equal(domains[2].c_str(), "upper.org");
  assert_string_equal(domains[3].c_str(), "xn--bcher-kva.example");
  unlink((std::string(g_dir) + "/Upper.org.conf").c_str());
  unlink((std::string(g_dir) + "/b\xc3\xbc"
                               "cher.example.conf")
             .c_str());
}

void TestDomainOf(void**) {
  assert_string_equal(DomainOf("a@B.Example").c_str(), "b.example");
  assert_string_equal(DomainOf("\"x@y\"@c.example").c_str(), "c.example");
  assert_string_equal(DomainOf("nodomain").c_str(), "");
  assert_string_equal(DomainOf("x@B\xc3\xbc"
                               "cher.Example.")
                          .c_str(),
                      "xn--bcher-kva.example");
  assert_string_equal(DomainOf("x@XN--BCHER-KVA.example").c_str(), "xn--bcher-kva.example");
}

}  // namespace

int main() {
  if (!mkdtemp(g_dir)) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(TestLayers),           cmocka_unit_test(TestErrors),
      cmocka_unit_test(TestHeaderProtection), cmocka_unit_test(TestDomainForms),
      cmocka_unit_test(TestDomainOf),
  };
  int rc = cmocka_run_group_tests(tests, nullptr, nullptr);
  std::string cmd = std::string("rm -rf ") + g_dir;
  if (std::system(cmd.c_str()) != 0) rc = rc ? rc : 1;
  return rc;
}
