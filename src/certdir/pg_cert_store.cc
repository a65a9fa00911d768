// certdir/pg_cert_store: see pg_cert_store.h.
#include "certdir/pg_cert_store.h"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cstdlib>
#include <utility>

#include "base/ossl.h"
#include "cms/cert_cache.h"
#include "mime/rcpt_address.h"
#include "trust/cert_info.h"

namespace smime {

using namespace cert_store_internal;  // NOLINT(build/namespaces): the backends' shared helpers

namespace {

constexpr long kBackoffFirstMs = 1000;
constexpr long kBackoffMaxMs = 30000;
// pg_advisory_xact_lock key serialising schema creation and migration.
constexpr char kSchemaLock[] = "SELECT pg_advisory_xact_lock(7369606)";

const char kColumns[] =
    "address, fingerprint, der, trust, source, first_seen, last_seen, seen_in, signing_time,"
    " capabilities";
// "C": the same order as SQLite's byte-wise comparison on every host.
const char kOrder[] = " ORDER BY address COLLATE \"C\", trust DESC, first_seen, fingerprint";

// Version 2 (the SQLite store's version 1 -> 2 step normalised addresses
// that PostgreSQL never held in the old form). Later versions add steps to
// EnsureSchema.
const char kSchemaV2[] =
    "CREATE TABLE IF NOT EXISTS certificates ("
    " address TEXT NOT NULL, fingerprint TEXT NOT NULL, der BYTEA NOT NULL,"
    " trust INTEGER NOT NULL, source TEXT NOT NULL, first_seen BIGINT NOT NULL,"
    " last_seen BIGINT NOT NULL, seen_in TEXT NOT NULL DEFAULT '',"
    " signing_time BIGINT NOT NULL DEFAULT 0, capabilities TEXT NOT NULL DEFAULT '',"
    " PRIMARY KEY (address, fingerprint));"
    "CREATE TABLE IF NOT EXISTS intermediates ("
    " fingerprint TEXT PRIMARY KEY, subject TEXT NOT NULL, der BYTEA NOT NULL);"
    "CREATE INDEX IF NOT EXISTS intermediates_subject ON intermediates (subject)";

struct Statement {
  const char* name;
  std::string sql;
};

const std::vector<Statement>& Statements() {
  static const std::vector<Statement> kAll = {
      {"add",
       "INSERT INTO certificates AS c (address, fingerprint, der, trust, source, first_seen,"
       " last_seen, seen_in) VALUES ($1, $2, $3, $4, $5, $6, $6, $7)"
       " ON CONFLICT (address, fingerprint) DO UPDATE SET trust = EXCLUDED.trust,"
       " source = EXCLUDED.source, seen_in = EXCLUDED.seen_in,"
       " last_seen = GREATEST(c.last_seen, EXCLUDED.last_seen)"},
      {"harvest",
       "INSERT INTO certificates AS c (address, fingerprint, der, trust, source, first_seen,"
       " last_seen, seen_in, signing_time, capabilities)"
       " VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8, $9)"
       " ON CONFLICT (address, fingerprint) DO UPDATE SET"
       " last_seen = GREATEST(c.last_seen, EXCLUDED.last_seen),"
       " seen_in = CASE WHEN c.trust = EXCLUDED.trust THEN EXCLUDED.seen_in ELSE c.seen_in END,"
       " capabilities = CASE WHEN EXCLUDED.signing_time > c.signing_time"
       "   THEN EXCLUDED.capabilities ELSE c.capabilities END,"
       " signing_time = GREATEST(c.signing_time, EXCLUDED.signing_time)"},
      {"import",
       "INSERT INTO certificates (address, fingerprint, der, trust, source, first_seen,"
       " last_seen, seen_in, signing_time, capabilities)"
       " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
       " ON CONFLICT (address, fingerprint) DO UPDATE SET der = EXCLUDED.der,"
       " trust = EXCLUDED.trust, source = EXCLUDED.source, first_seen = EXCLUDED.first_seen,"
       " last_seen = EXCLUDED.last_seen, seen_in = EXCLUDED.seen_in,"
       " signing_time = EXCLUDED.signing_time, capabilities = EXCLUDED.capabilities"},
      {"remove_all", "DELETE FROM certificates WHERE address = $1"},
      {"remove_one", "DELETE FROM certificates WHERE address = $1 AND fingerprint = $2"},
      {"list", std::string("SELECT ") + kColumns + " FROM certificates" + kOrder},
      {"lookup",
       std::string("SELECT ") + kColumns + " FROM certificates WHERE address = $1" + kOrder},
      {"add_intermediate",
       "INSERT INTO intermediates (fingerprint, subject, der) VALUES ($1, $2, $3)"
       " ON CONFLICT DO NOTHING"},
      {"issuers", "SELECT der FROM intermediates WHERE subject = $1 LIMIT 16"},
      {"intermediates", "SELECT der FROM intermediates ORDER BY fingerprint"},
      {"version", "SELECT max(version) FROM schema_version"},
      {"count", "SELECT trust, count(*) FROM certificates GROUP BY trust"},
  };
  return kAll;
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string ConnError(PGconn* pg) { return pg ? Trim(PQerrorMessage(pg)) : "out of memory"; }

// Waits until pg's socket is ready for what (POLLIN/POLLOUT), at most ms.
// false on timeout or error.
bool WaitSocket(PGconn* pg, short what, long ms) {
  if (ms <= 0) return false;
  struct pollfd p = {PQsocket(pg), what, 0};
  if (p.fd < 0) return false;
  const int r = poll(&p, 1, static_cast<int>(std::min(ms, 600000L)));
  return r > 0;
}

long MsLeft(std::chrono::steady_clock::time_point until, const Deadline& deadline) {
  const long own = static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         until - std::chrono::steady_clock::now())
                                         .count());
  return deadline.Cap(std::max(0L, own));
}

std::string TimeoutText(const Deadline& deadline) {
  return deadline.expired() ? "deadline reached" : "timed out";
}

struct ResultCloser {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultCloser>;

// A blocking statement on a connection of our own (schema setup, session
// settings): bounded by the server's statement_timeout.
bool Run(PGconn* pg, const std::string& sql, std::string* error) {
  ResultPtr r(PQexec(pg, sql.c_str()));
  const ExecStatusType s = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) return true;
  *error = ConnError(pg);
  return false;
}

// The schema version of the database on pg (0: empty); false on error.
bool ReadVersion(PGconn* pg, int* version, std::string* error) {
  ResultPtr r(PQexec(pg, "SELECT to_regclass('schema_version') IS NOT NULL"));
  if (!r || PQresultStatus(r.get()) != PGRES_TUPLES_OK) {
    *error = ConnError(pg);
    return false;
  }
  *version = 0;
  if (std::string(PQgetvalue(r.get(), 0, 0)) != "t") return true;
  r.reset(PQexec(pg, "SELECT coalesce(max(version), 0) FROM schema_version"));
  if (!r || PQresultStatus(r.get()) != PGRES_TUPLES_OK) {
    *error = ConnError(pg);
    return false;
  }
  *version = std::atoi(PQgetvalue(r.get(), 0, 0));
  return true;
}

// Creates or migrates the schema when create, else only checks it.
Status EnsureSchema(PGconn* pg, bool create) {
  int version = 0;
  std::string error;
  if (!ReadVersion(pg, &version, &error)) return Status::Io("postgresql: " + error);
  const int want = CertStore::kSchemaVersion;
  if (version > want)
    return Status::Config("postgresql: schema version " + std::to_string(version) +
                          " is newer than this build knows (" + std::to_string(want) + ")");
  if (version == want) return Status::Ok();
  if (!create)
    return Status::Config("postgresql: schema version " + std::to_string(version) + ", expected " +
                          std::to_string(want) + ": run smimectl store migrate");
  // Another host may be doing the same: read the version again under the lock.
  bool ok =
      Run(pg, "BEGIN", &error) && Run(pg, kSchemaLock, &error) &&
      Run(pg, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)", &error) &&
      ReadVersion(pg, &version, &error);
  if (ok && version == 0) {
    ok = Run(pg, kSchemaV2, &error);
    version = 2;
  }
  // Later: if (ok && version == 2) { ALTER TABLE ...; version = 3; }
  if (ok && version <= want)
    ok = Run(pg, "DELETE FROM schema_version", &error) &&
         Run(pg, "INSERT INTO schema_version VALUES (" + std::to_string(version) + ")", &error);
  if (ok) ok = Run(pg, "COMMIT", &error);
  if (!ok) {
    std::string ignored;
    Run(pg, "ROLLBACK", &ignored);
    return Status::Io("postgresql: cannot create the schema: " + error);
  }
  if (version > want)
    return Status::Config("postgresql: schema version " + std::to_string(version) +
                          " is newer than this build knows");
  return Status::Ok();
}

CertStoreRow RowOf(PGresult* r, int i) {
  CertStoreRow row;
  row.address = PQgetvalue(r, i, 0);
  row.fingerprint = PQgetvalue(r, i, 1);
  size_t n = 0;
  unsigned char* der =
      PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(r, i, 2)), &n);
  if (der) {
    row.der.assign(reinterpret_cast<const char*>(der), n);
    PQfreemem(der);
  }
  row.trust = std::atoi(PQgetvalue(r, i, 3)) == static_cast<int>(CertTrust::kAdmin)
                  ? CertTrust::kAdmin
                  : CertTrust::kHarvested;
  row.source = PQgetvalue(r, i, 4);
  row.first_seen = static_cast<std::time_t>(std::strtoll(PQgetvalue(r, i, 5), nullptr, 10));
  row.last_seen = static_cast<std::time_t>(std::strtoll(PQgetvalue(r, i, 6), nullptr, 10));
  row.seen_in = PQgetvalue(r, i, 7);
  row.signing_time = static_cast<std::time_t>(std::strtoll(PQgetvalue(r, i, 8), nullptr, 10));
  row.capabilities = ParseCapabilities(PQgetvalue(r, i, 9));
  return row;
}

std::string DerColumn(PGresult* r, int i, int col) {
  size_t n = 0;
  unsigned char* p =
      PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(r, i, col)), &n);
  if (!p) return "";
  std::string out(reinterpret_cast<const char*>(p), n);
  PQfreemem(p);
  return out;
}

}  // namespace

struct PgCertStore::Conn {
  struct Closer {
    void operator()(PGconn* c) const { PQfinish(c); }
  };
  std::unique_ptr<PGconn, Closer> pg;
};

struct PgCertStore::Result {
  ResultPtr res;
  int affected = 0;
};

Status PgCertStore::CheckConninfo(const std::string& conninfo) {
  if (conninfo.empty()) return Status::Config("postgresql: empty connection string");
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), &err);
  if (!opts) {
    std::string m = err ? Trim(err) : "out of memory";
    if (err) PQfreemem(err);
    return Status::Config("postgresql: connection string: " + m);
  }
  bool password = false;
  for (PQconninfoOption* o = opts; o->keyword; ++o)
    if (std::string(o->keyword) == "password" && o->val && *o->val) password = true;
  PQconninfoFree(opts);
  if (password)
    return Status::Config(
        "postgresql: the connection string holds a password: put it in libpq's passfile "
        "(passfile=..., ~/.pgpass of the service user) instead");
  return Status::Ok();
}

PgCertStore::PgCertStore(PgStoreOptions o)
    : opt_(std::move(o)), name_("postgresql:" + opt_.conninfo) {}

PgCertStore::~PgCertStore() = default;

Status PgCertStore::Open(const PgStoreOptions& options, std::shared_ptr<PgCertStore>* out) {
  Status st = CheckConninfo(options.conninfo);
  if (!st.ok()) return st;
  PgStoreOptions o = options;
  o.pool_size = std::max(1, o.pool_size);
  o.timeout_ms = std::max(100L, o.timeout_ms);
  out->reset(new PgCertStore(std::move(o)));
  return Status::Ok();
}

Status PgCertStore::Connect(const Deadline& deadline, std::unique_ptr<Conn>* out) const {
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(opt_.timeout_ms);
  const std::string secs = std::to_string(std::max(2L, (opt_.timeout_ms + 999) / 1000));
  // Our keywords first: the ones the administrator wrote override them.
  const char* keys[] = {"connect_timeout", "application_name", "dbname", nullptr};
  const char* values[] = {secs.c_str(), "smime-milter", opt_.conninfo.c_str(), nullptr};
  auto c = std::make_unique<Conn>();
  c->pg.reset(PQconnectStartParams(keys, values, 1));
  PGconn* pg = c->pg.get();
  if (!pg || PQstatus(pg) == CONNECTION_BAD)
    return Status::Io("postgresql: cannot connect: " + ConnError(pg));
  // Server notices ("relation already exists, skipping") would go to stderr.
  PQsetNoticeProcessor(
      pg, [](void*, const char*) {}, nullptr);
  PostgresPollingStatusType ps = PGRES_POLLING_WRITING;
  while (ps != PGRES_POLLING_OK) {
    if (ps == PGRES_POLLING_FAILED)
      return Status::Io("postgresql: cannot connect: " + ConnError(pg));
    if (!WaitSocket(pg, ps == PGRES_POLLING_READING ? POLLIN : POLLOUT, MsLeft(until, deadline)))
      return Status::Io("postgresql: cannot connect: " + TimeoutText(deadline));
    ps = PQconnectPoll(pg);
  }
  // The server ends a statement that outlives us even if the cancel is lost.
  std::string error;
  if (!Run(pg, "SET statement_timeout = " + std::to_string(opt_.timeout_ms), &error))
    return Status::Io("postgresql: " + error);
  bool schema_ok;
  {
    std::lock_guard<std::mutex> lock(mu_);
    schema_ok = schema_ok_;
  }
  if (!schema_ok) {
    Status st = EnsureSchema(pg, opt_.create_schema);
    if (!st.ok()) return st;
    std::lock_guard<std::mutex> lock(mu_);
    schema_ok_ = true;
  }
  for (const Statement& s : Statements()) {
    ResultPtr r(PQprepare(pg, s.name, s.sql.c_str(), 0, nullptr));
    if (!r || PQresultStatus(r.get()) != PGRES_COMMAND_OK)
      return Status::Io("postgresql: cannot prepare " + std::string(s.name) + ": " + ConnError(pg));
  }
  *out = std::move(c);
  return Status::Ok();
}

Status PgCertStore::Acquire(const Deadline& deadline, std::unique_ptr<Conn>* out) const {
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(opt_.timeout_ms);
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (!idle_.empty()) {
      *out = std::move(idle_.back());
      idle_.pop_back();
      return Status::Ok();
    }
    if (open_ < opt_.pool_size) {
      const auto now = std::chrono::steady_clock::now();
      if (now < retry_at_) {
        const long wait_ms = static_cast<long>(
            std::chrono::duration_cast<std::chrono::milliseconds>(retry_at_ - now).count());
        return Status::Io(last_error_ + " (next attempt in " + std::to_string(wait_ms) + " ms)");
      }
      ++open_;
      lock.unlock();
      Status st = Connect(deadline, out);
      lock.lock();
      if (st.ok()) {
        backoff_ms_ = 0;
        return st;
      }
      --open_;
      // A newer schema is a configuration error, not an outage, and a
      // caller's deadline that ran out says nothing about the server: no
      // backoff for either.
      if (st.code() != Status::Code::kConfig && !deadline.expired()) {
        backoff_ms_ = backoff_ms_ == 0 ? kBackoffFirstMs : std::min(kBackoffMaxMs, 2 * backoff_ms_);
        retry_at_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(backoff_ms_);
        last_error_ = st.message();
      }
      cv_.notify_one();
      return st;
    }
    const long left = MsLeft(until, deadline);
    if (left <= 0 ||
        cv_.wait_for(lock, std::chrono::milliseconds(left)) == std::cv_status::timeout) {
      if (!idle_.empty() || open_ < opt_.pool_size) continue;
      return Status::Io("postgresql: all " + std::to_string(opt_.pool_size) +
                        " connections busy: " + TimeoutText(deadline));
    }
  }
}

void PgCertStore::Release(std::unique_ptr<Conn> c, bool healthy) const {
  std::unique_ptr<Conn> drop;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (healthy) {
      idle_.push_back(std::move(c));
    } else {
      drop = std::move(c);
      --open_;
    }
  }
  cv_.notify_one();
}

Status PgCertStore::Exec(const char* name, const std::vector<std::string>& params,
                         const std::vector<bool>& binary, const Deadline& deadline,
                         Result* res) const {
  if (deadline.expired()) return Status::Io("postgresql: deadline reached");
  std::unique_ptr<Conn> c;
  Status st = Acquire(deadline, &c);
  if (!st.ok()) return st;
  PGconn* pg = c->pg.get();
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(opt_.timeout_ms);
  std::vector<const char*> values;
  std::vector<int> lengths, formats;
  for (size_t i = 0; i < params.size(); ++i) {
    values.push_back(params[i].data());
    lengths.push_back(static_cast<int>(params[i].size()));
    formats.push_back(i < binary.size() && binary[i] ? 1 : 0);
  }
  bool healthy = false;
  auto fail = [&](const std::string& why) {
    Release(std::move(c), healthy);
    return Status::Io("postgresql: " + std::string(name) + ": " + why);
  };
  if (!PQsendQueryPrepared(pg, name, static_cast<int>(params.size()), values.data(), lengths.data(),
                           formats.data(), 0))
    return fail(ConnError(pg));
  // Send and wait for the answer, no longer than the deadline allows.
  bool timed_out = false;
  for (;;) {
    const int f = PQflush(pg);
    if (f < 0) return fail(ConnError(pg));
    if (f == 0) break;
    if (!WaitSocket(pg, POLLOUT | POLLIN, MsLeft(until, deadline))) {
      timed_out = true;
      break;
    }
    if (!PQconsumeInput(pg)) return fail(ConnError(pg));
  }
  while (!timed_out && PQisBusy(pg)) {
    if (!WaitSocket(pg, POLLIN, MsLeft(until, deadline))) {
      timed_out = true;
      break;
    }
    if (!PQconsumeInput(pg)) return fail(ConnError(pg));
  }
  if (timed_out) {
    // Ask the server to stop; the connection is dropped either way.
    if (PGcancel* cancel = PQgetCancel(pg)) {
      char buf[256];
      PQcancel(cancel, buf, sizeof buf);
      PQfreeCancel(cancel);
    }
    return fail(TimeoutText(deadline));
  }
  std::string error;
  for (PGresult* r; (r = PQgetResult(pg)) != nullptr;) {
    ResultPtr owned(r);
    const ExecStatusType s = PQresultStatus(r);
    if (s == PGRES_TUPLES_OK || s == PGRES_COMMAND_OK) {
      const char* n = PQcmdTuples(r);
      res->affected = n && *n ? std::atoi(n) : 0;
      res->res = std::move(owned);
    } else if (error.empty()) {
      error = Trim(PQresultErrorMessage(r));
    }
  }
  healthy = PQstatus(pg) == CONNECTION_OK;
  if (!error.empty() || !res->res) return fail(error.empty() ? "no result" : error);
  Release(std::move(c), healthy);
  return Status::Ok();
}

Status PgCertStore::Init() {
  std::unique_ptr<Conn> c;
  {
    std::lock_guard<std::mutex> lock(mu_);
    schema_ok_ = false;
  }
  // A connection that creates or migrates whatever create_schema says.
  PgStoreOptions saved = opt_;
  Status st;
  {
    PgCertStore creator(saved);
    creator.opt_.create_schema = true;
    st = creator.Connect(Deadline(), &c);
  }
  if (!st.ok()) return st;
  std::lock_guard<std::mutex> lock(mu_);
  schema_ok_ = true;
  return Status::Ok();
}

// No counter here sees every host's writes at once (txid_current() or a
// trigger-kept counter would cost a round trip, as much as the lookup), so
// a choice from this store is never reused: the lookup is asked again.
Status PgCertStore::ChangeCount(uint64_t* out) const {
  *out = 0;
  return Status::Io("postgresql: no change counter");
}

Status PgCertStore::SchemaVersion(int* out) const {
  Result r;
  Status st = Exec("version", {}, {}, Deadline(), &r);
  if (!st.ok()) return st;
  *out = std::atoi(PQgetvalue(r.res.get(), 0, 0));
  return Status::Ok();
}

Status PgCertStore::Add(const std::string& address, X509* cert, const std::string& origin,
                        std::time_t now) {
  std::string der;
  Status st = CheckCert(address, cert, &der);
  if (!st.ok()) return st;
  Result r;
  return Exec("add",
              {AddressForm(address), FingerprintOfDer(der), der,
               std::to_string(static_cast<int>(CertTrust::kAdmin)), "local",
               std::to_string(static_cast<long long>(now)), origin},
              {false, false, true}, Deadline(), &r);
}

Status PgCertStore::Harvest(const std::string& address, X509* cert,
                            const std::vector<int>& capabilities, std::time_t signing_time,
                            const std::string& seen_in, std::time_t now) {
  std::string der;
  Status st = CheckCert(address, cert, &der);
  if (!st.ok()) return st;
  Result r;
  return Exec(
      "harvest",
      {AddressForm(address), FingerprintOfDer(der), der,
       std::to_string(static_cast<int>(CertTrust::kHarvested)), "harvest",
       std::to_string(static_cast<long long>(now)), seen_in,
       std::to_string(static_cast<long long>(signing_time)), CapabilitiesText(capabilities)},
      {false, false, true}, Deadline(), &r);
}

Status PgCertStore::Import(const Row& row) {
  Result r;
  return Exec("import",
              {AddressForm(row.address), row.fingerprint, row.der,
               std::to_string(static_cast<int>(row.trust)), row.source,
               std::to_string(static_cast<long long>(row.first_seen)),
               std::to_string(static_cast<long long>(row.last_seen)), row.seen_in,
               std::to_string(static_cast<long long>(row.signing_time)),
               CapabilitiesText(row.capabilities)},
              {false, false, true}, Deadline(), &r);
}

Status PgCertStore::Remove(const std::string& address, const std::string& fingerprint_or_empty,
                           int* removed) {
  if (removed) *removed = 0;
  std::string fp;
  bool nothing = false;
  Status resolved = FingerprintToRemove(address, fingerprint_or_empty, &fp, &nothing);
  if (!resolved.ok() || nothing) return resolved;
  Result r;
  Status st = fp.empty() ? Exec("remove_all", {AddressForm(address)}, {}, Deadline(), &r)
                         : Exec("remove_one", {AddressForm(address), fp}, {}, Deadline(), &r);
  if (st.ok() && removed) *removed = r.affected;
  return st;
}

Status PgCertStore::Query(const char* name, const std::vector<std::string>& params,
                          const Deadline& deadline, std::vector<Row>* out) const {
  Result r;
  Status st = Exec(name, params, {}, deadline, &r);
  if (!st.ok()) return st;
  const int n = PQntuples(r.res.get());
  for (int i = 0; i < n; ++i) out->push_back(RowOf(r.res.get(), i));
  return Status::Ok();
}

Status PgCertStore::List(std::vector<Row>* out) const { return Query("list", {}, Deadline(), out); }

Status PgCertStore::Count(int64_t* admin, int64_t* harvested) const {
  *admin = *harvested = 0;
  Result r;
  Status st = Exec("count", {}, {}, Deadline(), &r);
  if (!st.ok()) return st;
  for (int i = 0; i < PQntuples(r.res.get()); ++i) {
    const int64_t n = std::strtoll(PQgetvalue(r.res.get(), i, 1), nullptr, 10);
    if (std::atoi(PQgetvalue(r.res.get(), i, 0)) == static_cast<int>(CertTrust::kAdmin))
      *admin += n;
    else
      *harvested += n;
  }
  return Status::Ok();
}

Status PgCertStore::LookupWithin(const std::string& address, const Deadline& deadline,
                                 std::vector<Row>* out) const {
  return Query("lookup", {AddressForm(address)}, deadline, out);
}

Status PgCertStore::AddIntermediates(const std::vector<X509*>& certs) {
  for (X509* c : certs) {
    if (X509_check_ca(c) <= 0 || X509_check_issued(c, c) == X509_V_OK) continue;  // CAs, not roots
    const std::string der = DerOf(c);
    if (der.empty()) continue;
    Result r;
    Status st = Exec("add_intermediate", {FingerprintOfDer(der), SubjectText(c), der},
                     {false, false, true}, Deadline(), &r);
    if (!st.ok()) return st;
  }
  DrainOpensslErrors();
  return Status::Ok();
}

Status PgCertStore::IssuersOf(X509* cert, const Deadline& deadline,
                              std::vector<X509Ptr>* out) const {
  return WalkStoredIssuers(
      cert,
      [&](const std::string& subject, const StoredDerSink& each) {
        Result r;
        Status st = Exec("issuers", {subject}, {}, deadline, &r);
        if (!st.ok()) return st;
        for (int i = 0; i < PQntuples(r.res.get()); ++i) {
          const std::string der = DerColumn(r.res.get(), i, 0);
          each(reinterpret_cast<const unsigned char*>(der.data()), der.size());
        }
        return Status::Ok();
      },
      out);
}

Status PgCertStore::ListIntermediates(std::vector<std::string>* der) const {
  Result r;
  Status st = Exec("intermediates", {}, {}, Deadline(), &r);
  if (!st.ok()) return st;
  for (int i = 0; i < PQntuples(r.res.get()); ++i) der->push_back(DerColumn(r.res.get(), i, 0));
  return Status::Ok();
}

}  // namespace smime
