// Unit tests for mime/one_reading and the one-reading rule in LocateSmime:
// every frame that two parsers could read two ways is refused.
#include "mime/one_reading.h"

#include <string>

#include "base/testing.h"
#include "mime/smime_locator.h"

using namespace smime;

namespace {

const char kHead[] = "From: a@b.example\r\nMIME-Version: 1.0\r\n";
const char kCt[] =
    "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\";\r\n"
    "\tmicalg=sha-256; boundary=\"BND\"\r\n";
const char kPart1[] = "Content-Type: text/plain\r\n\r\nsigned text\r\n";
const char kPart2[] =
    "Content-Type: application/pkcs7-signature\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    "AAEC\r\n";

std::string Body(const std::string& d1 = "--BND\r\n", const std::string& d2 = "\r\n--BND\r\n",
                 const std::string& close = "\r\n--BND--\r\n") {
  return d1 + kPart1 + d2 + kPart2 + close;
}

std::string Message(const std::string& extra_headers, const std::string& body) {
  return std::string(kHead) + extra_headers + "\r\n" + body;
}

// LocateSmime reads the message in place: the tests keep it alive here.
const std::string& Keep(std::string m) {
  static std::string kept;
  kept = std::move(m);
  return kept;
}

// The verdict-relevant answer: "" when located as clear-signed, else the
// ambiguity detail or the status message.
std::string Locate(const std::string& m) {
  SmimeLayout l;
  Status st = LocateSmime(m, MimeLimits(), &l);
  if (st.ok()) return l.kind == SmimeLayout::Kind::kClearSigned ? "" : "not-clear-signed";
  return st.message() == "ambiguous-mime" ? l.ambiguity : st.message();
}

void TestCleanFrameIsAccepted(void**) {
  const std::string m = Message(kCt, Body());
  SmimeLayout l;
  assert_true(LocateSmime(m, MimeLimits(), &l).ok());
  assert_string_equal(std::string(l.signed_content).c_str(),
                      "Content-Type: text/plain\r\n\r\nsigned text\r\n");
  // Transport padding is read alike by every parser.
  assert_string_equal(Locate(Message(kCt, Body("--BND \t\r\n", "\r\n--BND  \r\n"))).c_str(), "");
  // A preamble and an epilogue without delimiters are fine.
  assert_string_equal(Locate(Message(kCt, "preamble\r\n" + Body() + "epilogue\r\n")).c_str(), "");
}

void TestDuplicateHeadersAreAmbiguous(void**) {
  const std::string text = "Content-Type: text/plain\r\n";
  assert_string_equal(Locate(Message(text + kCt, Body())).c_str(), "duplicate-content-type");
  // GMime takes the last: it reads text/plain, so nothing is called signed.
  assert_string_equal(Locate(Message(std::string(kCt) + text, Body())).c_str(), "not-clear-signed");
  assert_string_equal(Locate(Message(std::string(kCt) + "MIME-Version: 1.0\r\n", Body())).c_str(),
                      "duplicate-mime-version");
  assert_string_equal(Locate(Message(std::string(kCt) + "Content-Transfer-Encoding: 7bit\r\n" +
                                         "Content-Transfer-Encoding: base64\r\n",
                                     Body()))
                          .c_str(),
                      "duplicate-content-transfer-encoding");
  assert_string_equal(
      Locate(Message(std::string(kCt) + "Content-Transfer-Encoding: base64\r\n", Body())).c_str(),
      "multipart-transfer-encoding");
  assert_string_equal(Locate(Message(std::string(kCt) + "X-Broken header\r\n", Body())).c_str(),
                      "header-without-colon");
  assert_string_equal(
      Locate(Message("Content-Type : text/plain\r\n" + std::string(kCt), Body())).c_str(),
      "header-name-invalid");
}

void TestParameterFormsAreAmbiguous(void**) {
  const std::string proto =
      "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"";
  assert_string_equal(
      Locate(Message(proto + "; boundary=\"BND\"; boundary*0=\"X\"; boundary*1=\"Y\"\r\n", Body()))
          .c_str(),
      "content-type-rfc2231-structural");
  assert_string_equal(
      Locate(Message(proto + "; boundary*0=\"B\"; boundary*1=\"ND\"\r\n", Body())).c_str(),
      "content-type-rfc2231-structural");
  assert_string_equal(Locate(Message(proto + "; boundary=BND; boundary=\"X\"\r\n", Body())).c_str(),
                      "content-type-duplicate-parameter");
  assert_string_equal(
      Locate(Message(proto + " (boundary=\"X\"); boundary=\"BND\"\r\n", Body())).c_str(),
      "content-type-comment");
  // A backslash escape: GMime removes it, Python's compat32 keeps it.
  assert_string_equal(Locate(Message(proto + "; boundary=\"\\B\\N\\D\"\r\n", Body())).c_str(),
                      "content-type-quoted-pair");
  // Quoted and unquoted spellings of one value are one reading.
  assert_string_equal(Locate(Message(proto + "; boundary=BND\r\n", Body())).c_str(), "");
}

void TestDelimiterLinesMustBeClean(void**) {
  assert_string_equal(Locate(Message(kCt, Body("--BND\r\r\n"))).c_str(),
                      "delimiter-trailing-bytes");
  assert_string_equal(Locate(Message(kCt, Body("--BND\r\n", "\r\n--BND;x\r\n"))).c_str(),
                      "delimiter-trailing-bytes");
  assert_string_equal(
      Locate(Message(kCt, Body("--BND\r\n", "\r\n--BND\r\n", "\r\n--BND--x\r\n"))).c_str(),
      "delimiter-trailing-bytes");
  assert_string_equal(
      Locate(Message(kCt, Body() + "epilogue\r\n--BND\r\nContent-Type: text/plain\r\n\r\nlie\r\n"))
          .c_str(),
      "delimiter-after-close");
  // A bare CR ends a line for Python's email, not for GMime.
  const std::string bare_cr = std::string("--BND\r\n") + kPart1 + "x\r--BND\r\n" + kPart2 +
                              "\r\n--BND\r\n" + kPart2 + "\r\n--BND--\r\n";
  assert_string_equal(Locate(Message(kCt, bare_cr)).c_str(), "delimiter-after-bare-cr");
  assert_string_equal(Locate(Message(kCt, Body("--BND\r\n", "\r\n--BND\r\n", "\r\n"))).c_str(),
                      "missing-close-delimiter");
  // "--BNDx" belongs to another boundary for every parser.
  const std::string other = std::string("--BND\r\n") +
                            "Content-Type: text/plain\r\n\r\n--BNDx\r\n" + "\r\n--BND\r\n" +
                            kPart2 + "\r\n--BND--\r\n";
  assert_string_equal(Locate(Message(kCt, other)).c_str(), "");
}

void TestSignaturePartMustBeASignature(void**) {
  const std::string part2 =
      "Content-Type: application/pkcs7-signature\r\nContent-Type: text/plain\r\n\r\nPay now\r\n";
  const std::string m =
      Message(kCt, std::string("--BND\r\n") + kPart1 + "\r\n--BND\r\n" + part2 + "\r\n--BND--\r\n");
  assert_string_equal(Locate(m).c_str(), "duplicate-content-type");
  const std::string text = "Content-Type: text/plain\r\n\r\nPay now\r\n";
  const std::string m2 =
      Message(kCt, std::string("--BND\r\n") + kPart1 + "\r\n--BND\r\n" + text + "\r\n--BND--\r\n");
  assert_string_equal(Locate(m2).c_str(), "signature-part-type");
}

void TestOpaqueFrame(void**) {
  const std::string ct =
      "Content-Type: application/pkcs7-mime; smime-type=signed-data; name=smime.p7m\r\n"
      "Content-Transfer-Encoding: base64\r\n";
  SmimeLayout l;
  assert_true(LocateSmime(Keep(Message(ct, "AAEC\r\n")), MimeLimits(), &l).ok());
  assert_int_equal(static_cast<int>(l.kind), static_cast<int>(SmimeLayout::Kind::kOpaque));
  assert_false(
      LocateSmime(Keep(Message("Content-Type: text/plain\r\n" + ct, "AAEC\r\n")), MimeLimits(), &l)
          .ok());
  assert_string_equal(l.ambiguity.c_str(), "duplicate-content-type");
  assert_false(LocateSmime(Keep(Message(ct + "Content-Transfer-Encoding: 7bit\r\n", "AAEC\r\n")),
                           MimeLimits(), &l)
                   .ok());
  assert_string_equal(l.ambiguity.c_str(), "duplicate-content-transfer-encoding");
}

void TestTransferEncodingAndLineBreaks(void**) {
  const std::string ct =
      "Content-Type: application/pkcs7-mime; smime-type=signed-data; name=smime.p7m\r\n";
  SmimeLayout l;
  assert_false(
      LocateSmime(Keep(Message(ct + "Content-Transfer-Encoding: base64 (x)\r\n", "AAEC\r\n")),
                  MimeLimits(), &l)
          .ok());
  assert_string_equal(l.ambiguity.c_str(), "content-transfer-encoding-syntax");
  assert_false(
      LocateSmime(Keep(Message(ct + "Content-Transfer-Encoding: base64\r\n", "\rAAEC\r\n")),
                  MimeLimits(), &l)
          .ok());
  assert_string_equal(l.ambiguity.c_str(), "frame-bare-cr");
  // In the preamble of a multipart/signed, and in the signature part.
  assert_string_equal(Locate(Message(kCt, "pre\ramble\r\n" + Body())).c_str(), "frame-bare-cr");
  assert_string_equal(Locate(Message(kCt, Body() + std::string("epi\0logue\r\n", 12))).c_str(),
                      "frame-nul");
  // Both: the first in the text is named.
  assert_string_equal(Locate(Message(kCt, Body() + std::string("e\0pi\rlogue\r\n", 12))).c_str(),
                      "frame-nul");
  assert_string_equal(Locate(Message(kCt, Body() + std::string("e\rpi\0logue\r\n", 12))).c_str(),
                      "frame-bare-cr");
  // Part 1 is the signer's: a bare CR there is not the frame's business.
  const std::string cr_in_part1 = std::string("--BND\r\n") +
                                  "Content-Type: text/plain\r\n\r\na\rb\r\n" + "\r\n--BND\r\n" +
                                  kPart2 + "\r\n--BND--\r\n";
  assert_string_equal(Locate(Message(kCt, cr_in_part1)).c_str(), "");
}

void TestParseContentTypeStrict(void**) {
  ContentTypeValue ct;
  assert_true(ParseContentTypeStrict(" Text/Plain ; charset=\"utf-8\"; format=flowed;", &ct).ok());
  assert_string_equal(ct.type.c_str(), "text");
  assert_string_equal(ct.subtype.c_str(), "plain");
  assert_string_equal(ct.params["charset"].c_str(), "utf-8");
  assert_string_equal(ct.params["format"].c_str(), "flowed");
  assert_true(ParseContentTypeStrict("application/x; name*0=\"a\"; name*1=\"b\"", &ct).ok());
  assert_false(ParseContentTypeStrict("application/x; name=\"a\"; name*=utf-8''b", &ct).ok());
  assert_false(ParseContentTypeStrict("text/plain charset=x", &ct).ok());
  assert_false(ParseContentTypeStrict("text/plain; charset=\"x", &ct).ok());
  assert_false(ParseContentTypeStrict("text", &ct).ok());
  assert_true(ParseContentTypeStrict("text/plain; a=\"(not a comment)\"", &ct).ok());
}

// A part bomb whose boundary is spelled with RFC 2231 continuations is
// counted like any other (GMime's own parameter parser reads the boundary).
void TestPartBombWithContinuations(void**) {
  std::string m = std::string(kHead) +
                  "Content-Type: multipart/mixed; boundary*0=\"bo\"; boundary*1=\"mb\"\r\n\r\n";
  for (int i = 0; i < 5000; ++i) m += "--bomb\r\n\r\nx\r\n";
  m += "--bomb--\r\n";
  SmimeLayout l;
  Status st = LocateSmime(m, MimeLimits(), &l);
  assert_false(st.ok());
  assert_string_equal(st.message().c_str(), "mime-parts-limit");
  std::string folded = std::string(kHead) +
                       "Content-Type: multipart/mixed;\r\n boundary*0*=us-ascii''bo;\r\n"
                       " boundary*1=\"mb\"\r\n\r\n";
  for (int i = 0; i < 5000; ++i) folded += "--bomb \r\n\r\nx\r\n";
  st = LocateSmime(folded, MimeLimits(), &l);
  assert_string_equal(st.message().c_str(), "mime-parts-limit");
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(TestCleanFrameIsAccepted),
      cmocka_unit_test(TestDuplicateHeadersAreAmbiguous),
      cmocka_unit_test(TestParameterFormsAreAmbiguous),
      cmocka_unit_test(TestDelimiterLinesMustBeClean),
      cmocka_unit_test(TestSignaturePartMustBeASignature),
      cmocka_unit_test(TestOpaqueFrame),
      cmocka_unit_test(TestTransferEncodingAndLineBreaks),
      cmocka_unit_test(TestParseContentTypeStrict),
      cmocka_unit_test(TestPartBombWithContinuations),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
