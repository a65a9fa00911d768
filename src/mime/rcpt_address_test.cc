// Unit tests for mime/rcpt_address: the RCPT argument reduced to the one
// address the MTA delivers to, or refused; domains in A-label form.
#include "mime/rcpt_address.h"

#include <string>

#include "base/testing.h"

using namespace smime;

namespace {

// The address arg reduces to, or "REFUSED:reason".
std::string Reduce(const char* arg) {
  RcptAddress a;
  const std::string why = ParseRcptAddress(arg, &a);
  return why.empty() ? a.address : "REFUSED:" + why;
}

std::string Domain(const char* d) {
  std::string out;
  const std::string why = CanonicalDomain(d, &out);
  return why.empty() ? out : "INVALID:" + why;
}

void TestCanonicalDomain(void**) {
  assert_string_equal(Domain("b.example").c_str(), "b.example");
  assert_string_equal(Domain("B.Example.").c_str(), "b.example");
  assert_string_equal(Domain("bücher.example").c_str(), "xn--bcher-kva.example");
  assert_string_equal(Domain("BÜCHER.EXAMPLE").c_str(), "xn--bcher-kva.example");
  assert_string_equal(Domain("xn--bcher-kva.example").c_str(), "xn--bcher-kva.example");
  assert_string_equal(Domain("XN--BCHER-KVA.example.").c_str(), "xn--bcher-kva.example");
  // Decomposed u + combining diaeresis: NFC first, same A-label.
  assert_string_equal(Domain("bu\xcc\x88"
                             "cher.example")
                          .c_str(),
                      "xn--bcher-kva.example");
  assert_string_equal(Domain("xn--zz.example").c_str(),
                      "INVALID:bad-idna: string contains invalid punycode data");
  assert_string_equal(Domain("b.example..").c_str(), "INVALID:empty-label");
  assert_string_equal(Domain("a..b").c_str(), "INVALID:empty-label");
  assert_string_equal(Domain("").c_str(), "INVALID:empty-domain");
  assert_string_equal(Domain("a_b.example").c_str(), "INVALID:bad-character");
  assert_string_equal(Domain("-a.example").c_str(), "INVALID:hyphen-at-label-end");
  assert_string_equal(Domain("b.example (x)").c_str(), "INVALID:bad-character");
  assert_string_equal(Domain("[192.0.2.1]").c_str(), "INVALID:address-literal");
  assert_string_equal(Domain(std::string(64, 'a').append(".example").c_str()).c_str(),
                      "INVALID:label-too-long");
  // Lookups never fail: garbage stays garbage (and matches no policy file).
  assert_string_equal(DomainForm("Bücher.Example.").c_str(), "xn--bcher-kva.example");
  assert_string_equal(DomainForm("A_B.example.").c_str(), "a_b.example");
}

std::string Address(const char* a) {
  std::string out;
  const std::string why = CanonicalAddress(a, &out);
  return why.empty() ? out : "INVALID:" + why;
}

void TestAddressForms(void**) {
  // Stores and comparisons key on one form: either spelling, one mailbox.
  assert_string_equal(Address("Hans@Bücher.Example.").c_str(), "hans@xn--bcher-kva.example");
  assert_string_equal(Address("hans@XN--BCHER-KVA.example").c_str(), "hans@xn--bcher-kva.example");
  assert_string_equal(Address("@BÜCHER.example").c_str(), "@xn--bcher-kva.example");
  assert_string_equal(Address("Jürgen@B.Example").c_str(), "jürgen@b.example");
  assert_string_equal(Address("\"a@b\"@C.example").c_str(), "\"a@b\"@c.example");
  assert_string_equal(Address("hans").c_str(), "INVALID:no-at");
  assert_string_equal(Address("hans@a_b.example").c_str(), "INVALID:bad-character");
  assert_string_equal(Address("hans@xn--zz.example").c_str(),
                      "INVALID:bad-idna: string contains invalid punycode data");
  assert_string_equal(AddressForm("Hans@BÜCHER.example.").c_str(), "hans@xn--bcher-kva.example");
  // Never fails: what is not a domain is only lower-cased.
  assert_string_equal(AddressForm("Hans@A_B.Example.").c_str(), "hans@a_b.example");
  assert_string_equal(AddressForm("Hans").c_str(), "hans");
  assert_string_equal(WithDomainForm("Hans@BÜCHER.example.").c_str(), "Hans@xn--bcher-kva.example");
  assert_string_equal(WithDomainForm("Hans").c_str(), "Hans");
  // A look-alike in another script is another domain.
  assert_string_equal(AddressForm("hans@b\xd1\x83"
                                  "cher.example")
                          .c_str(),
                      "hans@xn--bcher-eze.example");
}

void TestCleanAddresses(void**) {
  assert_string_equal(Reduce("<bob@b.example>").c_str(), "bob@b.example");
  assert_string_equal(Reduce("bob@b.example").c_str(), "bob@b.example");
  assert_string_equal(Reduce("<Bob.Smith+tag@B.Example.>").c_str(), "Bob.Smith+tag@b.example");
  assert_string_equal(Reduce("<bob@bücher.example>").c_str(), "bob@xn--bcher-kva.example");
  assert_string_equal(Reduce("<bob@xn--bcher-kva.example>").c_str(), "bob@xn--bcher-kva.example");
  assert_string_equal(Reduce("<jürgen@b.example>").c_str(), "jürgen@b.example");
  // Source routes are dropped (RFC 5321 4.1.1.3).
  assert_string_equal(Reduce("<@relay.example:bob@b.example>").c_str(), "bob@b.example");
  assert_string_equal(Reduce("<@r1.example,@r2.example:bob@b.example>").c_str(), "bob@b.example");
  // Quoted local parts: unquoted when they need no quotes, else kept quoted.
  assert_string_equal(Reduce("<\"bob\"@b.example>").c_str(), "bob@b.example");
  assert_string_equal(Reduce("<\"bob smith\"@b.example>").c_str(), "\"bob smith\"@b.example");
  assert_string_equal(Reduce("<\"a\\\"b\"@b.example>").c_str(), "\"a\\\"b\"@b.example");
  assert_string_equal(Reduce("<Postmaster>").c_str(), "Postmaster");
  RcptAddress a;
  assert_string_equal(ParseRcptAddress("<bob@BÜCHER.example.>", &a).c_str(), "");
  assert_string_equal(a.local.c_str(), "bob");
  assert_string_equal(a.domain.c_str(), "xn--bcher-kva.example");
  // The reduced form reduces to itself (end-of-data re-judges tx.rcpts).
  assert_string_equal(Reduce("\"bob smith\"@b.example").c_str(), "\"bob smith\"@b.example");
}

void TestRefused(void**) {
  // What Postfix would clean up and deliver to bob@b.example.
  assert_string_equal(Reduce("<bob@b.example (x)>").c_str(), "REFUSED:whitespace");
  assert_string_equal(Reduce("<bob@b.example(x)>").c_str(), "REFUSED:comment");
  assert_string_equal(Reduce("<bob@ b.example>").c_str(), "REFUSED:whitespace");
  assert_string_equal(Reduce("<bob@(x)b.example>").c_str(), "REFUSED:comment");
  assert_string_equal(Reduce("<bob @b.example>").c_str(), "REFUSED:whitespace");
  assert_string_equal(Reduce("<(x)bob@b.example>").c_str(), "REFUSED:comment");
  assert_string_equal(Reduce("<bob@b.example\t>").c_str(), "REFUSED:whitespace");
  assert_string_equal(Reduce("<bob@b.example\r\n>").c_str(), "REFUSED:control-character");
  // Several '@', routing by the local part, no domain.
  assert_string_equal(Reduce("<bob@a.example@b.example>").c_str(), "REFUSED:multiple-at");
  assert_string_equal(Reduce("<bob%b.example@a.example>").c_str(),
                      "REFUSED:routing-characters-in-local-part");
  assert_string_equal(Reduce("<b.example!bob@a.example>").c_str(),
                      "REFUSED:routing-characters-in-local-part");
  assert_string_equal(Reduce("<\"bob@b.example\"@a.example>").c_str(),
                      "REFUSED:routing-characters-in-local-part");
  assert_string_equal(Reduce("<bob>").c_str(), "REFUSED:no-domain");
  assert_string_equal(Reduce("<\"postmaster\">").c_str(), "REFUSED:no-domain");
  // Bad syntax of every other kind.
  assert_string_equal(Reduce("<>").c_str(), "REFUSED:null-path");
  assert_string_equal(Reduce("<bob@b.example").c_str(), "REFUSED:angle-brackets");
  assert_string_equal(Reduce("<<bob@b.example>>").c_str(), "REFUSED:angle-brackets");
  assert_string_equal(Reduce("<@relay.example bob@b.example>").c_str(), "REFUSED:bad-source-route");
  assert_string_equal(Reduce("<@:bob@b.example>").c_str(), "REFUSED:bad-source-route");
  assert_string_equal(Reduce("<.bob@b.example>").c_str(), "REFUSED:bad-dot-atom");
  assert_string_equal(Reduce("<bob..x@b.example>").c_str(), "REFUSED:bad-dot-atom");
  assert_string_equal(Reduce("<\"bob@b.example>").c_str(), "REFUSED:unterminated-quote");
  assert_string_equal(Reduce("<\"\"@b.example>").c_str(), "REFUSED:empty-local-part");
  assert_string_equal(Reduce("<@b.example>").c_str(), "REFUSED:bad-source-route");
  assert_string_equal(Reduce("<bob@>").c_str(), "REFUSED:empty-domain");
  assert_string_equal(Reduce("<bob@b.example..>").c_str(), "REFUSED:empty-label");
  assert_string_equal(Reduce("<bob@[192.0.2.1]>").c_str(), "REFUSED:address-literal");
  assert_string_equal(Reduce("<bob@b_x.example>").c_str(), "REFUSED:bad-character");
  assert_string_equal(Reduce("<bob@xn--zz.example>").c_str(),
                      "REFUSED:bad-idna: string contains invalid punycode data");
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(TestCanonicalDomain),
      cmocka_unit_test(TestAddressForms),
      cmocka_unit_test(TestCleanAddresses),
      cmocka_unit_test(TestRefused),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
