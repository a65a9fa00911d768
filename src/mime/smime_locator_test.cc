// Unit tests for mime/smime_locator: exact signed bytes, nesting, limits.
#include "mime/smime_locator.h"

#include <string>

#include "base/testing.h"
#include "mime/address.h"

using namespace smime;

namespace {

const char kSigned[] =
    "From: a@b.example\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\";\r\n"
    "\tmicalg=sha-256; boundary=\"BND\"\r\n"
    "\r\n"
    "preamble --BND not a boundary\r\n"
    "--BND  \r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "line one \r\n"
    "--BNDx is not a delimiter\r\n"
    "\r\n"
    "--BND\r\n"
    "Content-Type: application/pkcs7-signature\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "AAEC\r\n"
    "--BND--\r\n";

void TestClearSignedBytesAsReceived(void**) {
  SmimeLayout l;
  const std::string m = kSigned;
  Status st = LocateSmime(m, MimeLimits(), &l);
  assert_true(st.ok());
  assert_int_equal(static_cast<int>(l.kind), static_cast<int>(SmimeLayout::Kind::kClearSigned));
  assert_string_equal(std::string(l.signed_content).c_str(),
                      "Content-Type: text/plain\r\n\r\nline one \r\n--BNDx is not a delimiter\r\n");
  assert_int_equal(l.cms_der.size(), 3);
  assert_int_equal(l.cms_der[2], 2);
}

void TestNestedSignatureIsNotRoot(void**) {
  const std::string m =
      "From: a@b.example\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=OUT\r\n\r\n"
      "--OUT\r\nContent-Type: text/plain\r\n\r\nunsigned\r\n"
      "--OUT\r\nContent-Type: application/pkcs7-mime; smime-type=signed-data\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\nAAEC\r\n--OUT--\r\n";
  SmimeLayout l;
  assert_true(LocateSmime(m, MimeLimits(), &l).ok());
  assert_int_equal(static_cast<int>(l.kind), static_cast<int>(SmimeLayout::Kind::kNone));
  assert_int_equal(l.nested_signatures.size(), 1);
  assert_string_equal(l.nested_signatures[0].c_str(), "2");
}

void TestLimits(void**) {
  std::string m = "From: a@b.example\r\nMIME-Version: 1.0\r\n";
  std::string tail;
  for (int i = 0; i < 15; ++i) {
    m += "Content-Type: multipart/mixed; boundary=B" + std::to_string(i) + "\r\n\r\n--B" +
         std::to_string(i) + "\r\n";
    tail = "\r\n--B" + std::to_string(i) + "--\r\n" + tail;
  }
  m += "Content-Type: text/plain\r\n\r\nx" + tail;
  MimeLimits deep;
  deep.max_depth = 10;
  SmimeLayout l;
  Status st = LocateSmime(m, deep, &l);
  assert_false(st.ok());
  assert_string_equal(st.message().c_str(), "mime-depth-limit");
  MimeLimits few;
  few.max_parts = 5;
  st = LocateSmime(m, few, &l);
  assert_string_equal(st.message().c_str(), "mime-parts-limit");
  assert_true(LocateSmime(m, MimeLimits(), &l).ok());
}

// In segments (a header block, then the body: no contiguous copy) the
// precheck counts as on the whole: a boundary declared in the header block
// counts its delimiter lines in the body.
void TestPrecheckInSegments(void**) {
  const std::string head = "Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\n";
  std::string body;
  for (int i = 0; i < 4; ++i) body += "--B\r\n\r\npart\r\n";
  body += "--B--\r\n";
  MimeLimits two;
  two.max_parts = 2;  // 5 delimiter lines > 2 x 2
  MimeLimits three;
  three.max_parts = 3;
  for (const MimeLimits* l : {&two, &three}) {
    const Status whole = PrecheckMimeSize(head + body, *l);
    const Status parts = PrecheckMimeSize({std::string_view(head), std::string_view(body)}, *l);
    assert_int_equal(whole.ok(), l == &three);
    assert_int_equal(parts.ok(), whole.ok());
    assert_string_equal(parts.message().c_str(), whole.message().c_str());
  }
}

void TestCrlf(void**) { assert_string_equal(ToCrlf("a\nb\r\nc\n").c_str(), "a\r\nb\r\nc\r\n"); }

void TestSingleMailbox(void**) {
  std::string addr;
  assert_string_equal(SingleMailbox({" \"Eve\" <eve@a.example>"}, &addr).c_str(), "");
  assert_string_equal(addr.c_str(), "eve@a.example");
  assert_string_equal(SingleMailbox({}, &addr).c_str(), "no-from-header");
  assert_string_equal(SingleMailbox({" a@b.example", " c@d.example"}, &addr).c_str(),
                      "multiple-from-headers");
  assert_string_equal(SingleMailbox({" a@b.example, c@d.example"}, &addr).c_str(),
                      "from-not-single-mailbox");
  assert_string_not_equal(SingleMailbox({" The Manager"}, &addr).c_str(), "");
  assert_string_equal(addr.c_str(), "");
  assert_string_equal(SingleMailbox({" \"m@b.example\" <eve@a.example>"}, &addr).c_str(), "");
  assert_string_equal(addr.c_str(), "eve@a.example");
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(TestClearSignedBytesAsReceived),
      cmocka_unit_test(TestNestedSignatureIsNotRoot),
      cmocka_unit_test(TestLimits),
      cmocka_unit_test(TestPrecheckInSegments),
      cmocka_unit_test(TestCrlf),
      cmocka_unit_test(TestSingleMailbox),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
