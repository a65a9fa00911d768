// Unit tests for mime/header_protection: RFC 9788 payload headers, the
// hcp_baseline policy, HP-Outer, parsing back, and what a decrypting gateway
// restores.
#include "mime/header_protection.h"

#include <string>
#include <vector>

#include "base/testing.h"

using namespace smime;

namespace {

const std::vector<MimeHeader> kMessage = {
    {"Received", " from x by y; Mon, 7 Dec 2026 10:00:00 +0000"},
    {"From", " Alice <alice@example.com>"},
    {"To", " bob@example.org,\r\n\tcarol@example.org"},
    {"Bcc", " secret@example.net"},
    {"Subject", " Quarterly numbers"},
    {"Date", " Mon, 7 Dec 2026 10:00:00 +0000"},
    {"Message-ID", " <m1@example.com>"},
    {"Keywords", " finance"},
    {"Content-Type", " text/plain; charset=us-ascii"},
    {"X-Mailer", " test"},
};

bool Has(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

void TestModes(void**) {
  HpMode m = HpMode::kNone;
  assert_true(ParseHpMode("cipher", &m));
  assert_int_equal(static_cast<int>(m), static_cast<int>(HpMode::kCipher));
  assert_true(ParseHpMode("clear", &m));
  assert_string_equal(HpModeName(m), "clear");
  assert_false(ParseHpMode("Cipher ", &m));
  assert_int_equal(static_cast<int>(MinHpMode(HpMode::kCipher, HpMode::kClear)),
                   static_cast<int>(HpMode::kClear));
  assert_true(IsProtectedHeaderName("message-id"));
  assert_true(IsProtectedHeaderName("SUBJECT"));
  assert_false(IsProtectedHeaderName("Bcc"));
  assert_false(IsProtectedHeaderName("Received"));
  assert_false(IsProtectedHeaderName("Content-Type"));
  // Copied into the payload: every non-structural field the author wrote
  // (RFC 9788's own examples copy User-Agent), no trace or transit field.
  for (const char* n : {"From", "subject", "User-Agent", "X-Mailer", "Keywords", "Organization"})
    assert_true(IsCopiedHeaderName(n));
  for (const char* n : {"Received", "return-path", "DKIM-Signature", "ARC-Seal", "List-Id",
                        "Authentication-Results", "Resent-From", "Bcc", "HP-Outer", "MIME-Version",
                        "Content-Type", "content-transfer-encoding", "X-Original-To", ""})
    assert_false(IsCopiedHeaderName(n));
}

void TestBaseline(void**) {
  std::string out;
  assert_true(HcpBaseline("subject", " Secret", " [...]", &out));
  assert_string_equal(out.c_str(), " [...]");
  assert_false(HcpBaseline("Keywords", " a, b", " [...]", &out));
  assert_false(HcpBaseline("COMMENTS", " c", " [...]", &out));
  assert_true(HcpBaseline("To", " bob@example.org", " [...]", &out));
  assert_string_equal(out.c_str(), " bob@example.org");
}

void TestClearPlan(void**) {
  HpPlan plan = PlanHeaderProtection(kMessage, HpMode::kClear, "[...]", false);
  const std::string lines = plan.lines;
  assert_true(Has(lines, "From: Alice <alice@example.com>\r\n"));
  assert_true(Has(lines, "To: bob@example.org,\r\n\tcarol@example.org\r\n"));
  assert_true(Has(lines, "Subject: Quarterly numbers\r\n"));
  assert_true(Has(lines, "Message-ID: <m1@example.com>\r\n"));
  assert_true(Has(lines, "Keywords: finance\r\n"));
  assert_false(Has(lines, "Bcc"));
  assert_false(Has(lines, "Received"));
  assert_true(Has(lines, "X-Mailer: test\r\n"));
  assert_false(Has(lines, "Content-Type"));
  assert_false(Has(lines, "HP-Outer"));  // clear: the outer header is untouched
  assert_true(plan.outer_names.empty());
  assert_true(plan.outer_fields.empty());
  assert_true(plan.legacy_display.empty());
}

void TestCipherPlan(void**) {
  HpPlan plan = PlanHeaderProtection(kMessage, HpMode::kCipher, "[...]", true);
  const std::string lines = plan.lines;
  assert_true(Has(lines, "Subject: Quarterly numbers\r\n"));
  assert_true(Has(lines, "HP-Outer: Subject: [...]\r\n"));
  assert_true(Has(lines, "HP-Outer: From: Alice <alice@example.com>\r\n"));
  assert_true(Has(lines, "HP-Outer: Date: Mon, 7 Dec 2026 10:00:00 +0000\r\n"));
  assert_false(Has(lines, "HP-Outer: Keywords"));  // removed from the outer header
  assert_false(Has(lines, "HP-Outer: Bcc"));
  assert_false(Has(lines, "HP-Outer: Received"));
  // Every copied field that stays outside has its HP-Outer record, also
  // one the policy does not touch (RFC 9788 section 2.2).
  assert_true(Has(lines, "X-Mailer: test\r\n"));
  assert_true(Has(lines, "HP-Outer: X-Mailer: test\r\n"));
  assert_true(Has(lines, "HP-Outer: Message-ID: <m1@example.com>\r\n"));
  // The Legacy Display Element lists the user-facing field obscured:
  // Subject (Keywords is not user-facing).
  assert_int_equal(plan.legacy_display.size(), 1);
  assert_string_equal(plan.legacy_display[0].name.c_str(), "Subject");
  assert_string_equal(plan.legacy_display[0].value.c_str(), " Quarterly numbers");
  // The outer header: Subject replaced, Keywords removed, nothing else.
  assert_int_equal(plan.outer_names.size(), 2);
  assert_string_equal(plan.outer_names[0].c_str(), "Subject");
  assert_string_equal(plan.outer_names[1].c_str(), "Keywords");
  assert_int_equal(plan.outer_fields.size(), 1);
  assert_string_equal(plan.outer_fields[0].name.c_str(), "Subject");
  assert_string_equal(plan.outer_fields[0].value.c_str(), " [...]");
}

// Encrypted without hiding (header_protection = clear on encrypted mail):
// the outer header stays, every field is recorded in HP-Outer.
void TestCipherPlanHidingNothing(void**) {
  HpPlan plan = PlanHeaderProtection(kMessage, HpMode::kCipher, "[...]", false);
  assert_true(Has(plan.lines, "Subject: Quarterly numbers\r\n"));
  assert_true(Has(plan.lines, "HP-Outer: Subject: Quarterly numbers\r\n"));
  assert_true(Has(plan.lines, "HP-Outer: Keywords: finance\r\n"));
  assert_false(Has(plan.lines, "[...]"));
  assert_true(plan.outer_names.empty());
  assert_true(plan.outer_fields.empty());
  assert_true(plan.legacy_display.empty());  // nothing hidden, nothing to show
}

// RFC 9788 section 5.2.2: a text/plain payload root starts with the hidden
// user-facing fields, marked hp-legacy-display="1"; other roots get none.
void TestLegacyDisplay(void**) {
  HpPlan plan = PlanHeaderProtection(kMessage, HpMode::kCipher, "[...]", true);
  std::string head, ld;
  size_t consumed = 0;
  const std::string plain = "Content-Type: text/plain; charset=us-ascii\r\n\r\nHello\r\n";
  assert_true(ProtectPayloadHead(plain, plan, &head, &consumed, &ld).ok());
  assert_string_equal(ld.c_str(), "added");
  std::string payload = head + plain.substr(consumed);
  assert_true(Has(payload, "charset=us-ascii; hp=\"cipher\"; hp-legacy-display=\"1\"\r\n"));
  assert_true(
      Has(payload, "HP-Outer: X-Mailer: test\r\n\r\nSubject: Quarterly numbers\r\n\r\nHello\r\n"));
  HpInbound in;
  assert_true(ParseProtectedHeaders(payload, &in).ok());
  assert_int_equal(static_cast<int>(in.mode), static_cast<int>(HpMode::kCipher));

  // Quoted-printable UTF-8 body, encoded-word Subject: decoded, then QP.
  std::vector<MimeHeader> fields = {{"Subject", " =?UTF-8?Q?Gr=C3=BC=C3=9Fe?="},
                                    {"From", " a@example.com"}};
  HpPlan utf = PlanHeaderProtection(fields, HpMode::kCipher, "[...]", true);
  const std::string qp =
      "Content-Type: text/plain; charset=utf-8\r\n"
      "Content-Transfer-Encoding: quoted-printable\r\n\r\nHi=20\r\n";
  assert_true(ProtectPayloadHead(qp, utf, &head, &consumed, &ld).ok());
  assert_string_equal(ld.c_str(), "added");
  assert_true(Has(head, "\r\n\r\nSubject: Gr=C3=BC=C3=9Fe\r\n\r\n"));
  // The same value cannot go into a 7bit body.
  const std::string seven = "Content-Type: text/plain; charset=utf-8\r\n\r\nHi\r\n";
  assert_true(ProtectPayloadHead(seven, utf, &head, &consumed, &ld).ok());
  assert_string_equal(ld.c_str(), "hp-legacy-display-charset");
  assert_false(Has(head, "hp-legacy-display=\"1\""));
  assert_true(Has(head, "hp=\"cipher\""));
  assert_true(head.size() >= 4 && head.compare(head.size() - 4, 4, "\r\n\r\n") == 0);

  // Base64 text, HTML and multipart roots: protected, no element (the gap
  // docs/header-protection.md names).
  const char* others[] = {
      "Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\nSGk=\r\n",
      "Content-Type: text/html; charset=us-ascii\r\n\r\n<p>Hi</p>\r\n",
      "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n",
  };
  const char* reasons[] = {"hp-legacy-display-encoding", "hp-legacy-display-not-text-plain",
                           "hp-legacy-display-not-text-plain"};
  for (size_t i = 0; i < 3; ++i) {
    const std::string e = others[i];
    assert_true(ProtectPayloadHead(e, plan, &head, &consumed, &ld).ok());
    assert_string_equal(ld.c_str(), reasons[i]);
    assert_false(Has(head, "hp-legacy-display"));
    assert_true(head.compare(head.size() - 4, 4, "\r\n\r\n") == 0);
  }

  // Nothing obscured (hcp_no_confidentiality) or signed only: none due.
  HpPlan open = PlanHeaderProtection(kMessage, HpMode::kCipher, "[...]", false);
  assert_true(ProtectPayloadHead(plain, open, &head, &consumed, &ld).ok());
  assert_true(ld.empty());
  assert_false(Has(head, "hp-legacy-display"));
  HpPlan clear = PlanHeaderProtection(kMessage, HpMode::kClear, "[...]", false);
  assert_true(ProtectPayloadHead(plain, clear, &head, &consumed, &ld).ok());
  assert_true(ld.empty());
}

void TestProtectHead(void**) {
  HpPlan plan = PlanHeaderProtection(kMessage, HpMode::kCipher, "[...]", true);
  const std::string entity =
      "Content-Type: text/plain;\r\n charset=us-ascii\r\n"
      "Content-Transfer-Encoding: 7bit\r\n\r\nHello\r\n";
  std::string head;
  size_t consumed = 0;
  Status st = ProtectPayloadHead(entity, plan, &head, &consumed);
  assert_true(st.ok());
  assert_int_equal(consumed, entity.size() - 7);
  const std::string payload = head + entity.substr(consumed);
  assert_true(Has(
      payload,
      "Content-Type: text/plain;\r\n charset=us-ascii; hp=\"cipher\"; hp-legacy-display=\"1\"\r\n"
      "Content-Transfer-Encoding: 7bit\r\nFrom:"));
  assert_true(Has(payload, "HP-Outer: Subject: [...]\r\n"));
  assert_true(Has(payload, "HP-Outer: Message-ID: <m1@example.com>\r\n"));
  // The root is text/plain: the Legacy Display Element starts the body.
  assert_true(Has(payload, "\r\n\r\nSubject: Quarterly numbers\r\n\r\nHello\r\n"));

  // And it reads back.
  HpInbound in;
  assert_true(ParseProtectedHeaders(payload, &in).ok());
  assert_int_equal(static_cast<int>(in.mode), static_cast<int>(HpMode::kCipher));
  assert_int_equal(FieldValues(in.protected_fields, "subject").size(), 1);
  assert_string_equal(FieldValues(in.protected_fields, "subject")[0].c_str(), " Quarterly numbers");
  assert_int_equal(FieldValues(in.protected_fields, "Content-Type").size(), 0);
  assert_int_equal(FieldValues(in.protected_fields, "HP-Outer").size(), 0);
  assert_string_equal(FieldValues(in.hp_outer, "Subject")[0].c_str(), " [...]");

  // A payload that already has hp (an RFC 9788 client did it) is refused.
  st = ProtectPayloadHead(payload, plan, &head, &consumed);
  assert_false(st.ok());
  assert_string_equal(st.message().c_str(), "hp-already-present");
  // No Content-Type, two of them, no header block end.
  assert_false(ProtectPayloadHead("X: y\r\n\r\nbody", plan, &head, &consumed).ok());
  assert_false(
      ProtectPayloadHead("Content-Type: a/b\r\nContent-type: c/d\r\n\r\n", plan, &head, &consumed)
          .ok());
  assert_false(ProtectPayloadHead("Content-Type: text/plain\r\n", plan, &head, &consumed).ok());
}

void TestParseVariants(void**) {
  HpInbound in;
  assert_true(ParseProtectedHeaders("Content-Type: text/plain\r\nSubject: x\r\n\r\nb", &in).ok());
  assert_int_equal(static_cast<int>(in.mode), static_cast<int>(HpMode::kNone));
  assert_true(in.problem.empty());
  assert_true(
      ParseProtectedHeaders("Content-Type: text/plain; HP=Clear\r\nFrom: a@b.example\r\n\r\n", &in)
          .ok());
  assert_int_equal(static_cast<int>(in.mode), static_cast<int>(HpMode::kClear));
  assert_true(ParseProtectedHeaders("Content-Type: text/plain; hp=\"maybe\"\r\n\r\n", &in).ok());
  assert_int_equal(static_cast<int>(in.mode), static_cast<int>(HpMode::kNone));
  assert_string_equal(in.problem.c_str(), "hp-unknown-value");
  assert_false(in.ambiguous);

  // Unreadable blocks: mode none, and ambiguous when some reading shows an
  // hp parameter, a From: or a Sender:.
  struct Case {
    const char* block;
    bool ambiguous;
  };
  const Case cases[] = {
      {"Content-Type: text/plain; hp=clear\r\n", true},                              // unterminated
      {"Content-Type: text/plain\r\nX-A: a\rFrom: ceo@bank.example\r\n\r\n", true},  // bare CR
      {"Content-Type: text/plain\r\nX-A: a\nSender: x@y.example\r\n\r\n", true},     // bare LF
      {"Content-Type: text/plain; hp*=''clear\r\nSubject: s\r\n\r\n", true},         // RFC 2231
      {"Content-Type: text/plain; hp*0=cle; hp*1=ar\r\n\r\n", true},
      {"Content-Type: text/plain (note); hp=clear\r\n\r\n", true},  // no strict reading
      {"Content-Type: a/b\r\nContent-Type: c/d; hp=clear\r\n\r\n", true},
      {"Content-Type: text/plain\nX-Mailer: y\n\nbody", false},  // LF only, nothing to judge
      {"Content-Type: text/plain (note)\r\nFrom: a@b.example\r\n\r\n", false},
  };
  for (const Case& c : cases) {
    assert_true(ParseProtectedHeaders(c.block, &in).ok());
    assert_int_equal(static_cast<int>(in.mode), static_cast<int>(HpMode::kNone));
    assert_int_equal(in.ambiguous, c.ambiguous);
  }
  std::string many = "Content-Type: text/plain; hp=clear\r\n";
  for (int i = 0; i < 1001; ++i) many += "X-A: b\r\n";
  assert_true(ParseProtectedHeaders(many + "\r\n", &in).ok());
  assert_string_equal(in.problem.c_str(), "hp-too-many-fields");
  assert_true(in.ambiguous);
  // Without hp the fields are still read: a From: there is judged too.
  assert_true(
      ParseProtectedHeaders("Content-Type: text/plain\r\nFrom: a@b.example\r\n\r\n", &in).ok());
  assert_int_equal(static_cast<int>(in.mode), static_cast<int>(HpMode::kNone));
  assert_int_equal(FieldValues(in.protected_fields, "From").size(), 1);
}

void TestRestore(void**) {
  HpPlan plan = PlanHeaderProtection(kMessage, HpMode::kCipher, "[...]", true);
  std::string head;
  size_t consumed = 0;
  assert_true(ProtectPayloadHead("Content-Type: text/plain\r\n\r\nx", plan, &head, &consumed).ok());
  HpInbound in;
  assert_true(ParseProtectedHeaders(head, &in).ok());
  std::vector<MimeHeader> r = HeadersToRestore(in);
  // Subject was obscured and Keywords removed; everything else travelled
  // unchanged and stays as it is.
  assert_int_equal(r.size(), 2);
  assert_string_equal(r[0].name.c_str(), "Subject");
  assert_string_equal(r[0].value.c_str(), " Quarterly numbers");
  assert_string_equal(r[1].name.c_str(), "Keywords");

  // A From: that differs from its HP-Outer record is never restored.
  HpInbound forged;
  assert_true(ParseProtectedHeaders("Content-Type: text/plain; hp=cipher\r\n"
                                    "From: ceo@bank.example\r\nSubject: pay now\r\n"
                                    "HP-Outer: From: mallory@evil.example\r\n\r\n",
                                    &forged)
                  .ok());
  r = HeadersToRestore(forged);
  assert_int_equal(r.size(), 1);
  assert_string_equal(r[0].name.c_str(), "Subject");
  // The sender's payload cannot plant trace, transit, filter or Bcc fields
  // in the outer header (none has an HP-Outer record, so all read as
  // removed); an author field hidden the same way comes back.
  HpInbound planted;
  assert_true(ParseProtectedHeaders("Content-Type: text/plain; hp=cipher\r\n"
                                    "Authentication-Results: mx.example.net; smime=pass\r\n"
                                    "Received: from a by b\r\nX-Spam-Flag: NO\r\n"
                                    "Bcc: hidden@example.org\r\nDKIM-Signature: v=1\r\n"
                                    "Comments: the real comment\r\n\r\n",
                                    &planted)
                  .ok());
  r = HeadersToRestore(planted);
  assert_int_equal(r.size(), 1);
  assert_string_equal(r[0].name.c_str(), "Comments");
  // hp="clear" restores nothing: nothing was hidden.
  in.mode = HpMode::kClear;
  assert_int_equal(HeadersToRestore(in).size(), 0);
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(TestModes),
      cmocka_unit_test(TestBaseline),
      cmocka_unit_test(TestClearPlan),
      cmocka_unit_test(TestCipherPlan),
      cmocka_unit_test(TestCipherPlanHidingNothing),
      cmocka_unit_test(TestLegacyDisplay),
      cmocka_unit_test(TestProtectHead),
      cmocka_unit_test(TestParseVariants),
      cmocka_unit_test(TestRestore),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
