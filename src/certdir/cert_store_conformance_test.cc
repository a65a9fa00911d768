// Conformance tests of the certificate store: one test body, run against
// both backends (certdir/cert_store.h SQLite, certdir/pg_cert_store.h
// PostgreSQL). Rows written by Add and Harvest read back alike, a second
// handle on the same store (another host) sees additions and removals at
// once, concurrent harvests of one certificate leave one row, Import copies
// rows as they are; PostgreSQL only: a password in the connection string is
// refused, a database that is down or holds a lock fails within the
// deadline and recovers.
//
// The PostgreSQL group runs when SMIME_TEST_PG holds a connection string to
// an empty scratch database (tests/pg/run-pg-store.sh starts a private
// server and sets it); without it only the SQLite group runs.
#include <libpq-fe.h>

#include <atomic>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/testing.h"
#include "certdir/cert_store.h"
#include "certdir/cert_store_open.h"
#include "certdir/pg_cert_store.h"
#include "testing/status_view.h"
#include "testing/test_pki.h"

using namespace smime;
using namespace smime::testpki;

namespace {

struct Pki {
  Issued root, sub, alice, alice2, bob;
};
Pki* pki = nullptr;

// The backend under test: how to open a fresh, empty store and a second
// handle on the same one.
struct Backend {
  bool pg = false;
  std::string dir;       // SQLite: folder of the file
  std::string conninfo;  // PostgreSQL
  int serial = 0;
};
Backend* be = nullptr;

std::string Spec() {
  return be->pg ? "postgresql:" + be->conninfo
                : "sqlite:" + be->dir + "/store" + std::to_string(be->serial) + ".db";
}

// Runs sql on the scratch database (not through the store).
bool PgRun(const std::string& sql) {
  PGconn* c = PQconnectdb(be->conninfo.c_str());
  bool ok = PQstatus(c) == CONNECTION_OK;
  if (ok) {
    PQsetNoticeProcessor(
        c, [](void*, const char*) {}, nullptr);
    PGresult* r = PQexec(c, sql.c_str());
    ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok) std::fprintf(stderr, "%s: %s", sql.c_str(), PQerrorMessage(c));
    PQclear(r);
  }
  PQfinish(c);
  return ok;
}

// A fresh empty store (a new file; for PostgreSQL the tables dropped).
Res Fresh(std::shared_ptr<CertStore>* out) {
  ++be->serial;
  if (be->pg && !PgRun("DROP TABLE IF EXISTS certificates, intermediates, schema_version"))
    return R(Status::Io("cannot reset the scratch database"));
  PgStoreOptions o;
  o.timeout_ms = 5000;
  return R(OpenCertStore(Spec(), "", o, out));
}

// Another handle on the store Fresh made last: another host or process.
Res Second(std::shared_ptr<CertStore>* out) {
  PgStoreOptions o;
  return R(OpenCertStore(Spec(), "", o, out));
}

struct Facts {
  Res res;
  int n = 0;
  char address[8][64] = {};
  int trust[8] = {};
  char source[8][16] = {};
  char seen_in[8][64] = {};
  char caps[8][32] = {};
  long first_seen[8] = {}, last_seen[8] = {}, signing_time[8] = {};
  bool is_alice[8] = {};
};

Facts Rows(const CertStore& store, const char* address_or_null) {
  Facts f;
  std::vector<CertStoreRow> rows;
  f.res = R(address_or_null ? store.Lookup(address_or_null, &rows) : store.List(&rows));
  for (const CertStoreRow& r : rows) {
    if (f.n == 8) break;
    const int i = f.n++;
    std::snprintf(f.address[i], sizeof f.address[i], "%s", r.address.c_str());
    f.trust[i] = static_cast<int>(r.trust);
    std::snprintf(f.source[i], sizeof f.source[i], "%s", r.source.c_str());
    std::snprintf(f.seen_in[i], sizeof f.seen_in[i], "%s", r.seen_in.c_str());
    std::string caps;
    for (int nid : r.capabilities) caps += (caps.empty() ? "" : ",") + std::to_string(nid);
    std::snprintf(f.caps[i], sizeof f.caps[i], "%s", caps.c_str());
    f.first_seen[i] = static_cast<long>(r.first_seen);
    f.last_seen[i] = static_cast<long>(r.last_seen);
    f.signing_time[i] = static_cast<long>(r.signing_time);
    const unsigned char* p = reinterpret_cast<const unsigned char*>(r.der.data());
    X509Ptr c(d2i_X509(nullptr, &p, static_cast<long>(r.der.size())));
    f.is_alice[i] = c && X509_cmp(c.get(), pki->alice.cert.get()) == 0;
  }
  return f;
}

void TestAddHarvestList(void**) {
  std::shared_ptr<CertStore> s;
  Res r = Fresh(&s);
  assert_int_equal(r.code, kOk);
  int version = 0;
  assert_int_equal(R(s->SchemaVersion(&version)).code, kOk);
  assert_int_equal(version, CertStore::kSchemaVersion);
  X509* alice = pki->alice.cert.get();
  // Harvests more than kHarvestMemoSeconds apart: the SQLite memo skips
  // repeated writes within that time (docs/performance.md).
  const std::time_t t2 = 5000 + CertStore::kHarvestMemoSeconds + 1;
  assert_int_equal(R(s->Harvest("alice@a.example", alice, {427, 419}, 1000, "q1", 5000)).code, kOk);
  // An older signature does not replace the capabilities; a newer one does.
  assert_int_equal(R(s->Harvest("Alice@A.Example", alice, {419}, 900, "q2", t2)).code, kOk);
  Facts f = Rows(*s, "alice@a.example");
  assert_int_equal(f.res.code, kOk);
  assert_int_equal(f.n, 1);
  assert_string_equal(f.address[0], "alice@a.example");
  assert_int_equal(f.trust[0], static_cast<int>(CertTrust::kHarvested));
  assert_string_equal(f.source[0], "harvest");
  assert_string_equal(f.caps[0], "427,419");
  assert_int_equal(f.signing_time[0], 1000);
  assert_int_equal(f.first_seen[0], 5000);
  assert_int_equal(f.last_seen[0], t2);
  assert_string_equal(f.seen_in[0], "q2");
  assert_true(f.is_alice[0]);
  assert_int_equal(R(s->Harvest("alice@a.example", alice, {423}, 2000, "q3", t2 + 1000)).code, kOk);
  f = Rows(*s, "alice@a.example");
  assert_string_equal(f.caps[0], "423");
  // Add makes the row admin and keeps first_seen; a later harvest keeps it admin.
  assert_int_equal(R(s->Add("alice@a.example", alice, "alice.pem", t2 + 2000)).code, kOk);
  assert_int_equal(R(s->Harvest("alice@a.example", alice, {}, 0, "q4", t2 + 3000)).code, kOk);
  assert_int_equal(R(s->Add("bob@b.example", pki->bob.cert.get(), "bob.pem", t2 + 2000)).code, kOk);
  f = Rows(*s, nullptr);
  assert_int_equal(f.n, 2);
  assert_string_equal(f.address[0], "alice@a.example");
  assert_int_equal(f.trust[0], static_cast<int>(CertTrust::kAdmin));
  assert_string_equal(f.source[0], "local");
  assert_string_equal(f.seen_in[0], "alice.pem");
  assert_int_equal(f.first_seen[0], 5000);
  assert_int_equal(f.last_seen[0], t2 + 3000);
  assert_string_equal(f.address[1], "bob@b.example");
  // A certificate that does not name the address is refused.
  r = R(s->Add("bob@b.example", alice, "x", 1));
  assert_int_equal(r.code, kInvalid);
  r = R(s->Harvest("carol@a.example", alice, {}, 0, "q", 1));
  assert_int_equal(r.code, kInvalid);
}

void TestSourcesAndRemove(void**) {
  std::shared_ptr<CertStore> s;
  assert_int_equal(Fresh(&s).code, kOk);
  X509* alice = pki->alice.cert.get();
  assert_int_equal(R(s->Add("alice@a.example", alice, "alice.pem", 100)).code, kOk);
  assert_int_equal(
      R(s->Harvest("alice@a.example", pki->alice2.cert.get(), {427}, 50, "q", 200)).code, kOk);
  std::vector<CertCandidate> local, harvested;
  LocalCerts ls(s);
  HarvestedCerts hs(s);
  assert_int_equal(R(ls.Find("alice@a.example", Deadline(), &local)).code, kOk);
  assert_int_equal(R(hs.Find("alice@a.example", Deadline(), &harvested)).code, kOk);
  const size_t nl = local.size(), nh = harvested.size();
  const bool local_is_alice = nl == 1 && X509_cmp(local[0].cert.get(), alice) == 0;
  const std::string origin = nl == 1 ? local[0].origin : "";
  local.clear();
  harvested.clear();
  assert_int_equal(nl, 1);
  assert_int_equal(nh, 1);
  assert_true(local_is_alice);
  assert_string_equal(origin.c_str(), "added from alice.pem");
  int removed = -1;
  assert_int_equal(R(s->Remove("alice@a.example", "zz", &removed)).code, kInvalid);
  assert_int_equal(R(s->Remove("ALICE@a.example", CertFingerprint(alice), &removed)).code, kOk);
  assert_int_equal(removed, 1);
  assert_int_equal(Rows(*s, "alice@a.example").n, 1);
  assert_int_equal(R(s->Remove("alice@a.example", "", &removed)).code, kOk);
  assert_int_equal(removed, 1);
  assert_int_equal(R(s->Remove("alice@a.example", "", &removed)).code, kOk);
  assert_int_equal(removed, 0);
  assert_int_equal(Rows(*s, nullptr).n, 0);
}

// Count (the metrics) and remove by the fingerprint prefix `cert list`
// shows (kFingerprintShown digits), the same on both backends.
void TestCountAndRemoveByPrefix(void**) {
  std::shared_ptr<CertStore> s;
  assert_int_equal(Fresh(&s).code, kOk);
  int64_t admin = -1, harvested = -1;
  assert_int_equal(R(s->Count(&admin, &harvested)).code, kOk);
  assert_int_equal(admin, 0);
  assert_int_equal(harvested, 0);
  X509* alice = pki->alice.cert.get();
  assert_int_equal(R(s->Add("alice@a.example", alice, "alice.pem", 100)).code, kOk);
  assert_int_equal(
      R(s->Harvest("alice@a.example", pki->alice2.cert.get(), {427}, 50, "q", 200)).code, kOk);
  assert_int_equal(R(s->Harvest("bob@b.example", pki->bob.cert.get(), {}, 50, "q2", 200)).code,
                   kOk);
  assert_int_equal(R(s->Count(&admin, &harvested)).code, kOk);
  assert_int_equal(admin, 1);
  assert_int_equal(harvested, 2);
  const std::string fp = CertFingerprint(alice);
  int removed = -1;
  // Shorter than listed: refused, nothing removed.
  assert_int_equal(
      R(s->Remove("alice@a.example", fp.substr(0, kFingerprintShown - 1), &removed)).code,
      kInvalid);
  assert_int_equal(removed, 0);
  // A prefix of bob's certificate is not one of alice's rows: nothing removed.
  const std::string bob_fp = CertFingerprint(pki->bob.cert.get());
  assert_int_equal(
      R(s->Remove("alice@a.example", bob_fp.substr(0, kFingerprintShown), &removed)).code, kOk);
  assert_int_equal(removed, 0);
  // The listed digits (upper case, with ':' as typed) remove exactly alice's added one.
  std::string typed;
  for (size_t i = 0; i < kFingerprintShown; ++i) {
    if (i && i % 2 == 0) typed += ':';
    typed += static_cast<char>(std::toupper(static_cast<unsigned char>(fp[i])));
  }
  assert_int_equal(R(s->Remove("alice@a.example", typed, &removed)).code, kOk);
  assert_int_equal(removed, 1);
  Facts f = Rows(*s, "alice@a.example");
  assert_int_equal(f.n, 1);
  assert_false(f.is_alice[0]);
  assert_int_equal(R(s->Count(&admin, &harvested)).code, kOk);
  assert_int_equal(admin, 0);
  assert_int_equal(harvested, 2);
}

// Two handles (two hosts): each sees the other's writes and removals at once.
void TestSharedAtOnce(void**) {
  std::shared_ptr<CertStore> a, b;
  assert_int_equal(Fresh(&a).code, kOk);
  assert_int_equal(Second(&b).code, kOk);
  assert_int_equal(Rows(*b, "alice@a.example").n, 0);  // b has asked before
  assert_int_equal(R(a->Harvest("alice@a.example", pki->alice.cert.get(), {}, 0, "q", 10)).code,
                   kOk);
  // The same signer again at once: SQLite's memo skips the write,
  // PostgreSQL has none and writes it.
  assert_int_equal(R(a->Harvest("alice@a.example", pki->alice.cert.get(), {}, 0, "q", 11)).code,
                   kOk);
  assert_int_equal(a->harvest_writes_skipped(), be->pg ? 0 : 1);
  assert_int_equal(Rows(*b, "alice@a.example").n, 1);
  // ChangeCount: SQLite sees the other handle's removal; PostgreSQL cannot
  // tell (an error), so no certificate choice from it is ever reused.
  uint64_t before = 0, after = 0;
  const Res count_before = R(a->ChangeCount(&before));
  HarvestedCerts hs(a);
  assert_int_equal(hs.ChangeCount(&before), !be->pg);
  int removed = 0;
  assert_int_equal(R(b->Remove("alice@a.example", "", &removed)).code, kOk);
  assert_int_equal(removed, 1);
  const Res count_after = R(a->ChangeCount(&after));
  assert_int_equal(count_before.code, be->pg ? kIo : kOk);
  assert_int_equal(count_after.code, be->pg ? kIo : kOk);
  if (!be->pg) assert_true(before != after);
  assert_int_equal(Rows(*a, "alice@a.example").n, 0);
  std::vector<CertCandidate> found;
  assert_int_equal(R(hs.Find("alice@a.example", Deadline(), &found)).code, kOk);
  assert_int_equal(found.size(), 0);
}

// Many threads on two handles harvest the same certificate at once: every
// write succeeds and there is one row.
void TestConcurrentHarvest(void**) {
  std::shared_ptr<CertStore> a, b;
  assert_int_equal(Fresh(&a).code, kOk);
  assert_int_equal(Second(&b).code, kOk);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  // Seen more than kHarvestMemoSeconds apart: each one is written.
  const std::time_t gap = CertStore::kHarvestMemoSeconds + 1;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      CertStore& s = t % 2 ? *a : *b;
      for (int i = 0; i < 20; ++i)
        if (!s.Harvest("alice@a.example", pki->alice.cert.get(), {427}, i, "q", 100 + i * gap).ok())
          ++failures;
    });
  for (std::thread& t : threads) t.join();
  assert_int_equal(failures.load(), 0);
  Facts f = Rows(*a, nullptr);
  assert_int_equal(f.n, 1);
  assert_int_equal(f.last_seen[0], 100 + 19 * gap);
  assert_int_equal(f.signing_time[0], 19);
}

void TestIntermediatesAndImport(void**) {
  std::shared_ptr<CertStore> s;
  assert_int_equal(Fresh(&s).code, kOk);
  CertSpec spec = SmimeSpec("alice@a.example");
  spec.key = KeyKind::kEcP256;
  Issued leaf = MakeLeaf(spec, pki->sub);
  assert_int_equal(R(s->AddIntermediates({pki->sub.cert.get(), pki->root.cert.get()})).code, kOk);
  assert_int_equal(R(s->AddIntermediates({pki->sub.cert.get()})).code, kOk);  // again: no change
  std::vector<X509Ptr> issuers;
  assert_int_equal(R(s->IssuersOf(leaf.cert.get(), Deadline(), &issuers)).code, kOk);
  const bool sub_found =
      issuers.size() == 1 && X509_cmp(issuers[0].get(), pki->sub.cert.get()) == 0;
  const size_t n_issuers = issuers.size();
  issuers.clear();
  assert_int_equal(n_issuers, 1);  // the root is not stored
  assert_true(sub_found);
  // Import copies a row with its times and origin into another store.
  assert_int_equal(
      R(s->Harvest("alice@a.example", pki->alice.cert.get(), {427}, 77, "msg", 88)).code, kOk);
  std::vector<CertStoreRow> rows;
  assert_int_equal(R(s->List(&rows)).code, kOk);
  std::vector<std::string> cas;
  assert_int_equal(R(s->ListIntermediates(&cas)).code, kOk);
  assert_int_equal(cas.size(), 1);
  std::shared_ptr<CertStore> t;
  assert_int_equal(Fresh(&t).code, kOk);
  Res r = R(t->Import(rows[0]));
  r = r.code == kOk ? R(t->Import(rows[0])) : r;  // twice: replaced, not doubled
  rows.clear();
  assert_int_equal(r.code, kOk);
  Facts f = Rows(*t, nullptr);
  assert_int_equal(f.n, 1);
  assert_int_equal(f.first_seen[0], 88);
  assert_int_equal(f.signing_time[0], 77);
  assert_string_equal(f.seen_in[0], "msg");
  assert_string_equal(f.caps[0], "427");
  assert_true(f.is_alice[0]);
}

// --- PostgreSQL only ---------------------------------------------------------

void TestPgRefusesPassword(void**) {
  assert_int_equal(R(CheckStoreSpec("postgresql:host=/tmp dbname=x password=secret")).code,
                   kConfigCode);
  assert_int_equal(R(CheckStoreSpec("postgresql:postgresql://u:secret@db.example/certs")).code,
                   kConfigCode);
  assert_int_equal(R(CheckStoreSpec("postgresql:postgresql://u@db.example/certs")).code, kOk);
  assert_int_equal(R(CheckStoreSpec("postgresql:host=")).code, kOk);
  assert_int_equal(R(CheckStoreSpec("postgresql:nonsense")).code, kConfigCode);
  assert_int_equal(R(CheckStoreSpec("mysql:x")).code, kConfigCode);
}

// A held lock makes the lookup wait: it ends at the step's deadline with a
// "deadline" failure, and the store works again once the lock is gone.
void TestPgSlowThenRecovers(void**) {
  std::shared_ptr<CertStore> s;
  assert_int_equal(Fresh(&s).code, kOk);
  assert_int_equal(R(s->Add("alice@a.example", pki->alice.cert.get(), "a.pem", 1)).code, kOk);
  PGconn* locker = PQconnectdb(be->conninfo.c_str());
  assert_int_equal(PQstatus(locker), CONNECTION_OK);
  PQclear(PQexec(locker, "BEGIN"));
  PGresult* lr = PQexec(locker, "LOCK TABLE certificates IN ACCESS EXCLUSIVE MODE");
  const bool locked = PQresultStatus(lr) == PGRES_COMMAND_OK;
  PQclear(lr);
  assert_true(locked);
  SystemClock clock;
  const Deadline deadline = Deadline::After(clock, 300);
  std::vector<CertCandidate> found;
  LocalCerts ls(s);
  Res r = R(ls.Find("alice@a.example", deadline, &found));
  const bool expired = deadline.expired();
  PQclear(PQexec(locker, "ROLLBACK"));
  PQfinish(locker);
  assert_int_equal(r.code, kIo);
  assert_non_null(std::strstr(r.msg, "deadline reached"));
  assert_true(expired);
  assert_int_equal(found.size(), 0);
  assert_int_equal(Rows(*s, "alice@a.example").n, 1);
}

// A server nobody listens on: a failure, then the backoff answers at once
// without a new attempt.
void TestPgDownBacksOff(void**) {
  const std::string dir = be->dir + "/nothing-here";
  std::filesystem::create_directories(dir);
  std::shared_ptr<CertStore> s;
  PgStoreOptions o;
  o.timeout_ms = 2000;
  assert_int_equal(R(OpenCertStore("postgresql:host=" + dir + " dbname=x", "", o, &s)).code, kOk);
  std::vector<CertStoreRow> rows;
  Res first = R(s->Lookup("alice@a.example", &rows));
  Res second = R(s->Lookup("alice@a.example", &rows));
  Res harvest = R(s->Harvest("alice@a.example", pki->alice.cert.get(), {}, 0, "q", 1));
  assert_int_equal(first.code, kIo);
  assert_non_null(std::strstr(first.msg, "cannot connect"));
  assert_int_equal(second.code, kIo);
  assert_non_null(std::strstr(second.msg, "next attempt in"));
  assert_int_equal(harvest.code, kIo);
}

// A schema newer than this build is refused, not used.
void TestPgNewerSchema(void**) {
  std::shared_ptr<CertStore> s;
  assert_int_equal(Fresh(&s).code, kOk);
  int v = 0;
  assert_int_equal(R(s->SchemaVersion(&v)).code, kOk);
  assert_true(PgRun("UPDATE schema_version SET version = 99"));
  std::shared_ptr<CertStore> t;
  assert_int_equal(Second(&t).code, kOk);
  std::vector<CertStoreRow> rows;
  Res r = R(t->Lookup("alice@a.example", &rows));
  assert_int_equal(r.code, kConfigCode);
  assert_non_null(std::strstr(r.msg, "newer than this build"));
}

int SetUpPki(void**) {
  pki = new Pki;
  pki->root = MakeCa("Root", KeyKind::kEcP256);
  pki->sub = MakeSubCa("Sub", pki->root);
  CertSpec a = SmimeSpec("alice@a.example");
  a.key = KeyKind::kEcP256;
  pki->alice = MakeLeaf(a, pki->root);
  pki->alice2 = MakeLeaf(a, pki->root);
  CertSpec b = SmimeSpec("bob@b.example");
  b.key = KeyKind::kEcP256;
  pki->bob = MakeLeaf(b, pki->root);
  return 0;
}

}  // namespace

int main() {
  SetUpPki(nullptr);
  const char* tmp = getenv("TMPDIR");
  std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/cert_store_conf.XXXXXX";
  if (!mkdtemp(&templ[0])) return 1;
  Backend b;
  b.dir = templ;
  be = &b;
  const struct CMUnitTest common[] = {
      cmocka_unit_test(TestAddHarvestList),         cmocka_unit_test(TestSourcesAndRemove),
      cmocka_unit_test(TestCountAndRemoveByPrefix), cmocka_unit_test(TestSharedAtOnce),
      cmocka_unit_test(TestConcurrentHarvest),      cmocka_unit_test(TestIntermediatesAndImport),
  };
  int failed = cmocka_run_group_tests_name("sqlite", common, nullptr, nullptr);
  const char* pg = getenv("SMIME_TEST_PG");
  if (pg && *pg) {
    b.pg = true;
    b.conninfo = pg;
    failed += cmocka_run_group_tests_name("postgresql", common, nullptr, nullptr);
    const struct CMUnitTest pg_only[] = {
        cmocka_unit_test(TestPgRefusesPassword),
        cmocka_unit_test(TestPgSlowThenRecovers),
        cmocka_unit_test(TestPgDownBacksOff),
        cmocka_unit_test(TestPgNewerSchema),
    };
    failed += cmocka_run_group_tests_name("postgresql-faults", pg_only, nullptr, nullptr);
  }
  std::error_code ec;
  std::filesystem::remove_all(templ, ec);
  delete pki;
  return failed ? 1 : 0;
}
