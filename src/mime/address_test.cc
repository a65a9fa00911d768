// Unit tests for mime/address: the single mailbox a signer must match, and
// the From:/Sender: values that read differently to different parsers or to
// a person looking at the display name.
#include "mime/address.h"

#include <string>

#include "base/testing.h"

using namespace smime;

namespace {

// IdentityMailbox on one From: value; *addr gets the mailbox read.
std::string Judge(const std::string& value, std::string* addr) {
  return IdentityMailbox({value}, "from", addr);
}

void TestSingleMailboxReasonsNameTheHeader(void**) {
  std::string addr;
  assert_string_equal(SingleMailbox({}, &addr).c_str(), "no-from-header");
  assert_string_equal(SingleMailbox({" a@b.example", " c@d.example"}, &addr).c_str(),
                      "multiple-from-headers");
  assert_string_equal(SingleMailbox({" a@b.example", " c@d.example"}, &addr, "sender").c_str(),
                      "multiple-sender-headers");
  assert_string_equal(SingleMailbox({" a@b.example, c@d.example"}, &addr, "sender").c_str(),
                      "sender-not-single-mailbox");
  assert_string_equal(IdentityMailbox({}, "sender", &addr).c_str(), "no-sender-header");
  assert_string_equal(addr.c_str(), "");
}

void TestPlainMailboxesPass(void**) {
  const char* ok[] = {
      " Alice <alice@a.example>",
      " alice@a.example",
      " <alice@a.example>",
      " \"Liddell, Alice\" <alice@a.example>",
      " \"alice@a.example\" <alice@a.example>",
      " \"ALICE@A.EXAMPLE\" <alice@a.example>",  // the same address
      " alice@a.example (Alice Liddell)",
      " Alice\r\n <alice@a.example>",  // folded
      " =?utf-8?q?Alic=C3=A9_L=2E?= <alice@a.example>",
      " Dr. Alice <alice@a.example>",
      " \"Alice \\\"the boss\\\"\" <alice@a.example>",
      " Alice <\"alice\"@a.example>",
  };
  for (const char* v : ok) {
    std::string addr;
    const std::string got = Judge(v, &addr);
    if (!got.empty()) fail_msg("%s: %s", v, got.c_str());
    assert_string_equal(addr.c_str(),
                        strstr(v, "\"alice\"@") ? "\"alice\"@a.example" : "alice@a.example");
  }
}

void TestAmbiguousFrom(void**) {
  const std::string ambiguous[] = {
      " mallory@x.example <alice@a.example>",  // Python reads mallory
      " alice@a.example <alice@a.example>",    // unquoted '@', even the same one
      " Alice\" <alice@a.example>",
      " Alice <alice@a.example",
      std::string(" Alice <alice@a.example>\0<mallory@x.example>", 44),
      std::string(" Al\0ice <alice@a.example>", 25),
      " Alice\x01 <alice@a.example>",
      " Alice\r <alice@a.example>",  // CR that is not folding
      " Alice\n <alice@a.example>",
      " =?utf-8?q?Alice=0D=0A?= <alice@a.example>",  // decodes to a line break
      " Alice <@route.example:alice@a.example>",
  };
  for (const std::string& v : ambiguous) {
    std::string addr;
    const std::string got = Judge(v, &addr);
    if (got != "from-ambiguous") print_error("[%s]: got '%s'\n", v.c_str(), got.c_str());
    assert_string_equal(got.c_str(), "from-ambiguous");
  }
  std::string addr;
  assert_string_equal(
      IdentityMailbox({" mallory@x.example <alice@a.example>"}, "sender", &addr).c_str(),
      "sender-ambiguous");
}

void TestDisplayNameNamesAnotherAddress(void**) {
  const char* other[] = {
      " \"mallory@x.example\" <alice@a.example>",
      " \"Alice (mallory@x.example)\" <alice@a.example>",
      " =?utf-8?q?mallory=40x.example?= <alice@a.example>",
      " =?utf-8?b?bWFsbG9yeUB4LmV4YW1wbGU=?= <alice@a.example>",  // mallory@x.example
      " \"=?utf-8?q?mallory=40x.example?=\" <alice@a.example>",
      " alice@a.example (mallory@x.example)",
      " Alice (=?utf-8?q?mallory=40x.example?=) <alice@a.example>",
      " \"mallory\xef\xbc\xa0x.example\" <alice@a.example>",  // full-width at sign
      " \"alice@a.example.x.example\" <alice@a.example>",
  };
  for (const char* v : other) {
    std::string addr;
    const std::string got = Judge(v, &addr);
    if (got != "from-display-name-address") fail_msg("[%s]: got '%s'", v, got.c_str());
    assert_string_equal(addr.c_str(), "alice@a.example");
  }
  std::string addr;
  assert_string_equal(
      IdentityMailbox({" \"bob@b.example\" <alice@a.example>"}, "sender", &addr).c_str(),
      "sender-display-name-address");
  // Text that only looks a bit like an address is not one.
  assert_string_equal(Judge(" \"Alice at a dot example\" <alice@a.example>", &addr).c_str(), "");
  assert_string_equal(Judge(" \"@home\" <alice@a.example>", &addr).c_str(), "");
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(TestSingleMailboxReasonsNameTheHeader),
      cmocka_unit_test(TestPlainMailboxesPass),
      cmocka_unit_test(TestAmbiguousFrom),
      cmocka_unit_test(TestDisplayNameNamesAnotherAddress),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
