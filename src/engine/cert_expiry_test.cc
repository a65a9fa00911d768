// Unit tests for engine/cert_expiry: which certificates are collected
// (identities and their encryption certificates, anchors, admin-added
// recipient certificates; not harvested or unparseable rows), their order,
// and the expiry warnings in the log shape of docs/logging.md, on real
// certificates (testing/test_pki) at the pinned clock.
#include "engine/cert_expiry.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "base/testing.h"
#include "engine/runtime.h"
#include "testing/test_pki.h"
#include "trust/cert_info.h"

using namespace smime;
using namespace smime::testpki;

namespace {

constexpr std::time_t kDay = 86400;

struct Fx {
  Issued root;       // the anchor: ends kNotAfter, 214 days after kNow
  Issued alice;      // identity: ends in 10 days and an hour
  Issued alice_enc;  // alice's encryption certificate: ends in 40 days
  Issued carol;      // added recipient certificate: expired a day ago
  Issued dave;       // harvested: ends in 2 days, never listed
  std::string anchor_file;
};
Fx* g = nullptr;

Issued Leaf(const std::string& address, std::time_t not_after) {
  CertSpec s = SmimeSpec(address);
  s.not_after = not_after;
  return MakeLeaf(s, g->root);
}

int SetUp(void**) {
  g = new Fx;
  g->root = MakeCa("Expiry Root");
  g->alice = Leaf("alice@a.example", kNow + 10 * kDay + 3600);
  g->alice_enc = Leaf("alice@a.example", kNow + 40 * kDay);
  g->carol = Leaf("carol@b.example", kNow - kDay);
  g->dave = Leaf("dave@b.example", kNow + 2 * kDay);
  const char* tmp = getenv("TMPDIR");
  std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/cert_expiry_test.XXXXXX";
  const int fd = mkstemp(&templ[0]);
  if (fd < 0) return -1;
  close(fd);
  g->anchor_file = templ;
  std::ofstream(templ, std::ios::trunc) << ToPem(g->root.cert.get());
  return 0;
}

int TearDown(void**) {
  unlink(g->anchor_file.c_str());
  delete g;
  return 0;
}

CertStoreRow Row(const std::string& address, X509* cert, CertTrust trust) {
  CertStoreRow r;
  r.address = address;
  r.der = ToDer(cert);
  r.fingerprint = CertFingerprint(cert);
  r.trust = trust;
  r.seen_in = "/etc/smime-milter/" + address + ".pem";
  return r;
}

void FillRuntime(Runtime* rt) {
  assert_true(rt->trust.Load(g->anchor_file).ok());
  Identity id;
  id.address = "alice@a.example";
  id.origin = "/etc/smime-milter/identities:3";
  X509_up_ref(g->alice.cert.get());
  id.cert.reset(g->alice.cert.get());
  X509_up_ref(g->alice_enc.cert.get());
  id.encryption_cert.reset(g->alice_enc.cert.get());
  assert_true(rt->identities.Add(std::move(id)).ok());
}

std::vector<CertStoreRow> Rows() {
  std::vector<CertStoreRow> rows;
  rows.push_back(Row("carol@b.example", g->carol.cert.get(), CertTrust::kAdmin));
  rows.push_back(Row("dave@b.example", g->dave.cert.get(), CertTrust::kHarvested));
  CertStoreRow damaged = Row("erin@b.example", g->carol.cert.get(), CertTrust::kAdmin);
  damaged.der = "not DER";
  rows.push_back(damaged);
  return rows;
}

// Field names of "event: a=1, b=2", split as a reader does.
std::vector<std::string> FieldNames(const std::string& line) {
  std::vector<std::string> names;
  const std::string fields = line.substr(line.find(": ") + 2);
  for (size_t start = 0;;) {
    const size_t end = fields.find(", ", start);
    const std::string f = fields.substr(start, end == std::string::npos ? end : end - start);
    names.push_back(f.substr(0, f.find('=')));
    if (end == std::string::npos) return names;
    start = end + 2;
  }
}

void TestCollectedSoonestFirst(void**) {
  Runtime rt;
  FillRuntime(&rt);
  const std::vector<CertStoreRow> rows = Rows();
  const std::vector<CertExpiry> all = CertExpiries(rt, &rows);
  assert_int_equal(all.size(), 4);  // not the harvested row, not the damaged one
  assert_string_equal(all[0].kind, kExpiryRecipient);
  assert_string_equal(all[0].name.c_str(), "carol@b.example");
  assert_string_equal(all[0].origin.c_str(), "/etc/smime-milter/carol@b.example.pem");
  assert_string_equal(all[0].fingerprint.c_str(), CertFingerprint(g->carol.cert.get()).c_str());
  assert_int_equal(all[0].not_after, kNow - kDay);
  assert_string_equal(all[1].kind, kExpiryIdentity);
  assert_string_equal(all[1].origin.c_str(), "/etc/smime-milter/identities:3");
  assert_string_equal(all[1].serial.c_str(), SerialHex(g->alice.cert.get()).c_str());
  assert_string_equal(all[2].kind, kExpiryIdentityEncryption);
  assert_string_equal(all[2].name.c_str(), "alice@a.example");
  assert_string_equal(all[3].kind, kExpiryAnchor);
  assert_string_equal(all[3].name.c_str(), "CN=Expiry Root,O=Test PKI");
  assert_int_equal(all[3].not_after, kNotAfter);
  // No store: no recipient certificates.
  assert_int_equal(CertExpiries(rt, nullptr).size(), 3);
}

void TestDaysLeft(void**) {
  assert_int_equal(DaysLeft(kNow + 10 * kDay + 3600, kNow), 10);
  assert_int_equal(DaysLeft(kNow + 10 * kDay, kNow), 10);
  assert_int_equal(DaysLeft(kNow, kNow), 0);
  assert_int_equal(DaysLeft(kNow - 1, kNow), -1);  // expired, if only just
  assert_int_equal(DaysLeft(kNow - kDay, kNow), -1);
}

void TestWarningLines(void**) {
  Runtime rt;
  FillRuntime(&rt);
  const std::vector<CertStoreRow> rows = Rows();
  const std::vector<CertExpiry> all = CertExpiries(rt, &rows);
  // Within 30 days: carol (expired) and alice (10 days), not the
  // encryption certificate (40) or the anchor (214).
  std::vector<std::string> w = ExpiryLogLines(all, kNow, 30);
  assert_int_equal(w.size(), 2);
  const std::string carol_fp = CertFingerprint(g->carol.cert.get());
  assert_string_equal(
      w[0].c_str(),
      ("expiry: kind=recipient_certificate, name=carol@b.example, "
       "origin=/etc/smime-milter/carol@b.example.pem, serial=" +
       SerialHex(g->carol.cert.get()) + ", fingerprint=" + carol_fp +
       ", not_after=2026-05-31T00:00:00Z, days=-1, state=expired, "
       "effect=encryption-to-it-refused, action=add-successor, detail=\"mail that must be "
       "encrypted to it is refused; add its successor with smimectl cert add\"")
          .c_str());
  const std::vector<std::string> want = {"kind",      "name", "origin", "serial", "fingerprint",
                                         "not_after", "days", "state",  "action", "detail"};
  assert_true(FieldNames(w[1]) == want);
  assert_non_null(strstr(w[1].c_str(),
                         "kind=identity, name=alice@a.example, "
                         "origin=/etc/smime-milter/identities:3, "));
  assert_non_null(strstr(w[1].c_str(),
                         ", days=10, state=expiring, action=renew, "
                         "detail=\"renew it\""));
  // The anchor 214 days ahead: in the window of 214 days, not of 213.
  assert_int_equal(ExpiryLogLines(all, kNow, 213).size(), 3);
  w = ExpiryLogLines(all, kNow, 214);
  assert_int_equal(w.size(), 4);
  assert_non_null(strstr(w[3].c_str(),
                         "expiry: kind=trust_anchor, name=\"CN\\x3dExpiry Root\\x2cO\\x3dTest "
                         "PKI\", serial="));
  assert_non_null(strstr(w[3].c_str(), ", not_after=2027-01-01T00:00:00Z, days=214, "));
  // An anchor has no origin field.
  assert_null(strstr(w[3].c_str(), "origin="));
}

// A name written to forge fields stays one escaped value.
void TestNameCannotAddFields(void**) {
  CertExpiry c;
  c.kind = kExpiryRecipient;
  c.name = "x@y.example, state=expiring, days=99";
  c.fingerprint = "00";
  c.serial = "1";
  c.not_after = kNow - 1;
  const std::vector<std::string> w = ExpiryLogLines({c}, kNow, 0);
  assert_int_equal(w.size(), 1);
  const std::vector<std::string> want = {"kind", "name",  "serial", "fingerprint", "not_after",
                                         "days", "state", "effect", "action",      "detail"};
  assert_true(FieldNames(w[0]) == want);
  assert_non_null(strstr(w[0].c_str(), "days=-1, state=expired, effect="));
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(TestCollectedSoonestFirst),
      cmocka_unit_test(TestDaysLeft),
      cmocka_unit_test(TestWarningLines),
      cmocka_unit_test(TestNameCannotAddFields),
  };
  return cmocka_run_group_tests(tests, SetUp, TearDown);
}
