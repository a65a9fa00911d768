// certdir/pg_cert_store: the certificate store on PostgreSQL, shared by
// several hosts (docs/scaling.md).
//
// Same rows, rules and schema version as the SQLite store
// (certdir/cert_store.h): tables certificates and intermediates, and
// schema_version (one row) for migrations. Every call reads or writes the
// database, nothing is cached: a certificate one host adds or harvests is
// seen by every host's next lookup, and a removal takes effect at once.
// So ChangeCount cannot tell (no cheap counter sees every host's writes):
// a certificate choice is made again at end of data, and Harvest has no
// memo (each harvest is written).
// Harvest and Add are one INSERT ... ON CONFLICT statement each, so hosts
// harvesting the same certificate at once do not collide.
//
// Entry points: PgCertStore::Open (checks the connection string, connects
// lazily), then the CertStore methods; Init() creates or migrates the
// schema (`smimectl store init|migrate`, and the first connection of a
// daemon when the database is empty). CheckConninfo refuses a password in
// the connection string (secrets belong in libpq's passfile).
//
// Threads: a pool of at most `pool_size` connections (one per concurrent
// milter thread using the store; a thread waits for a free one no longer
// than its deadline). Each connection has every statement prepared once.
// Timeouts: a connection attempt and a statement wait at most `timeout_ms`,
// cut to the caller's Deadline; a statement still running then is
// cancelled and its connection closed. After a failed connection attempt
// the store fails at once (no network wait) until a backoff has passed
// (1 s, doubling to 30 s), so a database that is down costs each lookup
// nothing; the next attempt after the backoff reconnects. An attempt cut
// short by the caller's deadline starts no backoff.
//
// Failure modes, each a Status starting "postgresql: ": the database
// unreachable or slow (kIo, "deadline" when the step's deadline cut it),
// a schema newer than this build (kConfig), a password in the connection
// string (kConfig), a certificate that does not name the address
// (kInvalidInput).
#ifndef SMIME_CERTDIR_PG_CERT_STORE_H_
#define SMIME_CERTDIR_PG_CERT_STORE_H_

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "certdir/cert_store.h"

struct pg_conn;

namespace smime {

struct PgStoreOptions {
  std::string conninfo;       // libpq key=value string or postgresql:// URI
  long timeout_ms = 5000;     // connect and statement cap
  int pool_size = 8;          // connections at most
  bool create_schema = true;  // an empty database gets the schema on first use
};

class PgCertStore final : public CertStore {
 public:
  // OK when conninfo parses and holds no password; else kConfig naming why.
  static Status CheckConninfo(const std::string& conninfo);
  // Checks the options; connects on first use.
  static Status Open(const PgStoreOptions& options, std::shared_ptr<PgCertStore>* out);
  ~PgCertStore() override;
  PgCertStore(const PgCertStore&) = delete;
  PgCertStore& operator=(const PgCertStore&) = delete;

  // Creates the schema in an empty database, migrates an older one
  // (under an advisory lock: several hosts may start at once); kConfig
  // when it is newer than kSchemaVersion.
  Status Init();

  const std::string& path() const override { return name_; }
  Status Add(const std::string& address, X509* cert, const std::string& origin,
             std::time_t now) override;
  Status Harvest(const std::string& address, X509* cert, const std::vector<int>& capabilities,
                 std::time_t signing_time, const std::string& seen_in, std::time_t now) override;
  Status Remove(const std::string& address, const std::string& fingerprint_or_empty,
                int* removed) override;
  Status List(std::vector<Row>* out) const override;
  Status Count(int64_t* admin, int64_t* harvested) const override;
  Status AddIntermediates(const std::vector<X509*>& certs) override;
  Status IssuersOf(X509* cert, const Deadline& deadline, std::vector<X509Ptr>* out) const override;
  Status ListIntermediates(std::vector<std::string>* der) const override;
  Status LookupWithin(const std::string& address, const Deadline& deadline,
                      std::vector<Row>* out) const override;
  Status Import(const Row& row) override;
  Status SchemaVersion(int* out) const override;
  // Always an error: nothing cheap sees a removal made on another host.
  Status ChangeCount(uint64_t* out) const override;

 private:
  struct Conn;
  struct Result;
  explicit PgCertStore(PgStoreOptions o);
  // A connection of the pool, connected and prepared, or why not.
  Status Acquire(const Deadline& deadline, std::unique_ptr<Conn>* out) const;
  void Release(std::unique_ptr<Conn> c, bool healthy) const;
  Status Connect(const Deadline& deadline, std::unique_ptr<Conn>* out) const;
  // Runs prepared statement name with params; *res gets the rows.
  Status Exec(const char* name, const std::vector<std::string>& params,
              const std::vector<bool>& binary, const Deadline& deadline, Result* res) const;
  Status Query(const char* name, const std::vector<std::string>& params, const Deadline& deadline,
               std::vector<Row>* out) const;

  PgStoreOptions opt_;
  std::string name_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  mutable std::vector<std::unique_ptr<Conn>> idle_;
  mutable int open_ = 0;  // connections idle or lent
  mutable std::chrono::steady_clock::time_point retry_at_{};
  mutable long backoff_ms_ = 0;
  mutable std::string last_error_;
  mutable bool schema_ok_ = false;
};

}  // namespace smime

#endif  // SMIME_CERTDIR_PG_CERT_STORE_H_
