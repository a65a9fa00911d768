// Unit tests for certdir/cert_store and cms/signer_attributes: a store on a
// temporary file is filled with certificates from testing/test_pki by Add
// and Harvest and read back through List, Lookup and the two CertSources;
// capabilities follow the newest signingTime, admin rows stay admin,
// certificates must name the address, two threads (and two connections)
// write at once, data survives a reopen, and bad files give a Status;
// symbolic and hard links, FIFOs and a world-writable folder are refused,
// new files are 0600 under umask 022.
#include "certdir/cert_store.h"

#include <openssl/cms.h>
#include <openssl/objects.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "base/safe_file.h"
#include "base/testing.h"
#include "cms/sign.h"
#include "cms/signer_attributes.h"
#include "testing/test_pki.h"

using namespace smime;
using namespace smime::testpki;

namespace {

struct Fixture {
  Issued ca, alice, alice2, bob, many, hans;
  std::string dir;
  std::shared_ptr<CertStore> store;
};
Fixture* g = nullptr;

constexpr int kMany = 40;  // addresses in g->many

std::string ManyAddress(int i) { return "user" + std::to_string(i) + "@t.example"; }

int SetUp(void**) {
  g = new Fixture;
  g->ca = MakeCa("Root", KeyKind::kEcP256);
  CertSpec a = SmimeSpec("alice@a.example");
  a.key = KeyKind::kEcP256;
  g->alice = MakeLeaf(a, g->ca);
  g->alice2 = MakeLeaf(a, g->ca);
  CertSpec b = SmimeSpec("bob@b.example");
  b.san_emails.clear();
  b.subject_email = "Bob@B.example";  // old style: address in the subject DN only
  b.key = KeyKind::kEcP256;
  g->bob = MakeLeaf(b, g->ca);
  CertSpec m = SmimeSpec(ManyAddress(0));
  for (int i = 1; i < kMany; ++i) m.san_emails.push_back(ManyAddress(i));
  m.key = KeyKind::kEcP256;
  g->many = MakeLeaf(m, g->ca);
  CertSpec h = SmimeSpec("hans@xn--bcher-kva.example");  // rfc822Name: A-labels (RFC 5280)
  h.key = KeyKind::kEcP256;
  g->hans = MakeLeaf(h, g->ca);
  const char* tmp = getenv("TMPDIR");
  std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/cert_store_test.XXXXXX";
  if (!mkdtemp(&templ[0])) return -1;
  g->dir = templ;
  return 0;
}

int TearDown(void**) {
  g->store.reset();
  std::error_code ec;
  std::filesystem::remove_all(g->dir, ec);
  delete g;
  g = nullptr;
  return 0;
}

// --- plain-value views of results (cmocka asserts skip destructors) --------

struct Res {
  int code = 0;
  char msg[400] = "";
};

Res R(const Status& st) {
  Res r;
  r.code = static_cast<int>(st.code());
  std::snprintf(r.msg, sizeof r.msg, "%s", st.message().c_str());
  return r;
}

constexpr int kOk = static_cast<int>(Status::Code::kOk);
constexpr int kInvalid = static_cast<int>(Status::Code::kInvalidInput);
constexpr int kIo = static_cast<int>(Status::Code::kIo);
constexpr int kConfigCode = static_cast<int>(Status::Code::kConfig);

Res OpenStore(const char* name) {
  g->store.reset();
  return R(CertStore::Open(g->dir + "/" + name, &g->store));
}

Res Add(const char* address, X509* cert, const char* origin, std::time_t now) {
  return R(g->store->Add(address, cert, origin, now));
}

Res Harvest(const char* address, X509* cert, std::vector<int> caps, std::time_t signing_time,
            const char* seen_in, std::time_t now) {
  return R(g->store->Harvest(address, cert, caps, signing_time, seen_in, now));
}

Res Remove(const char* address, const char* fp, int* removed) {
  return R(g->store->Remove(address, fp, removed));
}

std::string Caps(const std::vector<int>& caps) {
  std::string s;
  for (int n : caps) s += (s.empty() ? "" : ",") + std::to_string(n);
  return s;
}

struct RowFacts {
  char address[64] = "";
  char fingerprint[80] = "";
  bool der_matches_alice = false;
  int trust = 0;
  char source[16] = "";
  long first_seen = 0, last_seen = 0, signing_time = 0;
  char seen_in[128] = "";
  char caps[64] = "";
};

struct Rows {
  Res res;
  int n = 0;
  RowFacts row[8];
};

Rows Facts(const char* address_or_null) {
  Rows out;
  std::vector<CertStore::Row> rows;
  out.res = R(address_or_null ? g->store->Lookup(address_or_null, &rows) : g->store->List(&rows));
  const std::string alice_der = ToDer(g->alice.cert.get());
  for (const CertStore::Row& r : rows) {
    if (out.n == 8) break;
    RowFacts& f = out.row[out.n++];
    std::snprintf(f.address, sizeof f.address, "%s", r.address.c_str());
    std::snprintf(f.fingerprint, sizeof f.fingerprint, "%s", r.fingerprint.c_str());
    f.der_matches_alice = r.der == alice_der;
    f.trust = static_cast<int>(r.trust);
    std::snprintf(f.source, sizeof f.source, "%s", r.source.c_str());
    f.first_seen = static_cast<long>(r.first_seen);
    f.last_seen = static_cast<long>(r.last_seen);
    f.signing_time = static_cast<long>(r.signing_time);
    std::snprintf(f.seen_in, sizeof f.seen_in, "%s", r.seen_in.c_str());
    std::snprintf(f.caps, sizeof f.caps, "%s", Caps(r.capabilities).c_str());
  }
  return out;
}

struct Cands {
  Res res;
  int n = 0;
  int trust[8] = {};
  char source[8][16] = {};
  char origin[8][200] = {};
  char caps[8][64] = {};
  long seen[8] = {};
  bool is_alice[8] = {};
};

Cands Find(bool local, const char* address) {
  Cands out;
  std::vector<CertCandidate> cands;
  if (local) {
    LocalCerts src(g->store);
    out.res = R(src.Find(address, Deadline(), &cands));
  } else {
    HarvestedCerts src(g->store);
    out.res = R(src.Find(address, Deadline(), &cands));
  }
  for (const CertCandidate& c : cands) {
    if (out.n == 8) break;
    const int i = out.n++;
    out.trust[i] = static_cast<int>(c.trust);
    std::snprintf(out.source[i], sizeof out.source[i], "%s", c.source.c_str());
    std::snprintf(out.origin[i], sizeof out.origin[i], "%s", c.origin.c_str());
    std::snprintf(out.caps[i], sizeof out.caps[i], "%s", Caps(c.capabilities).c_str());
    out.seen[i] = static_cast<long>(c.seen);
    out.is_alice[i] = X509_cmp(c.cert.get(), g->alice.cert.get()) == 0;
  }
  return out;
}

// Runs one SQL statement on path with a separate connection (the way
// another tool would); returns the first column of the first row as text.
struct SqlOut {
  int rc = 0;
  char value[64] = "";
};

SqlOut Sql(const std::string& path, const char* sql) {
  SqlOut out;
  sqlite3* db = nullptr;
  out.rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr);
  if (out.rc == SQLITE_OK) {
    sqlite3_stmt* s = nullptr;
    out.rc = sqlite3_prepare_v2(db, sql, -1, &s, nullptr);
    if (out.rc == SQLITE_OK) {
      out.rc = sqlite3_step(s);
      if (out.rc == SQLITE_ROW) {
        const unsigned char* v = sqlite3_column_text(s, 0);
        std::snprintf(out.value, sizeof out.value, "%s", v ? reinterpret_cast<const char*>(v) : "");
        out.rc = SQLITE_OK;
      } else if (out.rc == SQLITE_DONE) {
        out.rc = SQLITE_OK;
      }
    }
    sqlite3_finalize(s);
  }
  sqlite3_close_v2(db);
  return out;
}

// --- tests ----------------------------------------------------------------

void TestTrustNames(void**) {
  assert_string_equal(CertTrustName(CertTrust::kHarvested), "harvested");
  assert_string_equal(CertTrustName(CertTrust::kDirectory), "directory");
  assert_string_equal(CertTrustName(CertTrust::kAdmin), "admin");
  CertTrust t = CertTrust::kHarvested;
  assert_true(ParseCertTrust("admin", &t));
  assert_int_equal(static_cast<int>(t), static_cast<int>(CertTrust::kAdmin));
  assert_true(ParseCertTrust("directory", &t));
  assert_int_equal(static_cast<int>(t), static_cast<int>(CertTrust::kDirectory));
  assert_true(ParseCertTrust("harvested", &t));
  assert_int_equal(static_cast<int>(t), static_cast<int>(CertTrust::kHarvested));
  assert_false(ParseCertTrust("Admin", &t));
  assert_false(ParseCertTrust("", &t));
}

void TestFingerprints(void**) {
  char fp[80];
  std::snprintf(fp, sizeof fp, "%s", CertFingerprint(g->alice.cert.get()).c_str());
  assert_int_equal(strlen(fp), 64);
  // openssl x509 -fingerprint -sha256 style
  std::string colons;
  for (int i = 0; i < 64; i += 2) {
    if (i) colons += ':';
    colons += static_cast<char>(toupper(fp[i]));
    colons += static_cast<char>(toupper(fp[i + 1]));
  }
  char norm[80];
  std::snprintf(norm, sizeof norm, "%s", NormalizeFingerprint(colons).c_str());
  colons.clear();
  assert_string_equal(norm, fp);
  assert_string_equal(NormalizeFingerprint("abc").c_str(), "");
  assert_string_equal(NormalizeFingerprint(std::string(64, 'g')).c_str(), "");
}

void TestAddFindRemoveList(void**) {
  Res r = OpenStore("add.db");
  assert_int_equal(r.code, kOk);
  r = Add("Alice@A.example", g->alice.cert.get(), "/etc/smime/alice.pem", kNow);
  assert_int_equal(r.code, kOk);
  r = Add("alice@a.example", g->alice2.cert.get(), "/etc/smime/alice2.pem", kNow + 10);
  assert_int_equal(r.code, kOk);
  r = Add("bob@b.example", g->bob.cert.get(), "/etc/smime/bob.pem", kNow);  // subject DN only
  assert_int_equal(r.code, kOk);

  Rows rows = Facts(nullptr);
  assert_int_equal(rows.res.code, kOk);
  assert_int_equal(rows.n, 3);
  assert_string_equal(rows.row[0].address, "alice@a.example");
  assert_true(rows.row[0].der_matches_alice);  // first_seen order
  assert_string_equal(rows.row[0].fingerprint, CertFingerprint(g->alice.cert.get()).c_str());
  assert_int_equal(rows.row[0].trust, static_cast<int>(CertTrust::kAdmin));
  assert_string_equal(rows.row[0].source, "local");
  assert_int_equal(rows.row[0].first_seen, kNow);
  assert_int_equal(rows.row[0].last_seen, kNow);
  assert_string_equal(rows.row[0].seen_in, "/etc/smime/alice.pem");
  assert_string_equal(rows.row[0].caps, "");
  assert_int_equal(rows.row[0].signing_time, 0);
  assert_false(rows.row[1].der_matches_alice);
  assert_string_equal(rows.row[2].address, "bob@b.example");

  Cands c = Find(true, "ALICE@a.EXAMPLE");
  assert_int_equal(c.res.code, kOk);
  assert_int_equal(c.n, 2);
  assert_true(c.is_alice[0]);
  assert_int_equal(c.trust[0], static_cast<int>(CertTrust::kAdmin));
  assert_string_equal(c.source[0], "local");
  assert_string_equal(c.origin[0], "added from /etc/smime/alice.pem");
  assert_int_equal(c.seen[0], kNow);
  c = Find(false, "alice@a.example");
  assert_int_equal(c.res.code, kOk);
  assert_int_equal(c.n, 0);
  c = Find(true, "carol@a.example");
  assert_int_equal(c.res.code, kOk);
  assert_int_equal(c.n, 0);

  // Remove one by fingerprint in openssl's notation, then the rest.
  int removed = -1;
  char fp2[80];
  std::snprintf(fp2, sizeof fp2, "%s", CertFingerprint(g->alice2.cert.get()).c_str());
  for (char* p = fp2; *p; ++p) *p = static_cast<char>(toupper(*p));
  r = Remove("alice@A.example", fp2, &removed);
  assert_int_equal(r.code, kOk);
  assert_int_equal(removed, 1);
  r = Remove("alice@a.example", fp2, &removed);
  assert_int_equal(r.code, kOk);
  assert_int_equal(removed, 0);
  r = Remove("alice@a.example", "not-a-fingerprint", &removed);
  assert_int_equal(r.code, kInvalid);
  assert_int_equal(removed, 0);
  c = Find(true, "alice@a.example");
  assert_int_equal(c.n, 1);
  assert_true(c.is_alice[0]);
  r = Remove("alice@a.example", "", &removed);
  assert_int_equal(r.code, kOk);
  assert_int_equal(removed, 1);
  rows = Facts(nullptr);
  assert_int_equal(rows.n, 1);
  assert_string_equal(rows.row[0].address, "bob@b.example");
  r = Remove("bob@b.example", "", nullptr);
  assert_int_equal(r.code, kOk);
}

// `cert list` shows kFingerprintShown digits; remove takes them (and any
// longer prefix), refuses shorter ones and prefixes that match two rows.
void TestRemoveByListedPrefix(void**) {
  Res r = OpenStore("prefix.db");
  assert_int_equal(r.code, kOk);
  assert_int_equal(Add("alice@a.example", g->alice.cert.get(), "a.pem", kNow).code, kOk);
  assert_int_equal(Add("alice@a.example", g->alice2.cert.get(), "a2.pem", kNow).code, kOk);
  const std::string fp1 = CertFingerprint(g->alice.cert.get());
  const std::string fp2 = CertFingerprint(g->alice2.cert.get());
  int removed = -1;
  // Too short: refused even though it matches one row.
  r = Remove("alice@a.example", fp1.substr(0, kFingerprintShown - 1).c_str(), &removed);
  assert_int_equal(r.code, kInvalid);
  assert_int_equal(removed, 0);
  r = Remove("alice@a.example", (fp1.substr(0, kFingerprintShown - 1) + "x").c_str(), &removed);
  assert_int_equal(r.code, kInvalid);
  // The listed form removes exactly that certificate.
  r = Remove("alice@a.example", fp1.substr(0, kFingerprintShown).c_str(), &removed);
  assert_int_equal(r.code, kOk);
  assert_int_equal(removed, 1);
  Cands c = Find(true, "alice@a.example");
  assert_int_equal(c.n, 1);
  assert_false(c.is_alice[0]);
  // A prefix of no row removes nothing.
  r = Remove("alice@a.example", fp1.substr(0, 20).c_str(), &removed);
  assert_int_equal(r.code, kOk);
  assert_int_equal(removed, 0);
  // Two rows sharing the listed digits (a stored fingerprint rewritten by
  // another tool, as a real collision cannot be made): ambiguous, nothing removed.
  assert_int_equal(Add("alice@a.example", g->alice.cert.get(), "a.pem", kNow).code, kOk);
  const std::string fake =
      fp2.substr(0, kFingerprintShown) + std::string(64 - kFingerprintShown, '0');
  const std::string sql =
      "UPDATE certificates SET fingerprint = '" + fake + "' WHERE fingerprint = '" + fp1 + "'";
  assert_int_equal(Sql(g->dir + "/prefix.db", sql.c_str()).rc, SQLITE_OK);
  r = Remove("alice@a.example", fp2.substr(0, kFingerprintShown).c_str(), &removed);
  assert_int_equal(r.code, kInvalid);
  assert_int_equal(removed, 0);
  assert_int_equal(Find(true, "alice@a.example").n, 2);
  // More digits settle it.
  r = Remove("alice@a.example", fp2.substr(0, 20).c_str(), &removed);
  assert_int_equal(r.code, kOk);
  assert_int_equal(removed, 1);
}

// alice's test certificate ends 2027-01-01 (kNotAfter), 214 days after kNow;
// only the added row warns, the harvested one renews itself.
void TestAdminCertExpiryWarnings(void**) {
  Res r = OpenStore("expiry.db");
  assert_int_equal(r.code, kOk);
  assert_int_equal(Add("alice@a.example", g->alice.cert.get(), "/etc/alice.pem", kNow).code, kOk);
  assert_int_equal(Harvest("bob@b.example", g->bob.cert.get(), {}, kNow, "Q1", kNow).code, kOk);
  std::vector<CertStore::Row> rows;
  assert_true(g->store->List(&rows).ok());
  assert_int_equal(rows.size(), 2);
  int64_t admin = -1, harvested = -1;
  assert_true(g->store->Count(&admin, &harvested).ok());
  assert_int_equal(admin, 1);
  assert_int_equal(harvested, 1);
  assert_int_equal(AdminCertExpiryWarnings(rows, kNow, 213).size(), 0);
  std::vector<std::string> w = AdminCertExpiryWarnings(rows, kNow, 214);
  assert_int_equal(w.size(), 1);
  assert_non_null(strstr(w[0].c_str(), "recipient certificate alice@a.example (serial "));
  assert_non_null(strstr(w[0].c_str(),
                         ", added from /etc/alice.pem) expires at 2027-01-01T00:00:00Z, in 214 "
                         "days: add its successor"));
  w = AdminCertExpiryWarnings(rows, kNotAfter + 1, 30);
  assert_int_equal(w.size(), 1);
  assert_non_null(strstr(w[0].c_str(), ") expired at 2027-01-01T00:00:00Z"));
}

void TestHarvestSigningTime(void**) {
  // Harvests further apart than the memo keeps them: every one is written.
  const std::time_t kH = CertStore::kHarvestMemoSeconds;
  Res r = OpenStore("harvest.db");
  assert_int_equal(r.code, kOk);
  const std::vector<int> strong = {NID_aes_256_gcm, NID_aes_256_cbc};
  r = Harvest("alice@a.example", g->alice.cert.get(), strong, kNow - 100, "<m1@a.example>", kNow);
  assert_int_equal(r.code, kOk);
  Rows rows = Facts("alice@a.example");
  assert_int_equal(rows.n, 1);
  assert_int_equal(rows.row[0].trust, static_cast<int>(CertTrust::kHarvested));
  assert_string_equal(rows.row[0].source, "harvest");
  assert_string_equal(rows.row[0].caps, "901,427");
  assert_int_equal(rows.row[0].signing_time, kNow - 100);
  assert_string_equal(rows.row[0].seen_in, "<m1@a.example>");

  // An older signature (delayed mail) seen later: last_seen moves, the
  // capabilities do not.
  r = Harvest("alice@a.example", g->alice.cert.get(), {NID_aes_128_cbc}, kNow - 5000,
              "<m0@a.example>", kNow + kH + 60);
  assert_int_equal(r.code, kOk);
  rows = Facts("alice@a.example");
  assert_int_equal(rows.n, 1);
  assert_string_equal(rows.row[0].caps, "901,427");
  assert_int_equal(rows.row[0].signing_time, kNow - 100);
  assert_int_equal(rows.row[0].first_seen, kNow);
  assert_int_equal(rows.row[0].last_seen, kNow + kH + 60);
  assert_string_equal(rows.row[0].seen_in, "<m0@a.example>");

  // Same signingTime: not newer, nothing replaced.
  r = Harvest("alice@a.example", g->alice.cert.get(), {NID_aes_128_cbc}, kNow - 100,
              "<m1b@a.example>", kNow + 2 * kH + 70);
  assert_int_equal(r.code, kOk);
  rows = Facts("alice@a.example");
  assert_string_equal(rows.row[0].caps, "901,427");

  // A newer signature replaces them.
  r = Harvest("alice@a.example", g->alice.cert.get(), {NID_aes_128_cbc}, kNow + 100,
              "<m2@a.example>", kNow + 3 * kH + 120);
  assert_int_equal(r.code, kOk);
  rows = Facts("alice@a.example");
  assert_string_equal(rows.row[0].caps, "419");
  assert_int_equal(rows.row[0].signing_time, kNow + 100);
  assert_int_equal(rows.row[0].last_seen, kNow + 3 * kH + 120);
  assert_int_equal(rows.row[0].first_seen, kNow);

  // last_seen never goes back.
  r = Harvest("alice@a.example", g->alice.cert.get(), {}, 0, "<old@a.example>", kNow - 1000);
  assert_int_equal(r.code, kOk);
  rows = Facts("alice@a.example");
  assert_int_equal(rows.row[0].last_seen, kNow + 3 * kH + 120);
  assert_string_equal(rows.row[0].caps, "419");

  Cands c = Find(false, "Alice@A.Example");
  assert_int_equal(c.res.code, kOk);
  assert_int_equal(c.n, 1);
  assert_true(c.is_alice[0]);
  assert_int_equal(c.trust[0], static_cast<int>(CertTrust::kHarvested));
  assert_string_equal(c.source[0], "harvest");
  assert_string_equal(c.origin[0], "harvested 2026-06-01 from <old@a.example>");
  assert_string_equal(c.caps[0], "419");
  assert_int_equal(c.seen[0], kNow);
  c = Find(true, "alice@a.example");
  assert_int_equal(c.n, 0);
}

void TestAdminNotDowngraded(void**) {
  Res r = OpenStore("admin.db");
  assert_int_equal(r.code, kOk);
  r = Add("alice@a.example", g->alice.cert.get(), "/etc/smime/alice.pem", kNow);
  assert_int_equal(r.code, kOk);
  r = Harvest("alice@a.example", g->alice.cert.get(), {NID_aes_256_gcm}, kNow, "<m@a.example>",
              kNow + 5);
  assert_int_equal(r.code, kOk);
  Rows rows = Facts("alice@a.example");
  assert_int_equal(rows.n, 1);
  assert_int_equal(rows.row[0].trust, static_cast<int>(CertTrust::kAdmin));
  assert_string_equal(rows.row[0].source, "local");
  assert_string_equal(rows.row[0].seen_in, "/etc/smime/alice.pem");
  assert_string_equal(rows.row[0].caps, "901");  // learned from the signature
  assert_int_equal(rows.row[0].last_seen, kNow + 5);
  Cands c = Find(true, "alice@a.example");
  assert_int_equal(c.n, 1);
  assert_string_equal(c.caps[0], "901");
  c = Find(false, "alice@a.example");
  assert_int_equal(c.n, 0);

  // The other way round: a harvested certificate the admin adds is upgraded
  // and keeps what harvesting learned.
  r = Harvest("alice@a.example", g->alice2.cert.get(), {NID_aes_128_gcm}, kNow, "<n@a.example>",
              kNow);
  assert_int_equal(r.code, kOk);
  c = Find(false, "alice@a.example");
  assert_int_equal(c.n, 1);
  r = Add("alice@a.example", g->alice2.cert.get(), "/etc/smime/alice2.pem", kNow + 30);
  assert_int_equal(r.code, kOk);
  c = Find(false, "alice@a.example");
  assert_int_equal(c.n, 0);
  c = Find(true, "alice@a.example");
  assert_int_equal(c.n, 2);
  rows = Facts("alice@a.example");
  assert_int_equal(rows.n, 2);
  // Rows come in fingerprint order, which differs from run to run.
  const int i2 = std::strcmp(rows.row[0].seen_in, "/etc/smime/alice2.pem") == 0 ? 0 : 1;
  assert_string_equal(rows.row[1 - i2].seen_in, "/etc/smime/alice.pem");
  assert_int_equal(rows.row[i2].trust, static_cast<int>(CertTrust::kAdmin));
  assert_string_equal(rows.row[i2].seen_in, "/etc/smime/alice2.pem");
  assert_string_equal(rows.row[i2].caps, "895");
  assert_int_equal(rows.row[i2].first_seen, kNow);
  assert_int_equal(rows.row[i2].last_seen, kNow + 30);
}

void TestAddressNotInCert(void**) {
  Res r = OpenStore("refuse.db");
  assert_int_equal(r.code, kOk);
  r = Add("bob@b.example", g->alice.cert.get(), "/etc/smime/alice.pem", kNow);
  assert_int_equal(r.code, kInvalid);
  assert_non_null(strstr(r.msg, "does not name bob@b.example"));
  r = Harvest("mallory@a.example", g->alice.cert.get(), {}, kNow, "<m@a.example>", kNow);
  assert_int_equal(r.code, kInvalid);
  r = Add("alice", g->alice.cert.get(), "x", kNow);
  assert_int_equal(r.code, kInvalid);
  r = Add("alice@a.example", nullptr, "x", kNow);
  assert_int_equal(r.code, kInvalid);
  Rows rows = Facts(nullptr);
  assert_int_equal(rows.res.code, kOk);
  assert_int_equal(rows.n, 0);
}

// Two threads harvest at once, each through its own connection (as the
// daemon and smimectl would) and one of them sharing its store with a
// reader thread.
struct ThreadResult {
  std::atomic<int> failures{0};
  char first_error[300] = "";
  std::atomic<bool> error_taken{false};
  void Record(const Status& st) {
    if (st.ok()) return;
    failures++;
    if (!error_taken.exchange(true))
      std::snprintf(first_error, sizeof first_error, "%s", st.message().c_str());
  }
};

void HarvestLoop(CertStore* store, int parity, ThreadResult* res) {
  for (int round = 0; round < 5; ++round) {
    for (int i = parity; i < kMany; i += 2) {
      const std::string seen = "<" + std::to_string(round) + "." + std::to_string(i) + "@t>";
      res->Record(store->Harvest(ManyAddress(i), g->many.cert.get(), {NID_aes_256_cbc},
                                 kNow + round, seen,
                                 kNow + round * (CertStore::kHarvestMemoSeconds + 1)));
      // Both threads also update one shared row.
      res->Record(store->Harvest(ManyAddress(0), g->many.cert.get(), {NID_aes_256_gcm},
                                 kNow + 10 * round + parity, seen,
                                 kNow + round * (CertStore::kHarvestMemoSeconds + 1)));
    }
  }
}

void ReadLoop(const CertStore* store, std::atomic<bool>* stop, ThreadResult* res) {
  HarvestedCerts src(std::shared_ptr<const CertStore>(store, [](const CertStore*) {}));
  while (!stop->load()) {
    std::vector<CertCandidate> out;
    res->Record(src.Find(ManyAddress(0), Deadline(), &out));
  }
}

struct ThreadFacts {
  Res open2;
  int failures = 0;
  char first_error[300] = "";
  Rows rows;
  int total = 0;
};

ThreadFacts RunThreads() {
  ThreadFacts f;
  std::shared_ptr<CertStore> second;
  f.open2 = R(CertStore::Open(g->dir + "/threads.db", &second));
  if (f.open2.code != kOk) return f;
  ThreadResult res;
  std::atomic<bool> stop{false};
  std::thread reader(ReadLoop, g->store.get(), &stop, &res);
  std::thread t0(HarvestLoop, g->store.get(), 0, &res);
  std::thread t1(HarvestLoop, second.get(), 1, &res);
  t0.join();
  t1.join();
  stop = true;
  reader.join();
  f.failures = res.failures.load();
  std::snprintf(f.first_error, sizeof f.first_error, "%s", res.first_error);
  f.rows = Facts(ManyAddress(0).c_str());
  std::vector<CertStore::Row> all;
  if (g->store->List(&all).ok()) f.total = static_cast<int>(all.size());
  return f;
}

void TestTwoThreadsHarvest(void**) {
  Res r = OpenStore("threads.db");
  assert_int_equal(r.code, kOk);
  ThreadFacts f = RunThreads();
  assert_int_equal(f.open2.code, kOk);
  if (f.failures != 0) fail_msg("%d failures, first: %s", f.failures, f.first_error);
  assert_int_equal(f.total, kMany);
  assert_int_equal(f.rows.n, 1);
  assert_int_equal(f.rows.row[0].signing_time, kNow + 41);  // round 4, parity 1
  assert_string_equal(f.rows.row[0].caps, "901");
}

void TestReopenKeepsData(void**) {
  Res r = OpenStore("reopen.db");
  assert_int_equal(r.code, kOk);
  r = Add("alice@a.example", g->alice.cert.get(), "/etc/smime/alice.pem", kNow);
  assert_int_equal(r.code, kOk);
  r = Harvest("bob@b.example", g->bob.cert.get(), {NID_aes_256_gcm, NID_aes_128_cbc}, kNow,
              "<b@b.example>", kNow);
  assert_int_equal(r.code, kOk);
  r = OpenStore("reopen.db");  // closes the first connection
  assert_int_equal(r.code, kOk);
  Rows rows = Facts(nullptr);
  assert_int_equal(rows.n, 2);
  assert_true(rows.row[0].der_matches_alice);
  assert_string_equal(rows.row[1].caps, "901,419");
  Cands c = Find(false, "bob@b.example");
  assert_int_equal(c.n, 1);
  g->store.reset();
  SqlOut v = Sql(g->dir + "/reopen.db", "PRAGMA user_version");
  assert_int_equal(v.rc, SQLITE_OK);
  assert_int_equal(atoi(v.value), CertStore::kSchemaVersion);
  v = Sql(g->dir + "/reopen.db", "PRAGMA journal_mode");
  assert_string_equal(v.value, "wal");
}

void TestBadFiles(void**) {
  // Missing folder.
  Res r = OpenStore("no/such/folder/certificates.db");
  assert_int_equal(r.code, kIo);
  assert_non_null(strstr(r.msg, "no/such/folder/certificates.db"));
  assert_non_null(strstr(r.msg, "cannot open"));
  assert_null(g->store.get());
  // A folder where the file should be.
  std::filesystem::create_directory(g->dir + "/adir");
  r = OpenStore("adir");
  assert_int_not_equal(r.code, kOk);
  assert_null(g->store.get());
  // A file that is not a database.
  {
    std::ofstream junk(g->dir + "/junk.db", std::ios::binary);
    for (int i = 0; i < 1024; ++i) junk << "this is not SQLite ";
  }
  r = OpenStore("junk.db");
  assert_int_equal(r.code, kIo);
  assert_non_null(strstr(r.msg, "junk.db"));
  assert_non_null(strstr(r.msg, "not a database"));
  assert_null(g->store.get());
  // A path whose parent is a regular file (not writable, even for root).
  r = OpenStore("junk.db/certificates.db");
  assert_int_equal(r.code, kIo);
  assert_null(g->store.get());
  // A schema from a newer build.
  r = OpenStore("newer.db");
  assert_int_equal(r.code, kOk);
  g->store.reset();
  SqlOut v = Sql(g->dir + "/newer.db", "PRAGMA user_version=99");
  assert_int_equal(v.rc, SQLITE_OK);
  r = OpenStore("newer.db");
  assert_int_equal(r.code, kConfigCode);
  assert_non_null(strstr(r.msg, "schema version 99"));
  // A damaged certificate row: listed, skipped by Find.
  r = OpenStore("damaged.db");
  assert_int_equal(r.code, kOk);
  r = Harvest("alice@a.example", g->alice.cert.get(), {}, kNow, "<a@a.example>", kNow);
  assert_int_equal(r.code, kOk);
  v = Sql(g->dir + "/damaged.db", "UPDATE certificates SET der = x'3003020101'");
  assert_int_equal(v.rc, SQLITE_OK);
  Rows rows = Facts(nullptr);
  assert_int_equal(rows.n, 1);
  Cands c = Find(false, "alice@a.example");
  assert_int_equal(c.res.code, kOk);
  assert_int_equal(c.n, 0);
}

// Root opens the store in a folder the service user owns: links and
// someone else's files are refused before SQLite sees the path, new files
// are 0600 whatever the umask (base/safe_file.h, docs/SECURITY.md).
struct FileFacts {
  int open_code = -1;
  char msg[400] = "";
  unsigned mode = 0;
  char victim[64] = "";
};

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

FileFacts OpenFacts(const std::string& name) {
  FileFacts f;
  Res r = OpenStore(name.c_str());
  f.open_code = r.code;
  std::snprintf(f.msg, sizeof f.msg, "%s", r.msg);
  struct stat st;
  if (lstat((g->dir + "/" + name).c_str(), &st) == 0) f.mode = st.st_mode & 07777;
  std::snprintf(f.victim, sizeof f.victim, "%s", Slurp(g->dir + "/victim").c_str());
  return f;
}

void TestLinksAndModes(void**) {
  const std::string d = g->dir;
  {
    std::ofstream v(d + "/victim", std::ios::binary);
    v << "root:secret:1:2:3\n";
  }
  chmod((d + "/victim").c_str(), 0600);
  // certificates.db pointing at another file: refused, the file untouched.
  assert_int_equal(symlink((d + "/victim").c_str(), (d + "/link.db").c_str()), 0);
  FileFacts f = OpenFacts("link.db");
  assert_int_equal(f.open_code, kConfigCode);
  assert_non_null(strstr(f.msg, "link.db"));
  assert_non_null(strstr(f.msg, "symbolic link"));
  assert_null(g->store.get());
  assert_string_equal(f.victim, "root:secret:1:2:3\n");
  // A dangling link would have made SQLite create the target.
  assert_int_equal(symlink((d + "/created-by-root").c_str(), (d + "/dangling.db").c_str()), 0);
  f = OpenFacts("dangling.db");
  assert_int_equal(f.open_code, kConfigCode);
  assert_int_equal(access((d + "/created-by-root").c_str(), F_OK), -1);
  // A -wal (or -shm, -journal) link next to a good database.
  f = OpenFacts("wal.db");
  assert_int_equal(f.open_code, kOk);
  g->store.reset();
  for (const char* suffix : {"-wal", "-shm", "-journal"}) {
    const std::string side = d + "/wal.db" + suffix;
    unlink(side.c_str());
    assert_int_equal(symlink((d + "/victim").c_str(), side.c_str()), 0);
    f = OpenFacts("wal.db");
    assert_int_equal(f.open_code, kConfigCode);
    assert_non_null(strstr(f.msg, (std::string("wal.db") + suffix).c_str()));
    assert_string_equal(f.victim, "root:secret:1:2:3\n");
    unlink(side.c_str());
  }
  // A hard link to another file.
  assert_int_equal(link((d + "/victim").c_str(), (d + "/hard.db").c_str()), 0);
  f = OpenFacts("hard.db");
  assert_int_equal(f.open_code, kConfigCode);
  assert_non_null(strstr(f.msg, "hard links"));
  assert_string_equal(f.victim, "root:secret:1:2:3\n");
  // A FIFO does not hang the check.
  assert_int_equal(mkfifo((d + "/fifo.db").c_str(), 0600), 0);
  f = OpenFacts("fifo.db");
  assert_int_equal(f.open_code, kConfigCode);
  assert_non_null(strstr(f.msg, "not a regular file"));

  // New files are 0600 under umask 022; so are SQLite's -wal and -shm.
  const mode_t old_umask = umask(022);
  f = OpenFacts("fresh.db");
  assert_int_equal(f.open_code, kOk);
  assert_int_equal(f.mode, 0600);
  Res r = Add("alice@a.example", g->alice.cert.get(), "/etc/a.pem", kNow);
  assert_int_equal(r.code, kOk);
  struct stat st;
  assert_int_equal(lstat((d + "/fresh.db-wal").c_str(), &st), 0);
  assert_int_equal(st.st_mode & 07777, 0600);
  assert_int_equal(lstat((d + "/fresh.db-shm").c_str(), &st), 0);
  assert_int_equal(st.st_mode & 07777, 0600);
  g->store.reset();
  // A database left world-readable by an older version is tightened.
  assert_int_equal(chmod((d + "/fresh.db").c_str(), 0644), 0);
  f = OpenFacts("fresh.db");
  assert_int_equal(f.open_code, kOk);
  assert_int_equal(f.mode, 0600);
  g->store.reset();
  umask(old_umask);

  // A world-writable folder without the sticky bit: anyone could plant names.
  const std::string open_dir = d + "/open";
  assert_int_equal(mkdir(open_dir.c_str(), 0700), 0);
  assert_int_equal(chmod(open_dir.c_str(), 0777), 0);
  f = OpenFacts("open/certificates.db");
  assert_int_equal(f.open_code, kConfigCode);
  assert_non_null(strstr(f.msg, "world-writable"));
  assert_int_equal(access((open_dir + "/certificates.db").c_str(), F_OK), -1);
  assert_int_equal(chmod(open_dir.c_str(), 01777), 0);
  f = OpenFacts("open/certificates.db");
  assert_int_equal(f.open_code, kOk);
  g->store.reset();

  // Root (smimectl cert add) creating the store in the service user's
  // state_dir gives it to the service user; SQLite's -wal follows.
  if (geteuid() != 0) return;
  const uid_t service = 12345;
  SetServiceAccount(service);
  const std::string svc = d + "/svc";
  assert_int_equal(mkdir(svc.c_str(), 0700), 0);
  assert_int_equal(chown(svc.c_str(), service, service), 0);
  f = OpenFacts("svc/certificates.db");
  assert_int_equal(f.open_code, kOk);
  r = Add("alice@a.example", g->alice.cert.get(), "/etc/a.pem", kNow);
  assert_int_equal(r.code, kOk);
  assert_int_equal(lstat((svc + "/certificates.db").c_str(), &st), 0);
  assert_int_equal(st.st_uid, service);
  assert_int_equal(lstat((svc + "/certificates.db-wal").c_str(), &st), 0);
  assert_int_equal(st.st_uid, service);
  g->store.reset();
  // Another account's database is refused once it is not the service user.
  ClearServiceAccount();
  f = OpenFacts("svc/certificates.db");
  assert_int_equal(f.open_code, kConfigCode);
  assert_non_null(strstr(f.msg, "owner 12345"));
}

void TestIdnAddressesInOneForm(void**) {
  Res r = OpenStore("idn.db");
  assert_int_equal(r.code, kOk);
  // Added under the U-label spelling, stored under the A-label one.
  r = Add("Hans@Bücher.Example.", g->hans.cert.get(), "/etc/smime/hans.pem", kNow);
  assert_int_equal(r.code, kOk);
  Rows rows = Facts(nullptr);
  assert_int_equal(rows.n, 1);
  assert_string_equal(rows.row[0].address, "hans@xn--bcher-kva.example");
  // Found by either spelling, through Lookup and the CertSources.
  assert_int_equal(Facts("hans@BÜCHER.example").n, 1);
  assert_int_equal(Facts("hans@xn--bcher-kva.example").n, 1);
  assert_int_equal(Find(true, "hans@bücher.example").n, 1);
  assert_int_equal(Find(true, "hans@XN--BCHER-KVA.example").n, 1);
  assert_int_equal(Find(true, "hans@bucher.example").n, 0);
  // Harvest with the address as the certificate spells it meets the same row.
  r = Harvest("hans@xn--bcher-kva.example", g->hans.cert.get(), {NID_aes_256_cbc}, kNow,
              "<h@bücher.example>", kNow + 5);
  assert_int_equal(r.code, kOk);
  rows = Facts(nullptr);
  assert_int_equal(rows.n, 1);
  assert_int_equal(rows.row[0].last_seen, kNow + 5);
  // A certificate for another domain is still refused.
  r = Add("hans@bücher.example", g->alice.cert.get(), "x", kNow);
  assert_int_equal(r.code, kInvalid);
  int removed = 0;
  r = Remove("HANS@bücher.example.", "", &removed);
  assert_int_equal(r.code, kOk);
  assert_int_equal(removed, 1);
  assert_int_equal(Facts(nullptr).n, 0);
}

// A schema-1 file written before addresses had one form: its U-label and
// trailing-dot rows move to the A-label form at Open, duplicates merge.
void TestSchemaOneAddressesMigrate(void**) {
  const std::string path = g->dir + "/v1.db";
  {
    sqlite3* db = nullptr;
    assert_int_equal(
        sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr),
        SQLITE_OK);
    sqlite3_close_v2(db);
  }
  const std::string der = ToDer(g->hans.cert.get());
  std::string hex;
  for (unsigned char c : der) {
    char b[3];
    std::snprintf(b, sizeof b, "%02x", c);
    hex += b;
  }
  const std::string fp = CertFingerprint(g->hans.cert.get());
  const std::string alice_fp = CertFingerprint(g->alice.cert.get());
  const std::string alice_hex = [] {
    std::string h, d = ToDer(g->alice.cert.get());
    for (unsigned char c : d) {
      char b[3];
      std::snprintf(b, sizeof b, "%02x", c);
      h += b;
    }
    return h;
  }();
  const std::string sql =
      "CREATE TABLE certificates (address TEXT NOT NULL, fingerprint TEXT NOT NULL,"
      " der BLOB NOT NULL, trust INTEGER NOT NULL, source TEXT NOT NULL,"
      " first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, seen_in TEXT NOT NULL DEFAULT '',"
      " signing_time INTEGER NOT NULL DEFAULT 0, capabilities TEXT NOT NULL DEFAULT '',"
      " PRIMARY KEY (address, fingerprint));"
      "CREATE TABLE intermediates (fingerprint TEXT PRIMARY KEY, subject TEXT NOT NULL,"
      " der BLOB NOT NULL);"
      // The same certificate harvested under the A-label and added by an
      // administrator under the U-label spelling: one admin row remains.
      "INSERT INTO certificates VALUES ('hans@xn--bcher-kva.example', '" +
      fp + "', x'" + hex +
      "', 1, 'harvest', 200, 900, '<m@x>', 800, '427');"
      "INSERT INTO certificates VALUES ('hans@bücher.example', '" +
      fp + "', x'" + hex +
      "', 3, 'local', 100, 500, '/etc/hans.pem', 0, '');"
      // Only a trailing-dot spelling: moved.
      "INSERT INTO certificates VALUES ('alice@a.example.', '" +
      alice_fp + "', x'" + alice_hex +
      "', 3, 'local', 100, 100, '/etc/alice.pem', 0, '');"
      "PRAGMA user_version=1;";
  {
    sqlite3* db = nullptr;
    assert_int_equal(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
    char* err = nullptr;
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
    sqlite3_free(err);
    sqlite3_close_v2(db);
    assert_int_equal(rc, SQLITE_OK);
  }
  Res r = OpenStore("v1.db");
  assert_int_equal(r.code, kOk);
  Rows rows = Facts(nullptr);
  assert_int_equal(rows.n, 2);
  assert_string_equal(rows.row[0].address, "alice@a.example");
  assert_string_equal(rows.row[1].address, "hans@xn--bcher-kva.example");
  assert_int_equal(rows.row[1].trust, static_cast<int>(CertTrust::kAdmin));
  assert_string_equal(rows.row[1].source, "local");
  assert_string_equal(rows.row[1].seen_in, "/etc/hans.pem");
  assert_int_equal(rows.row[1].first_seen, 100);
  assert_int_equal(rows.row[1].last_seen, 900);
  assert_int_equal(rows.row[1].signing_time, 800);
  assert_string_equal(rows.row[1].caps, "427");
  assert_int_equal(Find(true, "hans@bücher.example").n, 1);
  assert_int_equal(Find(true, "alice@a.example").n, 1);
  g->store.reset();
  SqlOut v = Sql(path, "PRAGMA user_version");
  assert_int_equal(atoi(v.value), 2);
}

// --- cms/signer_attributes --------------------------------------------------

struct AttrFacts {
  int sign_ok = 0;
  char caps[128] = "";
  long signing_time = -1;
};

AttrFacts AttributesOf(const std::string& der) {
  AttrFacts f;
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  CmsPtr cms(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(der.size())));
  if (!cms) return f;
  CMS_SignerInfo* si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms.get()), 0);
  if (!si) return f;
  f.sign_ok = 1;
  std::snprintf(f.caps, sizeof f.caps, "%s", Caps(CapabilitiesOf(si)).c_str());
  f.signing_time = static_cast<long>(SigningTimeOf(si));
  return f;
}

AttrFacts SignedBySignContent(std::time_t t) {
  SignParams sp;
  sp.cert = g->alice.cert.get();
  sp.key = g->alice.key.get();
  sp.signing_time = t;
  std::string der;
  if (!SignContent("hello\r\n", sp, &der).ok()) return AttrFacts();
  return AttributesOf(der);
}

// A SignerInfo announcing what a client might: GCM, a key-wrap algorithm,
// a duplicate, RSA-OAEP (not a cipher), CBC.
AttrFacts SignedWithCustomCaps() {
  AttrFacts f;
  BioPtr in(BIO_new_mem_buf("hello\r\n", 7));
  CmsPtr cms(CMS_sign(nullptr, nullptr, nullptr, nullptr, CMS_PARTIAL | CMS_DETACHED));
  if (!cms) return f;
  CMS_SignerInfo* si = CMS_add1_signer(cms.get(), g->alice.cert.get(), g->alice.key.get(),
                                       EVP_sha256(), CMS_NOSMIMECAP);
  if (!si) return f;
  STACK_OF(X509_ALGOR)* raw = nullptr;
  for (int nid :
       {NID_aes_256_gcm, NID_id_aes256_wrap, NID_aes_256_gcm, NID_rsaesOaep, NID_aes_256_cbc})
    CMS_add_simple_smimecap(&raw, nid, -1);
  const int added = CMS_add_smimecap(si, raw);
  sk_X509_ALGOR_pop_free(raw, X509_ALGOR_free);
  if (added != 1 || CMS_final(cms.get(), in.get(), nullptr, CMS_DETACHED) != 1) return f;
  unsigned char* out = nullptr;
  const int len = i2d_CMS_ContentInfo(cms.get(), &out);
  if (len <= 0) return f;
  std::string der(reinterpret_cast<char*>(out), static_cast<size_t>(len));
  OPENSSL_free(out);
  return AttributesOf(der);
}

AttrFacts SignedWithoutAttributes() {
  SignOptions o;
  o.no_attributes = true;
  return AttributesOf(SignCms("hello\r\n", g->alice, o));
}

void TestSignerAttributes(void**) {
  AttrFacts f = SignedBySignContent(kNow);
  assert_int_equal(f.sign_ok, 1);
  // aes256-gcm, aes128-gcm, aes256-cbc, aes128-cbc
  assert_string_equal(f.caps, "901,895,427,419");
  assert_int_equal(f.signing_time, kNow);
  // 2052: GeneralizedTime (RFC 5652 11.3).
  f = SignedBySignContent(2600000000);
  assert_int_equal(f.sign_ok, 1);
  assert_int_equal(f.signing_time, 2600000000L);
  f = SignedWithCustomCaps();
  assert_int_equal(f.sign_ok, 1);
  assert_string_equal(f.caps, "901,427");
  assert_true(f.signing_time > kNow);  // OpenSSL's CMS_final adds the system time
  f = SignedWithoutAttributes();
  assert_int_equal(f.sign_ok, 1);
  assert_string_equal(f.caps, "");
  assert_int_equal(f.signing_time, 0);
  assert_string_equal(Caps(CapabilitiesOf(nullptr)).c_str(), "");
  assert_int_equal(SigningTimeOf(nullptr), 0);
}

// The issuers IssuersOf returns for cert, as "real"/"fake"/"?" in order.
std::string IssuerNames(X509* cert, X509* real, X509* fake) {
  std::vector<X509Ptr> found;
  Status st = g->store->IssuersOf(cert, Deadline(), &found);
  std::string out = st.ok() ? "" : "error";
  for (const X509Ptr& x : found)
    out += X509_cmp(x.get(), real) == 0 ? "real " : X509_cmp(x.get(), fake) == 0 ? "fake " : "? ";
  return out;
}

// Stored intermediates are returned only when they really signed the
// child, every time: a signature check remembered for one pair never
// vouches for a look-alike (same DN, other key) or a forged child.
void TestIssuersOfLookAlikes(void**) {
  Res r = OpenStore("issuers.db");
  assert_int_equal(r.code, kOk);
  Issued real = MakeSubCa("Issuing CA", g->ca);
  Issued fake = MakeSubCa("Issuing CA", g->ca);  // same DN, other key
  std::vector<X509*> both = {real.cert.get(), fake.cert.get()};
  r = R(g->store->AddIntermediates(both));
  assert_int_equal(r.code, kOk);
  Issued by_real = MakeLeaf(SmimeSpec("r@i.example"), real);
  Issued by_fake = MakeLeaf(SmimeSpec("f@i.example"), fake);
  // Names real as issuer (DN and authorityKeyIdentifier) but signed with
  // the look-alike's key.
  X509Ptr forged =
      MakeCert(SmimeSpec("x@i.example"), by_real.key.get(), real.cert.get(), fake.key.get());
  for (int round = 0; round < 3; ++round) {
    std::string a = IssuerNames(by_real.cert.get(), real.cert.get(), fake.cert.get());
    std::string b = IssuerNames(by_fake.cert.get(), real.cert.get(), fake.cert.get());
    std::string c = IssuerNames(forged.get(), real.cert.get(), fake.cert.get());
    assert_string_equal(a.c_str(), "real ");
    assert_string_equal(b.c_str(), "fake ");
    assert_string_equal(c.c_str(), "");  // real's AKID: only real is a candidate, and fails
  }
}

// AddIntermediates remembers what it stored, but an intermediate deleted
// by another connection is stored again at the next call, not skipped.
void TestIntermediatesMemo(void**) {
  Res r = OpenStore("intermediates.db");
  assert_int_equal(r.code, kOk);
  Issued ca = MakeSubCa("Memo CA", g->ca);
  std::vector<X509*> one = {ca.cert.get()};
  std::vector<std::string> der;
  for (int round = 0; round < 2; ++round) {
    assert_int_equal(R(g->store->AddIntermediates(one)).code, kOk);
    der.clear();
    assert_true(g->store->ListIntermediates(&der).ok());
    assert_int_equal(der.size(), 1);
  }
  sqlite3* raw = nullptr;
  assert_int_equal(sqlite3_open((g->dir + "/intermediates.db").c_str(), &raw), SQLITE_OK);
  assert_int_equal(sqlite3_exec(raw, "DELETE FROM intermediates", nullptr, nullptr, nullptr),
                   SQLITE_OK);
  sqlite3_close(raw);
  der.clear();
  assert_true(g->store->ListIntermediates(&der).ok());
  assert_int_equal(der.size(), 0);
  assert_int_equal(R(g->store->AddIntermediates(one)).code, kOk);
  der.clear();
  assert_true(g->store->ListIntermediates(&der).ok());
  assert_int_equal(der.size(), 1);
}

// How many certificates LocalCerts finds for address.
int LocalFound(const char* address) {
  std::vector<CertCandidate> out;
  LocalCerts local(g->store);
  if (!local.Find(address, Deadline(), &out).ok()) return -1;
  return static_cast<int>(out.size());
}

// With the parsed certificates and the statements warm, a removed
// certificate is gone at the very next lookup, and an added one is there.
void TestRemovedNeverFoundAgain(void**) {
  Res r = OpenStore("removed.db");
  assert_int_equal(r.code, kOk);
  r = Add("alice@a.example", g->alice.cert.get(), "alice.pem", kNow);
  assert_int_equal(r.code, kOk);
  for (int i = 0; i < 3; ++i) assert_int_equal(LocalFound("alice@a.example"), 1);
  int removed = 0;
  r = Remove("alice@a.example", "", &removed);
  assert_int_equal(r.code, kOk);
  assert_int_equal(removed, 1);
  assert_int_equal(LocalFound("alice@a.example"), 0);
  r = Add("alice@a.example", g->alice.cert.get(), "alice.pem", kNow);
  assert_int_equal(r.code, kOk);
  assert_int_equal(LocalFound("alice@a.example"), 1);
  // The same through a second handle on the file (another process: smimectl cert remove).
  std::shared_ptr<CertStore> other;
  r = R(CertStore::Open(g->dir + "/removed.db", &other));
  assert_int_equal(r.code, kOk);
  r = R(other->Remove("alice@a.example", "", &removed));
  other.reset();
  assert_int_equal(r.code, kOk);
  assert_int_equal(removed, 1);
  assert_int_equal(LocalFound("alice@a.example"), 0);
}

// The harvest memo: the same signer within the hour is not written again
// (last_seen and seen_in keep the first), other capabilities from a newer
// signature are, and a change by another connection (a removal) makes the
// next harvest write again.
void TestHarvestMemo(void**) {
  Res r = OpenStore("memo.db");
  assert_int_equal(r.code, kOk);
  const std::vector<int> caps = {NID_aes_256_cbc};
  r = Harvest("alice@a.example", g->alice.cert.get(), caps, kNow, "<m1@a.example>", kNow);
  assert_int_equal(r.code, kOk);
  assert_int_equal(g->store->harvest_writes_skipped(), 0);
  uint64_t before = 0, after = 0;
  assert_true(g->store->ChangeCount(&before).ok());
  r = Harvest("alice@a.example", g->alice.cert.get(), caps, kNow + 50, "<m2@a.example>", kNow + 60);
  assert_int_equal(r.code, kOk);
  assert_int_equal(g->store->harvest_writes_skipped(), 1);
  assert_true(g->store->ChangeCount(&after).ok());
  assert_true(before == after);  // nothing written
  Rows rows = Facts("alice@a.example");
  assert_int_equal(rows.row[0].last_seen, kNow);
  assert_string_equal(rows.row[0].seen_in, "<m1@a.example>");
  // An older signature announcing other capabilities: nothing to change.
  r = Harvest("alice@a.example", g->alice.cert.get(), {NID_aes_128_cbc}, kNow + 10,
              "<m0@a.example>", kNow + 70);
  assert_int_equal(g->store->harvest_writes_skipped(), 2);
  // A newer one announcing other capabilities is written.
  r = Harvest("alice@a.example", g->alice.cert.get(), {NID_aes_128_cbc}, kNow + 100,
              "<m3@a.example>", kNow + 120);
  assert_int_equal(r.code, kOk);
  assert_int_equal(g->store->harvest_writes_skipped(), 2);
  rows = Facts("alice@a.example");
  assert_string_equal(rows.row[0].caps, "419");
  assert_int_equal(rows.row[0].last_seen, kNow + 120);
  // After the memo's hour: written again.
  r = Harvest("alice@a.example", g->alice.cert.get(), {NID_aes_128_cbc}, kNow + 100,
              "<m4@a.example>", kNow + 120 + CertStore::kHarvestMemoSeconds);
  assert_int_equal(g->store->harvest_writes_skipped(), 2);
  rows = Facts("alice@a.example");
  assert_int_equal(rows.row[0].last_seen, kNow + 120 + CertStore::kHarvestMemoSeconds);
  // Removed by another process: the next harvest stores it again at once.
  std::shared_ptr<CertStore> other;
  r = R(CertStore::Open(g->dir + "/memo.db", &other));
  assert_int_equal(r.code, kOk);
  int removed = 0;
  r = R(other->Remove("alice@a.example", "", &removed));
  other.reset();
  assert_int_equal(removed, 1);
  assert_true(g->store->ChangeCount(&before).ok());
  assert_true(before != after);  // seen through data_version
  r = Harvest("alice@a.example", g->alice.cert.get(), {NID_aes_128_cbc}, kNow + 100,
              "<m5@a.example>", kNow + 130 + CertStore::kHarvestMemoSeconds);
  assert_int_equal(r.code, kOk);
  assert_int_equal(g->store->harvest_writes_skipped(), 2);
  rows = Facts("alice@a.example");
  assert_int_equal(rows.n, 1);
  // Removed through this store: the same.
  r = Remove("alice@a.example", "", &removed);
  assert_int_equal(removed, 1);
  r = Harvest("alice@a.example", g->alice.cert.get(), {NID_aes_128_cbc}, kNow + 100,
              "<m6@a.example>", kNow + 140 + CertStore::kHarvestMemoSeconds);
  assert_int_equal(g->store->harvest_writes_skipped(), 2);
  rows = Facts("alice@a.example");
  assert_int_equal(rows.n, 1);
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(TestTrustNames),
      cmocka_unit_test(TestFingerprints),
      cmocka_unit_test(TestAddFindRemoveList),
      cmocka_unit_test(TestRemoveByListedPrefix),
      cmocka_unit_test(TestAdminCertExpiryWarnings),
      cmocka_unit_test(TestHarvestSigningTime),
      cmocka_unit_test(TestAdminNotDowngraded),
      cmocka_unit_test(TestAddressNotInCert),
      cmocka_unit_test(TestTwoThreadsHarvest),
      cmocka_unit_test(TestIssuersOfLookAlikes),
      cmocka_unit_test(TestRemovedNeverFoundAgain),
      cmocka_unit_test(TestHarvestMemo),
      cmocka_unit_test(TestIntermediatesMemo),
      cmocka_unit_test(TestReopenKeepsData),
      cmocka_unit_test(TestBadFiles),
      cmocka_unit_test(TestLinksAndModes),
      cmocka_unit_test(TestSignerAttributes),
      cmocka_unit_test(TestIdnAddressesInOneForm),
      cmocka_unit_test(TestSchemaOneAddressesMigrate),
  };
  return cmocka_run_group_tests(tests, SetUp, TearDown);
}
